"""`regenerate: true`: the last question answered again, replacing the answer only on success."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.conftest import chat, messages_of, new_conversation, parse_sse
from tests.fakes.fake_gemini import Behavior
from tests.helpers.accounts import Account


def test_regenerate_replaces_the_last_answer(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    chat(client, user, conv, "first")
    fake.push(Behavior(text="old answer"))
    chat(client, user, conv, "second")
    fake.push(Behavior(text="new answer"))
    r = client.post(
        "/chat/stream", headers=user.headers, json={"conversationId": conv, "regenerate": True}
    )
    assert r.status_code == 200
    assert parse_sse(r.text)[-1][0] == "done"
    # The model was asked the same question with the history before it.
    assert fake.requests[-1].texts == ["first", "Echo: first", "second"]
    stored = [(m["role"], m["content"]) for m in messages_of(client, user, conv)]
    assert stored == [
        ("user", "first"),
        ("ai", "Echo: first"),
        ("user", "second"),
        ("ai", "new answer"),
    ]


def test_failed_regenerate_keeps_the_old_answer(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    fake.push(Behavior(text="keep me"))
    chat(client, user, conv, "q")
    fake.push(Behavior(kind="error", status=500))
    r = client.post(
        "/chat/stream", headers=user.headers, json={"conversationId": conv, "regenerate": True}
    )
    assert r.status_code == 502
    assert [m["content"] for m in messages_of(client, user, conv)] == ["q", "keep me"]


def test_regenerate_with_nothing_to_regenerate(client: TestClient, user: Account) -> None:
    conv = new_conversation(client, user)
    r = client.post(
        "/chat/stream", headers=user.headers, json={"conversationId": conv, "regenerate": True}
    )
    assert r.status_code == 409
