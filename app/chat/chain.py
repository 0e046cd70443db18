"""The chat model's stream for a turn, with the model's failures mapped to our statuses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import cast

import httpx
import httpx2
from google.genai import errors as genai_errors
from langchain_core.exceptions import (
    ModelAPIError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_google_genai.chat_models import ChatGoogleGenerativeAIError

from app.schemas import Usage

log = logging.getLogger("app.chat")

# When Gemini rate-limits us we ask the client to come back after this long.
UPSTREAM_RETRY_AFTER_SECONDS = 30


class TurnError(Exception):
    """A chat turn ended without an answer; `status` (and `retry_after`) is what the API
    answers, as an HTTP error or as the stream's `error` event."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class ModelFailure(TurnError):
    """The model call failed: 502, 503 (rate limited upstream) or 504."""


def classify(exc: BaseException) -> ModelFailure:
    """Map the client's exception family to 503 (rate limited), 504 (timeout) or 502.

    google-genai 3 sends sync calls through httpx and async ones through httpx2 (a fork
    with its own exception classes), so both families are listed."""
    if isinstance(exc, ModelFailure):
        return exc
    code = getattr(exc, "code", None)
    if isinstance(exc, ModelRateLimitError) or code == 429:
        return ModelFailure(
            503,
            "The model is rate limited right now; try again shortly.",
            UPSTREAM_RETRY_AFTER_SECONDS,
        )
    if isinstance(
        exc, TimeoutError | httpx.TimeoutException | httpx2.TimeoutException | ModelTimeoutError
    ):
        return ModelFailure(504, "The model did not answer in time.")
    if isinstance(
        exc,
        ModelAPIError
        | ChatGoogleGenerativeAIError
        | genai_errors.APIError
        | httpx.HTTPError
        | httpx2.HTTPError
        | ConnectionError
        | OSError,
    ):
        return ModelFailure(502, "The model failed to answer; try again.")
    raise exc  # a bug of ours: let it surface as a 500 with a traceback in the log


def usage_of(message: BaseMessage) -> Usage | None:
    meta = getattr(message, "usage_metadata", None)
    if not meta:
        return None
    return Usage(
        input_tokens=meta.get("input_tokens", 0),
        output_tokens=meta.get("output_tokens", 0),
        total_tokens=meta.get("total_tokens", 0),
    )


class ChatChain:
    def __init__(self, model: BaseChatModel, timeout_seconds: float, attempts: int) -> None:
        self.model = model  # also writes the running summaries (app/chat/summary.py)
        # The client's own timeout applies per attempt; this bounds the whole call.
        self.deadline_seconds = timeout_seconds * attempts + 5
        # A stream may run long, but not silently: this is the longest gap between chunks.
        self.idle_seconds = timeout_seconds

    async def astream(
        self, system: str, history: list[BaseMessage], text: str
    ) -> AsyncGenerator[AIMessageChunk, None]:
        """Chunks as the model produces them; failures raise ModelFailure. The first chunk
        may take the whole call's deadline (the client retries before it); after it, the
        longest gap between chunks is the idle timeout."""
        # The message list itself, not a prompt template piped into the model: the same
        # request, without the template's formatting and the runnable sequence around it.
        messages = [SystemMessage(content=system), *history, HumanMessage(content=text)]
        # astream is an async generator (typed as an iterator): it has aclose().
        stream = cast("AsyncGenerator[AIMessageChunk, None]", self.model.astream(messages))
        wait = self.deadline_seconds
        try:
            while True:
                try:
                    async with asyncio.timeout(wait):
                        chunk = await anext(stream)
                    wait = self.idle_seconds
                except StopAsyncIteration:
                    return
                except Exception as exc:
                    failure = classify(exc)
                    log.warning("model stream failed: %s (%s)", type(exc).__name__, failure.status)
                    raise failure from exc
                yield chunk
        finally:
            # Closing the stream closes the upstream HTTP request: a stopped answer stops
            # the model call instead of letting it run to the end.
            await stream.aclose()
