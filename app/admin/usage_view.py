"""What the users list shows of each account's usage, quota and second factor.

A stand-in: the usage/security side (usage accounting, quotas, TOTP) replaces these two
functions with real ones; everything else reads only them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.models import User


def usage_for_users(session: Session, user_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """{user id: (messages this month, tokens this month)}; a missing id means (0, 0)."""
    return {}


def account_extras(session: Session, users: Sequence[User]) -> dict[int, tuple[bool, int | None]]:
    """{user id: (TOTP enabled, monthly token quota override or None)}; missing = (False, None)."""
    return {}
