"""Answers that are never lost: a dropped client doesn't stop the answer, a client that comes
back (on any server) follows it, Stop keeps what was said, a failure keeps the partial."""

from __future__ import annotations

import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.app.conftest import messages_of, new_conversation, parse_sse
from tests.app.live import http_account, path_of, sse_events, wait_for
from tests.fakes.fake_gemini import Behavior
from tests.helpers.accounts import Account, register_and_login

WORDS = " ".join(f"w{i}" for i in range(30))


def _start_stream(http: httpx.Client, headers: dict, conv: str, message: str = "x"):
    return http.stream(
        "POST", "/chat/stream", headers=headers, json={"conversationId": conv, "message": message}
    )


def test_dropped_client_the_answer_is_finished_and_saved(live_factory, settings, fake) -> None:
    server = live_factory(create_app(settings))
    with httpx.Client(base_url=server.url, timeout=10) as http:
        account = http_account(http)
        conv = http.post("/session", headers=account).json()["sessionId"]
        fake.push(Behavior(text=WORDS, chunk_delay=0.05))
        with _start_stream(http, account, conv) as r:
            events = sse_events(r)
            event, started = next(events)
            assert event == "start"
            assert next(events)[0] == "token"
            # Leaving here closes the connection after the first token.
        # The model call goes on to its end and the whole answer is stored.
        wait_for(lambda: fake.finished_streams == 1, 10, "the upstream stream to finish")
        answer = wait_for(
            lambda: [m for m in path_of(http, account, conv) if m["state"] == "done"][1:],
            10,
            "the answer to be saved",
        )
        assert answer[0]["content"] == WORDS
        assert answer[0]["id"] == started["ai_message_id"]
        assert answer[0]["model"] == "gemini-2.5-flash"
        assert answer[0]["input_tokens"] > 0 and answer[0]["output_tokens"] > 0
        # The conversation is free for the next turn.
        fake.push(Behavior(text="fine"))
        r = http.post("/chat", headers=account, json={"conversationId": conv, "message": "again"})
        assert r.json() == {"answer": "fine"}


def test_a_client_that_comes_back_follows_the_answer_on_another_server(
    live_factory, settings, fake
) -> None:
    """Two servers share the database as two workers (or hosts) do: the answer being written
    on one is followed from the other, the text so far first, then the rest as it comes."""
    writer = live_factory(create_app(settings))
    reader = live_factory(create_app(settings))
    with httpx.Client(base_url=writer.url, timeout=10) as http:
        account = http_account(http)
        conv = http.post("/session", headers=account).json()["sessionId"]
        fake.push(Behavior(text=WORDS, chunk_delay=0.1))
        with _start_stream(http, account, conv) as r:
            events = sse_events(r)
            _, started = next(events)
            for _ in range(5):
                assert next(events)[0] == "token"
        answer_id = started["ai_message_id"]
    with httpx.Client(base_url=reader.url, timeout=10) as http:
        # Listed as still being written, with what exists so far.
        listed = path_of(http, account, conv)
        assert listed[-1]["id"] == answer_id and listed[-1]["state"] == "streaming"
        url = f"/conversations/{conv}/messages/{answer_id}/stream"
        with http.stream("GET", url, headers=account) as r:
            assert r.status_code == 200
            received = list(sse_events(r))
        tokens = [d["text"] for e, d in received if e == "token"]
        assert len(tokens) > 2, "the rest of the answer arrived in several pieces"
        assert "".join(tokens) == WORDS
        event, done = received[-1]
        assert event == "done" and done["state"] == "done" and done["content"] == WORDS
        # Following a finished answer gives it whole at once.
        with http.stream("GET", url, headers=account) as r:
            again = list(sse_events(r))
        assert [e for e, _ in again] == ["token", "done"] and again[0][1]["text"] == WORDS


