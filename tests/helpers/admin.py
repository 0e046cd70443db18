"""Making an account an admin straight in the database (the app has no API for the first
one: `python -m app.manage create-admin` on the host)."""

from __future__ import annotations

from sqlalchemy import update

from app.core.config import Settings
from app.core.db import make_engine, make_session_factory, write_transaction
from app.models import User


def make_admin(settings: Settings, user_id: int) -> None:
    engine = make_engine(settings)
    try:
        with write_transaction(make_session_factory(engine)) as session:
            session.execute(update(User).where(User.id == user_id).values(role="admin"))
    finally:
        engine.dispose()
