"""The site's run-time settings: each is the env's value (app/core/config.py) unless an
admin overrode it (PATCH /admin/settings), which is stored in `site_settings` under the
same name in lower case so every worker and host reads the same value at once.

`current(session, settings)` is the one reader: sign-up, budgets and the TOTP rule all ask
it, per request (one indexed read of a table of a handful of rows)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

from sqlalchemy.orm import Session

from app.core import site_settings
from app.core.config import Settings

SignupPolicy = Literal["open", "invite", "closed"]
SIGNUP_POLICIES: tuple[SignupPolicy, ...] = ("open", "invite", "closed")

# The keys admins may set, in the order the API lists them.
KEYS = (
    "signup_policy",
    "signup_email_domains",
    "daily_token_budget",
    "monthly_token_quota",
    "require_admin_totp",
)


@dataclass(frozen=True)
class SiteSettings:
    signup_policy: SignupPolicy
    signup_email_domains: list[str]
    daily_token_budget: int  # 0 = no global budget
    monthly_token_quota: int  # 0 = no per-user quota
    require_admin_totp: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def env_defaults(settings: Settings) -> dict[str, Any]:
    """The env's values. The budget and TOTP settings belong to the usage/security side
    (DAILY_TOKEN_BUDGET, MONTHLY_TOKEN_QUOTA, REQUIRE_ADMIN_TOTP); until Settings has them
    their defaults apply."""
    return {
        "signup_policy": settings.default_signup_policy,
        "signup_email_domains": list(settings.signup_email_domains),
        "daily_token_budget": int(getattr(settings, "daily_token_budget", 0) or 0),
        "monthly_token_quota": int(getattr(settings, "monthly_token_quota", 0) or 0),
        "require_admin_totp": bool(getattr(settings, "require_admin_totp", False)),
    }


def _merge(defaults: Mapping[str, Any], stored: Mapping[str, Any]) -> SiteSettings:
    values = dict(defaults)
    for key in KEYS:
        if key in stored:
            values[key] = stored[key]
    # A stored value of the wrong shape (written by hand) falls back to the env's.
    if values["signup_policy"] not in SIGNUP_POLICIES:
        values["signup_policy"] = defaults["signup_policy"]
    if not isinstance(values["signup_email_domains"], list):
        values["signup_email_domains"] = defaults["signup_email_domains"]
    for key in ("daily_token_budget", "monthly_token_quota"):
        if not isinstance(values[key], int) or isinstance(values[key], bool) or values[key] < 0:
            values[key] = defaults[key]
    if not isinstance(values["require_admin_totp"], bool):
        values["require_admin_totp"] = defaults["require_admin_totp"]
    return SiteSettings(
        signup_policy=cast(SignupPolicy, values["signup_policy"]),
        signup_email_domains=[str(d) for d in values["signup_email_domains"]],
        daily_token_budget=int(values["daily_token_budget"]),
        monthly_token_quota=int(values["monthly_token_quota"]),
        require_admin_totp=bool(values["require_admin_totp"]),
    )


def current(session: Session, app_settings: Settings) -> SiteSettings:
    """The five effective values: the admin's override, else the env's."""
    return _merge(env_defaults(app_settings), site_settings.get_all(session))


def change(
    session: Session, app_settings: Settings, changes: Mapping[str, Any], *, by: str
) -> tuple[SiteSettings, dict[str, Any]]:
    """Apply validated `changes` in the caller's write transaction: a value overrides the
    env, None removes the override (back to the env's value). Returns the new effective
    settings and what changed ({key: new effective value})."""
    before = current(session, app_settings).as_dict()
    for key, value in changes.items():
        if key not in KEYS:
            raise KeyError(key)
        site_settings.put(session, key, value, by=by)
    session.flush()
    after = current(session, app_settings)
    changed = {k: v for k, v in after.as_dict().items() if before[k] != v}
    return after, changed
