"""Conversation titles: taken from the first exchange, unless the user named the conversation."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from app.main import create_app
from tests.app.conftest import chat, new_conversation, parse_sse
from tests.fakes.fake_gemini import Behavior
from tests.helpers.accounts import Account, register_and_login


def test_title_comes_from_the_first_exchange(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    chat(
        client,
        user,
        conv,
        "Como faço um bolo de cenoura com cobertura de chocolate para doze pessoas?",
    )
    title = client.get(f"/conversations/{conv}", headers=user.headers).json()["title"]
    assert title.startswith("Como faço um bolo de cenoura")
    assert len(title) <= 61
    chat(client, user, conv, "Outra pergunta")
    assert client.get(f"/conversations/{conv}", headers=user.headers).json()["title"] == title


def test_renamed_conversation_keeps_its_title(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    client.patch(f"/conversations/{conv}", headers=user.headers, json={"title": "Receitas"})
    chat(client, user, conv, "Bolo de cenoura")
    assert client.get(f"/conversations/{conv}", headers=user.headers).json()["title"] == "Receitas"


def test_rename_during_the_first_turn_wins(live_factory, settings, fake) -> None:
    server = live_factory(create_app(settings))
    with httpx.Client(base_url=server.url, timeout=20) as http:
        headers = register_and_login(http).headers
        conv = http.post("/session", headers=headers).json()["sessionId"]
        fake.push(Behavior(text="a b c d", chunk_delay=0.3))
        events = []
        with http.stream(
            "POST",
            "/chat/stream",
            headers=headers,
            json={"conversationId": conv, "message": "first question here"},
        ) as r:
            renamed = False
            for line in r.iter_lines():
                events.append(line)
                if line.startswith("event: token") and not renamed:
                    with httpx.Client(base_url=server.url, timeout=10) as other:
                        p = other.patch(
                            f"/conversations/{conv}", headers=headers, json={"title": "My rename"}
                        )
                        assert p.status_code == 200
                    renamed = True
        done = next(d for e, d in parse_sse("\n".join(events)) if e == "done")
        assert done["title"] == "My rename"
        assert http.get(f"/conversations/{conv}", headers=headers).json()["title"] == "My rename"
