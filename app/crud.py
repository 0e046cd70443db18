"""Queries. Everything about conversations is scoped by owner: callers pass `user_id`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import (
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.dml import ReturningUpdate

from app.core.db import rows_matched
from app.models import (
    DEFAULT_TITLE,
    Conversation,
    InviteUse,
    Message,
    PasswordReset,
    RefreshToken,
    Summary,
    User,
    utcnow,
)

# The chat path's statements are built once, on the tables (Core): building them per
# call, and the ORM's bookkeeping for an ORM-enabled UPDATE, cost more than running them
# (docs/decisions.md). Each turn runs about ten of them.
CONVERSATIONS = cast(Table, Conversation.__table__)
MESSAGES = cast(Table, Message.__table__)


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
    session.execute(delete(Summary).where(Summary.conversation_id.in_(conv_ids)))
    session.execute(
        update(Conversation).where(Conversation.user_id == user_id).values(current_leaf_id=None)
    )
    session.execute(delete(Message).where(Message.conversation_id.in_(conv_ids)))
    session.execute(delete(Conversation).where(Conversation.user_id == user_id))
    session.execute(delete(RefreshToken).where(RefreshToken.user_id == user_id))
    session.execute(delete(PasswordReset).where(PasswordReset.user_id == user_id))
    # Invites keep who used them by name.
    session.execute(update(InviteUse).where(InviteUse.user_id == user_id).values(user_id=None))
    session.execute(delete(User).where(User.id == user_id))


# Activity is recorded at most this often per account: one guarded UPDATE that matches
# nothing (and writes nothing) the rest of the time.
LAST_ACTIVE_EVERY = timedelta(seconds=60)


def touch_last_active(session: Session, *, user_id: int) -> None:
    now = utcnow()
    session.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.last_active_at.is_(None), User.last_active_at < now - LAST_ACTIVE_EVERY),
        )
        .values(last_active_at=now)
        .execution_options(synchronize_session=False)
    )


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
    """End every sign-in of the account: its refresh tokens, and the access tokens already
    issued (their `iat` is before now; the next ones are issued after it)."""
    now = utcnow()
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(update(User).where(User.id == user_id).values(tokens_valid_after=now))


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
    session.execute(delete(Summary).where(Summary.conversation_id == conversation_id))
    conv.current_leaf_id = None
    session.flush()
    session.execute(delete(Message).where(Message.conversation_id == conversation_id))
    session.delete(conv)
    return True


# -- messages: a tree --------------------------------------------------------------------
def _path_statement() -> Select[Message]:
    anchor = select(Message.id, Message.parent_id, literal(0).label("depth")).where(
        Message.id == bindparam("leaf_id"), Message.conversation_id == bindparam("conversation_id")
    )
    path = anchor.cte("path", recursive=True)
    up = aliased(Message)
    path = path.union_all(
        select(up.id, up.parent_id, path.c.depth + 1).where(
            up.id == path.c.parent_id, path.c.depth < bindparam("last_depth")
        )
    )
    return select(Message).join(path, Message.id == path.c.id).order_by(path.c.depth)


# Built once: constructing this recursive CTE (and its cache key) per call cost several
# times the query itself (docs/decisions.md).
PATH_TO = _path_statement()


def path_to(
    session: Session, *, conversation_id: uuid.UUID, leaf_id: int | None, limit: int
) -> list[Message]:
    """The path from `leaf_id` up towards the root, newest first, at most `limit` messages.

    A recursive CTE walks the parent links one primary-key lookup per step and stops at
    `limit`, so the cost is bounded by `limit` whatever the conversation's length or number
    of branches (SQLite and PostgreSQL alike)."""
    if leaf_id is None or limit < 1:
        return []
    params = {"leaf_id": leaf_id, "conversation_id": conversation_id, "last_depth": limit - 1}
    return list(session.scalars(PATH_TO, params))


def get_message(session: Session, *, conversation_id: uuid.UUID, message_id: int) -> Message | None:
    return session.scalar(
        select(Message).where(Message.id == message_id, Message.conversation_id == conversation_id)
    )


def versions_of(
    session: Session, *, conversation_id: uuid.UUID, parent_ids: set[int | None]
) -> dict[int | None, list[int]]:
    """The ids of the children of each parent (None: the first messages), oldest first:
    the versions among which a message on the path is one."""
    where = []
    ids = {p for p in parent_ids if p is not None}
    if ids:
        where.append(Message.parent_id.in_(ids))
    if None in parent_ids:
        where.append(Message.parent_id.is_(None))
    if not where:
        return {}
    rows = session.execute(
        select(Message.id, Message.parent_id)
        .where(Message.conversation_id == conversation_id, or_(*where))
        .order_by(Message.id)
    )
    found: dict[int | None, list[int]] = {p: [] for p in parent_ids}
    for message_id, parent_id in rows:
        found[parent_id].append(message_id)
    return found


def newest_leaf_under(session: Session, *, conversation_id: uuid.UUID, message_id: int) -> int:
    """The leaf reached from `message_id` by following the newest child at each step."""
    down = select(literal(message_id).label("id"), literal(0).label("depth")).cte(
        "down", recursive=True
    )
    child = (
        select(func.max(Message.id))
        .where(Message.parent_id == down.c.id, Message.conversation_id == conversation_id)
        .scalar_subquery()
    )
    down = down.union_all(select(child, down.c.depth + 1).where(down.c.id.is_not(None)))
    leaf = session.scalar(
        select(down.c.id).where(down.c.id.is_not(None)).order_by(down.c.depth.desc()).limit(1)
    )
    return leaf if leaf is not None else message_id


def messages_after(
    session: Session, *, conversation_id: uuid.UUID, after: int, limit: int
) -> list[Message]:
    """Every message of a conversation (all branches) in id order, a page at a time."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id > after)
            .order_by(Message.id)
            .limit(limit)
        )
    )


