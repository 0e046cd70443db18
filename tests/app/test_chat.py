"""Chat turns through the real LangChain Gemini client against the fake Gemini server:
the contract, memory and its window, streaming, failures, disconnects and concurrency."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.app.conftest import (
    Account,
    messages_of,
    new_conversation,
    parse_sse,
    register,
)
from tests.fakes.fake_gemini import Behavior, FakeGemini


def chat(client: TestClient, account: Account, conv: str, message: str):
    return client.post(
        "/chat", headers=account.headers, json={"conversationId": conv, "message": message}
    )


def test_chat_answers_the_original_contract(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    fake.push(Behavior(text="Olá! Como posso ajudar?"))
    r = chat(client, user, conv, "Oi")
    assert r.status_code == 200
    assert r.json() == {"answer": "Olá! Como posso ajudar?"}
    [sent] = fake.requests
    assert sent.api_key == "test-key"
    assert sent.texts == ["Oi"]
    assert "helpful" in sent.system_text  # the default system prompt


def test_new_session_contract(client: TestClient, user: Account) -> None:
    r = client.post("/session", headers=user.headers)
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"sessionId", "title"} and body["title"] == "Novo Chat"
    uuid.UUID(body["sessionId"])


def test_the_model_receives_earlier_turns(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    chat(client, user, conv, "My name is Ana.")
    chat(client, user, conv, "I live in Recife.")
    chat(client, user, conv, "What is my name?")
    last = fake.requests[-1]
    assert last.texts == [
        "My name is Ana.",
        "Echo: My name is Ana.",
        "I live in Recife.",
        "Echo: I live in Recife.",
        "What is my name?",
    ]
    roles = [c["role"] for c in last.contents]
    assert roles == ["user", "model", "user", "model", "user"]


def test_conversations_have_separate_memories(client: TestClient, user: Account, fake) -> None:
    a, b = new_conversation(client, user), new_conversation(client, user)
    chat(client, user, a, "secret in A")
    chat(client, user, b, "hello B")
    assert fake.requests[-1].texts == ["hello B"]


def test_system_prompt_per_conversation(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    r = client.patch(
        f"/conversations/{conv}",
        headers=user.headers,
        json={"system_prompt": "Fale como um pirata."},
    )
    assert r.status_code == 200 and r.json()["system_prompt"] == "Fale como um pirata."
    chat(client, user, conv, "Oi")
    assert fake.requests[-1].system_text == "Fale como um pirata."
    client.patch(f"/conversations/{conv}", headers=user.headers, json={"system_prompt": None})
    chat(client, user, conv, "Oi de novo")
    assert "helpful" in fake.requests[-1].system_text


def test_long_conversation_sends_only_the_window(
    client: TestClient, settings_factory, fake, tmp_path
) -> None:
    """1,000 stored messages; a turn loads at most history_max_messages rows and sends only
    what fits the token budget, newest first, starting with a user turn."""
    settings = settings_factory(history_token_budget=300, history_max_messages=40)
    with TestClient(create_app(settings)) as c:
        account = register(c, "longtalker")
        conv = new_conversation(c, account)
        _bulk_insert(settings, conv, 1000, size=40)  # ~10 tokens each
        fake.reset()
        r = chat(c, account, conv, "and now?")
        assert r.status_code == 200
        sent = fake.requests[-1]
        history = sent.texts[:-1]
        assert sent.texts[-1] == "and now?"
        estimated = sum((len(t) + 3) // 4 for t in history)
        assert estimated <= 300
        assert 20 <= len(history) <= 40
        assert sent.contents[0]["role"] == "user"
        # The newest stored message is the last one before the question.
        assert history[-1].startswith("m999")
        turns = c.app.state.services.turns
        assert turns.window.max_messages == 40


def test_window_is_bounded_by_message_count(client: TestClient, settings_factory, fake) -> None:
    settings = settings_factory(history_token_budget=1_000_000, history_max_messages=10)
    with TestClient(create_app(settings)) as c:
        account = register(c, "counter")
        conv = new_conversation(c, account)
        _bulk_insert(settings, conv, 200, size=10)
        fake.reset()
        chat(c, account, conv, "q")
        assert len(fake.requests[-1].texts) - 1 <= 10


def _bulk_insert(settings, conv: str, count: int, size: int) -> None:
    from app import crud
    from app.core.db import make_engine, make_session_factory, write_transaction

    engine = make_engine(settings)
    factory = make_session_factory(engine)
    with write_transaction(factory) as session:
        parent = None
        for i in range(count):
            text = f"m{i:03d} " + "x" * (size - 5)
            parent = crud.insert_message(
                session,
                conversation_id=uuid.UUID(conv),
                role="user" if i % 2 == 0 else "ai",
                content=text,
                parent_id=parent,
            )
        crud.set_leaf(session, conversation_id=uuid.UUID(conv), leaf_id=parent)
    engine.dispose()


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


# -- streaming -----------------------------------------------------------------------------
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
        account = _http_account(http)
        conv = http.post("/session", headers=account).json()["sessionId"]
        fake.push(Behavior(text="a b c d e", chunk_delay=0.3))
        arrivals = []
        start = time.monotonic()
        with http.stream(
            "POST", "/chat/stream", headers=account, json={"conversationId": conv, "message": "x"}
        ) as r:
            for line in r.iter_lines():
                if line.startswith("event: token"):
                    arrivals.append(time.monotonic() - start)
        assert len(arrivals) == 5
        # The first token arrived well before the last was produced (4 gaps of 0.3 s).
        assert arrivals[-1] - arrivals[0] >= 0.9


def _http_account(http: httpx.Client, name: str | None = None) -> dict[str, str]:
    name = name or f"u{uuid.uuid4().hex[:8]}"
    pw = "correct horse battery"
    r = http.post(
        "/register",
        json={
            "username": name,
            "email": f"{name}@example.com",
            "password": pw,
            "password_confirm": pw,
        },
    )
    assert r.status_code == 201, r.text
    token = http.post("/login", json={"username": name, "password": pw}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


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


# -- model failures ------------------------------------------------------------------------
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
        account = register(c, "retrier")
        conv = new_conversation(c, account)
        fake.default = Behavior(kind="error", status=503)
        r = chat(c, account, conv, "q")
        assert r.status_code == 502
        assert len(fake.requests) == 2  # two attempts in total, not the client's default six


def test_one_retry_recovers_from_a_transient_error(settings_factory, fake) -> None:
    settings = settings_factory(gemini_max_retries=2)
    with TestClient(create_app(settings)) as c:
        account = register(c, "recover")
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
        account = register(c, "hangs")
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


# -- concurrency ---------------------------------------------------------------------------
def test_concurrent_turns_in_one_conversation_never_interleave(
    live_factory, settings, fake
) -> None:
    """Two servers (as two workers would) share one database; turns sent at once into one
    conversation are either answered one at a time or refused with 409 — never mixed."""
    a = live_factory(create_app(settings))
    b = live_factory(create_app(settings))
    with httpx.Client(base_url=a.url, timeout=20) as http:
        account = _http_account(http)
        conv = http.post("/session", headers=account).json()["sessionId"]
    fake.default = Behavior(text="slow answer here", chunk_delay=0.2, first_chunk_delay=0.3)
    results: dict[int, httpx.Response] = {}

    def send(i: int, url: str) -> None:
        with httpx.Client(base_url=url, timeout=20) as http:
            results[i] = http.post(
                "/chat", headers=account, json={"conversationId": conv, "message": f"msg {i}"}
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
        msgs = http.get(f"/conversations/{conv}/messages", headers=account).json()["items"]
    roles = [m["role"] for m in msgs]
    assert roles == ["user", "ai"] * codes.count(200)
    answered = {m["content"] for m in msgs if m["role"] == "user"}
    assert len(answered) == codes.count(200)


def test_turns_in_different_conversations_run_in_parallel(live_factory, settings, fake) -> None:
    server = live_factory(create_app(settings))
    with httpx.Client(base_url=server.url, timeout=20) as http:
        account = _http_account(http)
        convs = [http.post("/session", headers=account).json()["sessionId"] for _ in range(3)]
    fake.default = Behavior(text="x", first_chunk_delay=0.5)
    codes = []

    def send(conv: str) -> None:
        with httpx.Client(base_url=server.url, timeout=20) as http:
            codes.append(
                http.post(
                    "/chat", headers=account, json={"conversationId": conv, "message": "m"}
                ).status_code
            )

    threads = [threading.Thread(target=send, args=(c,)) for c in convs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert codes == [200, 200, 200]


# -- limits --------------------------------------------------------------------------------
def test_per_user_rate_limit(settings_factory, fake) -> None:
    with TestClient(create_app(settings_factory(chat_rate_per_minute=2))) as c:
        account = register(c, "chatty")
        conv = new_conversation(c, account)
        codes = [chat(c, account, conv, f"m{i}").status_code for i in range(3)]
        assert codes == [200, 200, 429]
        r = chat(c, account, conv, "again")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert len(messages_of(c, account, conv)) == 4
        # Another user has a separate budget.
        other = register(c, "quiet")
        assert chat(c, other, new_conversation(c, other), "hi").status_code == 200


def test_daily_quota(settings_factory, fake) -> None:
    with TestClient(create_app(settings_factory(daily_message_quota=1))) as c:
        account = register(c, "quota")
        conv = new_conversation(c, account)
        assert chat(c, account, conv, "one").status_code == 200
        r = chat(c, account, conv, "two")
        assert r.status_code == 429 and "quota" in r.json()["detail"]


def test_rate_limit_is_shared_by_all_workers(live_factory, settings_factory, fake) -> None:
    settings = settings_factory(chat_rate_per_minute=3)
    servers = [live_factory(create_app(settings)) for _ in range(2)]
    with httpx.Client(base_url=servers[0].url, timeout=10) as http:
        account = _http_account(http)
        convs = [http.post("/session", headers=account).json()["sessionId"] for _ in range(4)]
    codes = []
    for i, conv in enumerate(convs):
        with httpx.Client(base_url=servers[i % 2].url, timeout=10) as http:
            codes.append(
                http.post(
                    "/chat", headers=account, json={"conversationId": conv, "message": "m"}
                ).status_code
            )
    assert codes == [200, 200, 200, 429]


def test_demo_model_streams_and_reports_memory(settings_factory) -> None:
    settings = settings_factory(gemini_api_key=None, model_provider="auto")
    with TestClient(create_app(settings)) as c:
        assert c.get("/ready").json()["model"]["mode"] == "demo"
        account = register(c, "demo")
        conv = new_conversation(c, account)
        first = chat(c, account, conv, "hello").json()["answer"]
        assert "demo" in first.lower() and "0 earlier message" in first
        r = c.post(
            "/chat/stream",
            headers=account.headers,
            json={"conversationId": conv, "message": "again"},
        )
        events = parse_sse(r.text)
        text = "".join(d["text"] for e, d in events if e == "token")
        assert "2 earlier message" in text
        assert events[-1][0] == "done"
        assert json.dumps(events[-1][1])


def test_idle_streams_get_keep_alive_comments(client: TestClient, user: Account, fake, monkeypatch):
    """Between tokens that come slowly, the stream sends `: ping` comments (every 15 s in
    production; shortened here) so proxies don't close an idle connection."""
    import fastapi.routing

    monkeypatch.setattr(fastapi.routing, "_PING_INTERVAL", 0.2)
    conv = new_conversation(client, user)
    fake.push(Behavior(text="slow answer", chunk_delay=0.7))
    r = client.post(
        "/chat/stream", headers=user.headers, json={"conversationId": conv, "message": "q"}
    )
    assert ": ping" in r.text
    events = parse_sse(r.text)
    assert "".join(d["text"] for e, d in events if e == "token") == "slow answer"
    assert events[-1][0] == "done"
