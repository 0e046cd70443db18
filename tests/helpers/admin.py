"""Giving an account a role straight in the database (the app has no API for the first
admin: `python -m app.manage create-admin` on the host)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, update

from app.core.config import Settings
from app.core.db import make_engine, make_session_factory, write_transaction
from app.models import User


def _set_role(settings: Settings, which: ColumnElement[bool], role: str) -> None:
    engine = make_engine(settings)
    try:
        with write_transaction(make_session_factory(engine)) as session:
            session.execute(update(User).where(which).values(role=role))
    finally:
        engine.dispose()


def make_admin(settings: Settings, user_id: int) -> None:
    _set_role(settings, User.id == user_id, "admin")


def promote(settings: Settings, username: str, role: str = "admin") -> None:
    """Give the account named `username` a role (as create-admin would)."""
    _set_role(settings, User.username_key == username.lower(), role)
