"""Fixtures for the service tests: a real database (a fresh SQLite file per test, or the
PostgreSQL server named by TEST_DATABASE_URL), the real app, and the real Gemini client
talking to our fake Gemini server on 127.0.0.1."""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.main import create_app
from app.manage import migrate
from tests.fakes.fake_gemini import FakeGemini, FakeGeminiServer
from tests.fakes.threaded_server import ThreadedServer
from tests.helpers.accounts import Account, register_and_login
from tests.helpers.admin import promote

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TABLES = (
    "summaries",
    "messages",
    "conversations",
    "refresh_tokens",
    "rate_counters",
    "invite_uses",
    "invites",
    "password_resets",
    "site_settings",
    "audit_events",
    "usage_site_days",
    "users",
)


@pytest.fixture(autouse=True)
def _steady_rate_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rate limits use fixed one-minute windows; a test that straddled a minute boundary
    would see its counters reset. The limiter's clock stands still one second into a
    window instead (only the limiter's: tokens and timestamps use the real clock)."""
    from types import SimpleNamespace

    from app.core import ratelimit

    now = (int(time.time()) // 86_400) * 86_400 + 3_600 + 1
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: float(now)))


@pytest.fixture(scope="session")
def gemini_server() -> Iterator[FakeGeminiServer]:
    server = FakeGeminiServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake(gemini_server: FakeGeminiServer) -> Iterator[FakeGemini]:
    gemini_server.fake.reset()
    yield gemini_server.fake
    gemini_server.fake.reset()


@pytest.fixture(scope="session")
def _pg_schema() -> Iterator[str | None]:
    """With PostgreSQL, migrate one database once; tests then empty its tables."""
    if not TEST_DATABASE_URL:
        yield None
        return
    migrate(database_url=TEST_DATABASE_URL)
    yield TEST_DATABASE_URL


@pytest.fixture
def database_url(tmp_path: Path, _pg_schema: str | None) -> Iterator[str]:
    if _pg_schema is None:
        url = f"sqlite:///{tmp_path / 'chatbot.db'}"
        migrate(database_url=url)
        yield url
        return
    engine = create_engine(_pg_schema.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        # An earlier test's background work (a detached answer, a summary) may still hold
        # a connection and its locks; end those first so TRUNCATE can't deadlock with them.
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield _pg_schema


@pytest.fixture
def settings_factory(
    tmp_path: Path, database_url: str, gemini_server: FakeGeminiServer
) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "app_env": "development",
            "secret_key": secrets.token_hex(32),
            "data_dir": tmp_path,
            "database_url": database_url,
            "gemini_api_key": "test-key",
            "gemini_base_url": gemini_server.url,
            "gemini_timeout_seconds": 2.0,
            "gemini_max_retries": 1,
            "register_rate_per_hour": 1000,
            "login_rate_per_minute": 1000,
            "chat_rate_per_minute": 1000,
            "daily_message_quota": 10_000,
            "serve_frontend": False,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI, fake: FakeGemini) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def user(client: TestClient) -> Account:
    return register_and_login(client, "alice")


def new_conversation(client: TestClient, account: Account) -> str:
    r = client.post("/session", headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()["sessionId"]


def chat(client: TestClient, account: Account, conversation_id: str, message: str) -> Response:
    return client.post(
        "/chat",
        headers=account.headers,
        json={"conversationId": conversation_id, "message": message},
    )


def messages_of(client: TestClient, account: Account, conversation_id: str) -> list[dict]:
    r = client.get(
        f"/conversations/{conversation_id}/messages", params={"limit": 500}, headers=account.headers
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


def insert_branch(
    factory: sessionmaker[Session], conversation_id: str, texts: Sequence[str]
) -> list[int]:
    """Writes `texts` as alternating user/ai messages straight into the database, one branch
    whose leaf is the last of them: long histories without a model call each. Their ids."""
    from app import crud
    from app.core.db import write_transaction

    conv = uuid.UUID(conversation_id)
    ids: list[int] = []
    with write_transaction(factory) as session:
        parent = None
        for i, content in enumerate(texts):
            role = "user" if i % 2 == 0 else "ai"
            parent = crud.insert_message(
                session, conversation_id=conv, role=role, content=content, parent_id=parent
            )
            ids.append(parent)
        crud.set_leaf(session, conversation_id=conv, leaf_id=parent)
    return ids


def insert_messages(settings: Settings, conversation_id: str, count: int, size: int) -> list[int]:
    """`count` messages of `size` characters ("m000 xxx…") through a fresh engine."""
    from app.core.db import make_engine, make_session_factory

    engine = make_engine(settings)
    try:
        texts = [f"m{i:03d} " + "x" * (size - 5) for i in range(count)]
        return insert_branch(make_session_factory(engine), conversation_id, texts)
    finally:
        engine.dispose()


def parse_sse(raw: str) -> list[tuple[str, dict | str]]:
    """(event, data) pairs of an SSE body; comment lines are skipped."""
    import json

    events = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        event, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            payload = "\n".join(data)
            try:
                events.append((event, json.loads(payload)))
            except ValueError:
                events.append((event, payload))
    return events


@pytest.fixture
def live_factory(fake: FakeGemini) -> Iterator[Callable[[FastAPI], ThreadedServer]]:
    """Starts the app under a real uvicorn on 127.0.0.1, for tests that need real sockets:
    client disconnects, concurrent turns, several servers sharing one database."""
    servers: list[ThreadedServer] = []

    def start(app: FastAPI) -> ThreadedServer:
        server = ThreadedServer(app).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def admin(client: TestClient, settings: Settings) -> Account:
    """A signed-in admin ("root")."""
    account = register_and_login(client, "root")
    promote(settings, "root")
    return account


@pytest.fixture
def db(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """A session factory on the test's database, for looking at rows directly."""
    from app.core.db import make_engine, make_session_factory

    engine = make_engine(settings)
    yield make_session_factory(engine)
    engine.dispose()
