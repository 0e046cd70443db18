"""A LangChain chat history over the app's own tables: a running summary plus a verbatim
window, bounded by a token budget.

langchain-core's `BaseChatMessageHistory` is the stable interface; langchain-community's
`SQLChatMessageHistory` (what the original project used) loads every message of a session
on every turn from an unindexed table, and the package is being sunset. See
docs/decisions.md.

What a turn sends (`load_memory`): the newest summary whose last covered message is on the
branch, as a framed system message, then every message of the branch after it, newest
first until the window's hard limits (token budget, message cap). The summariser
(app/chat/summary.py) keeps that tail short by folding the older messages into a new
summary every few turns; while it lags (or fails), the tail grows up to the limits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from sqlalchemy import Select, bindparam, delete, func, literal, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from app import crud
from app.core.db import write_transaction
from app.models import Conversation, Message, Summary
from app.schemas import MemoryOut, SummaryOut, WindowOut

# How far beyond the window's message cap a turn looks for the summary, in messages (ids
# only). In steady state the summary ends inside the window's reach; this allows for a
# summariser that failed for a few dozen turns, or a branch that forked a little above the
# window. Beyond it a turn sends the window alone until the summariser (which looks
# further) catches up.
SUMMARY_SCAN_MESSAGES = 64

SUMMARY_FRAME = (
    "Earlier in this conversation (a summary of the messages before the ones that follow):"
)


@dataclass(frozen=True)
class Window:
    """How much history a turn may load and send."""

    token_budget: int
    max_messages: int


@dataclass
class Memory:
    """What the model is given of a branch: the summary (if any) and the verbatim window
    after it, oldest first."""

    summary: Summary | None
    window: list[Message]
    # The branch as loaded (newest first), and whether it reaches the root (else the
    # branch goes on above what was loaded).
    path: list[Message] = field(default_factory=list)
    reached_root: bool = True

    @property
    def loaded_rows(self) -> int:
        return len(self.path)

    @property
    def window_tokens(self) -> int:
        return sum(m.token_estimate for m in self.window)

    def langchain_messages(self) -> list[BaseMessage]:
        framed = [summary_message(self.summary)] if self.summary is not None else []
        return framed + [to_langchain(m) for m in self.window]


def to_langchain(message: Message) -> BaseMessage:
    if message.role == "user":
        return HumanMessage(content=message.content)
    return AIMessage(content=message.content)


def summary_message(summary: Summary) -> SystemMessage:
    """A system message after the system prompt: the Gemini client appends it to the
    system instruction, where it reads as background rather than as something said."""
    return SystemMessage(content=f"{SUMMARY_FRAME}\n{summary.content}")


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


# Both built once: constructing them per call cost more than running them.
NEWEST_SUMMARY_ON = (
    select(Summary)
    .where(
        Summary.conversation_id == bindparam("conversation_id"),
        Summary.through_message_id.in_(bindparam("path_ids", expanding=True)),
    )
    .order_by(Summary.through_message_id.desc(), Summary.id.desc())
    .limit(1)
)


def newest_summary_on(
    session: Session, conversation_id: uuid.UUID, path_ids: Sequence[int]
) -> Summary | None:
    """The summary covering the most of a branch (`path_ids`, any part of it): the one
    whose last covered message is nearest the leaf. Ids grow from the root to the leaves,
    so that is the largest through_message_id on the path. One indexed IN query."""
    if not path_ids:
        return None
    params = {"conversation_id": conversation_id, "path_ids": list(path_ids)}
    return session.scalar(NEWEST_SUMMARY_ON, params)


def _ids_above_statement() -> Select[int]:
    anchor = select(Message.id, Message.parent_id, literal(0).label("depth")).where(
        Message.id == bindparam("message_id"),
        Message.conversation_id == bindparam("conversation_id"),
    )
    walk = anchor.cte("above", recursive=True)
    up = aliased(Message)
    walk = walk.union_all(
        select(up.id, up.parent_id, walk.c.depth + 1).where(
            up.id == walk.c.parent_id, walk.c.depth < bindparam("last_depth")
        )
    )
    return select(walk.c.id).order_by(walk.c.depth)


IDS_ABOVE = _ids_above_statement()


def ids_above(
    session: Session, conversation_id: uuid.UUID, message_id: int, limit: int
) -> list[int]:
    """The ids of `message_id` and up to `limit - 1` of its ancestors, newest first: the
    walk of `crud.path_to` without loading the messages."""
    params = {"message_id": message_id, "conversation_id": conversation_id, "last_depth": limit - 1}
    return list(session.scalars(IDS_ABOVE, params))


def summary_for(
    session: Session, conversation_id: uuid.UUID, path: Sequence[Message], limit: int
) -> Summary | None:
    """The newest valid summary for the branch whose newest messages are `path` (loaded
    with `limit`). In steady state it ends inside `path`; if not, and the branch goes on
    above, SUMMARY_SCAN_MESSAGES more ids are walked (ids only) to find it."""
    summary = newest_summary_on(session, conversation_id, [m.id for m in path])
    if summary is None and len(path) == limit and path[-1].parent_id is not None:
        further = ids_above(session, conversation_id, path[-1].parent_id, SUMMARY_SCAN_MESSAGES)
        summary = newest_summary_on(session, conversation_id, further)
    return summary


def after_summary(path: Sequence[Message], summary: Summary | None) -> list[Message]:
    """The messages of `path` (newest first) that `summary` does not cover."""
    if summary is None:
        return list(path)
    for i, message in enumerate(path):
        if message.id == summary.through_message_id:
            return list(path[:i])
    return list(path)


def load_memory(
    session: Session, conversation_id: uuid.UUID, leaf_id: int | None, window: Window
) -> Memory:
    """The summary and window for the branch ending at `leaf_id`. Bounded cost: one walk of
    max_messages + 1 messages up the tree and one summary lookup (plus a walk of at most
    SUMMARY_SCAN_MESSAGES ids when the summary lies further up), whatever the
    conversation's length or number of branches."""
    limit = window.max_messages + 1
    path = crud.path_to(session, conversation_id=conversation_id, leaf_id=leaf_id, limit=limit)
    summary = summary_for(session, conversation_id, path, limit)
    chosen = select_window(after_summary(path, summary), window)
    return Memory(summary=summary, window=chosen, path=path, reached_root=len(path) < limit)


