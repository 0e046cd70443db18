"""Request and response models: the API contract (see docs/api.md)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,32}$")


def _storable(value: str) -> str:
    """Text every database, log and hash can take. NUL is refused by PostgreSQL text columns
    and truncates C strings elsewhere. A lone surrogate ("\\ud800" is valid JSON, not valid
    Unicode) can't be encoded as UTF-8, so nothing could store, hash or stream it."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no unpaired surrogates)") from None
    return value


def _username(value: str) -> str:
    if not USERNAME_RE.fullmatch(value):
        raise ValueError("must be 3–32 characters: letters, digits, '_', '.' or '-'")
    return value


def _confirms(value: str, info: ValidationInfo, field: str) -> str:
    """A confirmation field must equal `field` (when that one itself was valid)."""
    if field in info.data and value != info.data[field]:
        raise ValueError("passwords do not match")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


# Every text field of a request ends with the _storable check: what it accepts can be
# stored. (Its string constraints come first, so they stay plain string constraints.)
Text = Annotated[str, AfterValidator(_storable)]
Username = Annotated[str, AfterValidator(_username)]
Password = Annotated[
    str, StringConstraints(min_length=8, max_length=128), AfterValidator(_storable)
]
# A password being checked rather than set: only its size is limited.
PasswordAttempt = Annotated[str, StringConstraints(max_length=128), AfterValidator(_storable)]


# The token of an invite or password-reset link (43 characters; a little room).
LinkToken = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_storable)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- accounts ------------------------------------------------------------------------------
class RegisterIn(Strict):
    username: Username
    email: Annotated[EmailStr, StringConstraints(max_length=254)]
    password: Password
    password_confirm: PasswordAttempt
    # An admin's invite link's token (needed when the sign-up policy is "invite").
    invite: LinkToken | None = None

    # A field validator (not a model one) so the 422 names `password_confirm` in `loc`.
    @field_validator("password_confirm")
    @classmethod
    def _passwords_match(cls, value: str, info: ValidationInfo) -> str:
        return _confirms(value, info, "password")


class FromRow(BaseModel):
    """An output model built from a database row: `Model.model_validate(row)`."""

    model_config = ConfigDict(from_attributes=True)


class UserOut(FromRow):
    id: int
    username: str
    email: str


class MeOut(UserOut):
    created_at: datetime
    role: Literal["user", "admin"]


class LoginIn(Strict):
    username: Annotated[
        str, StringConstraints(min_length=1, max_length=254), AfterValidator(_storable)
    ]
    password: Annotated[
        str, StringConstraints(min_length=1, max_length=128), AfterValidator(_storable)
    ]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    user_id: int
    username: str
    expires_in: int


class ChangePasswordIn(Strict):
    current_password: PasswordAttempt
    new_password: Password
    new_password_confirm: PasswordAttempt

    @field_validator("new_password_confirm")
    @classmethod
    def _passwords_match(cls, value: str, info: ValidationInfo) -> str:
        return _confirms(value, info, "new_password")


class DeleteAccountIn(Strict):
    password: PasswordAttempt


class PasswordResetIn(Strict):
    """A one-time reset link's token (from `#/reset/<token>`) and the new password."""

    token: LinkToken
    new_password: Password


# -- conversations -------------------------------------------------------------------------
class SessionOut(BaseModel):
    """The original project's contract for POST /session, which starts a conversation: its
    "session" is a conversation, and both field names are kept for existing clients."""

    sessionId: uuid.UUID  # the conversation's id
    title: str


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_storable),
]
SystemPrompt = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_storable)]


class ConversationSummary(FromRow):
    id: uuid.UUID
    title: str
    # False while the title is still the server's placeholder for a new conversation (a
    # client may show its own words for it instead); True once it is the conversation's
    # own: renamed, or taken from the first message. Read from Conversation.has_own_title.
    title_is_custom: bool = Field(validation_alias="has_own_title")
    created_at: datetime
    updated_at: datetime


class ConversationOut(ConversationSummary):
    system_prompt: str | None


class ConversationPage(BaseModel):
    items: list[ConversationSummary]
    total: int
    limit: int
    offset: int