# The values of these INSERTs and UPDATEs come with each execution, keyed by column;
# parameters of their WHERE clauses are named b_… (SQLAlchemy reserves the column names).
INSERT_MESSAGE = insert(MESSAGES).returning(MESSAGES.c.id)


def insert_message(
    session: Session,
    *,
    conversation_id: uuid.UUID,
    role: str,
    content: str,
    parent_id: int | None,
    state: str = "done",
    at: datetime | None = None,
    updated_at: datetime | None = None,
) -> int:
    """Add one message under `parent_id` (with its token estimate, which the history window
    sums); its id."""
    params = {
        "conversation_id": conversation_id,
        "parent_id": parent_id,
        "role": role,
        "content": content,
        "state": state,
        "token_estimate": estimate_tokens(content),
        "created_at": at or utcnow(),
        "updated_at": updated_at,
    }
    return int(session.execute(INSERT_MESSAGE, params).scalar_one())


SET_LEAF = update(CONVERSATIONS).where(CONVERSATIONS.c.id == bindparam("b_id"))


def set_leaf(session: Session, *, conversation_id: uuid.UUID, leaf_id: int | None) -> None:
    session.execute(SET_LEAF, {"b_id": conversation_id, "current_leaf_id": leaf_id})


# -- the turn lease ------------------------------------------------------------------------
@dataclass(frozen=True)
class TurnLease:
    """A turn's lease, with the conversation's fields the turn needs (returned by the
    UPDATE that took it, so the turn needn't read the row again)."""

    token: uuid.UUID
    system_prompt: str | None
    current_leaf_id: int | None
    title_is_custom: bool


ACQUIRE_TURN = (
    update(CONVERSATIONS)
    .where(
        CONVERSATIONS.c.id == bindparam("b_id"),
        CONVERSATIONS.c.user_id == bindparam("b_user_id"),
        or_(CONVERSATIONS.c.busy_token.is_(None), CONVERSATIONS.c.busy_until < bindparam("b_now")),
    )
    .returning(
        CONVERSATIONS.c.system_prompt,
        CONVERSATIONS.c.current_leaf_id,
        CONVERSATIONS.c.title_is_custom,
    )
)


