"""Settings an admin changes at run time (sign-up policy, budgets), stored as JSON in the
`site_settings` table so every worker and host reads the same value. A key that was never
set falls back to the caller's default (the env's setting)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import SiteSetting, utcnow


def get(session: Session, key: str, default: Any = None) -> Any:
    raw = session.scalar(select(SiteSetting.value).where(SiteSetting.key == key))
    return default if raw is None else json.loads(raw)


def get_all(session: Session) -> dict[str, Any]:
    return {row.key: json.loads(row.value) for row in session.scalars(select(SiteSetting))}


def put(session: Session, key: str, value: Any, *, by: str | None = None) -> None:
    """Set `key` in the caller's write transaction; None removes it (back to the default)."""
    row = session.get(SiteSetting, key)
    if value is None:
        if row is not None:
            session.delete(row)
        return
    encoded = json.dumps(value, ensure_ascii=False)
    if row is None:
        session.add(SiteSetting(key=key, value=encoded, updated_at=utcnow(), updated_by=by))
    else:
        row.value, row.updated_at, row.updated_by = encoded, utcnow(), by
