"""The audit log: security events and admin actions, one row each (models.AuditEvent).

`record` adds a row to the caller's session, so the event commits with the change it
describes, or not at all. Events that change nothing else (a failed login) pass their own
write transaction. Event names are the constants below; the admin UI and `manage audit`
filter by them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, User, utcnow

REGISTER = "register"
LOGIN_OK = "login_ok"
LOGIN_FAILED = "login_failed"
THROTTLED = "throttled"
REFRESH_REUSE = "refresh_token_reuse"
PASSWORD_CHANGED = "password_changed"  # noqa: S105 (an event name)
ACCOUNT_DELETED = "account_deleted"
PASSWORD_RESET_USED = "password_reset_used"  # noqa: S105 (an event name)
# Admin actions start with "admin.": who did what to whom.
ADMIN_PREFIX = "admin."
ADMIN_ROLE_CHANGED = "admin.role_changed"
ADMIN_USER_DISABLED = "admin.user_disabled"
ADMIN_USER_ENABLED = "admin.user_enabled"
ADMIN_USER_DELETED = "admin.user_deleted"
ADMIN_PASSWORD_RESET_LINK = "admin.password_reset_link"  # noqa: S105 (an event name)
ADMIN_INVITE_CREATED = "admin.invite_created"
ADMIN_INVITE_REVOKED = "admin.invite_revoked"
ADMIN_SETTINGS_CHANGED = "admin.settings_changed"
TOTP_ENABLED = "totp_enabled"
TOTP_DISABLED = "totp_disabled"
ADMIN_QUOTA_CHANGED = "admin.quota_changed"

MAX_USER_AGENT = 300


@dataclass(frozen=True)
class Client:
    """Who is asking: the client's address and user agent, for throttling and the audit log."""

    ip: str | None = None
    user_agent: str | None = None


def record(
    session: Session,
    event: str,
    *,
    actor: User | None = None,
    target: User | None = None,
    actor_name: str | None = None,
    target_name: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    details: Mapping[str, object] | None = None,
) -> None:
    """Add one event to `session` (committed with the caller's transaction). Never put a
    secret (password, token, TOTP code) in `details`."""
    session.add(
        AuditEvent(
            created_at=utcnow(),
            event=event,
            actor_id=actor.id if actor else None,
            actor=actor.username if actor else actor_name,
            target_id=target.id if target else None,
            target=target.username if target else target_name,
            ip=ip[:64] if ip else None,
            user_agent=user_agent[:MAX_USER_AGENT] if user_agent else None,
            details=json.dumps(dict(details), ensure_ascii=False) if details else None,
        )
    )


def events(
    session: Session,
    *,
    since: datetime | None = None,
    event: str | None = None,
    username: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Newest first; `username` matches actor or target (ignoring case); page with
    `before_id`; `event` ending in "." matches a prefix ("admin.")."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    if event:
        query = _matching(query, event)
    if username:
        name = username.lower()
        query = query.where(
            (func.lower(AuditEvent.actor) == name) | (func.lower(AuditEvent.target) == name)
        )
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(session.scalars(query))


def _matching(query: Select[AuditEvent], event: str | None) -> Select[AuditEvent]:
    if not event:
        return query
    if event.endswith("."):
        return query.where(AuditEvent.event.startswith(event))
    return query.where(AuditEvent.event == event)


def oldest_first(
    session: Session, *, since: datetime, event: str | None = None, batch: int = 500
) -> Iterator[AuditEvent]:
    """Every event from `since` on, oldest first, read a batch at a time (manage audit)."""
    after = 0
    while True:
        query = (
            select(AuditEvent)
            .where(AuditEvent.created_at >= since, AuditEvent.id > after)
            .order_by(AuditEvent.id)
            .limit(batch)
        )
        rows = list(session.scalars(_matching(query, event)))
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id


def as_dict(row: AuditEvent) -> dict[str, object]:
    """An event as the API and `manage audit` show it."""
    return {
        "id": row.id,
        "created_at": row.created_at.isoformat(),
        "event": row.event,
        "actor": row.actor,
        "target": row.target,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "details": json.loads(row.details) if row.details else None,
    }


def expire(session: Session, retention: timedelta) -> int:
    """Delete events older than `retention`; returns how many went."""
    result = session.execute(delete(AuditEvent).where(AuditEvent.created_at < utcnow() - retention))
    return int(getattr(result, "rowcount", 0) or 0)
