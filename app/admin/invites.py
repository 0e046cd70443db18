"""Sign-up invites: made by an admin, used by sign-ups under the "invite" policy (and
counted under "open"). A link carries the token; the table keeps only its hash."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.admin.tokens import MAX_TOKEN_CHARS, hash_token, new_token
from app.core.db import rows_matched
from app.models import Invite, InviteUse, User, utcnow


def create(
    session: Session, *, by: User, note: str | None, max_uses: int, expires_in_hours: int
) -> tuple[Invite, str]:
    """A new invite and its token (shown once: only the hash is stored)."""
    token = new_token()
    now = utcnow()
    invite = Invite(
        token_hash=hash_token(token),
        note=note or None,
        max_uses=max_uses,
        uses=0,
        created_at=now,
        expires_at=now + timedelta(hours=expires_in_hours),
        created_by=by.username,
    )
    session.add(invite)
    session.flush()
    return invite, token


def page(
    session: Session, *, limit: int, offset: int
) -> tuple[list[tuple[Invite, list[str]]], int]:
    """Newest first, each with the usernames that signed up with it (oldest first)."""
    total = session.scalar(select(func.count()).select_from(Invite)) or 0
    invites = list(
        session.scalars(select(Invite).order_by(Invite.id.desc()).limit(limit).offset(offset))
    )
    used_by: dict[int, list[str]] = defaultdict(list)
    if invites:
        rows = session.execute(
            select(InviteUse.invite_id, InviteUse.username)
            .where(InviteUse.invite_id.in_([i.id for i in invites]))
            .order_by(InviteUse.id)
        )
        for invite_id, username in rows:
            used_by[invite_id].append(username)
    return [(i, used_by[i.id]) for i in invites], int(total)


def get(session: Session, invite_id: int) -> Invite | None:
    return session.get(Invite, invite_id)


def revoke(session: Session, invite: Invite) -> bool:
    """Revoke (kept in the list); False if it already was."""
    if invite.revoked_at is not None:
        return False
    invite.revoked_at = utcnow()
    return True


def usable(session: Session, token: str) -> Invite | None:
    """The invite `token` opens, if it can still be used now (a read; `claim` decides)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    invite = session.scalar(select(Invite).where(Invite.token_hash == hash_token(token)))
    if (
        invite is None
        or invite.revoked_at is not None
        or invite.expires_at <= utcnow()
        or invite.uses >= invite.max_uses
    ):
        return None
    return invite


def claim(session: Session, token: str, user: User) -> Invite | None:
    """Use one of the invite's uses for `user`, in the caller's write transaction (the one
    creating the account). One conditional UPDATE: of two sign-ups racing for a last use,
    only one matches it (PostgreSQL re-checks the row after the other's commit, SQLite has
    one writer at a time). None if the invite can't be used."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    now = utcnow()
    token_hash = hash_token(token)
    claimed = rows_matched(
        session,
        update(Invite)
        .where(
            Invite.token_hash == token_hash,
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
            Invite.uses < Invite.max_uses,
        )
        .values(uses=Invite.uses + 1)
        .execution_options(synchronize_session=False),
    )
    if claimed != 1:
        return None
    invite = session.scalar(select(Invite).where(Invite.token_hash == token_hash))
    if invite is None:  # pragma: no cover (just updated in this transaction)
        return None
    session.add(
        InviteUse(invite_id=invite.id, user_id=user.id, username=user.username, used_at=now)
    )
    return invite
