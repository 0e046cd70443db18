"""Whether the database's schema is the one this code expects (Alembic's head).

A server started on a database that was never migrated, or that misses the newest
migrations, would fail every request with an internal error, or worse run on an old schema
without failing. Instead it says so at startup and answers 503 with the command to run
until the database is migrated; it notices the migration without a restart."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
MIGRATE_COMMAND = "python -m app.manage migrate (or make migrate)"


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic's config built in code, so no alembic.ini has to sit in the working directory.
    Without `database_url` the app's Settings choose the database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        cfg.attributes["database_url"] = database_url
    return cfg


class SchemaStatus:
    """Compares the database's Alembic revision with the code's head. Once they agree it
    stays agreed (only a downgrade could undo it, and that is an operator's act)."""

    def __init__(self) -> None:
        self.heads = frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())
        self.engine: Engine | None = None
        self.current = False

    def watch(self, engine: Engine) -> None:
        """The database to check (the app's engine, made in its lifespan)."""
        self.engine, self.current = engine, False

    def problem(self) -> str | None:
        """None when the schema is current (or no database is watched yet); else what is
        wrong and the command to run. Raises SQLAlchemy's errors when the database can't
        be reached."""
        if self.current or self.engine is None:
            return None
        with self.engine.connect() as connection:
            at = frozenset(MigrationContext.configure(connection).get_current_heads())
        if at == self.heads:
            self.current = True
            return None
        where = f"at revision {', '.join(sorted(at))}" if at else "never migrated"
        return (
            f"Database migrations are pending (the database is {where}; this version needs "
            f"{', '.join(sorted(self.heads))}): run `{MIGRATE_COMMAND}`"
        )
