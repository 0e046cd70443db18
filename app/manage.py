"""Operator commands: migrate, backup, restore, check, drain, copy-to-postgres.

python -m app.manage [--env-file FILE] migrate
python -m app.manage [--env-file FILE] backup DEST.db
python -m app.manage [--env-file FILE] backup --dir DIR [--keep N]
python -m app.manage [--env-file FILE] restore SRC.db      (stop the service first)
python -m app.manage [--env-file FILE] check
python -m app.manage [--env-file FILE] drain on|off|status
python -m app.manage copy-to-postgres --source sqlite:///PATH --target postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from pydantic import ValidationError

from app.core.schema import alembic_config


def migrate(revision: str = "head", *, database_url: str | None = None) -> list[str]:
    """Upgrade to `revision`; returns the revisions this call applied (none if another
    process had already applied them: on PostgreSQL concurrent calls take turns)."""
    cfg = alembic_config(database_url)
    command.upgrade(cfg, revision)
    return list(cfg.attributes.get("applied", []))


def drain(action: str) -> str:
    """Set, clear or show the drain switch that makes /ready answer 503 on this host."""
    from app.core.config import get_settings

    path = get_settings().drain_file
    if action == "on":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"draining since {datetime.now(UTC).isoformat(timespec='seconds')}\n")
    elif action == "off":
        path.unlink(missing_ok=True)
    return f"draining ({path})" if path.exists() else "serving"


def _sqlite_path() -> Path:
    from app.core.config import get_settings

    url = get_settings().sqlalchemy_url
    if not url.startswith("sqlite:///"):
        raise SystemExit("backup/restore handle the SQLite database; for PostgreSQL use pg_dump")
    return Path(url.removeprefix("sqlite:///"))


def backup(dest: Path) -> Path:
    """Copy the live database with SQLite's online backup API (consistent while serving)."""
    source = _sqlite_path()
    if not source.exists():
        raise SystemExit(f"no database at {source}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    with sqlite3.connect(source) as src, sqlite3.connect(partial) as out:
        src.backup(out)
    os.chmod(partial, 0o600)
    partial.replace(dest)  # a backup file is either complete or absent
    return dest


def backup_rotating(directory: Path, keep: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    made = backup(directory / f"chatbot-{stamp}.db")
    backups = sorted(directory.glob("chatbot-*.db"))
    for old in backups[: max(0, len(backups) - keep)]:
        old.unlink()
    return made


def restore(source: Path) -> None:
    """Replace the database with a backup (run with the service stopped)."""
    if not source.exists():
        raise SystemExit(f"no backup at {source}")
    with sqlite3.connect(source) as check:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise SystemExit(f"{source} fails SQLite's integrity check; not restoring it")
    target = _sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as out:
        src.backup(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.manage", description=__doc__)
    parser.add_argument("--env-file", type=Path, help="read settings from this file too")
    sub = parser.add_subparsers(dest="command", required=True)
    p_migrate = sub.add_parser("migrate", help="upgrade the database schema")
    p_migrate.add_argument("revision", nargs="?", default="head")
    p_backup = sub.add_parser("backup", help="online backup of the SQLite database")
    p_backup.add_argument("dest", nargs="?", type=Path)
    p_backup.add_argument("--dir", type=Path)
    p_backup.add_argument("--keep", type=int, default=7)
    p_restore = sub.add_parser("restore", help="replace the database with a backup")
    p_restore.add_argument("source", type=Path)
    sub.add_parser("check", help="validate the settings")
    p_drain = sub.add_parser("drain", help="take this host out of its load balancer (/ready 503)")
    p_drain.add_argument("action", choices=["on", "off", "status"])
    p_copy = sub.add_parser(
        "copy-to-postgres", help="copy a SQLite database into an empty PostgreSQL database"
    )
    p_copy.add_argument("--source", required=True, help="sqlite:///PATH of the database to copy")
    p_copy.add_argument(
        "--target",
        default=os.environ.get("TARGET_DATABASE_URL"),
        help="postgresql+psycopg://... to copy into (default: $TARGET_DATABASE_URL, which "
        "keeps the password off the command line)",
    )
    p_copy.add_argument(
        "--replace", action="store_true", help="empty a target that already holds rows first"
    )
    p_copy.add_argument("--batch", type=int, default=1000, help="rows per INSERT batch")
    args = parser.parse_args(argv)

    if args.command == "copy-to-postgres":
        # Both databases are named on the command line: no settings are needed.
        from app.copy_db import CopyError, copy_to_postgres

        if not args.target:
            parser.error("copy-to-postgres needs --target or TARGET_DATABASE_URL")
        try:
            report = copy_to_postgres(
                args.source, args.target, replace=args.replace, batch=args.batch
            )
        except CopyError as exc:
            print(f"copy-to-postgres: {exc}", file=sys.stderr)
            return 1
        for table, rows in report.items():
            print(f"{table}: {rows} rows")
        print("copied; row counts verified")
        return 0
    if args.env_file:
        _load_env_file(args.env_file)
    from app.core.config import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        messages = "; ".join(e["msg"] for e in exc.errors())
        print(f"configuration error: {messages}", file=sys.stderr)
        return 1
    if args.command == "check":
        from app.core.config import unknown_settings

        env_files = [Path(".env"), *([args.env_file] if args.env_file else [])]
        for message in unknown_settings(os.environ, env_files):
            print(f"warning: {message}", file=sys.stderr)
        print(f"ok: {settings.app_env}, model {settings.model_mode}, database configured")
    elif args.command == "migrate":
        applied = migrate(args.revision)
        # The playbook reads "applied:" to report a change (and the tests count them).
        if applied:
            print(f"applied: {' '.join(applied)}")
        print(f"database schema at {args.revision}")
    elif args.command == "drain":
        print(drain(args.action))
    elif args.command == "backup":
        if args.dir:
            print(backup_rotating(args.dir, args.keep))
        elif args.dest:
            print(backup(args.dest))
        else:
            parser.error("backup needs DEST or --dir")
    elif args.command == "restore":
        restore(args.source)
        print(f"restored {args.source}")
    return 0


def _load_env_file(path: Path) -> None:
    """systemd EnvironmentFile syntax (KEY=VALUE, # comments); the file wins over the shell."""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ[key.strip()] = value


if __name__ == "__main__":
    sys.exit(main())
