"""POST /chat/stream: Server-Sent Events that arrive as the model writes, keep-alive comments
while it is quiet, and a client that leaves cancelling the turn."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.app.conftest import messages_of, new_conversation, parse_sse
from tests.fakes.fake_gemini import Behavior
from tests.helpers.accounts import Account, register_and_login


def test_stream_sends_tokens_then_done(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    fake.push(Behavior(text="um dois três quatro"))
    r = client.post(
        "/chat/stream", headers=user.headers, json={"conversationId": conv, "message": "conte"}
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["x-accel-buffering"] == "no"
    events = parse_sse(r.text)
    tokens = [d["text"] for e, d in events if e == "token"]
    assert "".join(tokens) == "um dois três quatro"
    assert len(tokens) == 4
    event, done = events[-1]
    assert event == "done"
    assert done["usage"]["total_tokens"] > 0
    assert done["title"] == "conte"
    stored = messages_of(client, user, conv)
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", "conte"),
        ("ai", "um dois três quatro"),
    ]
    assert [done["user_message_id"], done["ai_message_id"]] == [m["id"] for m in stored]


def test_stream_is_incremental(live_factory, settings, fake) -> None:
    """Tokens reach the client while the model is still producing them."""
    server = live_factory(create_app(settings))
    with httpx.Client(base_url=server.url, timeout=10) as http:
        account = register_and_login(http)
        conv = http.post("/session", headers=account.headers).json()["sessionId"]
        fake.push(Behavior(text="a b c d e", chunk_delay=0.3))
        arrivals = []
        start = time.monotonic()
        with http.stream(
            "POST",
            "/chat/stream",
            headers=account.headers,
            json={"conversationId": conv, "message": "x"},
        ) as r:
            for line in r.iter_lines():
                if line.startswith("event: token"):
                    arrivals.append(time.monotonic() - start)
        assert len(arrivals) == 5
        # The first token arrived well before the last was produced (4 gaps of 0.3 s).
        assert arrivals[-1] - arrivals[0] >= 0.9


@pytest.mark.slow
def test_idle_streams_get_keep_alive_comments(live_factory, settings_factory, fake) -> None:
    """While the model is quiet, the stream carries a `: ping` comment every 15 s (FastAPI's
    keep-alive; docs/api.md promises it) so a proxy doesn't close the idle connection.
    Measured over a real 17 s pause between two tokens: the interval is FastAPI's private
    constant, and a test that patched it would test the patch (docs/decisions.md)."""
    server = live_factory(create_app(settings_factory(gemini_timeout_seconds=30)))
    with httpx.Client(base_url=server.url, timeout=30) as http:
        account = register_and_login(http)
        conv = http.post("/session", headers=account.headers).json()["sessionId"]
        fake.push(Behavior(text="slow answer", chunk_delay=17))
        start = time.monotonic()
        lines: list[str] = []
        arrivals: list[tuple[str, float]] = []
        with http.stream(
            "POST",
            "/chat/stream",
            headers=account.headers,
            json={"conversationId": conv, "message": "q"},
        ) as r:
            for line in r.iter_lines():
                lines.append(line)
                if line.startswith((":", "event:")):
                    arrivals.append((line, time.monotonic() - start))
    assert [line for line, _ in arrivals] == [
        "event: start",
        "event: token",
        ": ping",
        "event: token",
        "event: done",
    ]
    gap = arrivals[2][1] - arrivals[1][1]
    assert 14 <= gap <= 16.5, arrivals
    events = parse_sse("\n".join(lines))
    assert "".join(d["text"] for e, d in events if e == "token") == "slow answer"
