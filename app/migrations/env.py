"""Alembic environment: the app's Settings choose the database.

On PostgreSQL the upgrade holds an advisory lock for its whole transaction, so migrations
started at the same moment from several hosts run one after the other: the first applies the
revisions, the others then find the schema at head and apply nothing. The revisions applied
are listed in config.attributes["applied"] (app.manage.migrate reports them).
"""

from alembic import context
from sqlalchemy import Connection

from app.core.config import get_settings
from app.core.db import MIGRATION_LOCK_KEY, make_engine
from app.models import Base
from app.search import SQLITE_FTS_TABLE, SQLITE_TRIGGERS, include_schema_name

config = context.config


def run_migrations() -> None:
    settings = get_settings()
    url = config.attributes.get("database_url")
    if url is not None:
        settings = settings.model_copy(update={"database_url": url})
    engine = make_engine(settings, foreign_keys=False)
    with engine.connect() as connection:
        _run(connection)
        if connection.dialect.name == "sqlite":
            # Foreign keys were off so table rebuilds can't cascade; prove nothing broke.
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"foreign key violations after migrating: {problems[:5]}")
    engine.dispose()


def _check_search_triggers(connection: Connection) -> None:
    """Rebuilding `messages` (batch mode) silently drops its triggers, and the search index
    would stop following the messages: such a migration run fails, loudly."""
    names = {
        row[0]
        for row in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
        )
    }
    missing = set(SQLITE_TRIGGERS) - names
    if SQLITE_FTS_TABLE in names and missing:
        raise RuntimeError(f"message search triggers missing after migrating: {sorted(missing)}")


def _run(connection: Connection) -> None:
    applied: list[str] = config.attributes.setdefault("applied", [])
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_schema_name,
        on_version_apply=lambda *, step, **_: applied.append(step.up_revision_id),
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Released at commit or rollback; the current revision is read after it is held.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            _check_search_triggers(connection)


run_migrations()
