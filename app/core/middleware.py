"""Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer and break streaming):
request ids + one access-log line per request, body-size cap, security headers, and the
503 of a database whose migrations are pending."""

from __future__ import annotations

import logging
import re
import time
import uuid

import anyio
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.schema import SchemaStatus

access_log = logging.getLogger("app.access")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")

# The UI has no inline scripts or styles, so the strictest useful policy applies.
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# FastAPI's /docs page loads Swagger UI from a CDN and boots it with an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


class RequestContextMiddleware:
    """Gives every request an id (X-Request-ID, kept from the client when well-formed),
    adds security headers, and logs one line per request: method, path, status, duration
    and id — never bodies, query strings, or headers that could carry text or tokens.

    It is the outermost layer, so it also turns an unhandled exception into the JSON 500
    (with the same headers) that Starlette's error middleware would send as plain text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status_code = 500
        started = False
        path = scope["path"]

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code, started
            if message["type"] == "http.response.start":
                started = True
                status_code = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
                headers.setdefault(
                    "Content-Security-Policy", DOCS_CSP if path in DOCS_PATHS else CSP
                )
                # API answers carry tokens and private text: no cache may keep them.
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            access_log.exception("unhandled error (request %s)", request_id)
            if not started:
                response = JSONResponse(
                    {"detail": f"Internal server error (request id {request_id})"},
                    status_code=500,
                )
                await response(scope, receive, send_wrapper)
        finally:
            access_log.info(
                "%s %s %s %.1fms id=%s",
                scope["method"],
                # Escaped: a %0a in the URL must not start a forged log line.
                path.encode("unicode_escape").decode("ascii"),
                status_code,
                (time.perf_counter() - start) * 1000,
                request_id,
            )


class BodySizeLimitMiddleware:
    """413 for bodies over `max_bytes`: by Content-Length up front, and by counting for
    chunked uploads, before the app parses anything."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = True
            if too_big:
                await _too_large(self.max_bytes)(scope, receive, send)
                return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge(413, f"Request body larger than {self.max_bytes} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _too_large(self.max_bytes)(scope, receive, send)


class _BodyTooLarge(HTTPException):
    """An HTTPException, so the app's handlers answer the 413 whoever was reading."""


def _too_large(max_bytes: int) -> JSONResponse:
    return JSONResponse(
        {"detail": f"Request body larger than {max_bytes} bytes"},
        status_code=413,
        headers={"Connection": "close"},
    )


class PendingMigrationsMiddleware:
    """503 `{"detail": "Database migrations are pending … run …"}` for every request but
    the liveness check while the schema is behind the code (see app.core.schema). The
    database is asked in a worker thread, and only until the schema is found current."""

    def __init__(self, app: ASGIApp, schema: SchemaStatus) -> None:
        self.app = app
        self.schema = schema

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != "/health" and not self.schema.current:
            try:
                problem = await anyio.to_thread.run_sync(self.schema.problem)
            except SQLAlchemyError:
                problem = None  # unreachable: /ready says so, and requests fail on their own
            if problem is not None:
                response = JSONResponse({"detail": problem}, status_code=503)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
