"""A LangChain chat history over the app's own tables, windowed by a token budget.

langchain-core's `BaseChatMessageHistory` is the stable interface; langchain-community's
`SQLChatMessageHistory` (what the original project used) loads every message of a session
on every turn from an unindexed table, and the package is being sunset. See
docs/decisions.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from app import crud
from app.core.db import write_transaction
from app.models import Conversation, Message, Summary


@dataclass(frozen=True)
class Window:
    """How much history a turn may load and send."""

    token_budget: int
    max_messages: int


def to_langchain(message: Message) -> BaseMessage:
    if message.role == "user":
        return HumanMessage(content=message.content)
    return AIMessage(content=message.content)


def select_window(newest_first: Sequence[Message], window: Window) -> list[Message]:
    """The longest run of newest messages whose estimated tokens fit the budget, oldest first.

    The window never starts with an answer whose question fell outside it: Gemini expects
    the conversation to open with a user turn.
    """
    chosen: list[Message] = []
    used = 0
    for message in newest_first[: window.max_messages]:
        if used + message.token_estimate > window.token_budget:
            break
        chosen.append(message)
        used += message.token_estimate
    chosen.reverse()
    while chosen and chosen[0].role != "user":
        chosen.pop(0)
    return chosen


class ConversationHistory(BaseChatMessageHistory):
    """History of one conversation's branch: the path from the root to `leaf_id` (default:
    the leaf the conversation is viewing). `messages` is the window, not the whole log: what
    a turn loads is bounded by `window.max_messages` rows, whatever the conversation's length
    or number of versions."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        conversation_id: uuid.UUID,
        window: Window,
        *,
        leaf_id: int | None = None,
    ) -> None:
        self._factory = session_factory
        self.conversation_id = conversation_id
        self.window = window
        self.leaf_id = leaf_id
        self.loaded_rows = 0

    def _leaf(self, session: Session) -> int | None:
        if self.leaf_id is not None:
            return self.leaf_id
        return session.scalar(
            select(Conversation.current_leaf_id).where(Conversation.id == self.conversation_id)
        )

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        with self._factory() as session:
            rows = crud.path_to(
                session,
                conversation_id=self.conversation_id,
                leaf_id=self._leaf(session),
                limit=self.window.max_messages,
            )
        self.loaded_rows = len(rows)
        return [to_langchain(m) for m in select_window(rows, self.window)]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Appends below the leaf in one transaction, and moves the leaf. (Turns are saved
        by the chat service together with the conversation's title and activity time; this
        is for LangChain callers.)"""
        with write_transaction(self._factory) as session:
            parent = self._leaf(session)
            for message in messages:
                parent = crud.insert_message(
                    session,
                    conversation_id=self.conversation_id,
                    role="user" if message.type == "human" else "ai",
                    content=message.text,
                    parent_id=parent,
                )
            crud.set_leaf(session, conversation_id=self.conversation_id, leaf_id=parent)
        if self.leaf_id is not None:
            self.leaf_id = parent

    def clear(self) -> None:
        with write_transaction(self._factory) as session:
            crud.set_leaf(session, conversation_id=self.conversation_id, leaf_id=None)
            session.execute(delete(Summary).where(Summary.conversation_id == self.conversation_id))
            session.execute(delete(Message).where(Message.conversation_id == self.conversation_id))
        self.leaf_id = None
