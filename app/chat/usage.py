"""Model usage: tokens in and out and answers counted per account per UTC day and for the
whole site per UTC day, and the budgets checked against them before a turn starts.

Counters are rows, not process memory, so every worker and host adds to and reads the same
numbers: `count` is one `INSERT … ON CONFLICT DO UPDATE` per table, run in the transaction
that stores the answer's end, so a counted answer is a stored answer and two workers ending
answers at once both add. A month is the sum of its days (at most 31 indexed rows). A
running summary's tokens are counted the same way, for its conversation's owner with no
message, in the transaction that stores it; a summary call whose text is not stored (empty,
or its lease lost meanwhile) is not counted.

A budget is checked before a turn (`check_budgets`, in the turn's prepare step); the tokens
of a turn are known only when it ends. So turns already running when a budget runs out
still finish and are counted: a budget is overshot by at most the turns in flight, and the
summaries in flight (which follow turns and are not checked themselves).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import BigInteger, Date, Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.admin import settings as site_limits
from app.core.config import Settings
from app.models import SiteUsageDay, User, UserUsageDay, utcnow

DAILY_BUDGET_SPENT = "The site's daily token budget is used up; it resets at 00:00 UTC"
MONTHLY_QUOTA_SPENT = "Your monthly token quota is used up; it resets on {reset}"


@dataclass(frozen=True)
class Totals:
    input_tokens: int = 0
    output_tokens: int = 0
    messages: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class BudgetSpent(Exception):
    """A turn can't start: a budget is used up until `retry_after` seconds from now."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _seconds_until(day: date, now: datetime) -> int:
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return max(1, int((midnight - now).total_seconds()) + 1)


# -- counting ------------------------------------------------------------------------------
@functools.cache
def _upsert(dialect: str, per_user: bool) -> Any:
    """The counter upsert of one table, built once per dialect. The account's row is
    inserted from a SELECT of the account, so an answer ending after its account was
    deleted adds nothing there (instead of failing on the foreign key)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    names = ("input_tokens", "output_tokens", "messages")
    if per_user:
        table = cast(Table, UserUsageDay.__table__)
        keys = [table.c.user_id, table.c.day]
        source = select(
            User.id,
            bindparam("day", type_=Date),
            *(bindparam(n, type_=BigInteger) for n in names),
        ).where(User.id == bindparam("user_id"))
        statement = insert(table).from_select(["user_id", "day", *names], source)
    else:
        table = cast(Table, SiteUsageDay.__table__)
        keys = [table.c.day]
        statement = insert(table).values(
            {"day": bindparam("day"), **{n: bindparam(n) for n in names}}
        )
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={n: table.c[n] + statement.excluded[n] for n in names},
    )


def count(
    session: Session,
    *,
    user_id: int,
    input_tokens: int | None,
    output_tokens: int | None,
    messages: int = 1,
    now: datetime | None = None,
) -> None:
    """Add one model call's reported usage (an answer's, or a summary's with `messages=0`)
    to its account's day and the site's day, in the caller's transaction."""
    day = (now or utcnow()).astimezone(UTC).date()
    params = {
        "user_id": user_id,
        "day": day,
        "input_tokens": max(0, input_tokens or 0),
        "output_tokens": max(0, output_tokens or 0),
        "messages": messages,
    }
    dialect = session.get_bind().dialect.name
    session.execute(_upsert(dialect, True), params)
    session.execute(_upsert(dialect, False), params)


# -- reading -------------------------------------------------------------------------------
def _sums(model: type[UserUsageDay] | type[SiteUsageDay]) -> Any:
    return select(
        func.coalesce(func.sum(model.input_tokens), 0),
        func.coalesce(func.sum(model.output_tokens), 0),
        func.coalesce(func.sum(model.messages), 0),
    )


def _totals(row: Any) -> Totals:
    return Totals(int(row[0]), int(row[1]), int(row[2]))


def user_totals(session: Session, user_id: int, first: date, last: date) -> Totals:
    """An account's usage from day `first` to `last`, both included."""
    query = _sums(UserUsageDay).where(
        UserUsageDay.user_id == user_id, UserUsageDay.day >= first, UserUsageDay.day <= last
    )
    return _totals(session.execute(query).one())


def site_totals(session: Session, first: date, last: date) -> Totals:
    query = _sums(SiteUsageDay).where(SiteUsageDay.day >= first, SiteUsageDay.day <= last)
    return _totals(session.execute(query).one())


def site_days(session: Session, first: date, last: date) -> dict[date, Totals]:
    rows = session.execute(
        select(SiteUsageDay).where(SiteUsageDay.day >= first, SiteUsageDay.day <= last)
    ).scalars()
    return {r.day: Totals(r.input_tokens, r.output_tokens, r.messages) for r in rows}


def users_totals(
    session: Session, user_ids: list[int] | None, first: date, last: date
) -> dict[int, Totals]:
    """Usage of several accounts (all with usage when `user_ids` is None) over the days."""
    query = (
        select(
            UserUsageDay.user_id,
            func.sum(UserUsageDay.input_tokens),
            func.sum(UserUsageDay.output_tokens),
            func.sum(UserUsageDay.messages),
        )
        .where(UserUsageDay.day >= first, UserUsageDay.day <= last)
        .group_by(UserUsageDay.user_id)
    )
    if user_ids is not None:
        if not user_ids:
            return {}
        query = query.where(UserUsageDay.user_id.in_(user_ids))
    return {int(row[0]): _totals(row[1:]) for row in session.execute(query)}


def effective_quota(override: int | None, site_default: int) -> int | None:
    """An account's monthly token quota: its override, else the site's; None = unlimited
    (an override of 0 lifts the site's quota for that account)."""
    quota = site_default if override is None else override
    return quota or None


# -- budgets -------------------------------------------------------------------------------
def check_budgets(
    session: Session, settings: Settings, user_id: int, *, now: datetime | None = None
) -> None:
    """Raise BudgetSpent when the site's daily budget or the account's monthly quota is
    used up. Reads committed counters: tokens of turns still running are not in them."""
    now = (now or utcnow()).astimezone(UTC)
    today = now.date()
    current = site_limits.current(session, settings)
    if current.daily_token_budget:
        spent = site_totals(session, today, today).tokens
        if spent >= current.daily_token_budget:
            raise BudgetSpent(DAILY_BUDGET_SPENT, _seconds_until(today + timedelta(days=1), now))
    override = session.scalar(select(User.monthly_token_quota).where(User.id == user_id))
    quota = effective_quota(override, current.monthly_token_quota)
    if quota:
        spent = user_totals(session, user_id, month_start(today), today).tokens
        if spent >= quota:
            reset = next_month(today)
            raise BudgetSpent(
                MONTHLY_QUOTA_SPENT.format(reset=reset.isoformat()), _seconds_until(reset, now)
            )
