"""What the admin's list of accounts (GET /admin/users) shows of each account: its
usage this month, quota and second factor."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.admin.schemas import AdminUserOut
from app.chat import usage
from app.models import User, utcnow


def usage_for_users(session: Session, user_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """{user_id: (answers this UTC month, tokens in + out this UTC month)}; accounts without
    usage are absent (read them as (0, 0))."""
    today = utcnow().date()
    totals = usage.users_totals(session, list(user_ids), usage.month_start(today), today)
    return {uid: (t.messages, t.tokens) for uid, t in totals.items()}


def account_extras(session: Session, users: Sequence[User]) -> dict[int, tuple[bool, int | None]]:
    """{user id: (TOTP enabled, monthly token quota override or None)}: both are columns of
    the rows already read, so `session` is unused (kept so callers need not know)."""
    del session
    return {u.id: (u.totp_enabled, u.monthly_token_quota) for u in users}


def user_views(session: Session, users: Sequence[User]) -> list[AdminUserOut]:
    """The admin's view of each account, in the order given."""
    usage_by_id = usage_for_users(session, [u.id for u in users])
    extras = account_extras(session, users)
    views = []
    for user in users:
        messages, tokens = usage_by_id.get(user.id, (0, 0))
        totp, quota = extras.get(user.id, (False, None))
        views.append(
            AdminUserOut(
                id=user.id,
                username=user.username,
                email=user.email,
                role="admin" if user.is_admin else "user",
                created_at=user.created_at,
                last_active_at=user.last_active_at,
                disabled=user.disabled_at is not None,
                totp_enabled=totp,
                messages_month=messages,
                tokens_month=tokens,
                monthly_quota=quota,
            )
        )
    return views
