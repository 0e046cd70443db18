"""Budgets: the site's DAILY_TOKEN_BUDGET and each account's MONTHLY_TOKEN_QUOTA (or its
admin-set override), checked before a turn starts (no model call, nothing stored), answered
with 429, the contract's detail and Retry-After; run-time values from site_settings win;
with several workers on one database a spent budget stops every one of them, overshot by
at most the turn each had running."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.chat import usage
from app.core import site_settings
from app.core.db import make_engine, make_session_factory, write_transaction
from app.main import create_app
from app.models import SiteUsageDay, User
from tests.app.conftest import chat, messages_of, new_conversation
from tests.helpers.accounts import register_and_login

DAILY = "The site's daily token budget is used up; it resets at 00:00 UTC"


def _seconds_to(when: datetime) -> int:
    return int((when - datetime.now(UTC)).total_seconds())


def _tomorrow() -> datetime:
    d = datetime.now(UTC).date() + timedelta(days=1)
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _next_month() -> datetime:
    d = usage.next_month(datetime.now(UTC).date())
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def test_daily_budget_refuses_turns_before_the_model_is_called(settings_factory, fake) -> None:
    with TestClient(create_app(settings_factory(daily_token_budget=1))) as c:
        ana = register_and_login(c, "ana")
        conv = new_conversation(c, ana)
        assert chat(c, ana, conv, "first").status_code == 200  # nothing spent yet
        calls = len(fake.requests)
        for path in ("/chat", "/chat/stream"):
            r = c.post(path, headers=ana.headers, json={"conversationId": conv, "message": "x"})
            assert r.status_code == 429, r.text
            assert r.json() == {"detail": DAILY}
            assert abs(int(r.headers["retry-after"]) - _seconds_to(_tomorrow())) <= 2
        # The site's budget: every account is refused.
        bob = register_and_login(c, "bob")
        assert chat(c, bob, new_conversation(c, bob), "hi").status_code == 429
        assert len(fake.requests) == calls  # no model call
        assert len(messages_of(c, ana, conv)) == 2  # nothing stored; the lease was released
        r = c.post("/chat", headers=ana.headers, json={"conversationId": conv, "regenerate": True})
        assert r.status_code == 429  # not a 409: the refused turn left no lease behind


def test_monthly_quota_is_per_account(settings_factory, fake) -> None:
    with TestClient(create_app(settings_factory(monthly_token_quota=1))) as c:
        ana = register_and_login(c, "ana")
        bob = register_and_login(c, "bob")
        conv = new_conversation(c, ana)
        assert chat(c, ana, conv, "first").status_code == 200
        r = chat(c, ana, conv, "second")
        assert r.status_code == 429
        reset = usage.next_month(datetime.now(UTC).date()).isoformat()
        assert r.json() == {"detail": f"Your monthly token quota is used up; it resets on {reset}"}
        assert abs(int(r.headers["retry-after"]) - _seconds_to(_next_month())) <= 2
        assert c.get("/me/usage", headers=ana.headers).json()["quota_remaining"] == 0
        # Bob's month is his own.
        assert chat(c, bob, new_conversation(c, bob), "hi").status_code == 200


def test_an_override_replaces_the_sites_quota(settings_factory, fake) -> None:
    settings = settings_factory(monthly_token_quota=1)
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    with TestClient(create_app(settings)) as c:
        ana = register_and_login(c, "ana")
        conv = new_conversation(c, ana)
        chat(c, ana, conv, "first")
        assert chat(c, ana, conv, "second").status_code == 429
        for override, allowed in ((10**9, True), (0, True), (5, False), (None, False)):
            with write_transaction(factory) as session:
                session.execute(
                    update(User).where(User.id == ana.id).values(monthly_token_quota=override)
                )
            code = chat(c, ana, conv, "again").status_code
            assert code == (200 if allowed else 429), override
    engine.dispose()


def test_run_time_settings_win_over_the_env(settings_factory, fake) -> None:
    settings = settings_factory(daily_token_budget=1, monthly_token_quota=1)
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    with TestClient(create_app(settings)) as c:
        ana = register_and_login(c, "ana")
        conv = new_conversation(c, ana)
        chat(c, ana, conv, "first")
        assert chat(c, ana, conv, "second").status_code == 429
        with write_transaction(factory) as session:
            site_settings.put(session, "daily_token_budget", 0)
            site_settings.put(session, "monthly_token_quota", 10**9)
        assert chat(c, ana, conv, "third").status_code == 200
        with write_transaction(factory) as session:
            site_settings.put(session, "daily_token_budget", 2)
        assert chat(c, ana, conv, "fourth").json()["detail"] == DAILY
    engine.dispose()


def test_two_workers_overshoot_by_at_most_a_turn_each(live_factory, settings_factory, fake) -> None:
    """Two servers on one database (two workers or hosts), each sending turns back to back
    until refused. Measured: one turn's tokens, T; budget 2.5 T. Exactly three finished
    turns spend the budget; a turn another worker started before the third one was counted
    may still run: at most 3 + 1 turns get through, never more, and then both refuse."""
    probe_settings = settings_factory()
    with TestClient(create_app(probe_settings)) as c:
        probe = register_and_login(c, "probe")
        chat(c, probe, new_conversation(c, probe), "same question")
        turn = c.get("/me/usage", headers=probe.headers).json()["day"]
    per_turn = turn["input_tokens"] + turn["output_tokens"]
    engine = make_engine(probe_settings)
    with write_transaction(make_session_factory(engine)) as session:
        # The probe's turn spent nothing of the budget: start from an empty day.
        session.execute(update(SiteUsageDay).values(input_tokens=0, output_tokens=0))
    engine.dispose()
    settings = settings_factory(daily_token_budget=int(per_turn * 2.5))
    servers = [live_factory(create_app(settings)) for _ in range(2)]
    outcomes: dict[int, list[int]] = {0: [], 1: []}
    barrier = threading.Barrier(2)

    def worker(i: int) -> None:
        with httpx.Client(base_url=servers[i].url, timeout=30) as http:
            account = register_and_login(http, f"worker{i}")
            barrier.wait()
            for _ in range(20):
                conv = http.post("/session", headers=account.headers).json()["sessionId"]
                r = http.post(
                    "/chat",
                    headers=account.headers,
                    json={"conversationId": conv, "message": "same question"},
                )
                outcomes[i].append(r.status_code)
                if r.status_code == 429:
                    return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    passed = sum(codes.count(200) for codes in outcomes.values())
    assert all(codes[-1] == 429 for codes in outcomes.values()), outcomes
    assert all(set(codes) <= {200, 429} for codes in outcomes.values()), outcomes
    assert 3 <= passed <= 4, outcomes
