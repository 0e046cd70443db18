"""One chat turn: claim the conversation, check limits, load the memory window of the
branch being answered, and hand the model call to a detached generation
(app/chat/generation.py) that writes the answer as it comes."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

import anyio
from langchain_core.messages import BaseMessage
from sqlalchemy.orm import Session, sessionmaker

from app import crud
from app.chat import usage
from app.chat.chain import ChatChain, TurnError
from app.chat.generation import Generation
from app.chat.history import Memory, Window, load_memory
from app.chat.llm import model_info
from app.chat.summary import Summariser
from app.core import ratelimit
from app.core.config import Settings
from app.core.db import write_transaction
from app.models import DEFAULT_TITLE, Message

log = logging.getLogger("app.chat")

TITLE_MAX_CHARS = 60


class TurnRejected(TurnError):
    """The turn can't start: 404, 409 or 429 (with retry_after)."""


@dataclass
class TurnPlan:
    user_id: int  # whose usage the answer's tokens count to
    conversation_id: uuid.UUID
    lease: uuid.UUID
    system_prompt: str
    history: list[BaseMessage]
    memory: Memory  # what `history` was made from, for the summariser's check after the turn
    input_text: str
    new_user_text: str | None  # None when regenerating an existing question
    parent_id: int | None  # where a new question goes in the tree
    question_id: int | None  # the existing question a regenerate answers again
    title: str | None  # the automatic title, for a conversation's first question


