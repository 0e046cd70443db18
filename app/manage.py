"""Operator commands: migrate, backup, restore, check.

python -m app.manage [--env-file FILE] migrate
python -m app.manage [--env-file FILE] backup DEST.db
python -m app.manage [--env-file FILE] backup --dir DIR [--keep N]
python -m app.manage [--env-file FILE] restore SRC.db      (stop the service first)
python -m app.manage [--env-file FILE] check
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


def migrate(revision: str = "head", *, database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), revision)


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
    args = parser.parse_args(argv)

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
        migrate(args.revision)
        print(f"database schema at {args.revision}")
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
