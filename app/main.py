"""create_app(): settings, database, model, middleware, routers, static UI (development)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.deps import AppState
from app.api.routes import auth, chat, conversations, health, search
from app.chat.chain import ChatChain
from app.chat.llm import build_chat_model
from app.chat.turns import TurnService
from app.core.config import Settings, get_settings, signing_key
from app.core.db import make_engine, make_session_factory
from app.core.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        factory = make_session_factory(engine)
        model = build_chat_model(settings)
        chain = ChatChain(model, settings.gemini_timeout_seconds, settings.gemini_max_retries)
        app.state.services = AppState(
            settings=settings,
            session_factory=factory,
            hasher=PasswordHasher(settings.max_concurrent_hashes),
            signing_key=signing_key(settings),
            turns=TurnService(settings, factory, chain),
        )
        log.info(
            "started: env=%s model=%s database=%s",
            settings.app_env,
            settings.model_mode,
            engine.dialect.name,
        )
        try:
            yield
        finally:
            # The Gemini client's pooled connections belong to this event loop: close
            # them on it, before the loop goes away.
            aclose = getattr(model, "aclose", None)
            if aclose is not None:
                await aclose()
            engine.dispose()

    app = FastAPI(
        title="Chatbot appliance",
        version=health.VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.include_router(auth.router)
    app.include_router(conversations.router)
    app.include_router(chat.router)
    app.include_router(health.router)
    app.include_router(search.router)
    _install_error_handlers(app)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)

    if settings.serve_frontend and settings.frontend_dir.is_dir():
        # Last, so API routes win; in production nginx serves these files instead.
        app.mount("/", StaticFiles(directory=settings.frontend_dir, html=True), name="frontend")
    return app


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