def auto_title(text: str) -> str:
    """A short title from the first message: its first line, cut at a word boundary."""
    line = " ".join(text.strip().split("\n", 1)[0].split())
    if len(line) <= TITLE_MAX_CHARS:
        return line or DEFAULT_TITLE
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
        # A heartbeat, not a worst case: the running turn renews it (generation.py), so a
        # dead worker's conversation is free again within this long.
        self.lease_ttl = timedelta(seconds=settings.turn_lease_seconds)
        # The generations running in this process. Referenced here so they are not
        # garbage-collected while no request awaits them, and drained at shutdown.
        self.running: set[asyncio.Task[None]] = set()
        self._shutdown: asyncio.TimerHandle | None = None
        # The shutdown's grace period is over: a turn starting now is interrupted at once.
        self.past_grace = False

    # -- before the model ----------------------------------------------------------------
    async def prepare(
        self,
        *,
        user_id: int,
        conversation_id: uuid.UUID,
        message: str | None,
        edit_of: int | None = None,
    ) -> TurnPlan:
        return await anyio.to_thread.run_sync(
            self._prepare, user_id, conversation_id, message, edit_of
        )

    def _prepare(
        self, user_id: int, conversation_id: uuid.UUID, message: str | None, edit_of: int | None
    ) -> TurnPlan:
        # The write lock is held only for the lease, the counters and marking an answer a
        # crashed turn left behind (indexed statements); everything else is read outside it.
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
                try:
                    # Before the model call: the tokens of turns running now are counted
                    # when they end (a budget is overshot by at most the turns in flight).
                    usage.check_budgets(session, self.settings, user_id)
                except usage.BudgetSpent as exc:
                    raise TurnRejected(429, exc.detail, exc.retry_after) from exc
                crud.interrupt_streaming(session, conversation_id=conversation_id)
                crud.touch_last_active(session, user_id=user_id)
        if lease is None:
            with self.factory() as session:
                exists = crud.get_conversation(
                    session, user_id=user_id, conversation_id=conversation_id
                )
            if exists is None:
                raise TurnRejected(404, "Conversation not found")
            raise TurnRejected(409, "An answer is already being generated in this conversation")
        try:
            # The conversation's fields came back from the lease's UPDATE; one read
            # transaction loads the branch. (A conversation deleted meanwhile ends the turn
            # at its first write, with a 409.)
            with self.factory() as session:
                return self._plan(session, user_id, conversation_id, lease, message, edit_of)
        except BaseException:
            self._release(conversation_id, lease.token)
            raise

    def _plan(
        self,
        session: Session,
        user_id: int,
        conversation_id: uuid.UUID,
        conv: crud.TurnLease,
        message: str | None,
        edit_of: int | None,
    ) -> TurnPlan:
        """Where the turn goes in the tree, and what the model sees: the branch above it,
        windowed."""
        question_id = None
        if message is None:  # regenerate: a new version of the current branch's answer
            question = self._current_question(session, conversation_id, conv.current_leaf_id)
            if question is None:
                raise TurnRejected(409, "There is no question to answer again")
            question_id, parent_id, input_text = question.id, question.parent_id, question.content
        elif edit_of is not None:  # a new version of an earlier question
            edited = crud.get_message(session, conversation_id=conversation_id, message_id=edit_of)
            if edited is None or edited.role != "user":
                raise TurnRejected(404, "No such question in this conversation")
            parent_id, input_text = edited.parent_id, message
        else:
            parent_id, input_text = conv.current_leaf_id, message
        memory = Memory(summary=None, window=[])
        if parent_id is not None:
            memory = load_memory(session, conversation_id, parent_id, self.window)
        first = message is not None and parent_id is None and not conv.title_is_custom
        return TurnPlan(
            user_id=user_id,
            conversation_id=conversation_id,
            lease=conv.token,
            system_prompt=conv.system_prompt or self.settings.default_system_prompt,
            history=memory.langchain_messages(),
            memory=memory,
            input_text=input_text,
            new_user_text=message,
            parent_id=parent_id,
            question_id=question_id,
            title=auto_title(input_text) if first else None,
        )

    @staticmethod
    def _current_question(
        session: Session, conversation_id: uuid.UUID, leaf_id: int | None
    ) -> Message | None:
        """The question at the end of the branch being viewed: the leaf itself, or the
        question its answer (the leaf) replies to."""
        path = crud.path_to(session, conversation_id=conversation_id, leaf_id=leaf_id, limit=2)
        return next((m for m in path if m.role == "user"), None)

    def _release(self, conversation_id: uuid.UUID, lease: uuid.UUID) -> None:
        with write_transaction(self.factory) as session:
            crud.release_turn(session, conversation_id=conversation_id, token=lease)

    # -- the model -----------------------------------------------------------------------
    def start(self, plan: TurnPlan, *, listen: bool) -> Generation:
        """Run the turn in a task of its own: the request that started it may go away (or
        be cancelled) and the answer is still written to the end."""
        generation = Generation(self, plan, listen=listen)
        task = asyncio.create_task(generation.run(), name=f"answer {plan.conversation_id}")
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        task.add_done_callback(_log_failure)
        # Started during a shutdown (a request accepted just before it): the grace period's
        # end cancels it with the others. Not cancelled here: a task cancelled before its
        # first step never runs its body, which alone can answer and release the lease.
        return generation

    # -- shutdown ------------------------------------------------------------------------
    def begin_shutdown(self) -> None:
        """The server stops: answers being written get the grace period to finish, then
        are cancelled (and saved as interrupted)."""
        if self._shutdown is None:
            loop = asyncio.get_running_loop()
            self._shutdown = loop.call_later(self.settings.shutdown_grace_seconds, self._cancel_all)
            if self.running:
                log.info("shutdown: waiting for %d answer(s) being written", len(self.running))

    def _cancel_all(self) -> None:
        self.past_grace = True
        for task in self.running:
            task.cancel()

    async def drain(self) -> None:
        """Wait for every generation of this process (after begin_shutdown's grace, they
        are cancelled and save themselves as interrupted)."""
        self.begin_shutdown()
        while self.running:
            await asyncio.gather(*self.running, return_exceptions=True)
        if self._shutdown is not None:
            self._shutdown.cancel()


def _log_failure(task: asyncio.Task[None]) -> None:
    """No request may be awaiting a generation: its bugs are logged here, with traceback."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("answer generation failed", exc_info=exc)
