"""Engine and session factory; SQLite gets WAL, foreign keys and a busy timeout."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings

SQLITE_BUSY_TIMEOUT_MS = 5000
WRITE_OPTION = "app_write_transaction"
# PostgreSQL advisory lock held by every migration (app/migrations/env.py), so that hosts
# migrating at once take turns. Any fixed number, the same in every release: "chatbot".
MIGRATION_LOCK_KEY = 0x63686174626F74


class SQLiteWriteLock:
    """SQLite allows one writer at a time, and a waiting writer polls (its busy handler
    sleeps up to 100 ms between tries): under 20 concurrent chats on 4 workers that
    polling, not the work, was most of a turn's latency (docs/benchmarks.md). Writers
    queue here instead — a thread lock within the process, then an flock on a file beside
    the database across processes — and the kernel wakes the next one the moment the
    lock is free. SQLite's own locking still guards against any other writer."""

    def __init__(self, database: str) -> None:
        self._path = database + ".writelock"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = os.getpid()

    def __enter__(self) -> None:
        if self._pid != os.getpid():
            # Forked: a shared open file would not exclude the parent. Start afresh.
            self._thread_lock, self._fd, self._pid = threading.Lock(), None, os.getpid()
        self._thread_lock.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


_sqlite_write_locks: weakref.WeakKeyDictionary[Engine, SQLiteWriteLock] = (
    weakref.WeakKeyDictionary()
)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL makes NORMAL durable against application crashes; only power loss can lose the
    # last transactions, which is the usual trade for a chat log.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock at BEGIN (IMMEDIATE): a deferred transaction that reads and
    # then writes fails with SQLITE_BUSY, without waiting, when another connection committed
    # in between. Readers stay deferred so they never queue behind writers (WAL).
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def make_engine(settings: Settings, *, foreign_keys: bool = True) -> Engine:
    """The engine for Settings. Migrations pass foreign_keys=False: on SQLite, rebuilding a
    table (Alembic batch mode) drops it, and with foreign keys on that drop cascades into
    every table that references it — rows deleted by a schema change."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            # Parameters carry message text and token hashes: keep them out of error logs.
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=8,
            max_overflow=8,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        fk = "ON" if foreign_keys else "OFF"
        event.listen(
            engine,
            "connect",
            lambda dbapi_conn, _r: dbapi_conn.execute(f"PRAGMA foreign_keys={fk}"),
        )
        # pysqlite's own transaction handling is turned off so BEGIN is ours to issue.
        event.listen(
            engine,
            "connect",
            lambda dbapi_conn, _r: setattr(dbapi_conn, "isolation_level", None),
        )
        event.listen(engine, "begin", _sqlite_begin)
        if engine.url.database and engine.url.database != ":memory:":
            _sqlite_write_locks[engine] = SQLiteWriteLock(engine.url.database)
        return engine
    return create_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )


def rows_matched(
    session: Session, statement: Executable, params: dict[str, Any] | None = None
) -> int:
    """How many rows an UPDATE or DELETE matched (`Session.execute` is typed as returning
    a plain Result; for these statements it is the CursorResult that counts them)."""
    result = cast("CursorResult[Any]", session.execute(statement, params))
    return result.rowcount


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose writes commit together at the end, or not at all. The one way the
    app writes: it takes the write lock up front (BEGIN IMMEDIATE on SQLite)."""
    bind = factory.kw.get("bind")
    lock = (_sqlite_write_locks.get(bind) if isinstance(bind, Engine) else None) or nullcontext()
    with lock, factory() as session, session.begin():
        session.connection(execution_options={WRITE_OPTION: True})
        yield session
