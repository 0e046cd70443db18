"""Turns sent at once, through several servers sharing one database (as workers do)."""

from __future__ import annotations

import threading

import httpx

from app.main import create_app
from tests.fakes.fake_gemini import Behavior
from tests.helpers.accounts import register_and_login


def test_concurrent_turns_in_one_conversation_never_interleave(
    live_factory, settings, fake
) -> None:
    """Two servers (as two workers would) share one database; turns sent at once into one
    conversation are either answered one at a time or refused with 409 — never mixed."""
    a = live_factory(create_app(settings))
    b = live_factory(create_app(settings))
    with httpx.Client(base_url=a.url, timeout=20) as http:
        account = register_and_login(http)
        conv = http.post("/session", headers=account.headers).json()["sessionId"]
    fake.default = Behavior(text="slow answer here", chunk_delay=0.2, first_chunk_delay=0.3)
    results: dict[int, httpx.Response] = {}

    def send(i: int, url: str) -> None:
        with httpx.Client(base_url=url, timeout=20) as http:
            results[i] = http.post(
                "/chat",
                headers=account.headers,
                json={"conversationId": conv, "message": f"msg {i}"},
            )

    threads = [threading.Thread(target=send, args=(i, (a.url, b.url)[i % 2])) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    codes = sorted(r.status_code for r in results.values())
    assert set(codes) <= {200, 409}
    assert codes.count(200) >= 1
    for r in results.values():
        if r.status_code == 409:
            assert "already being generated" in r.json()["detail"]
    with httpx.Client(base_url=a.url, timeout=10) as http:
        msgs = http.get(f"/conversations/{conv}/messages", headers=account.headers).json()["items"]
    roles = [m["role"] for m in msgs]
    assert roles == ["user", "ai"] * codes.count(200)
    answered = {m["content"] for m in msgs if m["role"] == "user"}
    assert len(answered) == codes.count(200)


def test_turns_in_different_conversations_run_in_parallel(live_factory, settings, fake) -> None:
    server = live_factory(create_app(settings))
    with httpx.Client(base_url=server.url, timeout=20) as http:
        account = register_and_login(http)
        convs = [
            http.post("/session", headers=account.headers).json()["sessionId"] for _ in range(3)
        ]
    fake.default = Behavior(text="x", first_chunk_delay=0.5)
    codes = []

    def send(conv: str) -> None:
        with httpx.Client(base_url=server.url, timeout=20) as http:
            codes.append(
                http.post(
                    "/chat", headers=account.headers, json={"conversationId": conv, "message": "m"}
                ).status_code
            )

    threads = [threading.Thread(target=send, args=(c,)) for c in convs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert codes == [200, 200, 200]
