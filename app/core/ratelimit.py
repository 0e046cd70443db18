"""Fixed-window rate counters kept in the database, so every worker and host agrees."""

from __future__ import annotations

import functools
import random
import time
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from app.core.db import rows_matched
from app.models import RateCounter

PURGE_PROBABILITY = 0.01


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    window_seconds: int


class RateLimited(Exception):
    def __init__(self, limit: Limit, retry_after: int) -> None:
        super().__init__(limit.name)
        self.limit = limit
        self.retry_after = retry_after


def hit(session: Session, limit: Limit, subject: str, *, now: float | None = None) -> None:
    """Count one event for `subject`; raise RateLimited when it exceeds the limit.

    The count is written in the caller's transaction. A rejected event is not kept: the
    RateLimited leaves the caller's `write_transaction`, which rolls its increment back, so
    the counter stays at the limit until the window ends (hammering never resets it).
    """
    hit_many(session, [(limit, subject)], now=now)


def hit_many(
    session: Session, limits: list[tuple[Limit, str]], *, now: float | None = None
) -> None:
    """Count one event against several limits in one statement (the chat path runs this
    under the write lock); raise RateLimited for the first one exceeded. One
    `INSERT … ON CONFLICT DO UPDATE … RETURNING` both creates and increments each counter,
    so concurrent requests in other workers can't both read the old value."""
    now = time.time() if now is None else now
    counters = []  # (limit, counter key, start of its current window)
    for limit, subject in limits:
        window_start = int(now // limit.window_seconds) * limit.window_seconds
        counters.append((limit, f"{limit.name}:{subject}", window_start))
    params: dict[str, object] = {}
    for i, (limit, key, start) in enumerate(counters):
        params[f"key{i}"] = key
        params[f"start{i}"] = start
        params[f"expires{i}"] = start + limit.window_seconds
    upsert = _upsert(session.get_bind().dialect.name, len(counters))
    counts = {key: count for key, count in session.execute(upsert, params).all()}
    # Expired windows are dead rows; sweeping now and then keeps the table small without
    # a scheduler (every worker does a share of it).
    if random.random() < PURGE_PROBABILITY:
        purge_expired(session, now=now)
    for limit, key, start in counters:
        if counts[key] > limit.limit:
            raise RateLimited(limit, max(1, int(start + limit.window_seconds - now) + 1))


@functools.cache
def _upsert(dialect: str, n: int) -> ReturningInsert[str, int]:
    """The upsert of `n` counters, built once per dialect and size: building it per call
    took half of its cost (docs/decisions.md)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, RateCounter.__table__)
    rows = [
        {
            "key": bindparam(f"key{i}"),
            "window_start": bindparam(f"start{i}"),
            "count": 1,
            "expires_at": bindparam(f"expires{i}"),
        }
        for i in range(n)
    ]
    return (
        insert(table)
        .values(rows)
        .on_conflict_do_update(
            index_elements=[table.c.key, table.c.window_start],
            set_={"count": table.c.count + 1},
        )
        .returning(table.c.key, table.c.count)
    )


def purge_expired(session: Session, *, now: float | None = None) -> int:
    now = time.time() if now is None else now
    return rows_matched(session, delete(RateCounter).where(RateCounter.expires_at < int(now)))


def give_back(session: Session, limit: Limit, subject: str, *, now: float | None = None) -> None:
    """Undo one counted event of `subject` in the current window (a login that turned out
    correct gives its client address's attempt back)."""
    now = time.time() if now is None else now
    window_start = int(now // limit.window_seconds) * limit.window_seconds
    table = cast(Table, RateCounter.__table__)
    session.execute(
        update(table)
        .where(
            table.c.key == f"{limit.name}:{subject}",
            table.c.window_start == window_start,
            table.c.count > 0,
        )
        .values(count=table.c.count - 1)
    )
