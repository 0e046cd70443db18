"""Long memory: the running summary written after turns, and what turns then send.

Real app, real database, the real LangChain Gemini client against the fake Gemini, whose
summary answers are deterministic (tests/fakes/fake_gemini.py)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import crud
from app.chat import usage
from app.chat.history import SUMMARY_FRAME, Window
from app.chat.llm import build_chat_model
from app.chat.summary import SUMMARY_INSTRUCTIONS, Summariser, bounded, plan_job
from app.core.config import Settings
from app.core.db import make_engine, make_session_factory, write_transaction
from app.main import create_app
from app.models import Conversation, Message, Summary
from tests.app.conftest import insert_branch, messages_of, new_conversation
from tests.fakes.fake_gemini import SUMMARY_MARKER, Behavior, FakeGemini
from tests.helpers.accounts import Account, register_and_login

# A tiny window so a few turns exercise it: the summariser keeps 4 messages and folds once
# 4 more (2 turns) wait outside them; a turn sends at most 8.
SMALL = {
    "history_window_messages": 4,
    "summary_every_turns": 2,
    "history_max_messages": 8,
    "summary_retry_seconds": 0.01,
}


@pytest.fixture
def small(settings_factory: Callable[..., Settings], fake: FakeGemini):
    with TestClient(create_app(settings_factory(**SMALL))) as client:
        yield client


def drain(client: TestClient) -> None:
    """Wait until the summaries scheduled by earlier turns have finished."""
    client.portal.call(client.app.state.services.turns.summaries.drain)


def turn(client: TestClient, account: Account, conv: str, text: str, *, wait: bool = True) -> str:
    r = client.post(
        "/chat", headers=account.headers, json={"conversationId": conv, "message": text}
    )
    assert r.status_code == 200, r.text
    if wait:
        drain(client)
    return r.json()["answer"]


def summaries(client: TestClient, conv: str) -> list[Summary]:
    with client.app.state.services.session_factory() as session:
        return list(
            session.scalars(
                select(Summary)
                .where(Summary.conversation_id == uuid.UUID(conv))
                .order_by(Summary.id)
            )
        )


def memory(client: TestClient, account: Account, conv: str) -> dict:
    r = client.get(f"/conversations/{conv}/memory", headers=account.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_fake_recognises_our_summary_prompt() -> None:
    assert SUMMARY_INSTRUCTIONS.startswith(SUMMARY_MARKER)


def _branch(count: int, tokens: int = 10) -> list[Message]:
    """A branch of `count` alternating messages, newest first, ids 1..count."""
    return [
        Message(id=i, role="user" if i % 2 else "ai", content=f"m{i}", token_estimate=tokens)
        for i in range(count, 0, -1)
    ]


def test_plan_folds_what_left_the_window_once_enough_waits() -> None:
    keep = Window(token_budget=1000, max_messages=4)
    assert plan_job(_branch(6), None, keep, min_messages=4) is None  # 2 outside
    job = plan_job(_branch(8), None, keep, min_messages=4)
    assert [m.id for m in job.messages] == [1, 2, 3, 4]
    previous = Summary(through_message_id=4, content="s")
    assert plan_job(_branch(10), previous, keep, min_messages=4) is None  # 2 after it
    job = plan_job(_branch(12), previous, keep, min_messages=4)
    assert job.previous is previous and [m.id for m in job.messages] == [5, 6, 7, 8]


def test_plan_batches_end_before_a_question_and_skip_answers_being_written() -> None:
    keep = Window(token_budget=35, max_messages=4)  # a batch holds at most 35 tokens
    job = plan_job(_branch(12), None, keep, min_messages=2)
    assert [m.id for m in job.messages] == [1, 2]  # 3 messages fit; the 3rd is a question
    branch = _branch(12)
    branch[-3].state = "streaming"  # message 3
    job = plan_job(branch, None, Window(1000, 4), min_messages=2)
    assert [m.id for m in job.messages] == [1, 2]


def test_a_summary_is_cut_to_its_budget_at_a_line_break() -> None:
    text = "\n".join(f"line {i} " + "x" * 30 for i in range(20))
    cut = bounded(text, 50)  # 200 characters
    assert len(cut) <= 200 and text.startswith(cut) and cut.endswith("x")


def test_summary_is_written_after_enough_turns_and_then_sent(
    small: TestClient, fake: FakeGemini
) -> None:
    user = register_and_login(small, "ana")
    conv = new_conversation(small, user)
    for i in range(1, 4):
        turn(small, user, conv, f"q{i}")
    # 6 messages: 4 kept, only 2 (one turn) outside the window: not yet.
    assert fake.summary_requests == [] and summaries(small, conv) == []
    assert memory(small, user, conv)["summary"] is None

    turn(small, user, conv, "q4")
    assert len(fake.summary_requests) == 1
    [row] = summaries(small, conv)
    listed = messages_of(small, user, conv)
    assert row.through_message_id == listed[3]["id"]  # q1 a1 q2 a2 folded
    assert row.content.splitlines() == [
        "- user: q1",
        "- assistant: Echo: q1",
        "- user: q2",
        "- assistant: Echo: q2",
    ]
    assert row.model == "gemini-2.5-flash"
    assert row.input_tokens and row.output_tokens

    remembered = memory(small, user, conv)
    assert remembered["summary"]["content"] == row.content
    assert remembered["summary"]["through_message_id"] == listed[3]["id"]
    assert remembered["summary"]["covered_messages"] == 4
    assert remembered["summary"]["model"] == "gemini-2.5-flash"
    tokens = sum(crud.estimate_tokens(m["content"]) for m in listed[4:])
    assert remembered["window"] == {
        "messages": 4,
        "tokens": tokens,
        "first_message_id": listed[4]["id"],
    }

    turn(small, user, conv, "q5")
    sent = fake.chat_requests[-1]
    assert SUMMARY_FRAME in sent.system_text and "- user: q1" in sent.system_text
    assert sent.texts == ["q3", "Echo: q3", "q4", "Echo: q4", "q5"]
    # One turn later nothing new is folded yet (2 messages wait outside the window).
    assert len(fake.summary_requests) == 1


def test_a_summarys_tokens_count_for_its_owner_and_the_site_but_not_as_an_answer(
    small: TestClient, fake: FakeGemini
) -> None:
    user = register_and_login(small, "uma")
    conv = new_conversation(small, user)
    for i in range(1, 5):
        turn(small, user, conv, f"q{i}")
    [row] = summaries(small, conv)
    answers = [m for m in messages_of(small, user, conv) if m["role"] == "ai"]
    tokens_in = sum(a["input_tokens"] for a in answers) + row.input_tokens
    tokens_out = sum(a["output_tokens"] for a in answers) + row.output_tokens
    r = small.get("/me/usage", headers=user.headers)
    assert r.status_code == 200, r.text
    day = r.json()["day"]
    assert day == {"input_tokens": tokens_in, "output_tokens": tokens_out, "messages": 4}
    with small.app.state.services.session_factory() as session:
        site = usage.site_totals(session, date.min, date.max)
    assert (site.input_tokens, site.output_tokens, site.messages) == (tokens_in, tokens_out, 4)


def test_a_fact_from_turn_one_reaches_the_model_at_turn_40(
    small: TestClient, fake: FakeGemini
) -> None:
    """Through the summary only: the window has long moved on. And what each turn sends
    stays within the window's limits (8 messages, the token budget) plus the summary."""
    user = register_and_login(small, "ana")
    conv = new_conversation(small, user)
    turn(small, user, conv, "Remember this: my cat is called Zorblax.")
    filler = "Here is one more thing to think about in our long planning conversation. " * 3
    for i in range(2, 40):
        turn(small, user, conv, f"#{i} {filler}")
    turn(small, user, conv, "What is my cat called?")
    last = fake.chat_requests[-1]
    assert "Zorblax" in last.system_text
    assert not any("Zorblax" in text for text in last.texts)
    assert len(summaries(small, conv)) > 5
    settings = small.app.state.services.settings
    for request in fake.chat_requests:
        history = request.texts[:-1]
        assert len(history) <= settings.history_max_messages
        assert sum(crud.estimate_tokens(t) for t in history) <= settings.history_token_budget
        summary_part = request.system_text.removeprefix(settings.default_system_prompt)
        frame = crud.estimate_tokens(SUMMARY_FRAME) + 1
        assert crud.estimate_tokens(summary_part) <= settings.summary_max_tokens + frame


