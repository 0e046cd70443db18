"""Copy a single-host SQLite database into PostgreSQL: the one-host → many-hosts move
(docs/operations.md, "From one host to several").

The target is migrated to head first, so Alembic owns its schema as everywhere else; then
every table of the models is copied in foreign-key order (the keys that close a cycle
afterwards), in batches, inside one target
transaction (a failed copy leaves the target as it was); the PostgreSQL sequences are moved
past the copied ids, and every table's row count is compared before the commit.
"""

from __future__ import annotations

from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    Table,
    bindparam,
    create_engine,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url

from app.models import Base


class CopyError(Exception):
    """A refusal or a failed check, reported to the operator in one line."""


def _tables() -> list[Table]:
    """Parents before children, so every foreign key finds its row."""
    return list(Base.metadata.sorted_tables)


def _cycle_columns(table: Table) -> list[Column[object]]:
    """Columns of the foreign keys that close a cycle (declared use_alter, e.g.
    conversations.current_leaf_id → messages while messages → conversations): no table
    order satisfies them, so they are copied after every row exists."""
    return [c for fk in table.foreign_key_constraints if fk.use_alter for c in fk.columns]


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _head() -> str:
    from app.core.schema import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def copy_to_postgres(
    source_url: str, target_url: str, *, replace: bool = False, batch: int = 1000
) -> dict[str, int]:
    """Copy `source_url` (SQLite) into `target_url` (PostgreSQL); returns rows per table."""
    from app.manage import migrate

    source, target = make_url(source_url), make_url(target_url)
    if source.get_backend_name() != "sqlite" or not source.database:
        raise CopyError(f"--source must be a sqlite:///PATH URL, not {source.drivername}")
    if target.get_backend_name() != "postgresql":
        raise CopyError(f"--target must be a postgresql+psycopg:// URL, not {target.drivername}")
    if target.drivername == "postgresql":
        target = target.set(drivername="postgresql+psycopg")
    if batch < 1:
        raise CopyError("--batch must be at least 1")

    if not Path(source.database).is_file():
        raise CopyError(f"no SQLite database at {source.database}")
    # Only read from: copy a backup, or the database of a stopped service.
    src_engine = create_engine(f"sqlite:///{source.database}")
    dst_engine = create_engine(target, hide_parameters=True)
    try:
        with src_engine.connect() as src:
            current = MigrationContext.configure(src).get_current_revision()
            head = _head()
            if current != head:
                raise CopyError(
                    f"the source is at schema revision {current}, this release's is {head}: "
                    "migrate it first (python -m app.manage migrate, or deploy this release "
                    "to the single host)"
                )
            migrate(database_url=target.render_as_string(hide_password=False))
            with dst_engine.begin() as dst:
                return _copy(src, dst, replace=replace, batch=batch)
    finally:
        src_engine.dispose()
        dst_engine.dispose()


def _copy(src: Connection, dst: Connection, *, replace: bool, batch: int) -> dict[str, int]:
    tables = _tables()
    filled = [t.name for t in tables if _count(dst, t)]
    if filled and not replace:
        raise CopyError(
            f"the target already holds rows in {', '.join(filled)}; "
            "pass --replace to empty it first"
        )
    if filled:
        names = ", ".join(dst.dialect.identifier_preparer.format_table(t) for t in tables)
        dst.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))

    copied: dict[str, int] = {}
    for table in tables:
        rows = 0
        later = {c.name: None for c in _cycle_columns(table)}
        # In key order: a row that refers to its own table (a message's parent) comes after
        # the row it names.
        ordered = select(table).order_by(*table.primary_key.columns)
        result = src.execution_options(stream_results=True).execute(ordered)
        for chunk in result.mappings().partitions(batch):
            dst.execute(table.insert(), [{**row, **later} for row in chunk])
            rows += len(chunk)
        copied[table.name] = rows
        _reset_sequence(dst, table)
    for table in tables:
        _copy_cycle_columns(src, dst, table, batch=batch)

    for table in tables:
        expected, got = _count(src, table), _count(dst, table)
        if expected != got:
            # Raised inside the target's transaction: nothing is committed.
            raise CopyError(f"{table.name}: {expected} rows in the source, {got} copied")
    return copied


def _copy_cycle_columns(src: Connection, dst: Connection, table: Table, *, batch: int) -> None:
    """Fill in the cycle-closing foreign keys that the first pass left NULL."""
    columns = _cycle_columns(table)
    if not columns:
        return
    key = list(table.primary_key.columns)
    statement = (
        update(table)
        .where(*(c == bindparam(f"key_{c.name}") for c in key))
        .values({c.name: bindparam(f"new_{c.name}") for c in columns})
    )
    query = select(*key, *columns).where(or_(*(c.is_not(None) for c in columns)))
    result = src.execution_options(stream_results=True).execute(query)
    for chunk in result.mappings().partitions(batch):
        dst.execute(
            statement,
            [
                {
                    **{f"key_{c.name}": row[c.name] for c in key},
                    **{f"new_{c.name}": row[c.name] for c in columns},
                }
                for row in chunk
            ],
        )


def _reset_sequence(dst: Connection, table: Table) -> None:
    """Rows were inserted with their ids: move the id sequence past the largest one, or the
    next INSERT would collide with a copied row."""
    key = list(table.primary_key.columns)
    if len(key) != 1 or not isinstance(key[0].type, Integer):
        return
    find = func.pg_get_serial_sequence(table.name, key[0].name)
    sequence = dst.execute(select(find)).scalar_one()
    if sequence is None:
        return
    largest = func.max(key[0])
    # setval(seq, max, true): the next value is max + 1; an empty table starts at 1 again.
    dst.execute(select(func.setval(sequence, func.coalesce(largest, 1), largest.is_not(None))))
