"""The audit log's retention: events older than AUDIT_RETENTION_DAYS are deleted at each
worker's start and then once a day by it (and on demand: manage audit-expire).

Every worker of every host does it; the DELETE is idempotent and uses the created_at index,
so doing it several times costs a few indexed statements a day. No timer unit to install,
and it works the same on SQLite and PostgreSQL, one host or several."""

from __future__ import annotations

import logging
from datetime import timedelta

import anyio
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import audit
from app.core.db import write_transaction

log = logging.getLogger("app.audit")

EVERY_SECONDS = 86_400.0


def expire_now(factory: sessionmaker[Session], retention_days: int) -> int:
    with write_transaction(factory) as session:
        return audit.expire(session, timedelta(days=retention_days))


async def expire_daily(
    factory: sessionmaker[Session],
    retention_days: int,
    *,
    stop: anyio.Event,
    every: float = EVERY_SECONDS,
) -> None:
    """Run until `stop` is set (the lifespan's shutdown). A DELETE under way when it is set
    finishes first, so the engine outlives the thread that uses it."""
    while not stop.is_set():
        try:
            gone = await anyio.to_thread.run_sync(expire_now, factory, retention_days)
            if gone:
                log.info("audit log: %d events older than %d days deleted", gone, retention_days)
        except (SQLAlchemyError, OSError) as exc:  # no database (yet): try again next time
            log.warning("audit log expiry failed: %s", type(exc).__name__)
        with anyio.move_on_after(every):
            await stop.wait()
