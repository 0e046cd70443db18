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
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,32}$")


def _no_nul(value: str) -> str:
    # NUL bytes are rejected by PostgreSQL text columns and truncate C strings elsewhere.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
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


Username = Annotated[str, AfterValidator(_username)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128), AfterValidator(_no_nul)]
Text = Annotated[str, AfterValidator(_no_nul)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- accounts ------------------------------------------------------------------------------
class RegisterIn(Strict):
    username: Username
    email: Annotated[EmailStr, StringConstraints(max_length=254)]
    password: Password
    password_confirm: Annotated[str, StringConstraints(max_length=128)]

    # A field validator (not a model one) so the 422 names `password_confirm` in `loc`.
    @field_validator("password_confirm")
    @classmethod
    def _passwords_match(cls, value: str, info: ValidationInfo) -> str:
        return _confirms(value, info, "password")


class UserOut(BaseModel):
    id: int
    username: str
    email: str


class MeOut(UserOut):
    created_at: datetime


class LoginIn(Strict):
    username: Annotated[
        str, StringConstraints(min_length=1, max_length=254), AfterValidator(_no_nul)
    ]
    password: Annotated[
        str, StringConstraints(min_length=1, max_length=128), AfterValidator(_no_nul)
    ]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    user_id: int
    username: str
    expires_in: int


class ChangePasswordIn(Strict):
    current_password: Annotated[str, StringConstraints(max_length=128)]
    new_password: Password
    new_password_confirm: Annotated[str, StringConstraints(max_length=128)]

    @field_validator("new_password_confirm")
    @classmethod
    def _passwords_match(cls, value: str, info: ValidationInfo) -> str:
        return _confirms(value, info, "new_password")


class DeleteAccountIn(Strict):
    password: Annotated[str, StringConstraints(max_length=128)]


# -- conversations -------------------------------------------------------------------------
class SessionOut(BaseModel):
    """The original project's contract for POST /session."""

    sessionId: uuid.UUID  # the contract's field name
    title: str


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_nul),
]
SystemPrompt = Annotated[Text, StringConstraints(max_length=4000)]


class ConversationSummary(BaseModel):
    id: uuid.UUID
    title: str
    title_is_custom: bool  # false: the default title or the automatic one, not a rename
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


class MessageOut(BaseModel):
    id: int
    role: Literal["user", "ai"]
    content: str
    created_at: datetime


class MessagePage(BaseModel):
    items: list[MessageOut]
    has_more: bool


# -- chat ----------------------------------------------------------------------------------
class ChatIn(Strict):
    conversationId: uuid.UUID  # the contract's field name
    # The length cap is configurable, so the route checks it (still a 422 on `message`).
    message: Annotated[Text, AfterValidator(_not_blank)] | None = None
    regenerate: bool = False

    @model_validator(mode="after")
    def _message_or_regenerate(self) -> ChatIn:
        if self.regenerate:
            if self.message is not None:
                raise ValueError("send either message or regenerate, not both")
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


class ConfigOut(BaseModel):
    model: ModelInfo
    limits: LimitsOut
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


# -- search --------------------------------------------------------------------------------
def _no_surrogates(value: str) -> str:
    # A lone surrogate can't be encoded as UTF-8 for the database; reject it as bad input.
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("must not contain lone surrogates")
    return value


SearchText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_no_nul),
    AfterValidator(_no_surrogates),
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
