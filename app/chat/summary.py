"""The running summary: after a turn is saved, the messages that left the verbatim window
are folded into a new summary of the branch, by the same model, in a background task.

- Cadence: only once at least `summary_every_turns` turns (2 messages each) wait outside the
  window, so a summary call happens at most every few turns.
- One at a time per conversation, across workers and hosts: the `summary_busy_until` lease,
  taken with one conditional UPDATE; the time written is the holder's token (only the
  holder can renew or release it), and it lapses by itself if the worker dies.
- Bounded retries with backoff; a summariser that fails only logs. Turns never wait for
  it: they use the newest summary that exists (app/chat/history.py).
- A summary row is never rewritten: each covers the branch from the root through
  `through_message_id`, so another branch keeps finding the one that is valid for it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
from langchain_core.language_models import BaseChatModel
from langchain_core.prompts import ChatPromptTemplate
from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app import crud
from app.chat import usage as usage_counters
from app.chat.chain import classify, usage_of
from app.chat.history import Memory, Window, after_summary, newest_summary_on, select_window
from app.core.config import Settings
from app.core.db import rows_matched, write_transaction
from app.models import Conversation, Message, Summary, utcnow
from app.schemas import Usage

log = logging.getLogger("app.chat.summary")

# The fake Gemini (tests/fakes/fake_gemini.py) recognises summary requests by this phrase.
SUMMARY_INSTRUCTIONS = """\
You maintain the running summary of a conversation between a user and an AI assistant.
You are given the previous summary (possibly empty) and the messages that follow it. Write the
new summary: the previous one with the new messages folded in.
- Keep every fact, name, number, date, decision and preference the user stated, and what the
  assistant concluded, recommended or promised. Drop greetings and filler.
- Write in the language the conversation is in.
- Plain text, one short line per point, at most {max_words} words in all; when space runs short,
  merge or shorten older points rather than dropping what the user said about themselves.
