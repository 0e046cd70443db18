"""The LangChain chat-history class over our tables, and the window of it a turn sends."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage, HumanMessage

from app.chat.history import ConversationHistory, Window, select_window
from app.main import create_app
from app.models import Message
from tests.app.conftest import chat, insert_messages, new_conversation
from tests.helpers.accounts import Account, register_and_login


def _msg(i: int, role: str, tokens: int) -> Message:
    return Message(id=i, role=role, content=f"m{i}", token_estimate=tokens)


def test_window_keeps_the_newest_that_fit_and_starts_with_a_user_turn() -> None:
    newest_first = [_msg(i, "user" if i % 2 else "ai", 10) for i in range(10, 0, -1)]
    chosen = select_window(newest_first, Window(token_budget=35, max_messages=100))
    # 3 newest fit (30 tokens); the oldest of them is an answer, so it is dropped.
    assert [m.id for m in chosen] == [9, 10]
    assert chosen[0].role == "user"


def test_window_respects_the_message_cap() -> None:
    newest_first = [_msg(i, "user" if i % 2 else "ai", 1) for i in range(100, 0, -1)]
    chosen = select_window(newest_first, Window(token_budget=10_000, max_messages=6))
    assert len(chosen) <= 6 and chosen[-1].id == 100


def test_history_class_reads_writes_and_clears(client: TestClient, user: Account) -> None:
    conv = uuid.UUID(new_conversation(client, user))
    factory = client.app.state.services.session_factory
    history = ConversationHistory(factory, conv, Window(token_budget=1000, max_messages=10))
    history.add_messages([HumanMessage("olá"), AIMessage("oi!")])
    assert [(m.type, m.text) for m in history.messages] == [("human", "olá"), ("ai", "oi!")]
    assert history.loaded_rows == 2
    history.clear()
    assert history.messages == []


def test_long_conversation_sends_only_the_window(
    client: TestClient, settings_factory, fake, tmp_path
) -> None:
    """1,000 stored messages; a turn loads at most history_max_messages rows and sends only
    what fits the token budget, newest first, starting with a user turn."""
    settings = settings_factory(history_token_budget=300, history_max_messages=40)
    with TestClient(create_app(settings)) as c:
        account = register_and_login(c, "longtalker")
        conv = new_conversation(c, account)
        insert_messages(settings, conv, 1000, size=40)  # ~10 tokens each
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
        account = register_and_login(c, "counter")
        conv = new_conversation(c, account)
        insert_messages(settings, conv, 200, size=10)
        fake.reset()
        chat(c, account, conv, "q")
        assert len(fake.requests[-1].texts) - 1 <= 10
