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


def user_views(session: Session, users: Sequence[User]) -> list[AdminUserOut]:
    """The admin's view of each account, in the order given."""
    usage_by_id = usage_for_users(session, [u.id for u in users])
    views = []
    for user in users:
        messages, tokens = usage_by_id.get(user.id, (0, 0))
        views.append(
            AdminUserOut(
                id=user.id,
                username=user.username,
                email=user.email,
                role="admin" if user.is_admin else "user",
                created_at=user.created_at,
                last_active_at=user.last_active_at,
                disabled=user.disabled_at is not None,
                totp_enabled=user.totp_enabled,
                messages_month=messages,
                tokens_month=tokens,
                monthly_quota=user.monthly_token_quota,
            )
        )
    return views
