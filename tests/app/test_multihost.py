"""What several app hosts on one PostgreSQL need from the app: a drain switch every worker
sees, migrations that run once however many hosts start them, and the copy of a
single-host SQLite database into PostgreSQL (app/copy_db.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text

from app.copy_db import CopyError, copy_to_postgres
from app.core.db import MIGRATION_LOCK_KEY
from app.main import create_app
from app.manage import main, migrate
from app.models import Base
from tests.app.conftest import TEST_DATABASE_URL, messages_of, new_conversation
from tests.app.test_migrations import clean_environ
from tests.helpers.accounts import PASSWORD, register_and_login, registration
from tests.helpers.admin import make_admin

__all__ = ["clean_environ"]  # fixture, imported for pytest

MIGRATIONS = Path(__file__).resolve().parents[2] / "app" / "migrations" / "versions"
needs_pg = pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL (make test-pg)")


def test_drain_file_makes_ready_503_in_every_worker(settings, live_factory) -> None:
    # Two servers on the same data directory stand for two workers (or two restarts).
    first = live_factory(create_app(settings))
    second = live_factory(create_app(settings))
    for server in (first, second):
        assert httpx.get(f"{server.url}/ready").status_code == 200
    settings.drain_file.write_text("draining\n")
    for server in (first, second):
        answer = httpx.get(f"{server.url}/ready")
        assert answer.status_code == 503 and answer.json() == {"detail": "draining"}
        # Still alive: a draining host finishes its work and keeps answering liveness.
        assert httpx.get(f"{server.url}/health").status_code == 200
    settings.drain_file.unlink()
    assert all(httpx.get(f"{s.url}/ready").status_code == 200 for s in (first, second))


def test_manage_drain_on_off_status(tmp_path: Path, clean_environ, capsys) -> None:
    env = tmp_path / "chatbot.env"
    env.write_text(f"DATA_DIR={tmp_path}\n")
    assert main(["--env-file", str(env), "drain", "status"]) == 0
    assert capsys.readouterr().out.strip() == "serving"
    assert main(["--env-file", str(env), "drain", "on"]) == 0
    assert (tmp_path / "draining").exists()
    assert capsys.readouterr().out.startswith("draining")
    assert main(["--env-file", str(env), "drain", "off"]) == 0
    assert not (tmp_path / "draining").exists()
    assert main(["--env-file", str(env), "drain", "off"]) == 0  # already off: fine
    assert capsys.readouterr().out.split() == ["serving", "serving"]


# ----- PostgreSQL: a database of its own per test (a schema on the test server)


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """An empty schema on the test server, as a URL whose search_path points at it."""
    assert TEST_DATABASE_URL
    url = TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"mh_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@needs_pg
def test_concurrent_migrations_take_turns_and_apply_each_revision_once(
    pg_schema_url: str, tmp_path: Path
) -> None:
    """Four hosts starting `migrate` at once, as separate processes (as on real hosts). The
    test holds the migration lock first, so all four are provably waiting on it, then lets
    go: without the lock they would all create the same tables and all but one fail."""
    env = {**os.environ, "DATABASE_URL": pg_schema_url, "APP_ENV": "development"}
    engine = create_engine(pg_schema_url)
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "app.manage", "migrate"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(4)
        ]
        waiting, deadline = 0, time.monotonic() + 60
        while waiting < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
            assert all(p.poll() is None for p in procs), "a migrate ended without waiting"
            waiting = holder.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar_one()
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
        holder.commit()
    engine.dispose()
    assert waiting == 4, f"{waiting} of 4 migrate processes waited for the lock"
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outputs
    applied = [line for out in outputs for line in out.splitlines() if line.startswith("applied:")]
    revisions = sorted(p.name[:4] for p in MIGRATIONS.glob("0*.py"))
    # Exactly one of them applied the revisions, each once; the others found them done.
    assert applied == [f"applied: {' '.join(revisions)}"], outputs
    assert migrate(database_url=pg_schema_url) == []  # a later deploy: nothing to do


@pytest.fixture
def sqlite_source(settings_factory, fake, tmp_path: Path) -> tuple[str, dict[str, object]]:
    """A single-host SQLite database with rows in every table, written through the real
    app (register, log in, chat, rename): what an appliance's database holds."""
    url = f"sqlite:///{tmp_path / 'single-host.db'}"
    migrate(database_url=url)
    # A short window and a summary every turn, so three turns leave a summary row too.
    settings = settings_factory(
        database_url=url, history_window_messages=2, summary_every_turns=1, history_max_messages=8
    )
    seen: dict[str, object] = {}
    accounts = {}
    with TestClient(create_app(settings)) as client:
        for name in ("ana", "bruno", "carla"):
            account = accounts[name] = register_and_login(client, name)
            conv = new_conversation(client, account)
            for i in range(3):
                answer = client.post(
                    "/chat",
                    headers=account.headers,
                    json={"conversationId": conv, "message": f"{name} says {i}: olá ✓"},
                )
                assert answer.status_code == 200, answer.text
                client.portal.call(client.app.state.services.turns.summaries.drain)
            renamed = client.patch(
                f"/conversations/{conv}", headers=account.headers, json={"title": f"{name}'s"}
            )
            assert renamed.status_code == 200, renamed.text
            seen[name] = (
                conv,
                [(m["role"], m["content"]) for m in messages_of(client, account, conv)],
            )
        # The operator's tables: ana, an admin, invites dora, makes a reset link for bruno and
        # sets a budget; erin turns on two-factor sign-in (its recovery codes).
        ana = accounts["ana"]
        make_admin(settings, ana.id)
        invite = client.post("/admin/invites", headers=ana.headers, json={"max_uses": 2})
        assert invite.status_code == 201, invite.text
        token = invite.json()["url"].rsplit("/", 1)[1]
        r = client.post("/register", json={**registration("dora"), "invite": token})
        assert r.status_code == 201, r.text
        r = client.post(f"/admin/users/{accounts['bruno'].id}/password-reset", headers=ana.headers)
        assert r.status_code == 200, r.text
        r = client.patch("/admin/settings", headers=ana.headers, json={"daily_token_budget": 10**9})
        assert r.status_code == 200, r.text
        erin = register_and_login(client, "erin")
        setup = client.post("/me/totp/setup", headers=erin.headers, json={"password": PASSWORD})
        assert setup.status_code == 200, setup.text
        code = pyotp.TOTP(setup.json()["secret"]).now()
        r = client.post("/me/totp/enable", headers=erin.headers, json={"code": code})
        assert r.status_code == 200, r.text
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables
        }
    engine.dispose()
    assert all(counts.values()), f"a table is empty, the copy would not be tested: {counts}"
    seen["counts"] = counts
    return url, seen