def acquire_turn(
    session: Session, *, user_id: int, conversation_id: uuid.UUID, ttl: timedelta
) -> TurnLease | None:
    """Take the conversation's turn lease; None if another turn holds it (or the
    conversation is not the user's).

    One conditional UPDATE, so two workers can never both win. A lease outlives a crashed
    worker only until `busy_until`, which the running turn keeps pushing forward
    (`renew_turn`)."""
    token = uuid.uuid4()
    now = utcnow()
    params = {
        "b_id": conversation_id,
        "b_user_id": user_id,
        "b_now": now,
        "busy_token": token,
        "busy_until": now + ttl,
    }
    row = session.execute(ACQUIRE_TURN, params).one_or_none()
    if row is None:
        return None
    return TurnLease(token, row.system_prompt, row.current_leaf_id, bool(row.title_is_custom))


# The turn's own lease: the conversation with this id and this token.
HELD_LEASE = (
    CONVERSATIONS.c.id == bindparam("b_id"),
    CONVERSATIONS.c.busy_token == bindparam("b_token"),
)
RENEW_TURN = update(CONVERSATIONS).where(*HELD_LEASE)


def renew_turn(
    session: Session, *, conversation_id: uuid.UUID, token: uuid.UUID, ttl: timedelta
) -> bool:
    """Push the lease's expiry forward; False if it is no longer ours."""
    params = {"b_id": conversation_id, "b_token": token, "busy_until": utcnow() + ttl}
    return rows_matched(session, RENEW_TURN, params) == 1


RELEASE_TURN = update(CONVERSATIONS).where(*HELD_LEASE).values(busy_token=None, busy_until=None)


def release_turn(session: Session, *, conversation_id: uuid.UUID, token: uuid.UUID) -> None:
    session.execute(RELEASE_TURN, {"b_id": conversation_id, "b_token": token})


def lease_lapsed(conv: Conversation, now: datetime | None = None) -> bool:
    """No turn is running in `conv`: an answer still marked streaming was interrupted."""
    return conv.busy_until is None or conv.busy_until < (now or utcnow())


def list_all_conversations(session: Session, *, user_id: int) -> list[Conversation]:
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.user_id == user_id)
            .order_by(Conversation.created_at, Conversation.id)
        )
    )


# A literal, not a bound parameter: only then can SQLite (and a PostgreSQL generic plan)
# prove the query matches the partial index on streaming rows.
STREAMING = text("messages.state = 'streaming'")


INTERRUPT_STREAMING = (
    update(MESSAGES)
    .where(MESSAGES.c.conversation_id == bindparam("b_conversation_id"), STREAMING)
    .values(state="interrupted")
)


def interrupt_streaming(session: Session, *, conversation_id: uuid.UUID) -> int:
    """Mark answers left streaming by a turn whose lease lapsed (its worker died) as
    interrupted. Called by the turn that takes the lease next; the partial index on
    streaming rows keeps it cheap."""
    return rows_matched(session, INTERRUPT_STREAMING, {"b_conversation_id": conversation_id})


def _start_statement(*, with_title: bool) -> ReturningUpdate[str]:
    statement = update(CONVERSATIONS).where(*HELD_LEASE).returning(CONVERSATIONS.c.title)
    if with_title:
        # A rename that landed while the model was answering wins over the automatic title.
        title = case(
            (CONVERSATIONS.c.title_is_custom, CONVERSATIONS.c.title), else_=bindparam("b_title")
        )
        statement = statement.values(title=title)
    return statement


START_ANSWER = {with_title: _start_statement(with_title=with_title) for with_title in (False, True)}


def start_answer(
    session: Session,
    *,
    conversation_id: uuid.UUID,
    lease: uuid.UUID,
    user_text: str | None,
    parent_id: int | None,
    question_id: int | None,
    first_text: str,
    title: str | None,
) -> tuple[int, int, str] | None:
    """The model has begun to answer: store the question (unless a regenerate names its
    `question_id`) and the answer so far as a streaming row under it, and point the
    conversation at that answer — if the turn lease is still ours (else None and the caller
    rolls back). (question id, answer id, title).

    Plain Core statements: this runs under the database write lock, so it stays short."""
    now = utcnow()
    params: dict[str, object] = {"b_id": conversation_id, "b_token": lease, "updated_at": now}
    if title is not None:
        params["b_title"] = title
    stored_title = session.execute(START_ANSWER[title is not None], params).scalar_one_or_none()
    if stored_title is None:
        return None
    if user_text is not None:
        question_id = insert_message(
            session,
            conversation_id=conversation_id,
            role="user",
            content=user_text,
            parent_id=parent_id,
            at=now,
        )
    if question_id is None:
        raise ValueError("start_answer needs user_text or question_id")
    answer_id = insert_message(
        session,
        conversation_id=conversation_id,
        role="ai",
        content=first_text,
        parent_id=question_id,
        state="streaming",
        at=now,
        updated_at=now,
    )
    set_leaf(session, conversation_id=conversation_id, leaf_id=answer_id)
    return question_id, answer_id, str(stored_title)