@pytest.mark.parametrize("status", [500, 429])
def test_a_failing_summariser_never_fails_a_turn_and_retries_are_bounded(
    small: TestClient, fake: FakeGemini, status: int
) -> None:
    user = register_and_login(small, "ana")
    conv = new_conversation(small, user)
    fake.push_summary(*[Behavior(kind="error", status=status)] * 3)
    for i in range(1, 5):
        turn(small, user, conv, f"q{i}")
    # 1 call + 2 retries (the client itself makes 1 attempt in these tests), then it gives up.
    assert len(fake.summary_requests) == 3
    assert summaries(small, conv) == []
    with small.app.state.services.session_factory() as session:
        conv_row = session.get(Conversation, uuid.UUID(conv))
        assert conv_row.summary_busy_until is None  # the lease was released

    turn(small, user, conv, "q5")  # goes ahead with the last good summary: none
    assert SUMMARY_FRAME not in fake.chat_requests[-1].system_text
    assert fake.chat_requests[-1].texts[-1] == "q5"
    # After that turn the summariser tried again, and the fake answers now.
    assert len(fake.summary_requests) == 4
    [row] = summaries(small, conv)
    assert row.content.startswith("- user: q1")


def test_summarising_is_off_the_turns_critical_path(small: TestClient, fake: FakeGemini) -> None:
    """A slow summary call runs while the next turns are answered at once."""
    user = register_and_login(small, "ana")
    conv = new_conversation(small, user)
    fake.summary_default = Behavior(first_chunk_delay=1.5)
    for i in range(1, 5):
        turn(small, user, conv, f"q{i}", wait=False)
    start = time.monotonic()
    turn(small, user, conv, "q5", wait=False)
    assert time.monotonic() - start < 1.0
    assert summaries(small, conv) == []  # still being written
    drain(small)
    assert len(summaries(small, conv)) == 1


