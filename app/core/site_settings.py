"""Settings an admin changes at run time (sign-up policy, budgets), stored as JSON in the
`site_settings` table so every worker and host reads the same value. A key that was never
set falls back to the caller's default (the env's setting)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.models import SiteSetting, utcnow


def get(session: Session, key: str, default: Any = None) -> Any:
    raw = session.scalar(select(SiteSetting.value).where(SiteSetting.key == key))
    return default if raw is None else json.loads(raw)


def get_all(session: Session) -> dict[str, Any]:
    # Columns, not entities: rows changed by put()'s upsert in this session read fresh.
    rows = session.execute(select(SiteSetting.key, SiteSetting.value))
    return {key: json.loads(value) for key, value in rows}


def put(session: Session, key: str, value: Any, *, by: str | None = None) -> None:
    """Set `key` in the caller's write transaction; None removes it (back to the default).
    An upsert: two admins setting a key for the first time at once both succeed (the later
    wins) instead of one failing on the primary key."""
    if value is None:
        session.execute(delete(SiteSetting).where(SiteSetting.key == key))
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(SiteSetting).values(
        key=key, value=json.dumps(value, ensure_ascii=False), updated_at=utcnow(), updated_by=by
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[SiteSetting.key],
            set_={name: statement.excluded[name] for name in ("value", "updated_at", "updated_by")},
        )
    )
