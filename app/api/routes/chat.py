"""Chat turns: POST /chat ({"answer"}) and POST /chat/stream (Server-Sent Events)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.sse import EventSourceResponse, ServerSentEvent
from langchain_core.messages import AIMessageChunk

from app.api.deps import CurrentUser, StateDep
from app.chat.chain import ModelFailure, Reply, TurnError, usage_of
from app.chat.turns import TurnPlan
from app.schemas import ChatIn, ChatOut, ErrorOut, Usage

router = APIRouter(
    tags=["chat"], responses={401: {"model": ErrorOut, "description": "Not authenticated"}}
)

CHAT_ERRORS: dict[int | str, dict] = {
    404: {"model": ErrorOut, "description": "No such conversation of yours"},
    409: {"model": ErrorOut, "description": "Another answer is being generated in it"},
    413: {"model": ErrorOut, "description": "Request body too large"},
    429: {"model": ErrorOut, "description": "Rate limit or daily quota (see Retry-After)"},
    502: {"model": ErrorOut, "description": "The model failed"},
    503: {"model": ErrorOut, "description": "The model is rate limited (see Retry-After)"},
    504: {"model": ErrorOut, "description": "The model timed out"},
}


def _http_error(exc: TurnError) -> HTTPException:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return HTTPException(exc.status, exc.detail, headers=headers)


async def _plan_turn(body: ChatIn, user: CurrentUser, state: StateDep) -> AsyncIterator[TurnPlan]:
    """Everything that can refuse a turn, before any answer starts: size, ownership (404),
    the conversation's turn lease (409), limits (429). Releases the lease afterwards unless
    the turn was saved (which releases it in the same transaction)."""
    if body.message is not None and len(body.message) > state.settings.max_message_chars:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["body", "message"],
                    "msg": f"Message is longer than {state.settings.max_message_chars} characters",
                    "type": "string_too_long",
                }
            ],
        )
    try:
        plan = await state.turns.prepare(
            user_id=user.id, conversation_id=body.conversationId, message=body.message
        )
    except TurnError as exc:
        raise _http_error(exc) from exc
    try:
        yield plan
    finally:
        await state.turns.abandon(plan)  # a no-op once the turn was saved


PlannedTurn = Annotated[TurnPlan, Depends(_plan_turn)]


@router.post("/chat", response_model=ChatOut, responses=CHAT_ERRORS)
async def chat(plan: PlannedTurn, state: StateDep) -> ChatOut:
    """One turn; the answer comes back whole. Nothing is stored unless the model succeeded."""
    try:
        reply = await state.turns.answer(plan)
        await state.turns.finish(plan, reply)
    except TurnError as exc:
        raise _http_error(exc) from exc
    return ChatOut(answer=reply.text)


@dataclass
class OpenStream:
    chunks: AsyncIterator[AIMessageChunk]
    first: AIMessageChunk | None


async def _open_stream(plan: PlannedTurn, state: StateDep) -> AsyncIterator[OpenStream]:
    """Start the model and wait for its first chunk, so a model that fails at once gets an
    ordinary HTTP error status (429→503, 5xx→502, timeout→504) instead of a 200 stream."""
    chunks = state.turns.stream(plan)
    try:
        first: AIMessageChunk | None = await anext(chunks)
    except StopAsyncIteration:
        first = None
    except TurnError as exc:
        await chunks.aclose()
        raise _http_error(exc) from exc
    try:
        yield OpenStream(chunks, first)
    finally:
        await chunks.aclose()


@router.post(
    "/chat/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"description": "`token` events, then `done` (or `error`)"},
        **CHAT_ERRORS,
    },
)
async def chat_stream(
    plan: PlannedTurn,
    opened: Annotated[OpenStream, Depends(_open_stream)],
    state: StateDep,
) -> AsyncIterator[ServerSentEvent]:
    """Stream the answer token by token. `regenerate: true` answers the last question again.
    A client that disconnects cancels the model call, and nothing is stored."""
    parts: list[str] = []
    usage: Usage | None = None
    try:
        chunk = opened.first
        while chunk is not None:
            usage = usage_of(chunk) or usage
            if chunk.text:
                parts.append(chunk.text)
                yield ServerSentEvent(event="token", data={"text": chunk.text})
            chunk = await anext(opened.chunks, None)
        text = "".join(parts)
        if not text:
            raise ModelFailure(502, "The model returned an empty answer.")
        done = await state.turns.finish(plan, Reply(text=text, usage=usage))
    except TurnError as exc:
        yield ServerSentEvent(event="error", data={"status": exc.status, "detail": exc.detail})
        return
    yield ServerSentEvent(event="done", data=done)