def _fill(settings: Settings, conv: str, count: int) -> list[int]:
    """`count` messages as one branch, written directly; their ids."""
    engine = make_engine(settings)
    try:
        return insert_branch(make_session_factory(engine), conv, [f"m{i}" for i in range(count)])
    finally:
        engine.dispose()


def test_two_workers_never_summarise_one_conversation_at_once(
    settings_factory: Callable[..., Settings], fake: FakeGemini
) -> None:
    """Two summarisers with their own engines (as two workers, or two hosts on
    PostgreSQL) race for one conversation: one call, one summary."""
    settings = settings_factory(**SMALL)
    with TestClient(create_app(settings)) as client:
        user = register_and_login(client, "ana")
        conv = new_conversation(client, user)
    _fill(settings, conv, 12)
    fake.summary_default = Behavior(first_chunk_delay=0.5)

    async def race() -> None:
        engines = [make_engine(settings) for _ in range(2)]
        models = [build_chat_model(settings) for _ in range(2)]
        workers = [
            Summariser(settings, make_session_factory(e), m, "gemini-2.5-flash", 10)
            for e, m in zip(engines, models, strict=True)
        ]
        try:
            await asyncio.gather(*(w.run(uuid.UUID(conv)) for w in workers))
        finally:
            for e, m in zip(engines, models, strict=True):
                await m.aclose()
                e.dispose()

    asyncio.run(race())
    assert len(fake.summary_requests) == 1
    engine = make_engine(settings)
    with make_session_factory(engine)() as session:
        rows = session.scalars(select(Summary)).all()
        assert len(rows) == 1
        assert session.get(Conversation, uuid.UUID(conv)).summary_busy_until is None
    engine.dispose()


def test_the_summary_lease_has_one_winner_among_threads(
    settings_factory: Callable[..., Settings], fake: FakeGemini
) -> None:
    settings = settings_factory(**SMALL)
    with TestClient(create_app(settings)) as client:
        user = register_and_login(client, "ana")
        conv = uuid.UUID(new_conversation(client, user))
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    summariser = Summariser(settings, factory, build_chat_model(settings), "m", 10)
    barrier = threading.Barrier(8)
    won: list[object] = []

    def take() -> None:
        barrier.wait()
        won.append(summariser._acquire(conv))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    leases = [lease for lease in won if lease is not None]
    assert len(leases) == 1
    # Held: nobody else gets it; released by its holder: free again.
    assert summariser._acquire(conv) is None
    summariser._release(conv, leases[0])
    assert summariser._acquire(conv) is not None
    engine.dispose()


