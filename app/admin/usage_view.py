"""Usage figures for the admin's list of accounts (GET /admin/users)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.chat import usage
from app.models import utcnow


def usage_for_users(session: Session, user_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{user_id: (answers this UTC month, tokens in + out this UTC month)}; accounts without
    usage are absent (read them as (0, 0))."""
    today = utcnow().date()
    totals = usage.users_totals(session, list(user_ids), usage.month_start(today), today)
    return {uid: (t.messages, t.tokens) for uid, t in totals.items()}
