"""Admins' actions on accounts: list, promote/demote, disable/enable, delete, password-reset
links. Each is one function over the caller's write transaction and records its audit
event in it, so the change and its record commit together. The routes
(app/api/routes/admin.py) only speak HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from app import crud
from app.accounts import audit
from app.admin.tokens import hash_token, new_token
from app.models import ROLE_ADMIN, PasswordReset, User, utcnow

LAST_ADMIN = "The last admin can't be demoted, disabled or deleted"
USER_NOT_FOUND = "User not found"
PASSWORD_RESET_TTL = timedelta(hours=24)


class AdminError(Exception):
    """A refused admin action: `status` and `detail` are what the API answers."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_users(
    session: Session, *, q: str | None, limit: int, offset: int
) -> tuple[list[User], int]:
    """Oldest account first; `q` matches username or email, case-insensitively, anywhere."""
    where = []
    if q:
        pattern = f"%{_escape_like(q.strip().lower())}%"
        where.append(
            or_(
                User.username_key.like(pattern, escape="\\"),
                User.email_key.like(pattern, escape="\\"),
            )
        )
    total = session.scalar(select(func.count()).select_from(User).where(*where)) or 0
    users = session.scalars(
        select(User).where(*where).order_by(User.id).limit(limit).offset(offset)
    ).all()
    return list(users), int(total)


def _target(session: Session, user_id: int) -> User:
    user = crud.get_user(session, user_id)
    if user is None:
        raise AdminError(404, USER_NOT_FOUND)
    return user


def _keep_an_admin(session: Session, target: User) -> None:
    """Refuse to take away the last enabled admin. The enabled admins' rows are locked
    (FOR UPDATE on PostgreSQL; SQLite has one writer at a time), so two admins demoting
    each other at once can't both succeed."""
    if not target.is_admin or target.disabled_at is not None:
        return
    admins = session.scalars(
        select(User.id).where(User.role == ROLE_ADMIN, User.disabled_at.is_(None)).with_for_update()
    ).all()
    if not [i for i in admins if i != target.id]:
        raise AdminError(409, LAST_ADMIN)


def _record(session: Session, event: str, actor: User, target: User, info: audit.Client) -> None:
    audit.record(session, event, actor=actor, target=target, ip=info.ip, user_agent=info.user_agent)


def update_user(
    session: Session,
    actor: User,
    user_id: int,
    *,
    role: str | None,
    disabled: bool | None,
    info: audit.Client,
) -> User:
    """Change the role and/or the disabled mark; a no-op change records nothing.
    Disabling ends every sign-in of the account (its refresh tokens are revoked; its access
    tokens are refused from the next request, see app.api.deps)."""
    user = _target(session, user_id)
    demote = role is not None and role != user.role and user.is_admin
    disable = disabled is True and user.disabled_at is None
    if demote or disable:
        _keep_an_admin(session, user)
    if role is not None and role != user.role:
        before = user.role
        user.role = role
        audit.record(
            session,
            audit.ADMIN_ROLE_CHANGED,
            actor=actor,
            target=user,
            details={"from": before, "to": role},
            ip=info.ip,
            user_agent=info.user_agent,
        )
    if disabled is not None and disabled != (user.disabled_at is not None):
        if disabled:
            user.disabled_at = utcnow()
            crud.revoke_user_tokens(session, user_id=user.id)
            _record(session, audit.ADMIN_USER_DISABLED, actor, user, info)
        else:
            user.disabled_at = None
            _record(session, audit.ADMIN_USER_ENABLED, actor, user, info)
    session.flush()
    return user


def delete_user(session: Session, actor: User, user_id: int, *, info: audit.Client) -> None:
    """The account and everything of it (as DELETE /me does)."""
    user = _target(session, user_id)
    _keep_an_admin(session, user)
    audit.record(
        session,
        audit.ADMIN_USER_DELETED,
        actor=actor,
        target=user,
        details={"email": user.email},
        ip=info.ip,
        user_agent=info.user_agent,
    )
    crud.delete_user(session, user_id=user.id)


def create_password_reset(
    session: Session, actor: User, user_id: int, *, info: audit.Client
) -> tuple[str, datetime]:
    """A one-time reset link's token and expiry (24 h). It replaces any earlier unused link
    of the account: only the newest one works."""
    user = _target(session, user_id)
    now = utcnow()
    session.execute(
        delete(PasswordReset).where(
            PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None)
        )
    )
    token = new_token()
    expires_at = now + PASSWORD_RESET_TTL
    session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=expires_at,
            created_by=actor.username,
        )
    )
    audit.record(
        session,
        audit.ADMIN_PASSWORD_RESET_LINK,
        actor=actor,
        target=user,
        details={"expires_at": expires_at.isoformat()},
        ip=info.ip,
        user_agent=info.user_agent,
    )
    return token, expires_at