- Answer with the summary only."""

PROMPT = ChatPromptTemplate.from_messages(
    [("system", SUMMARY_INSTRUCTIONS), ("human", "{request}")]
)

# The most messages one summary call folds: a conversation far behind (one imported from
# before summaries existed) catches up in several calls of bounded size.
BATCH_MESSAGES = 64
# How far up the branch the summariser looks for the previous summary and for messages to
# fold. Messages further up that no summary covers (only in conversations that predate
# summaries) stay unsummarised.
CATCH_UP_MESSAGES = 400
# Room the lease leaves on top of the slowest summary call.
LEASE_MARGIN = timedelta(seconds=30)


@dataclass
class Job:
    previous: Summary | None
    messages: list[Message]  # oldest first; the new summary covers through the last one


def render_request(previous: Summary | None, messages: Sequence[Message]) -> str:
    lines = ["<previous_summary>", previous.content if previous else "", "</previous_summary>"]
    lines.append("<new_messages>")
    for m in messages:
        lines.append(f"{'User' if m.role == 'user' else 'Assistant'}: {m.content}")
    lines.append("</new_messages>")
    return "\n".join(lines)


def bounded(text: str, max_tokens: int) -> str:
    """The summary cut to its budget (estimated tokens), at a line break where possible:
    what a turn sends must stay bounded even if the model ignores the word limit."""
    text = text.strip()
    limit = max_tokens * 4
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind("\n")] if "\n" in cut else cut


def plan_job(
    path: Sequence[Message], previous: Summary | None, keep: Window, min_messages: int
) -> Job | None:
    """What to fold, from the branch `path` (newest first): the messages after `previous`
    that lie beyond the kept window, if at least `min_messages` of them wait; at most
    BATCH_MESSAGES and one window's token budget per call, ending before a question so the
    window after the summary starts with one."""
    pending = after_summary(path, previous)
    kept = len(select_window(pending, keep))
    older = list(reversed(pending[kept:]))  # oldest first
    # An answer still being written is not folded, nor anything after it.
    for i, m in enumerate(older):
        if m.state == "streaming":
            older = older[:i]
            break
    if not older or len(older) < min_messages:
        return None
    batch: list[Message] = []
    used = 0
    for m in older[:BATCH_MESSAGES]:
        if batch and used + m.token_estimate > keep.token_budget:
            break
        batch.append(m)
        used += m.token_estimate
    while len(batch) > 1 and len(batch) < len(older) and older[len(batch)].role != "user":
        batch.pop()
    return Job(previous=previous, messages=batch)


class Summariser:
    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        model: BaseChatModel,
        model_name: str,
        deadline_seconds: float,
    ) -> None:
        self.factory = factory
        self.runnable = PROMPT | model
        self.model_name = model_name
        # The offline demo model can't summarise: it would store its canned answer.
        self.enabled = settings.summary_every_turns > 0 and settings.model_mode == "gemini"
        self.min_messages = 2 * settings.summary_every_turns
        # What stays verbatim: the newest messages within half the token budget, so that
        # those waiting to be folded still fit the budget a turn sends.
        self.keep = Window(settings.history_token_budget // 2, settings.summary_keep_messages)
        self.reach = settings.history_max_messages + 1
        self.scan = settings.history_max_messages + CATCH_UP_MESSAGES
        self.max_tokens = settings.summary_max_tokens
        self.retries = settings.summary_retries
        self.retry_seconds = settings.summary_retry_seconds
        self.deadline_seconds = deadline_seconds
        self.lease_ttl = timedelta(seconds=deadline_seconds) + LEASE_MARGIN
        self._tasks: set[asyncio.Task[None]] = set()

    # -- scheduling ----------------------------------------------------------------------
    def schedule(self, conversation_id: uuid.UUID) -> None:
        """Summarise in the background if the branch needs it; returns at once."""
        if not self.enabled:
            return
        task = asyncio.get_running_loop().create_task(self.run(conversation_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the summaries in progress (tests, and a clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop at shutdown: a cancelled run releases its lease; nothing half-written."""
        for task in self._tasks:
            task.cancel()
        await self.drain()

    def due_after(self, memory: Memory, added: Sequence[Message]) -> bool:
        """Whether a run would find anything to fold after a turn that added `added` (newest
        first) below the branch it loaded as `memory`. Decided from what the turn already
        read, so that most turns skip the run's reads; when the turn's rows can't tell (the
        branch goes on above them with no summary among them), yes."""
        if not self.enabled:
            return False
        if memory.summary is None:
            if not memory.reached_root:
                return True
        elif all(m.id != memory.summary.through_message_id for m in memory.path):
            return True
        path = [*added, *memory.path]
        return plan_job(path, memory.summary, self.keep, self.min_messages) is not None

    # -- one run -------------------------------------------------------------------------
    async def run(self, conversation_id: uuid.UUID) -> None:
        """Fold what waits outside the window, in as many bounded calls as it takes. Never
        raises for a model failure: the next turn's run tries again."""
        # Most turns leave nothing to fold: find that out with reads alone, no lease.
        if await anyio.to_thread.run_sync(self._plan, conversation_id) is None:
            return
        lease = await anyio.to_thread.run_sync(self._acquire, conversation_id)
        try:
            while lease is not None:
                job = await anyio.to_thread.run_sync(self._plan, conversation_id)
                if job is None:
                    return
                lease, text, usage = await self._summarise(conversation_id, lease, job)
                if lease is None or text is None:
                    return
                lease = await anyio.to_thread.run_sync(
                    self._store, conversation_id, lease, job, text, usage
                )
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._release, conversation_id, lease)

    async def _summarise(
        self, conversation_id: uuid.UUID, lease: datetime, job: Job
    ) -> tuple[datetime | None, str | None, Usage | None]:
        """The new summary's text and usage, after at most 1 + retries calls; the lease is
        renewed before each (a heartbeat: a dead worker's lease lapses within one call)."""
        inputs = {
            "max_words": max(20, self.max_tokens * 3 // 4),
            "request": render_request(job.previous, job.messages),
        }
        renewed: datetime | None = lease
        for attempt in range(self.retries + 1):
            renewed = await anyio.to_thread.run_sync(self._renew, conversation_id, renewed)
            if renewed is None:
                break
            try:
                async with asyncio.timeout(self.deadline_seconds):
                    message = await self.runnable.ainvoke(inputs)
                text = bounded(message.text, self.max_tokens)
                if text:
                    return renewed, text, usage_of(message)
                failure = "an empty summary"
            except Exception as exc:
                # Bugs of ours (anything classify doesn't know) surface; model failures retry.
                failure = f"{type(exc).__name__} ({classify(exc).status})"
            log.warning(
                "summary of conversation %s failed (attempt %d of %d): %s",
                conversation_id,
                attempt + 1,
                self.retries + 1,
                failure,
            )
            if attempt < self.retries:
                await asyncio.sleep(self.retry_seconds * 2**attempt)
        return renewed, None, None

    # -- the database ----------------------------------------------------------------------
    def _acquire(self, conversation_id: uuid.UUID) -> datetime | None:
        """Take the summary lease; its expiry time is the token. None if it is held."""
        now = utcnow()
        until = now + self.lease_ttl
        with write_transaction(self.factory) as session:
            taken = rows_matched(
                session,
                update(Conversation)
                .where(
                    Conversation.id == conversation_id,
                    or_(
                        Conversation.summary_busy_until.is_(None),
                        Conversation.summary_busy_until < now,
                    ),
                )
                .values(summary_busy_until=until),
            )
        return until if taken == 1 else None

    def _release(self, conversation_id: uuid.UUID, lease: datetime | None) -> None:
        if lease is None:
            return
        with write_transaction(self.factory) as session:
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.summary_busy_until == lease)
                .values(summary_busy_until=None)
            )

    def _plan(self, conversation_id: uuid.UUID) -> Job | None:
        with self.factory() as session:
            leaf = session.scalar(
                select(Conversation.current_leaf_id).where(Conversation.id == conversation_id)
            )
            # What a turn loads first; further up (up to CATCH_UP_MESSAGES) only when the
            # summary isn't there: a lagging summariser or a conversation older than them.
            path = crud.path_to(
                session, conversation_id=conversation_id, leaf_id=leaf, limit=self.reach
            )
            previous = newest_summary_on(session, conversation_id, [m.id for m in path])
            if previous is None and len(path) == self.reach:
                path = crud.path_to(
                    session, conversation_id=conversation_id, leaf_id=leaf, limit=self.scan
                )
                previous = newest_summary_on(session, conversation_id, [m.id for m in path])
        return plan_job(path, previous, self.keep, self.min_messages)

    @staticmethod
    def _renew_in(
        session: Session, conversation_id: uuid.UUID, lease: datetime, ttl: timedelta
    ) -> datetime | None:
        renewed = utcnow() + ttl
        ours = rows_matched(
            session,
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.summary_busy_until == lease)
            .values(summary_busy_until=renewed),
        )
        return renewed if ours == 1 else None

    def _renew(self, conversation_id: uuid.UUID, lease: datetime | None) -> datetime | None:
        """Push the lease forward; None if it is no longer ours (it lapsed and another run
        took it, or the conversation was deleted)."""
        if lease is None:
            return None
        with write_transaction(self.factory) as session:
            return self._renew_in(session, conversation_id, lease, self.lease_ttl)

    def _store(
        self,
        conversation_id: uuid.UUID,
        lease: datetime,
        job: Job,
        text: str,
        usage: Usage | None,
    ) -> datetime | None:
        """Insert the new summary, count its tokens and renew the lease, in one
        transaction; the renewed lease, or None if it was no longer ours (then nothing is
        stored)."""
        with write_transaction(self.factory) as session:
            renewed = self._renew_in(session, conversation_id, lease, self.lease_ttl)
            if renewed is None:
                return None
            if usage is not None:
                # A summary is spent on its conversation's owner: its tokens count for the
                # account's day and the site's (so for the budgets), but it is no answer. The
                # row exists: the lease on it was just renewed, in this transaction.
                owner = session.execute(
                    select(Conversation.user_id).where(Conversation.id == conversation_id)
                ).scalar_one()
                usage_counters.count(
                    session,
                    user_id=owner,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    messages=0,
                )
            session.execute(
                insert(Summary).values(
                    conversation_id=conversation_id,
                    through_message_id=job.messages[-1].id,
                    content=text,
                    token_estimate=crud.estimate_tokens(text),
                    model=self.model_name,
                    input_tokens=usage.input_tokens if usage else None,
                    output_tokens=usage.output_tokens if usage else None,
                    created_at=utcnow(),
                )
            )
        return renewed