def test_stop_keeps_the_question_and_the_partial_answer(live_factory, settings, fake) -> None:
    server = live_factory(create_app(settings))
    with httpx.Client(base_url=server.url, timeout=10) as http:
        account = http_account(http)
        conv = http.post("/session", headers=account).json()["sessionId"]
        fake.push(Behavior(text=WORDS, chunk_delay=0.1))
        with _start_stream(http, account, conv, "count") as r:
            events = sse_events(r)
            _, started = next(events)
            seen = "".join(next(events)[1]["text"] for _ in range(3))
            stop = http.post(
                f"/conversations/{conv}/messages/{started['ai_message_id']}/stop",
                headers=account,
            )
            assert stop.status_code == 200 and stop.json()["state"] == "stopped"
            rest = list(events)
        # The original stream ends with the stopped answer, not an error.
        assert rest[-1][0] == "done" and rest[-1][1]["state"] == "stopped"
        # The generation noticed and closed the model call before its end.
        wait_for(lambda: fake.chunks_sent < 30 and fake.finished_streams == 0, 2, "a cut stream")
        listed = path_of(http, account, conv)
        assert [(m["role"], m["state"]) for m in listed] == [("user", "done"), ("ai", "stopped")]
        partial = listed[1]["content"]
        assert partial.startswith(seen) and partial != WORDS
        # The conversation is free at once, and the stopped answer can be regenerated.
        fake.push(Behavior(text="complete answer"))
        r = http.post("/chat", headers=account, json={"conversationId": conv, "regenerate": True})
        assert r.json() == {"answer": "complete answer"}
        listed = path_of(http, account, conv)
        assert [m["content"] for m in listed] == ["count", "complete answer"]
        assert listed[1]["versions"] == 2 and listed[1]["sibling_ids"][0] == listed[1]["id"] - 1
        # Stopping an answer that already ended changes nothing.
        stop = http.post(f"/conversations/{conv}/messages/{listed[1]['id']}/stop", headers=account)
        assert stop.status_code == 200 and stop.json()["state"] == "done"


def test_chat_keeps_going_when_its_client_leaves(live_factory, settings, fake) -> None:
    server = live_factory(create_app(settings))
    with httpx.Client(base_url=server.url, timeout=10) as http:
        account = http_account(http)
        conv = http.post("/session", headers=account).json()["sessionId"]
    fake.push(Behavior(text=WORDS, chunk_delay=0.05))
    with pytest.raises(httpx.ReadTimeout), httpx.Client(base_url=server.url, timeout=0.5) as http:
        http.post("/chat", headers=account, json={"conversationId": conv, "message": "q"})
    with httpx.Client(base_url=server.url, timeout=10) as http:
        done = wait_for(
            lambda: [m for m in path_of(http, account, conv) if m["state"] == "done"][1:],
            10,
            "the answer to be saved",
        )
    assert done[0]["content"] == WORDS


def test_failure_after_the_first_words_keeps_the_partial_answer(
    client: TestClient, user: Account, fake
) -> None:
    conv = new_conversation(client, user)
    fake.push(Behavior(text="one two three four", fail_after_chunks=2))
    r = client.post("/chat", headers=user.headers, json={"conversationId": conv, "message": "q"})
    assert r.status_code == 502 and isinstance(r.json()["detail"], str)
    stored = [(m["content"], m["state"]) for m in messages_of(client, user, conv)]
    assert stored == [("q", "done"), ("one two", "error")]
    # The failed answer can be regenerated.
    fake.push(Behavior(text="whole"))
    r = client.post(
        "/chat", headers=user.headers, json={"conversationId": conv, "regenerate": True}
    )
    assert r.json() == {"answer": "whole"}


def test_two_tabs_one_turn_at_a_time_both_follow(live_factory, settings, fake) -> None:
    server = live_factory(create_app(settings))
    with httpx.Client(base_url=server.url, timeout=10) as http:
        account = http_account(http)
        conv = http.post("/session", headers=account).json()["sessionId"]
        fake.push(Behavior(text=WORDS, chunk_delay=0.05))
        with _start_stream(http, account, conv) as r:
            events = sse_events(r)
            _, started = next(events)
            # The second tab's turn is refused while the first runs...
            second = http.post(
                "/chat/stream", headers=account, json={"conversationId": conv, "message": "y"}
            )
            assert second.status_code == 409
            # ...and both tabs can follow the answer.
            url = f"/conversations/{conv}/messages/{started['ai_message_id']}/stream"
            followed: list[str] = []

            def follow() -> None:
                with (
                    httpx.Client(base_url=server.url, timeout=10) as other,
                    other.stream("GET", url, headers=account) as s,
                ):
                    followed.append("".join(d["text"] for e, d in sse_events(s) if e == "token"))

            tabs = [threading.Thread(target=follow) for _ in range(2)]
            for tab in tabs:
                tab.start()
            own = "".join(d["text"] for e, d in events if e == "token")
            for tab in tabs:
                tab.join(10)
        assert followed == [WORDS, WORDS]
        assert next(iter(own.split()), "") in WORDS