class ConversationPatch(Strict):
    title: Title | None = None
    system_prompt: SystemPrompt | None = None


MessageState = Literal["streaming", "done", "stopped", "interrupted", "error"]


class MessageOut(FromRow):
    id: int
    role: Literal["user", "ai"]
    content: str
    created_at: datetime
    parent_id: int | None
    # An answer still being written is "streaming"; how it ended otherwise.
    state: MessageState
    # Answers: the model that wrote it and the usage it reported (None when unknown).
    model: str | None
    input_tokens: int | None
    output_tokens: int | None


class PathMessageOut(MessageOut):
    """A message of the branch being viewed, with its place among its versions (siblings:
    the other answers to one question, the other edits of one question)."""

    version: int  # 1-based, oldest first
    versions: int
    sibling_ids: list[int]  # every version's id, oldest first (this one included)


class MessagePage(BaseModel):
    items: list[PathMessageOut]
    has_more: bool


class LeafIn(Strict):
    message_id: Annotated[int, Field(ge=1, le=2**63 - 1)]


# -- chat ----------------------------------------------------------------------------------
class ChatIn(Strict):
    conversationId: uuid.UUID  # the contract's field name
    # The length cap is configurable, so the route checks it (still a 422 on `message`).
    message: Annotated[Text, AfterValidator(_not_blank)] | None = None
    regenerate: bool = False
    # Resend an earlier question edited: the new question becomes a version of this one.
    editOf: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None

    @model_validator(mode="after")
    def _message_or_regenerate(self) -> ChatIn:
        if self.regenerate:
            if self.message is not None or self.editOf is not None:
                raise ValueError("send either message (editOf) or regenerate, not both")
        elif self.message is None:
            raise ValueError("message is required")
        return self


class ChatOut(BaseModel):
    answer: str


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class TurnDone(BaseModel):
    user_message_id: int
    ai_message_id: int
    usage: Usage | None
    title: str
    state: MessageState = "done"


class TurnStarted(BaseModel):
    """The stream's first event: the rows exist (re-attach and stop name the answer)."""

    user_message_id: int
    ai_message_id: int


# -- service -------------------------------------------------------------------------------
class ModelInfo(BaseModel):
    mode: Literal["gemini", "demo"]
    name: str
    label: str


class ReadyOut(BaseModel):
    status: Literal["ready"]
    database: Literal["ok"]
    model: ModelInfo


class LimitsOut(BaseModel):
    max_message_chars: int
    history_token_budget: int


class SignupOut(BaseModel):
    policy: Literal["open", "invite", "closed"]
    email_domains: list[str]  # empty: any domain


class ConfigOut(BaseModel):
    model: ModelInfo
    limits: LimitsOut
    signup: SignupOut
    version: str


class ErrorOut(BaseModel):
    detail: str


class ExportMessage(MessageOut):
    pass


class ExportConversation(ConversationOut):
    messages: list[ExportMessage]


class ExportOut(BaseModel):
    user: MeOut
    exported_at: datetime
    conversations: list[ExportConversation]


# -- memory --------------------------------------------------------------------------------
class SummaryOut(BaseModel):
    """The running summary a turn on this branch sends, and what it covers."""

    content: str
    through_message_id: int  # the last message it covers (root → this one)
    covered_messages: int
    token_estimate: int
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    created_at: datetime


class WindowOut(BaseModel):
    """The messages a turn sends verbatim, after the summary."""

    messages: int
    tokens: int  # estimated
    first_message_id: int | None


class MemoryOut(BaseModel):
    """What the assistant remembers of the branch being viewed."""

    summary: SummaryOut | None
    window: WindowOut


# -- search --------------------------------------------------------------------------------
SearchText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_storable),
]


class SearchHit(BaseModel):
    conversation_id: uuid.UUID
    conversation_title: str
    message_id: int
    role: Literal["user", "ai"]
    # Plain text (never HTML); `highlights` are [start, end) offsets into it, counted in
    # Unicode code points, of the words that matched.
    snippet: str
    highlights: list[tuple[int, int]]
    created_at: datetime
    rank: float  # higher is more relevant; comparable within one search only


class SearchPage(BaseModel):
    items: list[SearchHit]
    has_more: bool
    limit: int
    offset: int
