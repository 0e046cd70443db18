"""Chat turns: POST /chat ({"answer"}) and POST /chat/stream (Server-Sent Events); an
answer being written can be followed from anywhere, stopped, and the branch being viewed
switched between versions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.sse import EventSourceResponse, ServerSentEvent

from app import crud
from app.api.deps import CurrentUser, Responses, StateDep
from app.chat.chain import TurnError
from app.chat.generation import Generation
from app.chat.tree import message_page, shown_state
from app.core.db import write_transaction
from app.models import Conversation, Message, utcnow
from app.schemas import (
    ChatIn,
    ChatOut,
    ErrorOut,
    LeafIn,
    MessageOut,
    MessagePage,
    TurnStarted,
)

router = APIRouter(
    tags=["chat"], responses={401: {"model": ErrorOut, "description": "Not authenticated"}}
)

CHAT_ERRORS: Responses = {
    404: {"model": ErrorOut, "description": "No such conversation (or edited question) of yours"},
    409: {"model": ErrorOut, "description": "Another answer is being generated in it"},
    413: {"model": ErrorOut, "description": "Request body too large"},
    429: {"model": ErrorOut, "description": "Rate limit or daily quota (see Retry-After)"},
    502: {"model": ErrorOut, "description": "The model failed"},
    503: {"model": ErrorOut, "description": "The model is rate limited (see Retry-After)"},
    504: {"model": ErrorOut, "description": "The model timed out"},
}
NOT_FOUND: Responses = {
    404: {"model": ErrorOut, "description": "No such conversation or message of yours"}
}

# A client following an answer someone else's request is writing reads its row this often.
FOLLOW_POLL_SECONDS = 0.25

MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _http_error(exc: TurnError) -> HTTPException:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return HTTPException(exc.status, exc.detail, headers=headers)


def _starter(listen: bool) -> Callable[..., Awaitable[Generation]]:
    async def start_turn(body: ChatIn, user: CurrentUser, state: StateDep) -> Generation:
        """Everything that can refuse a turn, before any answer starts: size, ownership
        (404), the conversation's turn lease (409), limits (429), and a model that fails
        before its first words (429→503, 5xx→502, timeout→504) — ordinary HTTP errors, with
        nothing stored. From the first words on, the answer is a row that a detached task
        writes to the end, whether or not this request stays."""
        limit = state.settings.max_message_chars
        if body.message is not None and len(body.message) > limit:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                [
                    {
                        "loc": ["body", "message"],
                        "msg": f"Message is longer than {limit} characters",
                        "type": "string_too_long",
                    }
                ],
            )
        try:
            plan = await state.turns.prepare(
                user_id=user.id,
                conversation_id=body.conversationId,
                message=body.message,
                edit_of=body.editOf,
            )
        except TurnError as exc:
            raise _http_error(exc) from exc
        generation = state.turns.start(plan, listen=listen)
        # Shielded: a client that leaves now doesn't cancel the turn, which goes on.
        started = await asyncio.shield(generation.started)
        if isinstance(started, TurnError):
            raise _http_error(started)
        return generation

    return start_turn


@router.post("/chat", response_model=ChatOut, responses=CHAT_ERRORS)
async def chat(generation: Annotated[Generation, Depends(_starter(listen=False))]) -> ChatOut:
    """One turn on the current branch; the answer comes back whole. `editOf` resends an
    earlier question edited, `regenerate: true` answers the last question again (both keep
    the earlier versions). A model failure after its first words keeps the partial answer
    (state "error") and answers with the failure's status."""
    outcome = await asyncio.shield(generation.outcome)
    if outcome.error is not None:
        raise _http_error(outcome.error)
    return ChatOut(answer=outcome.text)


@router.post(
    "/chat/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"description": "`start`, `token` events, then `done` (or `error`)"},
        **CHAT_ERRORS,
    },
)
async def chat_stream(
    generation: Annotated[Generation, Depends(_starter(listen=True))],
) -> AsyncIterator[ServerSentEvent]:
    """Stream the answer token by token. A client that disconnects doesn't stop it: the
    answer is written to the end and can be followed again
    (GET /conversations/{id}/messages/{message_id}/stream); Stop is its own request."""
    rows = generation.started_rows
    assert rows is not None  # start_turn returned: the rows exist
    yield ServerSentEvent(
        event="start",
        data=TurnStarted(user_message_id=rows.question_id, ai_message_id=rows.answer_id),
    )
    tokens = generation.tokens
    assert tokens is not None
    try:
        while (text := await tokens.get()) is not None:
            yield ServerSentEvent(event="token", data={"text": text})
    finally:
        generation.detach()
    outcome = generation.outcome.result()
    if outcome.error is not None:
        error = outcome.error
        yield ServerSentEvent(event="error", data={"status": error.status, "detail": error.detail})
        return
    yield ServerSentEvent(event="done", data=outcome.done)