def test_new_endpoints_are_owner_scoped(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    client.post("/chat", headers=user.headers, json={"conversationId": conv, "message": "q"})
    [question, answer] = messages_of(client, user, conv)
    other = register_and_login(client, "mallory")
    for account, code in ((other, 404), (user, 200)):
        base = f"/conversations/{conv}"
        r = client.get(f"{base}/messages/{answer['id']}/stream", headers=account.headers)
        assert r.status_code == code, r.text
        r = client.post(f"{base}/messages/{answer['id']}/stop", headers=account.headers)
        assert r.status_code == code
        r = client.put(f"{base}/leaf", headers=account.headers, json={"message_id": answer["id"]})
        assert r.status_code == code
        if code == 404:
            assert r.json() == {"detail": "Message not found"}
            r = client.post(
                "/chat",
                headers=account.headers,
                json={"conversationId": conv, "message": "e", "editOf": question["id"]},
            )
            assert r.status_code == 404
    # Another user's message id in my own conversation is unknown here too.
    mine = new_conversation(client, other)
    for path in (f"messages/{answer['id']}/stream", f"messages/{answer['id']}/stop"):
        method = client.get if path.endswith("stream") else client.post
        assert method(f"/conversations/{mine}/{path}", headers=other.headers).status_code == 404
    r = client.put(
        f"/conversations/{mine}/leaf", headers=other.headers, json={"message_id": answer["id"]}
    )
    assert r.status_code == 404
    # A question is not an answer to follow or stop.
    r = client.post(f"/conversations/{conv}/messages/{question['id']}/stop", headers=user.headers)
    assert r.status_code == 404
    assert client.get(f"/conversations/{conv}/messages/1/stream").status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/conversations/{conv}/messages/0/stream", None),
        ("get", "/conversations/{conv}/messages/abc/stream", None),
        ("post", "/conversations/{conv}/messages/-1/stop", None),
        ("post", "/conversations/not-a-uuid/messages/1/stop", None),
        ("put", "/conversations/{conv}/leaf", {}),
        ("put", "/conversations/{conv}/leaf", {"message_id": 0}),
        ("put", "/conversations/{conv}/leaf", {"message_id": "x"}),
        ("put", "/conversations/{conv}/leaf", {"message_id": 1, "extra": 1}),
        ("put", "/conversations/{conv}/leaf?limit=0", {"message_id": 1}),
        ("post", "/chat", {"message": "m", "editOf": 0}),
        ("post", "/chat", {"message": "m", "editOf": "x"}),
        ("post", "/chat", {"regenerate": True, "editOf": 1}),
        ("post", "/chat/stream", {"editOf": 1}),
    ],
)
def test_bad_input_on_the_new_endpoints_is_422(
    client: TestClient, user: Account, method: str, path: str, body: dict | None
) -> None:
    conv = new_conversation(client, user)
    if path.startswith("/chat"):
        body = {"conversationId": conv, **(body or {})}
    kwargs = {"json": body} if body is not None else {}
    r = getattr(client, method)(path.format(conv=conv), headers=user.headers, **kwargs)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)


def test_stream_start_event_names_the_rows(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    r = client.post(
        "/chat/stream", headers=user.headers, json={"conversationId": conv, "message": "hi"}
    )
    events = parse_sse(r.text)
    assert events[0][0] == "start"
    done = events[-1][1]
    assert events[0][1] == {
        "user_message_id": done["user_message_id"],
        "ai_message_id": done["ai_message_id"],
    }
    assert done["state"] == "done"
