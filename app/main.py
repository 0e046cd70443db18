"""create_app(): settings, database, model, middleware, routers, static UI (development)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__
from app.accounts.service import AccountService
from app.admin.retention import expire_daily
from app.api.deps import AppState
from app.api.routes import admin, auth, chat, conversations, health, memory, search, usage
from app.chat.chain import ChatChain
from app.chat.llm import build_chat_model
from app.chat.turns import TurnService
from app.core.config import Settings, get_settings, signing_key, warn_unknown_settings
from app.core.db import make_engine, make_session_factory
from app.core.middleware import (
    BodySizeLimitMiddleware,
    PendingMigrationsMiddleware,
    RequestContextMiddleware,
)
from app.core.schema import SchemaStatus
from app.core.security import PasswordHasher

log = logging.getLogger("app")

DESCRIPTION = """
Multi-user chat with Google Gemini 2.5 Flash. Log in with **Authorize** (POST /login's form),
create a conversation with POST /session, then POST /chat or /chat/stream.
Errors are always `{"detail": ...}`.
"""


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("app").setLevel(level.upper())
    # Our access log replaces uvicorn's, which would print query strings.
    logging.getLogger("uvicorn.access").disabled = True


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    warn_unknown_settings()
    schema = SchemaStatus()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        factory = make_session_factory(engine)
        model = build_chat_model(settings)
        chain = ChatChain(model, settings.gemini_timeout_seconds, settings.gemini_max_retries)
        key = signing_key(settings)
        hasher = PasswordHasher(settings.max_concurrent_hashes)
        app.state.services = AppState(
            settings=settings,
            session_factory=factory,
            signing_key=key,
            accounts=AccountService(settings, factory, hasher, key),
            turns=TurnService(settings, factory, chain),
        )
        log.info(
            "started: env=%s model=%s database=%s",
            settings.app_env,
            settings.model_mode,
            engine.dialect.name,
        )
        await anyio.to_thread.run_sync(_check_schema, schema, engine)
        stop_expiry = anyio.Event()
        expiry = asyncio.create_task(
            expire_daily(factory, settings.audit_retention_days, stop=stop_expiry)
        )
        try:
            yield
        finally:
            # Stopped, not cancelled: a cancel returns at once while a DELETE goes on in its
            # thread, which then hands its connection back to a disposed pool (never closed).
            stop_expiry.set()
            await expiry
            # Answers still being written finish (within the grace period) or are saved
            # as interrupted, before the model client and the database go away.
            await app.state.services.turns.drain()
            await app.state.services.turns.summaries.aclose()
            # The Gemini client's pooled connections belong to this event loop: close
            # them on it, before the loop goes away.
            aclose = getattr(model, "aclose", None)
            if aclose is not None:
                await aclose()
            engine.dispose()

    app = FastAPI(
        title="Chatbot appliance",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.include_router(auth.router)
    app.include_router(conversations.router)
    app.include_router(memory.router)
    app.include_router(chat.router)
    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(admin.router)
    app.include_router(usage.router)
    _install_error_handlers(app)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )
    app.add_middleware(PendingMigrationsMiddleware, schema=schema)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)

    if settings.serve_frontend and settings.frontend_dir.is_dir():
        # Last, so API routes win; in production nginx serves these files instead.
        app.mount("/", StaticFiles(directory=settings.frontend_dir, html=True), name="frontend")
    return app


def _check_schema(schema: SchemaStatus, engine: Engine) -> None:
    """Say at startup what every request would otherwise answer with a 503."""
    schema.watch(engine)
    try:
        problem = schema.problem()
    except SQLAlchemyError as exc:
        log.warning("database unreachable at startup (%s): /ready answers 503", type(exc).__name__)
        return
    if problem is not None:
        log.error("%s; until then every request but /health answers 503", problem)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the rejected input back — passwords included. Keep only
        # where and why.
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )
