"""Request and response models of the admin API (docs/api.md, "Admin")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
)

from app.core.config import normalize_domain
from app.schemas import Strict, _storable

Role = Literal["user", "admin"]
Policy = Literal["open", "invite", "closed"]
# Budgets and quotas in tokens: 0 means none. Strict: `true` is not a number here.
TokenCount = Annotated[StrictInt, Field(ge=0, le=10**12)]
MAX_DOMAINS = 50


class Page(BaseModel):
    total: int


class AdminUserOut(BaseModel):
    id: int
    username: str
    email: str
    role: Role
    created_at: datetime
    last_active_at: datetime | None
    disabled: bool
    totp_enabled: bool
    messages_month: int
    tokens_month: int
    monthly_quota: int | None  # the account's override; None = the site's default


class AdminUserPage(Page):
    items: list[AdminUserOut]


class AdminUserPatch(Strict):
    role: Role | None = None
    disabled: StrictBool | None = None


class PasswordResetLinkOut(BaseModel):
    url: str
    expires_at: datetime


class InviteOut(BaseModel):
    id: int
    note: str | None
    max_uses: int
    uses: int
    expires_at: datetime
    revoked: bool
    created_at: datetime
    created_by: str | None
    used_by: list[str]  # usernames, oldest first


class InviteCreatedOut(InviteOut):
    url: str  # the only time the token is shown


class InvitePage(Page):
    items: list[InviteOut]


class InviteIn(Strict):
    note: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, max_length=200),
            AfterValidator(_storable),
        ]
        | None
    ) = None
    max_uses: Annotated[StrictInt, Field(ge=1, le=1000)] = 1
    expires_in_hours: Annotated[StrictInt, Field(ge=1, le=8760)] = 168


class AuditEventOut(BaseModel):
    id: int
    created_at: datetime
    event: str
    actor: str | None
    target: str | None
    ip: str | None
    user_agent: str | None
    details: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    has_more: bool


class SiteSettingsOut(BaseModel):
    signup_policy: Policy
    signup_email_domains: list[str]
    daily_token_budget: int
    monthly_token_quota: int
    require_admin_totp: bool


class SiteSettingsPatch(Strict):
    """Any subset; a key given as null drops the override (back to the env's value)."""

    signup_policy: Policy | None = None
    signup_email_domains: (
        Annotated[
            list[Annotated[str, StringConstraints(max_length=253)]], Field(max_length=MAX_DOMAINS)
        ]
        | None
    ) = None
    daily_token_budget: TokenCount | None = None
    monthly_token_quota: TokenCount | None = None
    require_admin_totp: StrictBool | None = None

    @field_validator("signup_email_domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        domains: list[str] = []
        for raw in value:
            domain = normalize_domain(raw)
            if domain not in domains:
                domains.append(domain)
        return domains
