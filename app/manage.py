"""Operator commands: migrate, backup, restore, check, drain, copy-to-postgres, create-admin,
audit, audit-expire.

python -m app.manage [--env-file FILE] migrate
python -m app.manage [--env-file FILE] backup DEST.db
python -m app.manage [--env-file FILE] backup --dir DIR [--keep N]
python -m app.manage [--env-file FILE] restore SRC.db      (stop the service first)
python -m app.manage [--env-file FILE] check
python -m app.manage [--env-file FILE] drain on|off|status
python -m app.manage copy-to-postgres --source sqlite:///PATH --target postgresql+psycopg://...
python -m app.manage [--env-file FILE] create-admin --username U --email E [--if-no-admin]
    (the password from $CHATBOT_ADMIN_PASSWORD, else the first line of stdin)
python -m app.manage [--env-file FILE] audit --since 2026-12-01|7d [--event E]   (JSON lines)
python -m app.manage [--env-file FILE] audit-expire     (older than AUDIT_RETENTION_DAYS)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
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


ADMIN_PASSWORD_VARIABLE = "CHATBOT_ADMIN_PASSWORD"  # noqa: S105 (a variable's name)


def create_admin(username: str, email: str, password: str | None, *, if_no_admin: bool) -> str:
    """Make `username` an admin: a new account (with `password`), or an existing one
    promoted when `email` and `password` are its own (both untouched). With `if_no_admin`,
    nothing happens when the site already has an enabled admin (what the playbook runs on
    every deploy: it makes the first admin, and never undoes what the site's admins did
    since). Returns what it did;
    SystemExit with a message when it can't."""
    import anyio
    from pydantic import TypeAdapter
    from sqlalchemy import func, select

    from app import crud
    from app.accounts import audit
    from app.core.config import get_settings
    from app.core.db import make_engine, make_session_factory, write_transaction
    from app.core.security import PasswordHasher
    from app.models import ROLE_ADMIN, User
    from app.schemas import RegisterIn

    engine = make_engine(get_settings())
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            admins = session.scalar(
                select(func.count())
                .select_from(User)
                .where(User.role == ROLE_ADMIN, User.disabled_at.is_(None))
            )
            existing = crud.get_user_by_login(session, login=username)
        if existing is not None and existing.username_key != username.lower():
            existing = None  # `username` matched someone's email: not that account
        if if_no_admin and admins:
            return f"unchanged: the site has {admins} admin(s)"
        if existing is not None:
            if existing.is_admin and existing.disabled_at is None:
                return f"unchanged: {existing.username} is an admin"
            # On a site that was open to sign-ups, anyone may have registered the name the
            # operator chose: only the account's owner is promoted, by its email and password.
            owner = (
                existing.email_key == email.strip().lower()
                and bool(password)
                and anyio.run(PasswordHasher(1).verify, password or "", existing.password_hash)
            )
            if not owner:
                raise SystemExit(
                    f"create-admin: an account named {existing.username} exists and this email"
                    " and password are not its own; promote it from the administration, or"
                    " choose another username"
                )
            with write_transaction(factory) as session:
                user = crud.get_user(session, existing.id)
                assert user is not None
                before = user.role
                user.role, user.disabled_at = ROLE_ADMIN, None
                audit.record(
                    session,
                    audit.ADMIN_ROLE_CHANGED,
                    actor_name="(create-admin)",
                    target=user,
                    details={"from": before, "to": ROLE_ADMIN, "via": "create-admin"},
                )
            return f"promoted: {existing.username} is an admin"
        if not password:
            raise SystemExit(
                f"create-admin: no password (set {ADMIN_PASSWORD_VARIABLE} or pipe it)"
            )
        try:
            body = TypeAdapter(RegisterIn).validate_python(
                {
                    "username": username,
                    "email": email,
                    "password": password,
                    "password_confirm": password,
                }
            )
        except ValidationError as exc:
            problems = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
            raise SystemExit(f"create-admin: {problems}") from None
        with factory() as session:
            taken = crud.taken_fields(session, username=body.username, email=body.email)
        if taken:
            raise SystemExit(f"create-admin: {' and '.join(taken)} already registered")
        password_hash = anyio.run(PasswordHasher(1).hash, body.password)
        with write_transaction(factory) as session:
            user = crud.create_user(
                session, username=body.username, email=body.email, password_hash=password_hash
            )
            user.role = ROLE_ADMIN
            audit.record(
                session,
                audit.REGISTER,
                actor_name="(create-admin)",
                target=user,
                details={"via": "create-admin", "role": ROLE_ADMIN},
            )
        return f"created: {body.username} is an admin"
    finally:
        engine.dispose()


def parse_since(value: str) -> datetime:
    """`7d`, `12h`, `30m` ago, or an ISO date/time (UTC unless it says otherwise)."""
    match = re.fullmatch(r"(\d{1,6})([dhm])", value.strip())
    if match:
        amount, unit = int(match[1]), match[2]
        delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount)}.get(
            unit, timedelta(minutes=amount)
        )
        return datetime.now(UTC) - delta
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {value!r} (2026-12-01, 2026-12-01T10:00Z or 7d / 12h / 30m)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def print_audit(since: datetime, event: str | None) -> int:
    """The audit events from `since` on as JSON lines, oldest first; how many."""
    from app.accounts import audit
    from app.core.config import get_settings
    from app.core.db import make_engine, make_session_factory

    engine = make_engine(get_settings())
    count = 0
    try:
        with make_session_factory(engine)() as session:
            for row in audit.oldest_first(session, since=since, event=event):
                print(json.dumps(audit.as_dict(row), ensure_ascii=False))
                count += 1
    finally:
        engine.dispose()
    return count


def expire_audit() -> int:
    from app.admin.retention import expire_now
    from app.core.config import get_settings
    from app.core.db import make_engine, make_session_factory

    settings = get_settings()
    engine = make_engine(settings)
    try:
        return expire_now(make_session_factory(engine), settings.audit_retention_days)
    finally:
        engine.dispose()


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
    p_admin = sub.add_parser(
        "create-admin",
        help="make an admin: a new account, or an existing one promoted "
        f"(password from ${ADMIN_PASSWORD_VARIABLE} or stdin)",
    )
    p_admin.add_argument("--username", required=True)
    p_admin.add_argument("--email", required=True)
    p_admin.add_argument(
        "--if-no-admin",
        action="store_true",
        help="do nothing if the site already has an admin (the playbook's way)",
    )
    p_audit = sub.add_parser("audit", help="print audit events as JSON lines, oldest first")
    p_audit.add_argument(
        "--since", required=True, type=parse_since, help="2026-12-01, an ISO time, or 7d/12h/30m"
    )
    p_audit.add_argument("--event", help='an event name, or a prefix ending in "." (admin.)')
    sub.add_parser("audit-expire", help="delete audit events older than AUDIT_RETENTION_DAYS")
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
    elif args.command == "create-admin":
        password = os.environ.get(ADMIN_PASSWORD_VARIABLE)
        if not password and not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\r\n")
        elif not password:
            import getpass

            password = getpass.getpass("password for the new admin: ")
        # The playbook reads "created:" / "promoted:" to report a change.
        print(create_admin(args.username, args.email, password, if_no_admin=args.if_no_admin))
    elif args.command == "audit":
        print_audit(args.since, args.event)
    elif args.command == "audit-expire":
        print(f"expired: {expire_audit()} audit events")
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