@needs_pg
def test_copy_to_postgres_copies_every_row_and_the_app_carries_on(
    sqlite_source, pg_schema_url: str, settings_factory, fake, capsys
) -> None:
    source, seen = sqlite_source
    assert main(["copy-to-postgres", "--source", source, "--target", pg_schema_url]) == 0
    out = capsys.readouterr().out
    assert "row counts verified" in out
    for table, rows in seen["counts"].items():  # type: ignore[union-attr]
        assert f"{table}: {rows} rows" in out

    # The app on PostgreSQL: the same users log in and see their conversations unchanged,
    # and new rows get fresh ids (the sequences were moved past the copied ones).
    settings = settings_factory(database_url=pg_schema_url)
    with TestClient(create_app(settings)) as client:
        for name in ("ana", "bruno", "carla"):
            login = client.post(
                "/login", json={"username": name, "password": "correct horse battery"}
            )
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            conv, messages = seen[name]  # type: ignore[misc]
            items = client.get(f"/conversations/{conv}/messages", headers=headers).json()["items"]
            assert [(m["role"], m["content"]) for m in items] == messages
            title = client.get(f"/conversations/{conv}", headers=headers).json()["title"]
            assert title == f"{name}'s"
            answer = client.post(
                "/chat", headers=headers, json={"conversationId": conv, "message": "after the move"}
            )
            assert answer.status_code == 200, answer.text
        # Two-factor sign-in carried over (its secret is still readable with SECRET_KEY).
        r = client.post("/login", json={"username": "erin", "password": PASSWORD})
        assert r.status_code == 401 and r.headers["x-totp-required"] == "1", r.text
        newcomer = register_and_login(client, "fern")
        assert newcomer.id == 6


@needs_pg
def test_copy_refuses_a_target_with_rows_unless_told(sqlite_source, pg_schema_url: str) -> None:
    source, seen = sqlite_source
    copy_to_postgres(source, pg_schema_url)
    with pytest.raises(CopyError, match=r"already holds rows in .*users"):
        copy_to_postgres(source, pg_schema_url)
    # --replace: emptied and copied again, not doubled.
    assert copy_to_postgres(source, pg_schema_url, replace=True, batch=2) == seen["counts"]


@needs_pg
def test_copy_refuses_a_source_at_another_schema_revision(tmp_path: Path, pg_schema_url) -> None:
    from alembic import command

    from app.manage import alembic_config

    old = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(old), "0001")
    with pytest.raises(CopyError, match="migrate it first"):
        copy_to_postgres(old, pg_schema_url)
    engine = create_engine(pg_schema_url)
    with engine.connect() as conn:  # nothing was created in the target
        assert (
            conn.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
            ).scalar()
            == 0
        )
    engine.dispose()


def test_copy_checks_its_arguments(tmp_path: Path) -> None:
    with pytest.raises(CopyError, match="--source must be a sqlite"):
        copy_to_postgres(
            "postgresql+psycopg://x@127.0.0.1/db", "postgresql+psycopg://x@127.0.0.1/db"
        )
    with pytest.raises(CopyError, match="--target must be a postgresql"):
        copy_to_postgres(f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}")
    with pytest.raises(CopyError, match="no SQLite database"):
        copy_to_postgres(
            f"sqlite:///{tmp_path / 'missing.db'}", "postgresql+psycopg://x@127.0.0.1/db"
        )
    assert not os.path.exists(tmp_path / "missing.db")


def test_postgres_pool_follows_the_settings(settings_factory) -> None:
    from app.core.db import make_engine

    settings = settings_factory(
        database_url="postgresql+psycopg://u:p@127.0.0.1:1/db",
        database_pool_size=2,
        database_max_overflow=3,
    )
    engine = make_engine(settings)  # connects lazily: nothing is contacted
    assert (engine.pool.size(), engine.pool._max_overflow) == (2, 3)
    engine.dispose()
