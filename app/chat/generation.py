"""An answer being written: a task, detached from the HTTP request that started it, that
streams the model into a row which grows until the answer is done, stopped, failed or
interrupted.

The row is the truth. A client that went away loses nothing (the task goes on and saves);
one that comes back, on any worker or host, reads the row and follows it
(`app.api.routes.chat.follow_answer`). The original request gets the tokens from an
in-process queue, only so it needn't wait for the batched writes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import anyio
from langchain_core.messages import AIMessageChunk
from sqlalchemy.orm import Session

from app import crud
from app.chat import usage as usage_counters
from app.chat.chain import ModelFailure, TurnError, usage_of
from app.core.db import write_transaction
from app.models import Message
from app.schemas import TurnDone, Usage

if TYPE_CHECKING:
    from app.chat.turns import TurnPlan, TurnService

log = logging.getLogger("app.chat")

T = TypeVar("T")

# The answer so far is written at most this often (one short UPDATE); a re-attached client
# and a stop see the answer with at most this delay. Measured in docs/decisions.md.
FLUSH_SECONDS = 0.2


@dataclass
class Started:
    question_id: int
    answer_id: int
    title: str


@dataclass
class Outcome:
    """How the answer ended. `error` is set for a failed turn (the partial answer, if any,
    is kept as "error"), `done` whenever an answer row exists."""

    state: str  # "done" | "stopped" | "error" | "interrupted"
    text: str
    done: TurnDone | None
    error: TurnError | None


class Generation:
    def __init__(self, service: TurnService, plan: TurnPlan, *, listen: bool) -> None:
        self.service = service
        self.plan = plan
        loop = asyncio.get_running_loop()
        # Results, never exceptions: nobody may be left awaiting them (a client that left).
        self.started: asyncio.Future[Started | TurnError] = loop.create_future()
        self.outcome: asyncio.Future[Outcome] = loop.create_future()
        # Tokens for the request that started the turn (None ends them); only when it
        # streams. Bounded by the answer's length.
        self.tokens: asyncio.Queue[str | None] | None = asyncio.Queue() if listen else None
        self.task: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self.lease_lost = False
        self.started_rows: Started | None = None
        self._parts: list[str] = []
        self._usage: Usage | None = None
        self._model: str | None = None

    # -- the task --------------------------------------------------------------------------
    async def run(self) -> None:
        self.task = asyncio.current_task()
        if self.service.past_grace:  # started after the shutdown's grace period
            await self._end("interrupted", TurnError(503, "The server is restarting"))
            return
        self._heartbeat = asyncio.create_task(self._keep_lease())
        stream = self.service.chain.astream(
            self.plan.system_prompt, self.plan.history, self.plan.input_text
        )
        try:
            await self._generate(stream)
        except TurnError as exc:
            await self._end("error", exc)
        except asyncio.CancelledError:
            if self.lease_lost:
                # A stop freed the conversation, or a turn took it over after this one
                # stalled past its lease: the row is no longer ours to write.
                self._stop_heartbeat()
                if self.started_rows is None:
                    self._resolve("error", TurnError(409, "The conversation changed meanwhile"))
                else:
                    await self._noticed_stop()
            else:  # shutdown past its grace period
                await self._end("interrupted", TurnError(503, "The server is restarting"))
        except BaseException:
            # A bug of ours: save what exists as an error and let the traceback be logged.
            await self._end("error", TurnError(500, "Internal server error"))
            raise
        finally:
            with anyio.CancelScope(shield=True):
                # Closing the stream closes the upstream request: a stopped answer stops
                # costing model time.
                await stream.aclose()

    async def _generate(self, stream: AsyncIterator[AIMessageChunk]) -> None:
        first = await self._first_text(stream)
        started = await self._db(self._store_start, first)
        if started is None:
            raise TurnError(409, "The conversation changed while answering")
        self.started_rows = started
        self._set(self.started, started)
        self._emit(first)
        flushed, last_flush = len(first), time.monotonic()
        async for chunk in stream:
            self._take(chunk)
            if chunk.text:
                self._emit(chunk.text)
            if time.monotonic() - last_flush >= FLUSH_SECONDS:
                text = self.text
                if len(text) > flushed:
                    if not await self._db(self._grow, text):
                        await self._noticed_stop()
                        return
                    flushed, last_flush = len(text), time.monotonic()
        await self._end("done", None)

    async def _first_text(self, stream: AsyncIterator[AIMessageChunk]) -> str:
        """Wait for the model's first words; failures before them raise (nothing stored)."""
        async for chunk in stream:
            self._take(chunk)
            if chunk.text:
                return chunk.text
        raise ModelFailure(502, "The model returned an empty answer.")

    def _take(self, chunk: AIMessageChunk) -> None:
        if chunk.text:
            self._parts.append(chunk.text)
        self._usage = usage_of(chunk) or self._usage
        self._model = (chunk.response_metadata or {}).get("model_name") or self._model

    @property
    def text(self) -> str:
        return "".join(self._parts)

    # -- the lease -------------------------------------------------------------------------
    async def _keep_lease(self) -> None:
        """Renew the turn lease every third of its TTL; a renewal that finds it gone (a
        stop, or a turn that took over after a stall) ends the generation."""
        period = self.service.lease_ttl.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            try:
                kept = await self._db(self._renew)
            except Exception:
                # The database may be back before the lease lapses; keep trying.
                log.warning("turn lease renewal failed", exc_info=True)
                continue
            if not kept:
                self.lease_lost = True
                if self.task is not None:
                    self.task.cancel()
                return

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()

    # -- ending ----------------------------------------------------------------------------
    async def _end(self, state: str, error: TurnError | None) -> None:
        """Save the answer in `state` and release the lease (or, with no answer row yet,
        just release it). Shielded: a shutdown can't leave it half done."""
        self._stop_heartbeat()
        with anyio.CancelScope(shield=True):
            if self.started_rows is None:
                await self._db(self._release)
            elif not await self._db(self._store_end, state):
                await self._noticed_stop()  # a stop landed before the end
                return
        self._resolve(state, error)

    async def _noticed_stop(self) -> None:
        """The row is no longer streaming: stopped (its text completed with what this task
        received, which the user may have seen) or interrupted by a turn that took over."""
        self._stop_heartbeat()
        with anyio.CancelScope(shield=True):
            state = await self._db(self._complete_stopped)
        self._resolve(state, None)

    def _resolve(self, state: str, error: TurnError | None) -> None:
        started = self.started_rows
        if started is not None and (state != "done" or self._summary_due(started)):
            # The turn is stored (done, stopped or failed midway): fold what left the
            # window into the summary, in the background.
            self.service.summaries.schedule(self.plan.conversation_id)
        if started is None:
            self._set(self.started, error or TurnError(502, "The model failed to answer"))
        done = None
        if started is not None:
            done = TurnDone(
                user_message_id=started.question_id,
                ai_message_id=started.answer_id,
                usage=self._usage,
                title=started.title,
                state=state,  # type: ignore[arg-type]
            )
        self._set(self.outcome, Outcome(state=state, text=self.text, done=done, error=error))
        if self.tokens is not None:
            self.tokens.put_nowait(None)

    def _summary_due(self, started: Started) -> bool:
        """Whether the summariser has work after this answer, judged from the rows the turn
        loaded plus the two it wrote (their final text known: the answer is done)."""
        added = [
            Message(
                id=started.answer_id,
                role="ai",
                state="done",
                token_estimate=crud.estimate_tokens(self.text),
            ),
            Message(
                id=started.question_id,
                role="user",
                state="done",
                token_estimate=crud.estimate_tokens(self.plan.input_text),
            ),
        ]
        return self.service.summaries.due_after(self.plan.memory, added)

    def _emit(self, text: str) -> None:
        if self.tokens is not None:
            self.tokens.put_nowait(text)

    def detach(self) -> None:
        """The request that listened went away: stop queueing tokens for it."""
        self.tokens = None

    @staticmethod
    def _set(future: asyncio.Future[T], value: T) -> None:
        if not future.done():
            future.set_result(value)

    # -- the database (in worker threads) --------------------------------------------------
    async def _db(self, fn: Callable[..., T], *args: object) -> T:
        return await anyio.to_thread.run_sync(fn, *args)

    def _store_start(self, first_text: str) -> Started | None:
        plan = self.plan
        with write_transaction(self.service.factory) as session:
            stored = crud.start_answer(
                session,
                conversation_id=plan.conversation_id,
                lease=plan.lease,
                user_text=plan.new_user_text,
                parent_id=plan.parent_id,
                question_id=plan.question_id,
                first_text=first_text,
                title=plan.title,
            )
            if stored is None:
                return None
        return Started(*stored)

    def _grow(self, text: str) -> bool:
        assert self.started_rows is not None
        with write_transaction(self.service.factory) as session:
            return crud.grow_answer(session, message_id=self.started_rows.answer_id, content=text)

    def _store_end(self, state: str) -> bool:
        assert self.started_rows is not None
        usage = self._usage
        with write_transaction(self.service.factory) as session:
            ended, title = crud.finish_answer(
                session,
                conversation_id=self.plan.conversation_id,
                lease=self.plan.lease,
                message_id=self.started_rows.answer_id,
                content=self.text,
                state=state,
                model=self._model or self.service.model_name,
                input_tokens=usage.input_tokens if usage else None,
                output_tokens=usage.output_tokens if usage else None,
            )
            if ended:  # else a stop won: _complete_stopped counts the answer
                self._count(session)
        if title is not None:  # a rename while the answer was written wins
            self.started_rows.title = title
        return ended

    def _complete_stopped(self) -> str:
        assert self.started_rows is not None
        with write_transaction(self.service.factory) as session:
            usage = self._usage
            crud.complete_stopped(
                session,
                message_id=self.started_rows.answer_id,
                content=self.text,
                input_tokens=usage.input_tokens if usage else None,
                output_tokens=usage.output_tokens if usage else None,
            )
            # Counted whether stopped or taken over (interrupted): the model's tokens
            # were spent either way, and this generation ends here, counted once.
            self._count(session)
            row = crud.get_message(
                session,
                conversation_id=self.plan.conversation_id,
                message_id=self.started_rows.answer_id,
            )
        return row.state if row is not None else "interrupted"

    def _count(self, session: Session) -> None:
        """Add the answer's reported usage to the counters, in the transaction that stores
        its end (whatever the end: done, stopped, interrupted or failed midway)."""
        usage = self._usage
        usage_counters.count(
            session,
            user_id=self.plan.user_id,
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
        )

    def _renew(self) -> bool:
        with write_transaction(self.service.factory) as session:
            return crud.renew_turn(
                session,
                conversation_id=self.plan.conversation_id,
                token=self.plan.lease,
                ttl=self.service.lease_ttl,
            )

    def _release(self) -> None:
        with write_transaction(self.service.factory) as session:
            crud.release_turn(
                session, conversation_id=self.plan.conversation_id, token=self.plan.lease
            )
