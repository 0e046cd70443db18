"""Users' ids are never reused on SQLite (AUTOINCREMENT).

Without it SQLite gives a deleted account's id to the next account registered, and an access
token still held for the deleted account (valid up to 15 minutes) would act as the new one.
PostgreSQL sequences never reuse values; nothing to do there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # SQLite can't ALTER a table into AUTOINCREMENT: batch mode rebuilds it, rows and all.
    with op.batch_alter_table(
        "users", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "users", recreate="always", table_kwargs={"sqlite_autoincrement": False}
    ):
        pass
