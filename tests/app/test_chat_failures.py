"""A model that fails, rate-limits, hangs or breaks off mid-stream: the right status or `error`
event, bounded retries, nothing stored, and the conversation free for the next turn."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.app.conftest import chat, messages_of, new_conversation, parse_sse
from tests.fakes.fake_gemini import Behavior, FakeGemini
from tests.helpers.accounts import Account, register_and_login


@pytest.mark.parametrize(
    ("behavior", "status"),
    [
        (Behavior(kind="error", status=429), 503),
        (Behavior(kind="error", status=500), 502),
        (Behavior(kind="error", status=503), 502),
        (Behavior(kind="hang"), 504),
    ],
)
@pytest.mark.parametrize("endpoint", ["/chat", "/chat/stream"])
def test_model_failures_map_to_statuses_and_store_nothing(
    client: TestClient,
    user: Account,
    fake: FakeGemini,
    behavior: Behavior,
    status: int,
    endpoint: str,
) -> None:
    conv = new_conversation(client, user)
    fake.push(behavior)
    r = client.post(endpoint, headers=user.headers, json={"conversationId": conv, "message": "q"})
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert isinstance(r.json()["detail"], str)
    if status == 503:
        assert int(r.headers["retry-after"]) > 0
    assert messages_of(client, user, conv) == []
    # The conversation isn't stuck: the next turn works.
    fake.push(Behavior(text="ok now"))
    assert chat(client, user, conv, "again").json() == {"answer": "ok now"}


def test_retries_are_bounded(settings_factory, fake) -> None:
    settings = settings_factory(gemini_max_retries=2)
    with TestClient(create_app(settings)) as c:
        account = register_and_login(c, "retrier")
        conv = new_conversation(c, account)
        fake.default = Behavior(kind="error", status=503)
        r = chat(c, account, conv, "q")
        assert r.status_code == 502
        assert len(fake.requests) == 2  # two attempts in total, not the client's default six


def test_one_retry_recovers_from_a_transient_error(settings_factory, fake) -> None:
    settings = settings_factory(gemini_max_retries=2)
    with TestClient(create_app(settings)) as c:
        account = register_and_login(c, "recover")
        conv = new_conversation(c, account)
        fake.push(Behavior(kind="error", status=503), Behavior(text="second try"))
        assert chat(c, account, conv, "q").json() == {"answer": "second try"}


def test_stream_failing_midway_sends_an_error_event_and_keeps_the_partial(
    client: TestClient, user: Account, fake
) -> None:
    conv = new_conversation(client, user)
    fake.push(Behavior(text="one two three four five", fail_after_chunks=2))
    r = client.post(
        "/chat/stream", headers=user.headers, json={"conversationId": conv, "message": "q"}
    )
    assert r.status_code == 200  # the stream had started
    events = parse_sse(r.text)
    assert [e for e, _ in events[:3]] == ["start", "token", "token"]
    event, data = events[-1]
    assert event == "error" and data["status"] in (502, 504)
    stored = [(m["role"], m["content"], m["state"]) for m in messages_of(client, user, conv)]
    assert stored == [("user", "q", "done"), ("ai", "one two", "error")]


def test_stream_hanging_midway_times_out(settings_factory, fake) -> None:
    settings = settings_factory(gemini_timeout_seconds=1.0)
    with TestClient(create_app(settings)) as c:
        account = register_and_login(c, "hangs")
        conv = new_conversation(c, account)
        fake.push(Behavior(text="one two three", chunk_delay=5))
        r = c.post(
            "/chat/stream", headers=account.headers, json={"conversationId": conv, "message": "q"}
        )
        events = parse_sse(r.text)
        assert events[1] == ("token", {"text": "one"})
        assert events[-1][0] == "error" and events[-1][1]["status"] == 504
        stored = [(m["content"], m["state"]) for m in messages_of(c, account, conv)]
        assert stored == [("q", "done"), ("one", "error")]