STREAMING_ANSWER = (MESSAGES.c.id == bindparam("b_id"), MESSAGES.c.state == "streaming")
GROW_ANSWER = update(MESSAGES).where(*STREAMING_ANSWER)


def grow_answer(session: Session, *, message_id: int, content: str) -> bool:
    """Store the answer so far; False when it is no longer streaming (stopped, or marked
    interrupted by a turn that took over): the generation must end."""
    params = {"b_id": message_id, "content": content, "updated_at": utcnow()}
    return rows_matched(session, GROW_ANSWER, params) == 1


END_ANSWER = update(MESSAGES).where(*STREAMING_ANSWER)
FINISH_TURN = (
    update(CONVERSATIONS)
    .where(*HELD_LEASE)
    .values(busy_token=None, busy_until=None)
    .returning(CONVERSATIONS.c.title)
)


def finish_answer(
    session: Session,
    *,
    conversation_id: uuid.UUID,
    lease: uuid.UUID,
    message_id: int,
    content: str,
    state: str,
    model: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
) -> tuple[bool, str | None]:
    """End a streaming answer in `state` (done, error, interrupted) with its final text and
    usage, and release the turn lease. (False if the answer was no longer streaming: a stop
    won the race; the conversation's title now, which a rename may have changed meanwhile,
    None if the lease was no longer ours.)"""
    now = utcnow()
    ended = rows_matched(
        session,
        END_ANSWER,
        {
            "b_id": message_id,
            "content": content,
            "state": state,
            "token_estimate": estimate_tokens(content),
            "updated_at": now,
            "model": model,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
        },
    )
    title = session.execute(
        FINISH_TURN, {"b_id": conversation_id, "b_token": lease, "updated_at": now}
    ).scalar_one_or_none()
    return ended == 1, title


def stop_answer(session: Session, *, conversation_id: uuid.UUID, message_id: int) -> bool:
    """Mark a streaming answer stopped and free the conversation at once. Its generation,
    on whatever worker, finds the row no longer streaming at its next write and ends; the
    lease it held can't be anyone else's, since a streaming answer's turn holds it."""
    stopped = rows_matched(
        session,
        update(Message)
        .where(
            Message.id == message_id,
            Message.conversation_id == conversation_id,
            Message.state == "streaming",
        )
        .values(state="stopped", updated_at=utcnow()),
    )
    if stopped:
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(busy_token=None, busy_until=None)
        )
    return stopped == 1


def complete_stopped(
    session: Session,
    *,
    message_id: int,
    content: str,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
) -> bool:
    """The generation of a stopped answer had received more than its last write: keep
    everything the user may have seen, and the usage the model reported, if it did. False
    if the answer is not a stopped one (a turn that took over marked it interrupted)."""
    values: dict[str, object] = {"content": content, "token_estimate": estimate_tokens(content)}
    if input_tokens is not None or output_tokens is not None:
        values.update(input_tokens=input_tokens, output_tokens=output_tokens)
    return (
        rows_matched(
            session,
            update(Message)
            .where(Message.id == message_id, Message.state == "stopped")
            .values(**values),
        )
        == 1
    )


def answer_progress(
    session: Session, *, message_id: int, offset: int
) -> tuple[str, str, datetime | None] | None:
    """What a re-attached client needs: the text after `offset` characters, the state, and
    the conversation's lease expiry (a streaming answer whose lease lapsed was interrupted)."""
    row = session.execute(
        select(func.substr(Message.content, offset + 1), Message.state, Conversation.busy_until)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id == message_id)
    ).one_or_none()
    return None if row is None else (row[0] or "", row[1], row[2])
