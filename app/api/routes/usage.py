"""Usage and quotas over HTTP: GET /me/usage, GET /admin/usage, PUT /admin/users/{id}/quota.
The counting and the budget checks are app/chat/usage.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from app.accounts import audit
from app.admin import settings as site_limits
from app.admin import usage_view
from app.admin.schemas import AdminUserOut, TokenCount
from app.api.deps import AdminUser, CurrentUser, Responses, SessionDep, StateDep, request_client
from app.chat import usage
from app.core.db import write_transaction
from app.models import Conversation, User, utcnow
from app.schemas import ErrorOut, Strict

router = APIRouter(tags=["usage"])

ERRORS: Responses = {
    401: {"model": ErrorOut, "description": "Not authenticated"},
    403: {"model": ErrorOut, "description": "Admins only"},
}


class UsageTotals(BaseModel):
    input_tokens: int
    output_tokens: int
    messages: int


class MyUsageOut(BaseModel):
    day: UsageTotals
    month: UsageTotals
    monthly_quota: int | None = Field(description="The quota that applies to me; null = none")
    quota_remaining: int | None


class UsageDayOut(UsageTotals):
    date: date


class UserUsageOut(BaseModel):
    id: int
    username: str
    day_tokens: int
    month_tokens: int
    month_messages: int
    conversations: int
    monthly_quota: int | None = Field(description="The account's override; null = the site's")


class SiteUsageOut(BaseModel):
    today: UsageTotals
    daily_token_budget: int | None
    budget_remaining: int | None
    budget_resets_at: datetime
    days: list[UsageDayOut]
    users: list[UserUsageOut]


class QuotaIn(Strict):
    monthly_tokens: TokenCount | None = Field(
        description="Tokens per UTC month; 0 = unlimited, null = the site's"
    )


def _totals(t: usage.Totals) -> UsageTotals:
    return UsageTotals(
        input_tokens=t.input_tokens, output_tokens=t.output_tokens, messages=t.messages
    )


@router.get("/me/usage", response_model=MyUsageOut, responses=ERRORS)
def my_usage(user: CurrentUser, session: SessionDep, state: StateDep) -> MyUsageOut:
    """My model usage today and this month (UTC), and the monthly quota that applies."""
    today = utcnow().date()
    day = usage.user_totals(session, user.id, today, today)
    month = usage.user_totals(session, user.id, usage.month_start(today), today)
    site_default = site_limits.current(session, state.settings).monthly_token_quota
    quota = usage.effective_quota(user.monthly_token_quota, site_default)
    return MyUsageOut(
        day=_totals(day),
        month=_totals(month),
        monthly_quota=quota,
        quota_remaining=None if quota is None else max(0, quota - month.tokens),
    )


@router.get("/admin/usage", response_model=SiteUsageOut, responses=ERRORS)
def site_usage(
    admin: AdminUser,
    session: SessionDep,
    state: StateDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> SiteUsageOut:
    """The site's usage today and per day (the last `days`, oldest first, days without use
    included as zeros), the daily budget, and the accounts with usage this month, most
    tokens first (at most 100)."""
    now = utcnow()
    today = now.date()
    first = today - timedelta(days=days - 1)
    per_day = usage.site_days(session, first, today)
    today_totals = per_day.get(today, usage.Totals())
    budget = site_limits.current(session, state.settings).daily_token_budget or None
    month_start = usage.month_start(today)
    month = usage.users_totals(session, None, month_start, today)
    top = sorted(month, key=lambda uid: month[uid].tokens, reverse=True)[:100]
    today_by_user = usage.users_totals(session, top, today, today)
    accounts = {u.id: u for u in session.scalars(select(User).where(User.id.in_(top)))}
    conversations = dict(
        session.execute(
            select(Conversation.user_id, func.count())
            .where(Conversation.user_id.in_(top))
            .group_by(Conversation.user_id)
        ).all()
    )
    users = [
        UserUsageOut(
            id=uid,
            username=accounts[uid].username,
            day_tokens=today_by_user.get(uid, usage.Totals()).tokens,
            month_tokens=month[uid].tokens,
            month_messages=month[uid].messages,
            conversations=int(conversations.get(uid, 0)),
            monthly_quota=accounts[uid].monthly_token_quota,
        )
        for uid in top
        if uid in accounts
    ]
    tomorrow = today + timedelta(days=1)
    return SiteUsageOut(
        today=_totals(today_totals),
        daily_token_budget=budget,
        budget_remaining=None if budget is None else max(0, budget - today_totals.tokens),
        budget_resets_at=datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC),
        days=[
            UsageDayOut(date=d, **_totals(per_day.get(d, usage.Totals())).model_dump())
            for d in (first + timedelta(days=i) for i in range(days))
        ],
        users=users,
    )


@router.put(
    "/admin/users/{user_id}/quota",
    response_model=AdminUserOut,
    responses={**ERRORS, 404: {"model": ErrorOut, "description": "User not found"}},
)
def set_quota(
    body: QuotaIn,
    admin: AdminUser,
    state: StateDep,
    request: Request,
    user_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> AdminUserOut:
    """Set an account's monthly token quota: a number of tokens, 0 for unlimited, or null
    to follow the site's MONTHLY_TOKEN_QUOTA again."""
    with write_transaction(state.session_factory) as session:
        user = session.get(User, user_id)
        if user is None:
            raise HTTPException(404, "User not found")
        before = user.monthly_token_quota
        if before != body.monthly_tokens:
            client = request_client(request, state.settings)
            user.monthly_token_quota = body.monthly_tokens
            audit.record(
                session,
                audit.ADMIN_QUOTA_CHANGED,
                actor=admin,
                target=user,
                ip=client.ip,
                user_agent=client.user_agent,
                details={"from": before, "to": body.monthly_tokens},
            )
        session.flush()
        return usage_view.user_views(session, [user])[0]
