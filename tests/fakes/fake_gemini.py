"""A fake Gemini REST server on 127.0.0.1 that the real google-genai client can talk to.

It answers the two endpoints `ChatGoogleGenerativeAI` uses:

    POST /v1/models/{model}:generateContent          (and /v1beta/...)
    POST /v1/models/{model}:streamGenerateContent?alt=sse

with the real wire format, records every request body, and can be told to fail
(429/500/503 with Google's error JSON), hang, or stream slowly. Behaviours are queued:
each request takes the next queued one, or the default when the queue is empty.

Requests for the app's running summary (recognised by its instructions) have their own
queue and default, and by default get a deterministic, bounded summary: the previous
summary's lines plus one short line per new message, the oldest lines kept first.

It also has a small control API (`/_fake/...`) so a test in another process — a browser
test, a deployed host — can script it over HTTP.

Run standalone: `python -m tests.fakes.fake_gemini --port 8089` (bench/ does), then point
an app at it with `GEMINI_API_KEY=any GEMINI_BASE_URL=http://127.0.0.1:8089`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.threaded_server import ThreadedServer

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class Behavior:
    """What the fake does for one request.

    kind: "ok" (answer), "error" (HTTP `status`), "hang" (never answer until released).
    text: the answer; None means an echo of the last user message ("Echo: ...").
    chunk_delay: seconds between streamed chunks; words_per_chunk: words in each chunk.
    fail_after_chunks: for streams, send this many chunks and then abort the connection.
    """

    kind: str = "ok"
    status: int = 200
    text: str | None = None
    chunk_delay: float = 0.0
    words_per_chunk: int = 1
    first_chunk_delay: float = 0.0
    fail_after_chunks: int | None = None
    # Streams only: each chunk's text becomes "[emitted-at-epoch-seconds]" so a client on
    # the same machine can measure model-to-client latency (bench/stream_latency.py).
    stamp_chunks: bool = False


@dataclass
class RecordedRequest:
    path: str
    stream: bool
    api_key: str | None
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def contents(self) -> list[dict[str, Any]]:
        return self.body.get("contents", [])

    @property
    def texts(self) -> list[str]:
        """The text of every content sent, in order (history + new message)."""
        return ["".join(p.get("text", "") for p in c.get("parts", [])) for c in self.contents]

    @property
    def system_text(self) -> str:
        parts = (self.body.get("systemInstruction") or {}).get("parts", [])
        return "".join(p.get("text", "") for p in parts)

    @property
    def summary(self) -> bool:
        """A request for the app's running summary, not a chat turn."""
        return self.system_text.startswith(SUMMARY_MARKER)


# The phrase that marks a summary request: the app's summary instructions start with it
# (app/chat/summary.py).
SUMMARY_MARKER = "You maintain the running summary of a conversation"
# A summary answer keeps at most this many lines: the first SUMMARY_HEAD_LINES (the start
# of the conversation) and the newest of the rest. Each line is at most ~90 characters.
SUMMARY_MAX_LINES = 30
SUMMARY_HEAD_LINES = 10


