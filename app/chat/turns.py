"""One chat turn: claim the conversation, check limits, load the memory window, call the
model, and save the user and AI messages together — only when the model succeeded."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import anyio
from langchain_core.messages import AIMessageChunk, BaseMessage
from sqlalchemy.orm import Session, sessionmaker

from app import crud
from app.chat.chain import ChatChain, Reply, TurnError
from app.chat.history import ConversationHistory, Window
from app.chat.llm import model_info
from app.chat.summary import Summariser
from app.core import ratelimit
from app.core.config import Settings
from app.core.db import write_transaction
from app.models import Conversation, Message
from app.schemas import TurnDone

log = logging.getLogger("app.chat")

TITLE_MAX_CHARS = 60


class TurnRejected(TurnError):
    """The turn can't start or be saved: 404, 409 or 429 (with retry_after)."""


@dataclass
class TurnPlan:
    conversation_id: uuid.UUID
    lease: uuid.UUID
    system_prompt: str
    history: list[BaseMessage]
    input_text: str
    new_user_text: str | None  # None when regenerating an existing question
    parent_id: int | None  # where a new question goes in the tree
    question_id: int | None  # the existing question a regenerate answers again
    retitle: bool
    saved: bool = False


def auto_title(text: str) -> str:
    """A short title from the first message: its first line, cut at a word boundary."""
    line = " ".join(text.strip().split("\n", 1)[0].split())
    if len(line) <= TITLE_MAX_CHARS:
        return line or crud.DEFAULT_TITLE
    cut = line[:TITLE_MAX_CHARS].rsplit(" ", 1)[0] or line[:TITLE_MAX_CHARS]
    return cut.rstrip(" ,.;:") + "…"


