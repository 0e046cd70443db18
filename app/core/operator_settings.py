"""The operator's run-time limits: an admin's value from site_settings (app/core/
site_settings.py), else the env's setting. A stand-in for app.admin.settings.current (the
admin settings endpoint's module), read through `limits()` so the swap is one line."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.core import site_settings
from app.core.config import Settings


@dataclass(frozen=True)
class OperatorLimits:
    daily_token_budget: int  # 0 = none
    monthly_token_quota: int  # 0 = none (the default of accounts without an override)
    require_admin_totp: bool


def limits(session: Session, settings: Settings) -> OperatorLimits:
    stored = site_settings.get_all(session)
    return OperatorLimits(
        daily_token_budget=int(stored.get("daily_token_budget", settings.daily_token_budget)),
        monthly_token_quota=int(stored.get("monthly_token_quota", settings.monthly_token_quota)),
        require_admin_totp=bool(stored.get("require_admin_totp", settings.require_admin_totp)),
    )