class FakeGemini:
    """Holds the script and the record; `app` is the Starlette application."""

    def __init__(self) -> None:
        self.default = Behavior()
        self.queue: deque[Behavior] = deque()
        self.summary_default = Behavior()
        self.summary_queue: deque[Behavior] = deque()
        self.requests: list[RecordedRequest] = []
        self.chunks_sent = 0
        self.finished_streams = 0
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                # The SDK speaks /v1 by default and /v1beta when asked; answer both.
                Route("/{version}/models/{call:path}", self._model_call, methods=["POST"]),
                Route("/_fake/script", self._control_script, methods=["POST"]),
                Route("/_fake/reset", self._control_reset, methods=["POST"]),
                Route("/_fake/requests", self._control_requests, methods=["GET"]),
            ]
        )

    # -- scripting -------------------------------------------------------------------
    def push(self, *behaviors: Behavior) -> None:
        with self._lock:
            self.queue.extend(behaviors)

    def push_summary(self, *behaviors: Behavior) -> None:
        with self._lock:
            self.summary_queue.extend(behaviors)

    def reset(self) -> None:
        with self._lock:
            self.default = Behavior()
            self.queue.clear()
            self.summary_default = Behavior()
            self.summary_queue.clear()
            self.requests.clear()
            self.chunks_sent = 0
            self.finished_streams = 0

    def _next(self, summary: bool) -> Behavior:
        with self._lock:
            if summary:
                return self.summary_queue.popleft() if self.summary_queue else self.summary_default
            return self.queue.popleft() if self.queue else self.default

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if not r.summary]

    @property
    def summary_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.summary]

    # -- the Gemini API --------------------------------------------------------------
    async def _model_call(self, request: Request) -> Response:
        call = request.path_params["call"]
        model, _, method = call.partition(":")
        body = json.loads(await request.body() or b"{}")
        stream = method == "streamGenerateContent"
        record = RecordedRequest(
            path=request.url.path,
            stream=stream,
            api_key=request.headers.get("x-goog-api-key"),
            body=body,
        )
        with self._lock:
            self.requests.append(record)
        behavior = self._next(record.summary)
        if behavior.kind == "hang":
            # Holds the connection open the way a stuck upstream does.
            await asyncio.sleep(3600)
        if behavior.kind == "error":
            return JSONResponse(
                {
                    "error": {
                        "code": behavior.status,
                        "message": f"fake upstream error {behavior.status}",
                        "status": _STATUS_NAMES.get(behavior.status, "UNKNOWN"),
                    }
                },
                status_code=behavior.status,
            )
        if behavior.text is not None:
            text = behavior.text
        else:
            text = _summary(record) if record.summary else _echo(record)
        prompt_tokens = max(1, len(json.dumps(body)) // 4)
        if not stream:
            if behavior.first_chunk_delay:
                await asyncio.sleep(behavior.first_chunk_delay)
            return JSONResponse(_response(text, model, prompt_tokens, final=True, full=text))
        return StreamingResponse(
            self._stream(behavior, text, model, prompt_tokens), media_type="text/event-stream"
        )

    async def _stream(self, behavior: Behavior, text: str, model: str, prompt_tokens: int):
        words = text.split(" ")
        pieces = [
            " ".join(words[i : i + behavior.words_per_chunk])
            for i in range(0, len(words), behavior.words_per_chunk)
        ]
        # Re-insert the separating spaces so the concatenation equals `text`.
        pieces = [p if i == 0 else " " + p for i, p in enumerate(pieces)]
        if behavior.first_chunk_delay:
            await asyncio.sleep(behavior.first_chunk_delay)
        for i, piece in enumerate(pieces):
            if behavior.fail_after_chunks is not None and i >= behavior.fail_after_chunks:
                raise ConnectionAbortedError("fake upstream dropped the stream")
            if i and behavior.chunk_delay:
                await asyncio.sleep(behavior.chunk_delay)
            final = i == len(pieces) - 1
            if behavior.stamp_chunks:
                piece = f"[{time.time():.6f}]"
            payload = _response(piece, model, prompt_tokens, final=final, full=text)
            self.chunks_sent += 1
            yield f"data: {json.dumps(payload)}\r\n\r\n".encode()
        self.finished_streams += 1

    # -- control API for other processes ---------------------------------------------
    async def _control_script(self, request: Request) -> Response:
        data = await request.json()
        if "default" in data:
            self.default = Behavior(**data["default"])
        if "summary_default" in data:
            self.summary_default = Behavior(**data["summary_default"])
        self.push(*(Behavior(**b) for b in data.get("queue", [])))
        self.push_summary(*(Behavior(**b) for b in data.get("summary_queue", [])))
        return JSONResponse({"queued": len(self.queue)})

    async def _control_reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"ok": True})

    async def _control_requests(self, request: Request) -> Response:
        return JSONResponse([asdict(r) for r in self.requests])


def _echo(record: RecordedRequest) -> str:
    texts = record.texts
    last = texts[-1] if texts else ""
    return f"Echo: {last}"


def _between(text: str, start: str, end: str) -> str:
    return text.partition(start)[2].partition(end)[0]


def _summary(record: RecordedRequest) -> str:
    """The previous summary's lines plus one line per new message (its first 80
    characters), at most SUMMARY_MAX_LINES: deterministic, bounded, and it keeps what the
    conversation started with, as a real summariser keeps the facts."""
    request = record.texts[-1] if record.texts else ""
    previous = _between(request, "<previous_summary>", "</previous_summary>")
    lines = [line for line in previous.splitlines() if line.strip()]
    for line in _between(request, "<new_messages>", "</new_messages>").splitlines():
        for prefix, who in (("User: ", "user"), ("Assistant: ", "assistant")):
            if line.startswith(prefix):
                lines.append(f"- {who}: {line[len(prefix) :][:80]}")
    if len(lines) > SUMMARY_MAX_LINES:
        tail = SUMMARY_MAX_LINES - SUMMARY_HEAD_LINES
        lines = lines[:SUMMARY_HEAD_LINES] + lines[-tail:]
    return "\n".join(lines) or "(nothing to summarise)"


def _response(piece: str, model: str, prompt_tokens: int, *, final: bool, full: str) -> dict:
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": [{"text": piece}]},
        "index": 0,
    }
    out: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
    if final:
        candidate["finishReason"] = "STOP"
        completion = max(1, len(full) // 4)
        out["usageMetadata"] = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": completion,
            "totalTokenCount": prompt_tokens + completion,
        }
    return out


class FakeGeminiServer:
    """Runs a FakeGemini under uvicorn in a background thread; `url` is its base URL."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = FakeGemini()
        self.host = host
        # Hung requests would keep a graceful shutdown waiting forever: force the exit.
        self._server = ThreadedServer(self.fake.app, host, port, lifespan="off", force_exit=True)
        self.port = self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> FakeGeminiServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    parser.add_argument("--text", default=None, help="fixed answer (default: echo)")
    args = parser.parse_args()
    server = FakeGeminiServer(args.host, args.port)
    server.fake.default = Behavior(text=args.text, chunk_delay=args.chunk_delay)
    print(f"fake Gemini listening on {server.url}", flush=True)
    server._server.run_forever()


if __name__ == "__main__":
    main()