def test_the_summary_follows_the_branch_being_viewed(small: TestClient, fake: FakeGemini) -> None:
    """A summary is used only on branches that contain the last message it covers: edit
    the first question (a new branch from the root) and the old branch's summary is not
    sent; switch back and it is."""
    user = register_and_login(small, "ana")
    conv = new_conversation(small, user)
    for i in range(1, 5):
        turn(small, user, conv, f"q{i}")
    [row] = summaries(small, conv)
    listed = messages_of(small, user, conv)
    old_leaf = listed[-1]["id"]
    factory = small.app.state.services.session_factory
    with write_transaction(factory) as session:  # the first question, edited
        q = crud.insert_message(
            session, conversation_id=uuid.UUID(conv), role="user", content="q1'", parent_id=None
        )
        a = crud.insert_message(
            session, conversation_id=uuid.UUID(conv), role="ai", content="a1'", parent_id=q
        )
        crud.set_leaf(session, conversation_id=uuid.UUID(conv), leaf_id=a)
    assert memory(small, user, conv)["summary"] is None
    turn(small, user, conv, "next")
    sent = fake.chat_requests[-1]
    assert SUMMARY_FRAME not in sent.system_text
    assert sent.texts == ["q1'", "a1'", "next"]

    with write_transaction(factory) as session:
        crud.set_leaf(session, conversation_id=uuid.UUID(conv), leaf_id=old_leaf)
    assert memory(small, user, conv)["summary"]["through_message_id"] == row.through_message_id
    turn(small, user, conv, "back")
    assert "- user: q1" in fake.chat_requests[-1].system_text
    assert fake.chat_requests[-1].texts[0] == "q3"


def test_memory_endpoint_is_owner_scoped_and_validates(client: TestClient, user: Account) -> None:
    conv = new_conversation(client, user)
    assert memory(client, user, conv) == {
        "summary": None,
        "window": {"messages": 0, "tokens": 0, "first_message_id": None},
    }
    other = register_and_login(client, "bob")
    r = client.get(f"/conversations/{conv}/memory", headers=other.headers)
    assert r.status_code == 404 and r.json() == {"detail": "Conversation not found"}
    r = client.get(f"/conversations/{uuid.uuid4()}/memory", headers=user.headers)
    assert r.status_code == 404
    r = client.get("/conversations/not-a-uuid/memory", headers=user.headers)
    assert r.status_code == 422 and "detail" in r.json()
    assert client.get(f"/conversations/{conv}/memory").status_code == 401


def test_summaries_can_be_turned_off(
    settings_factory: Callable[..., Settings], fake: FakeGemini
) -> None:
    with TestClient(create_app(settings_factory(**{**SMALL, "summary_every_turns": 0}))) as c:
        user = register_and_login(c, "ana")
        conv = new_conversation(c, user)
        for i in range(1, 7):
            turn(c, user, conv, f"q{i}")
        assert fake.summary_requests == []
        # The window alone: the newest 8 messages, as before summaries existed.
        assert fake.chat_requests[-1].texts[0] == "q2"


def test_a_turn_finds_a_summary_above_its_window_within_the_scan(
    settings_factory: Callable[..., Settings], fake: FakeGemini
) -> None:
    """A summariser that lagged: the summary ends 20 messages above the leaf, beyond the
    8 messages a turn loads; the turn still finds it (walking ids only) and sends it, with
    the newest 8 messages after it."""
    from app.chat.history import Window, load_memory

    settings = settings_factory(**SMALL)
    with TestClient(create_app(settings)) as client:
        user = register_and_login(client, "ana")
        conv = new_conversation(client, user)
        ids = _fill(settings, conv, 30)
        factory = client.app.state.services.session_factory
        with write_transaction(factory) as session:
            session.add(
                Summary(
                    conversation_id=uuid.UUID(conv),
                    through_message_id=ids[9],
                    content="the early part",
                    token_estimate=4,
                )
            )
        with factory() as session:
            memory = load_memory(session, uuid.UUID(conv), ids[-1], Window(6000, 8))
        assert memory.summary is not None and memory.summary.through_message_id == ids[9]
        assert [m.id for m in memory.window] == ids[-8:]
        assert memory.loaded_rows == 9
