"""Fixed-window rate counters kept in the database, so every worker and host agrees."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

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
    rows = [
        {"key": key, "window_start": start, "count": 1, "expires_at": start + limit.window_seconds}
        for limit, key, start in counters
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    upsert = (
        insert(RateCounter)
        .values(rows)
        .on_conflict_do_update(
            index_elements=[RateCounter.key, RateCounter.window_start],
            set_={"count": RateCounter.count + 1},
        )
        .returning(RateCounter.key, RateCounter.count)
    )
    counts = {key: count for key, count in session.execute(upsert).all()}
    # Expired windows are dead rows; sweeping now and then keeps the table small without
    # a scheduler (every worker does a share of it).
    if random.random() < PURGE_PROBABILITY:
        purge_expired(session, now=now)
    for limit, key, start in counters:
        if counts[key] > limit.limit:
            raise RateLimited(limit, max(1, int(start + limit.window_seconds - now) + 1))


def purge_expired(session: Session, *, now: float | None = None) -> int:
    now = time.time() if now is None else now
    return rows_matched(session, delete(RateCounter).where(RateCounter.expires_at < int(now)))