def covered_count(session: Session, conversation_id: uuid.UUID, message_id: int) -> int:
    """How many messages the path from the root to `message_id` holds (what a summary
    through it covers). Walks the whole path: for the memory endpoint, not for turns."""
    anchor = select(Message.id, Message.parent_id).where(
        Message.id == message_id, Message.conversation_id == conversation_id
    )
    path = anchor.cte("covered", recursive=True)
    up = aliased(Message)
    path = path.union_all(select(up.id, up.parent_id).where(up.id == path.c.parent_id))
    return session.scalar(select(func.count(literal(1))).select_from(path)) or 0


def remembered(session: Session, conv: Conversation, window: Window) -> MemoryOut:
    """What the next turn on the branch being viewed would send, described."""
    memory = load_memory(session, conv.id, conv.current_leaf_id, window)
    summary = None
    if memory.summary is not None:
        s = memory.summary
        summary = SummaryOut(
            content=s.content,
            through_message_id=s.through_message_id,
            covered_messages=covered_count(session, conv.id, s.through_message_id),
            token_estimate=s.token_estimate,
            model=s.model,
            input_tokens=s.input_tokens,
            output_tokens=s.output_tokens,
            created_at=s.created_at,
        )
    return MemoryOut(
        summary=summary,
        window=WindowOut(
            messages=len(memory.window),
            tokens=memory.window_tokens,
            first_message_id=memory.window[0].id if memory.window else None,
        ),
    )


class ConversationHistory(BaseChatMessageHistory):
    """History of one conversation's branch: the path from the root to `leaf_id` (default:
    the leaf the conversation is viewing). `messages` is the summary and the window, not the
    whole log: what a turn loads is bounded by `window.max_messages + 1` messages (see
    load_memory), whatever the conversation's length or number of versions."""

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

    def memory(self) -> Memory:
        with self._factory() as session:
            memory = load_memory(session, self.conversation_id, self._leaf(session), self.window)
        self.loaded_rows = memory.loaded_rows
        return memory

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The summary (a framed system message) if there is one, then the window."""
        return self.memory().langchain_messages()

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