# -- answers being written ----------------------------------------------------------------
def _own_message(
    conversation_id: uuid.UUID, message_id: MessageId, user: CurrentUser, state: StateDep
) -> Message:
    # Its own short session: a follower's stream must not hold a pooled connection.
    with state.session_factory() as session:
        conv = crud.get_conversation(session, user_id=user.id, conversation_id=conversation_id)
        message = (
            crud.get_message(session, conversation_id=conversation_id, message_id=message_id)
            if conv is not None
            else None
        )
    if message is None or message.role != "ai":
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Answer not found")
    return message


OwnAnswer = Annotated[Message, Depends(_own_message)]


def _message_out(message: Message, lapsed: bool) -> MessageOut:
    return MessageOut.model_validate(message).model_copy(
        update={"state": shown_state(message, lapsed)}
    )


@router.get(
    "/conversations/{conversation_id}/messages/{message_id}/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"description": "`token` events (first the text so far), then `done`"},
        **NOT_FOUND,
    },
)
async def follow_answer(answer: OwnAnswer, state: StateDep) -> AsyncIterator[ServerSentEvent]:
    """Follow an answer from any worker or host: the text written so far, then what is
    added, until it is no longer being written; `done` carries the message as stored (its
    `state` says how it ended). The row is the source: nothing here depends on the process
    that writes it."""
    factory = state.session_factory
    sent = 0

    def progress(offset: int) -> tuple[str, str, bool] | None:
        with factory() as session:
            found = crud.answer_progress(session, message_id=answer.id, offset=offset)
        if found is None:
            return None
        delta, row_state, busy_until = found
        lapsed = busy_until is None or busy_until < utcnow()
        return delta, row_state, lapsed

    while True:
        found = await anyio.to_thread.run_sync(progress, sent)
        if found is None:  # deleted meanwhile
            yield ServerSentEvent(event="error", data={"status": 404, "detail": "Answer not found"})
            return
        delta, row_state, lapsed = found
        if delta:
            sent += len(delta)
            yield ServerSentEvent(event="token", data={"text": delta})
        if row_state != "streaming" or lapsed:
            break
        await asyncio.sleep(FOLLOW_POLL_SECONDS)

    def final() -> MessageOut | None:
        with factory() as session:
            message = crud.get_message(
                session, conversation_id=answer.conversation_id, message_id=answer.id
            )
            conv = session.get(Conversation, answer.conversation_id)
            if message is None or conv is None:
                return None
            return _message_out(message, crud.lease_lapsed(conv))

    done = await anyio.to_thread.run_sync(final)
    if done is None:
        yield ServerSentEvent(event="error", data={"status": 404, "detail": "Answer not found"})
        return
    yield ServerSentEvent(event="done", data=done)


@router.post(
    "/conversations/{conversation_id}/messages/{message_id}/stop",
    response_model=MessageOut,
    responses=NOT_FOUND,
)
def stop_answer(answer: OwnAnswer, state: StateDep) -> MessageOut:
    """Stop an answer being written: the question and the answer so far are kept (state
    "stopped") and the conversation is free for the next turn at once. The generating task,
    on whatever worker, finds the row stopped at its next write and closes the model call.
    An answer that already ended is answered as it is."""
    with write_transaction(state.session_factory) as session:
        crud.stop_answer(session, conversation_id=answer.conversation_id, message_id=answer.id)
        message = crud.get_message(
            session, conversation_id=answer.conversation_id, message_id=answer.id
        )
        conv = session.get(Conversation, answer.conversation_id)
        assert message is not None and conv is not None  # the write lock is ours
        return _message_out(message, crud.lease_lapsed(conv))


@router.put(
    "/conversations/{conversation_id}/leaf", response_model=MessagePage, responses=NOT_FOUND
)
def switch_version(
    conversation_id: uuid.UUID,
    body: LeafIn,
    user: CurrentUser,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MessagePage:
    """View another version: the branch through `message_id`, continued by the newest
    version at each step below it. Answers the new branch like GET …/messages."""
    with write_transaction(state.session_factory) as session:
        conv = crud.get_conversation(session, user_id=user.id, conversation_id=conversation_id)
        if conv is None or (
            crud.get_message(session, conversation_id=conversation_id, message_id=body.message_id)
            is None
        ):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Message not found")
        leaf = crud.newest_leaf_under(
            session, conversation_id=conversation_id, message_id=body.message_id
        )
        crud.set_leaf(session, conversation_id=conversation_id, leaf_id=leaf)
        session.refresh(conv)
        return message_page(session, conv, limit=limit, before=None)
