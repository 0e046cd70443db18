"""Queries. Everything about conversations is scoped by owner: callers pass `user_id`."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from app.core.db import rows_matched
from app.models import DEFAULT_TITLE, Conversation, Message, RefreshToken, User, utcnow


def estimate_tokens(text: str) -> int:
    """Gemini averages about 4 characters per token for English and Portuguese text."""
    return max(1, (len(text) + 3) // 4)


# -- users ---------------------------------------------------------------------------------
def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_user_by_login(session: Session, *, login: str) -> User | None:
    """Login accepts the username or the email, both case-insensitively."""
    key = login.strip().lower()
    return session.scalar(select(User).where(or_(User.username_key == key, User.email_key == key)))


def taken_fields(session: Session, *, username: str, email: str) -> list[str]:
    rows = session.execute(
        select(User.username_key, User.email_key).where(
            or_(User.username_key == username.lower(), User.email_key == email.lower())
        )
    ).all()
    taken = []
    if any(r.username_key == username.lower() for r in rows):
        taken.append("username")
    if any(r.email_key == email.lower() for r in rows):
        taken.append("email")
    return taken


def create_user(session: Session, *, username: str, email: str, password_hash: str) -> User:
    user = User(
        username=username,
        username_key=username.lower(),
        email=email,
        email_key=email.lower(),
        password_hash=password_hash,
    )
    session.add(user)
    session.flush()
    return user


def delete_user(session: Session, *, user_id: int) -> None:
    # Explicit deletes in dependency order: correct even where FK cascades are off.
    conv_ids = select(Conversation.id).where(Conversation.user_id == user_id)
    session.execute(delete(Message).where(Message.conversation_id.in_(conv_ids)))
    session.execute(delete(Conversation).where(Conversation.user_id == user_id))
    session.execute(delete(RefreshToken).where(RefreshToken.user_id == user_id))
    session.execute(delete(User).where(User.id == user_id))


# -- refresh tokens ------------------------------------------------------------------------
def add_refresh_token(
    session: Session, *, user_id: int, family_id: uuid.UUID, token_hash: str, ttl: timedelta
) -> RefreshToken:
    now = utcnow()
    token = RefreshToken(
        user_id=user_id,
        family_id=family_id,
        token_hash=token_hash,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(token)
    return token


def get_refresh_token(session: Session, *, token_hash: str) -> RefreshToken | None:
    return session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))


def mark_refresh_used(session: Session, *, token_id: int) -> bool:
    """Claim a refresh token for rotation; False if another request claimed it first."""
    claimed = rows_matched(
        session,
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
        .values(used_at=utcnow()),
    )
    return claimed == 1


def revoke_family(session: Session, *, family_id: uuid.UUID) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_user_tokens(session: Session, *, user_id: int) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def purge_dead_refresh_tokens(session: Session, *, user_id: int) -> None:
    """Expired tokens are useless; revoked ones are kept until expiry for reuse detection."""
    session.execute(
        delete(RefreshToken).where(
            RefreshToken.user_id == user_id, RefreshToken.expires_at < utcnow()
        )
    )


# -- conversations -------------------------------------------------------------------------
def create_conversation(session: Session, *, user_id: int) -> Conversation:
    now = utcnow()
    conv = Conversation(
        id=uuid.uuid4(),
        user_id=user_id,
        title=DEFAULT_TITLE,
        title_is_custom=False,
        created_at=now,
        updated_at=now,
    )
    session.add(conv)
    session.flush()
    return conv


def get_conversation(
    session: Session, *, user_id: int, conversation_id: uuid.UUID
) -> Conversation | None:
    return session.scalar(
        select(Conversation).where(
            Conversation.id == conversation_id, Conversation.user_id == user_id
        )
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_conversations(
    session: Session, *, user_id: int, limit: int, offset: int, query: str | None
) -> tuple[list[Conversation], int]:
    where = [Conversation.user_id == user_id]
    if query:
        where.append(
            func.lower(Conversation.title).like(f"%{_escape_like(query.lower())}%", escape="\\")
        )
    total = session.scalar(select(func.count()).select_from(Conversation).where(*where)) or 0
    rows = session.scalars(
        select(Conversation)
        .where(*where)
        .order_by(Conversation.updated_at.desc(), Conversation.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def delete_conversation(session: Session, *, user_id: int, conversation_id: uuid.UUID) -> bool:
    conv = get_conversation(session, user_id=user_id, conversation_id=conversation_id)
    if conv is None:
        return False
    session.execute(delete(Message).where(Message.conversation_id == conversation_id))
    session.delete(conv)
    return True


# -- messages ------------------------------------------------------------------------------
def list_messages(
    session: Session, *, conversation_id: uuid.UUID, limit: int, before: int | None
) -> tuple[list[Message], bool]:
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if before is not None:
        stmt = stmt.where(Message.id < before)
    rows = list(session.scalars(stmt.order_by(Message.id.desc()).limit(limit + 1)))
    has_more = len(rows) > limit
    return list(reversed(rows[:limit])), has_more


def recent_messages(
    session: Session, *, conversation_id: uuid.UUID, max_messages: int, before: int | None = None
) -> list[Message]:
    """The newest `max_messages` messages, newest first: a backwards scan of the
    (conversation_id, id) index, so its cost doesn't depend on the conversation's length."""
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if before is not None:
        stmt = stmt.where(Message.id < before)
    return list(session.scalars(stmt.order_by(Message.id.desc()).limit(max_messages)))


def last_turn(session: Session, *, conversation_id: uuid.UUID) -> list[Message]:
    """The last user message and, if present, the answer after it (oldest first)."""
    rows = recent_messages(session, conversation_id=conversation_id, max_messages=2)
    if rows and rows[0].role == "user":
        return [rows[0]]
    if len(rows) == 2 and rows[1].role == "user":
        return [rows[1], rows[0]]
    return []


# -- the turn lease ------------------------------------------------------------------------
def acquire_turn(
    session: Session, *, user_id: int, conversation_id: uuid.UUID, ttl: timedelta
) -> uuid.UUID | None:
    """Take the conversation's turn lease; None if another turn holds it.

    One conditional UPDATE, so two workers can never both win. A lease outlives a crashed
    worker only until `busy_until`.
    """
    token = uuid.uuid4()
    now = utcnow()
    taken = rows_matched(
        session,
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.user_id == user_id,
            or_(Conversation.busy_token.is_(None), Conversation.busy_until < now),
        )
        .values(busy_token=token, busy_until=now + ttl),
    )
    return token if taken == 1 else None


def release_turn(session: Session, *, conversation_id: uuid.UUID, token: uuid.UUID) -> None:
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.busy_token == token)
        .values(busy_token=None, busy_until=None)
    )


def insert_message(
    session: Session,
    *,
    conversation_id: uuid.UUID,
    role: str,
    content: str,
    at: datetime | None = None,
) -> int:
    """Append one message (with its token estimate, which the history window sums); its id."""
    return session.execute(
        insert(Message)
        .values(
            conversation_id=conversation_id,
            role=role,
            content=content,
            token_estimate=estimate_tokens(content),
            created_at=at or utcnow(),
        )
        .returning(Message.id)
    ).scalar_one()


def save_turn(
    session: Session,
    *,
    conversation_id: uuid.UUID,
    lease: uuid.UUID,
    user_text: str | None,
    ai_text: str,
    replace_ai_id: int | None,
    user_message_id: int | None,
    title: str | None,
) -> tuple[int, int, str] | None:
    """Store one exchange and release the turn lease, if the lease is still ours (else None
    and the caller rolls back). With `user_text` a new user message is added; a regenerate
    keeps the existing question and replaces the previous answer (`replace_ai_id`).

    Plain Core statements: this runs under the database write lock, so it stays short."""
    now = utcnow()
    values: dict[str, object] = {"updated_at": now, "busy_token": None, "busy_until": None}
    if title is not None:
        # A rename that landed while the model was answering wins over the automatic title.
        values["title"] = case((Conversation.title_is_custom, Conversation.title), else_=title)
    stored_title = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.busy_token == lease)
        .values(**values)
        .returning(Conversation.title)
    ).scalar_one_or_none()
    if stored_title is None:
        return None
    if user_text is not None:
        user_message_id = insert_message(
            session, conversation_id=conversation_id, role="user", content=user_text, at=now
        )
    if replace_ai_id is not None:
        session.execute(
            delete(Message).where(
                Message.id == replace_ai_id, Message.conversation_id == conversation_id
            )
        )
    ai_message_id = insert_message(
        session, conversation_id=conversation_id, role="ai", content=ai_text, at=now
    )
    if user_message_id is None:  # a regenerate always names its question
        raise ValueError("save_turn needs user_text or user_message_id")
    return user_message_id, ai_message_id, stored_title


def list_all_conversations(session: Session, *, user_id: int) -> list[Conversation]:
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.user_id == user_id)
            .order_by(Conversation.created_at, Conversation.id)
        )
    )


def messages_after(
    session: Session, *, conversation_id: uuid.UUID, after: int, limit: int
) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id > after)
            .order_by(Message.id)
            .limit(limit)
        )
    )