class TurnService:
    def __init__(
        self, settings: Settings, factory: sessionmaker[Session], chain: ChatChain
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.chain = chain
        self.window = Window(settings.history_token_budget, settings.history_max_messages)
        self.chat_limit = ratelimit.Limit("chat-minute", settings.chat_rate_per_minute, 60)
        self.daily_limit = ratelimit.Limit("chat-day", settings.daily_message_quota, 86_400)
        self.model_name = model_info(settings).name
        self.summaries = Summariser(
            settings, factory, chain.model, self.model_name, chain.deadline_seconds
        )
        # A lease must outlive the slowest successful turn and expire soon after a crash.
        self.lease_ttl = timedelta(seconds=chain.deadline_seconds + 600)

    # -- before the model ----------------------------------------------------------------
    async def prepare(
        self, *, user_id: int, conversation_id: uuid.UUID, message: str | None
    ) -> TurnPlan:
        return await anyio.to_thread.run_sync(self._prepare, user_id, conversation_id, message)

    def _prepare(self, user_id: int, conversation_id: uuid.UUID, message: str | None) -> TurnPlan:
        # The write lock is held only for the lease and the counters (two statements);
        # everything else is read outside it. Under load the lock is the shared resource.
        with write_transaction(self.factory) as session:
            lease = crud.acquire_turn(
                session, user_id=user_id, conversation_id=conversation_id, ttl=self.lease_ttl
            )
            if lease is not None:
                try:
                    ratelimit.hit_many(
                        session,
                        [
                            (self.chat_limit, f"user:{user_id}"),
                            (self.daily_limit, f"user:{user_id}"),
                        ],
                    )
                except ratelimit.RateLimited as exc:
                    # Leaving the block rolls back the lease and the counters with it.
                    kind = "daily message quota" if exc.limit is self.daily_limit else "rate limit"
                    raise TurnRejected(
                        429, f"Too many messages: {kind} reached", exc.retry_after
                    ) from exc
        if lease is None:
            with self.factory() as session:
                exists = crud.get_conversation(
                    session, user_id=user_id, conversation_id=conversation_id
                )
            if exists is None:
                raise TurnRejected(404, "Conversation not found")
            raise TurnRejected(409, "An answer is already being generated in this conversation")
        try:
            with self.factory() as session:
                conv = crud.get_conversation(
                    session, user_id=user_id, conversation_id=conversation_id
                )
            if conv is None:  # deleted between the two statements
                raise TurnRejected(404, "Conversation not found")
            system_prompt = conv.system_prompt or self.settings.default_system_prompt
            return self._load(conv, lease, message, system_prompt)
        except BaseException:
            self._release(conversation_id, lease)
            raise

    def _load(
        self, conv: Conversation, lease: uuid.UUID, message: str | None, system_prompt: str
    ) -> TurnPlan:
        """What the model sees: the branch up to the new question's parent, windowed."""
        parent_id = question_id = None
        if message is None:  # regenerate the answer to the question of the current branch
            with self.factory() as session:
                question = self._current_question(session, conv)
            if question is None:
                raise TurnRejected(409, "There is no question to answer again")
            question_id, parent_id, input_text = question.id, question.parent_id, question.content
        else:
            parent_id, input_text = conv.current_leaf_id, message
        history = ConversationHistory(self.factory, conv.id, self.window, leaf_id=parent_id)
        window = history.messages if parent_id is not None else []
        return TurnPlan(
            conversation_id=conv.id,
            lease=lease,
            system_prompt=system_prompt,
            history=window,
            input_text=input_text,
            new_user_text=message,
            parent_id=parent_id,
            question_id=question_id,
            retitle=message is not None and parent_id is None and not conv.title_is_custom,
        )

    @staticmethod
    def _current_question(session: Session, conv: Conversation) -> Message | None:
        """The question at the end of the branch being viewed: the leaf itself, or the
        question its answer (the leaf) replies to."""
        path = crud.path_to(session, conversation_id=conv.id, leaf_id=conv.current_leaf_id, limit=2)
        return next((m for m in path if m.role == "user"), None)

    # -- after the model -----------------------------------------------------------------
    async def finish(self, plan: TurnPlan, reply: Reply) -> TurnDone:
        """Save the exchange and release the lease in one transaction. Shielded: a client
        that disconnects now can't leave half of it written."""
        with anyio.CancelScope(shield=True):
            done = await anyio.to_thread.run_sync(self._finish, plan, reply)
        self.summaries.schedule(plan.conversation_id)
        return done

    def _finish(self, plan: TurnPlan, reply: Reply) -> TurnDone:
        title = auto_title(plan.input_text) if plan.retitle else None
        with write_transaction(self.factory) as session:
            saved = crud.save_turn(
                session,
                conversation_id=plan.conversation_id,
                lease=plan.lease,
                user_text=plan.new_user_text,
                parent_id=plan.parent_id,
                question_id=plan.question_id,
                ai_text=reply.text,
                model=self.model_name,
                input_tokens=reply.usage.input_tokens if reply.usage else None,
                output_tokens=reply.usage.output_tokens if reply.usage else None,
                title=title,
            )
            if saved is None:
                # The lease expired and another turn took over, or the conversation was
                # deleted meanwhile: saving now could interleave turns. Raising rolls back.
                raise TurnRejected(409, "The conversation changed while answering")
        user_id, ai_id, stored_title = saved
        plan.saved = True
        return TurnDone(
            user_message_id=user_id, ai_message_id=ai_id, usage=reply.usage, title=stored_title
        )

    async def abandon(self, plan: TurnPlan) -> None:
        """Release the lease of a turn that was not saved (saving releases it itself)."""
        if plan.saved:
            return
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._release, plan.conversation_id, plan.lease)

    def _release(self, conversation_id: uuid.UUID, lease: uuid.UUID) -> None:
        with write_transaction(self.factory) as session:
            crud.release_turn(session, conversation_id=conversation_id, token=lease)

    # -- the model -----------------------------------------------------------------------
    async def answer(self, plan: TurnPlan) -> Reply:
        return await self.chain.ainvoke(plan.system_prompt, plan.history, plan.input_text)

    def stream(self, plan: TurnPlan) -> AsyncIterator[AIMessageChunk]:
        return self.chain.astream(plan.system_prompt, plan.history, plan.input_text)
