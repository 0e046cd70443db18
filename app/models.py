"""Database tables (SQLAlchemy 2 typed models). Alembic migrations create and change them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    Uuid,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The title of a new conversation, in the original project's words (POST /session answers
# it); clients learn from `title_is_custom` whether a title is still this placeholder.
DEFAULT_TITLE = "Novo Chat"

ROLE_USER = "user"
ROLE_ADMIN = "admin"
ROLES = (ROLE_USER, ROLE_ADMIN)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    # Named constraints so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class User(Base):
    __tablename__ = "users"
    # AUTOINCREMENT: SQLite would otherwise hand a deleted account's id to the next one,
    # and with it the deleted account's still-unexpired access tokens.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    # Lower-cased copies carry the uniqueness: "Ana" and "ana" are the same account.
    username_key: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "user" | "admin". Nobody becomes an admin by registering: the first one is made on the
    # host (python -m app.manage create-admin) or by the playbook.
    role: Mapped[str] = mapped_column(String(8), server_default="user", default="user")
    # A disabled account is refused on every request, its issued tokens included.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Updated at most once a minute per account (a login, a refresh, a turn).
    last_active_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An admin's per-user override of MONTHLY_TOKEN_QUOTA (0 = unlimited); None = the site's.
    monthly_token_quota: Mapped[int | None] = mapped_column(BigInteger)
    # Two-factor sign-in (app/accounts/totp.py): the secret, encrypted with a key derived
    # from SECRET_KEY; set by /me/totp/setup and pending until totp_enabled_at is set.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The newest time step a code was accepted for: a code (or an older one) can't be
    # replayed. Only moves forward, in one conditional UPDATE.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Access tokens issued before this (their `iat`) are refused: set
    # when the password changes or is reset, and when the account is disabled.
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    conversations: Mapped[list[Conversation]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class RefreshToken(Base):
    """One issued refresh token. Rotation marks it used; reuse of a used one revokes its family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_user_updated", "user_id", "updated_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    # Set by a rename: the automatic title (from the first message) never overwrites it.
    title_is_custom: Mapped[bool] = mapped_column(Boolean, default=False)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A turn in progress holds this lease; it makes concurrent turns in one conversation
    # a 409 across every worker and host, and it expires if a worker dies mid-turn.
    busy_token: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    busy_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The leaf of the branch being viewed: the window, the summary and POST /chat follow
    # the path from the root to it. use_alter: conversations and messages refer to each other.
    current_leaf_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL", use_alter=True), index=True
    )
    # The summariser's lease: one summary at a time per conversation, across workers and hosts.
    summary_busy_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="conversations")

    @property
    def has_own_title(self) -> bool:
        """Renamed, or titled from its first message: anything but the placeholder. An
        automatic title that happens to equal the placeholder counts as the placeholder,
        which is the same text."""
        return self.title_is_custom or self.title != DEFAULT_TITLE


MESSAGE_STATES = ("streaming", "done", "stopped", "interrupted", "error")


class Message(Base):
    """One message of a conversation's tree: each has a parent (None for a first message);
    siblings are versions (an edited question, a regenerated answer). An answer is written
    while it streams: `state` says whether it is still growing or how it ended."""

    __tablename__ = "messages"
    __table_args__ = (
        # Paging through a conversation's messages in id order (the export).
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        # A message's children (its versions, the newest branch, the parent cascade); with
        # the conversation second, a conversation's first messages (parent NULL) too.
        Index("ix_messages_parent_id_conversation_id", "parent_id", "conversation_id"),
        # The answers still being written: a partial index, so finding them costs nothing
        # whatever the conversation's length (a new turn marks a crashed one interrupted).
        Index(
            "ix_messages_streaming",
            "conversation_id",
            sqlite_where=text("state = 'streaming'"),
            postgresql_where=text("state = 'streaming'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(8))  # "user" | "ai"
    content: Mapped[str] = mapped_column(Text)
    token_estimate: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Walking up the tree (the window, the listing) follows parent_id from the leaf.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    # "streaming" | "done" | "stopped" | "interrupted" | "error"; user messages are "done".
    state: Mapped[str] = mapped_column(String(12), server_default="done", default="done")
    # For answers: the model that wrote it and the usage it reported.
    model: Mapped[str | None] = mapped_column(String(100))
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    # Last growth of an answer being written.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Summary(Base):
    """A running summary of a conversation's branch: it covers the path from the root up to
    and including `through_message_id`. The newest one whose message is on the current
    path is the one a turn uses."""

    __tablename__ = "summaries"
    __table_args__ = (Index("ix_summaries_conversation_id_id", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    # Indexed so deleting messages (their cascade) finds the summaries without a scan.
    through_message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    content: Mapped[str] = mapped_column(Text)
    token_estimate: Mapped[int] = mapped_column(Integer)
    model: Mapped[str | None] = mapped_column(String(100))
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RateCounter(Base):
    """Fixed-window counters in the database, so every worker and host agrees on limits."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class SiteSetting(Base):
    """Settings an admin changes at run time (sign-up policy, budgets): in the database, so
    every worker and host agrees. `value` is JSON; a missing key means the env's default."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # No foreign key: the setting outlives the admin who made it.
    updated_by: Mapped[str | None] = mapped_column(String(32))


class AuditEvent(Base):
    """A security event (register, login ok/failed, throttling, token reuse, password
    change, account deletion, every admin action). Names are copied, not foreign keys:
    the record outlives the accounts it names. Old rows expire (AUDIT_RETENTION_DAYS)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_event_created", "event", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(254))
    target_id: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[str | None] = mapped_column(String(254))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    details: Mapped[str | None] = mapped_column(Text)  # JSON object


class Invite(Base):
    """A sign-up invite an admin made: the link's token is stored only as its SHA-256.
    `uses` counts sign-ups; a claim raises it only while it is below `max_uses`, not
    revoked and not expired (one conditional UPDATE, so two sign-ups can't share a last use)."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str | None] = mapped_column(String(200))
    max_uses: Mapped[int] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Copied, not a foreign key: the invite outlives the admin who made it.
    created_by: Mapped[str | None] = mapped_column(String(32))


class InviteUse(Base):
    """Who signed up with an invite (the name is kept when the account is deleted)."""

    __tablename__ = "invite_uses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("invites.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    username: Mapped[str] = mapped_column(String(32))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PasswordReset(Base):
    """A one-time password-reset link an admin made for an account (24 h); the token is
    stored only as its SHA-256. Using it sets `used_at`; a newer link replaces older ones."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(32))


class TotpRecoveryCode(Base):
    """One of an account's one-time recovery codes (the second factor when the phone is
    lost), stored as a digest; `used_at` marks it spent."""

    __tablename__ = "totp_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserUsageDay(Base):
    """Model usage of one account on one UTC day: tokens the model reported for its answers
    (in and out) and the answers counted. A month is the sum of its days. Updated by an
    upsert in the transaction that stores an answer's end (app/chat/usage.py)."""

    __tablename__ = "usage_user_days"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)


class SiteUsageDay(Base):
    """The whole site's usage on one UTC day (kept when accounts are deleted): what
    DAILY_TOKEN_BUDGET is checked against."""

    __tablename__ = "usage_site_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
