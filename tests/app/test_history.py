"""The LangChain chat-history class over our tables, and its window."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage, HumanMessage

from app.chat.history import ConversationHistory, Window, select_window
from app.models import Message
from tests.app.conftest import Account, new_conversation


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
