"""Usage accounting: tokens in and out and answers, per account per UTC day and month and
for the site per day, counted when an answer's end is stored (done, stopped, failed), by an
atomic upsert that concurrent workers can't lose increments of; GET /me/usage,
GET /admin/usage, PUT /admin/users/{id}/quota and the admin list's usage_for_users."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.accounts import audit
from app.admin.usage_view import usage_for_users
from app.chat import usage
from app.core.db import make_engine, make_session_factory, write_transaction
from app.main import create_app
from app.models import AuditEvent, Message
from tests.app.conftest import chat, messages_of, new_conversation
from tests.app.live import http_account, path_of, sse_events, wait_for
from tests.fakes.fake_gemini import Behavior
from tests.helpers.accounts import Account, register_and_login
from tests.helpers.admin import make_admin

WORDS = " ".join(f"w{i}" for i in range(30))


def _my_usage(client: TestClient | httpx.Client, headers: dict[str, str]) -> dict:
    r = client.get("/me/usage", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_answer_counts_the_tokens_the_model_reported(client, user: Account, fake) -> None:
    empty = _my_usage(client, user.headers)
    zero = {"input_tokens": 0, "output_tokens": 0, "messages": 0}
    assert empty == {"day": zero, "month": zero, "monthly_quota": None, "quota_remaining": None}
    conv = new_conversation(client, user)
    for text in ("Hello", "And again"):
        assert chat(client, user, conv, text).status_code == 200
    answers = [m for m in messages_of(client, user, conv) if m["role"] == "ai"]
    expected = {
        "input_tokens": sum(a["input_tokens"] for a in answers),
        "output_tokens": sum(a["output_tokens"] for a in answers),
        "messages": 2,
    }
    assert expected["input_tokens"] > 0 and expected["output_tokens"] > 0
    mine = _my_usage(client, user.headers)
    assert mine["day"] == expected and mine["month"] == expected
    # Another account's usage is its own.
    other = register_and_login(client, "bob")
    assert _my_usage(client, other.headers)["day"] == zero


def test_a_failed_answer_counts_too(client, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    fake.push(Behavior(text=WORDS, fail_after_chunks=3))
    r = chat(client, user, conv, "break")
    assert r.status_code >= 500
    assert _my_usage(client, user.headers)["day"]["messages"] == 1


def test_a_stopped_answer_counts(live_factory, settings, fake) -> None:
    server = live_factory(create_app(settings))
    with httpx.Client(base_url=server.url, timeout=10) as http:
        account = http_account(http)
        conv = http.post("/session", headers=account).json()["sessionId"]
        fake.push(Behavior(text=WORDS, chunk_delay=0.1))
        body = {"conversationId": conv, "message": "count"}
        with http.stream("POST", "/chat/stream", headers=account, json=body) as r:
            events = sse_events(r)
            _, started = next(events)
            next(events)
            stop = http.post(
                f"/conversations/{conv}/messages/{started['ai_message_id']}/stop", headers=account
            )
            assert stop.status_code == 200
            list(events)
        wait_for(lambda: _my_usage(http, account)["day"]["messages"] == 1, 5, "the count")
        assert path_of(http, account, conv)[-1]["state"] == "stopped"


def test_counting_is_atomic_across_connections(settings) -> None:
    """Workers ending answers at once each add: no increment is lost to a read-modify-write."""
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    with TestClient(create_app(settings)) as c:
        account = register_and_login(c, "counted")
    errors: list[BaseException] = []

    def add(n: int) -> None:
        try:
            for _ in range(n):
                with write_transaction(factory) as session:
                    usage.count(session, user_id=account.id, input_tokens=3, output_tokens=2)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(10,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    today = datetime.now(UTC).date()
    with factory() as session:
        mine = usage.user_totals(session, account.id, today, today)
        site = usage.site_totals(session, today, today)
    engine.dispose()
    assert mine == usage.Totals(120, 80, 40)
    assert site == usage.Totals(120, 80, 40)


def test_days_and_months_are_utc(settings) -> None:
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    with TestClient(create_app(settings)) as c:
        account = register_and_login(c, "calendar")
    now = datetime.now(UTC)
    last_month = usage.month_start(now.date()) - timedelta(days=1)
    with write_transaction(factory) as session:
        usage.count(session, user_id=account.id, input_tokens=5, output_tokens=5, now=now)
        usage.count(
            session,
            user_id=account.id,
            input_tokens=100,
            output_tokens=100,
            now=datetime(last_month.year, last_month.month, last_month.day, 23, 59, tzinfo=UTC),
        )
    with factory() as session:
        today = now.date()
        assert usage.user_totals(session, account.id, today, today).tokens == 10
        assert usage.user_totals(session, account.id, usage.month_start(today), today).tokens == 10
        assert usage.user_totals(session, account.id, last_month, last_month).tokens == 200
        assert usage_for_users(session, [account.id, 999]) == {account.id: (1, 10)}
        assert usage_for_users(session, []) == {}
    engine.dispose()
    assert usage.next_month(datetime(2026, 12, 15).date()).isoformat() == "2027-01-01"
    assert usage.next_month(datetime(2027, 1, 31).date()).isoformat() == "2027-02-01"


def test_an_answer_of_a_deleted_account_still_counts_for_the_site(settings) -> None:
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    with write_transaction(factory) as session:
        usage.count(session, user_id=424242, input_tokens=7, output_tokens=1)
    today = datetime.now(UTC).date()
    with factory() as session:
        assert usage.site_totals(session, today, today) == usage.Totals(7, 1, 1)
        assert usage.user_totals(session, 424242, today, today) == usage.Totals()
    engine.dispose()


def test_admin_usage(settings_factory, fake) -> None:
    with TestClient(create_app(settings_factory(daily_token_budget=1_000_000))) as c:
        admin = register_and_login(c, "root")
        ana = register_and_login(c, "ana")
        assert c.get("/admin/usage", headers=ana.headers).status_code == 403
        make_admin(c.app.state.services.settings, admin.id)
        conv = new_conversation(c, ana)
        new_conversation(c, ana)
        assert chat(c, ana, conv, "Hello").status_code == 200
        r = c.get("/admin/usage", params={"days": 7}, headers=admin.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        spent = _my_usage(c, ana.headers)["day"]
        assert body["today"] == spent
        tokens = spent["input_tokens"] + spent["output_tokens"]
        assert body["daily_token_budget"] == 1_000_000
        assert body["budget_remaining"] == 1_000_000 - tokens
        assert body["budget_resets_at"].startswith(
            (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
        )
        assert len(body["days"]) == 7
        assert body["days"][-1] == {"date": datetime.now(UTC).date().isoformat(), **spent}
        assert all(d["messages"] == 0 for d in body["days"][:-1])
        assert body["users"] == [
            {
                "id": ana.id,
                "username": "ana",
                "day_tokens": tokens,
                "month_tokens": tokens,
                "month_messages": 1,
                "conversations": 2,
                "monthly_quota": None,
            }
        ]
        assert c.get("/admin/usage", params={"days": 0}, headers=admin.headers).status_code == 422


def test_admin_sets_a_quota(settings_factory, fake) -> None:
    settings = settings_factory(monthly_token_quota=5000)
    with TestClient(create_app(settings)) as c:
        admin = register_and_login(c, "root")
        ana = register_and_login(c, "ana")
        url = f"/admin/users/{ana.id}/quota"
        assert c.put(url, json={"monthly_tokens": 10}, headers=ana.headers).status_code == 403
        make_admin(settings, admin.id)
        assert _my_usage(c, ana.headers)["monthly_quota"] == 5000
        r = c.put(url, json={"monthly_tokens": 12345}, headers=admin.headers)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["id"] == ana.id and out["username"] == "ana" and out["monthly_quota"] == 12345
        assert out["role"] == "user" and out["disabled"] is False and out["totp_enabled"] is False
        assert out["messages_month"] == 0 and out["tokens_month"] == 0
        mine = _my_usage(c, ana.headers)
        assert mine["monthly_quota"] == 12345 and mine["quota_remaining"] == 12345
        # 0 lifts the site's quota for this account; null follows the site's again.
        c.put(url, json={"monthly_tokens": 0}, headers=admin.headers)
        assert _my_usage(c, ana.headers)["monthly_quota"] is None
        r = c.put(url, json={"monthly_tokens": None}, headers=admin.headers)
        assert r.json()["monthly_quota"] is None
        assert _my_usage(c, ana.headers)["monthly_quota"] == 5000
        assert c.put(url, json={"monthly_tokens": None}, headers=admin.headers).status_code == 200
        for bad in (-1, True, "5", 5.0, 10**12 + 1):
            r = c.put(url, json={"monthly_tokens": bad}, headers=admin.headers)
            assert r.status_code == 422, (bad, r.text)
        assert c.put(url, json={}, headers=admin.headers).status_code == 422
        extra = {"monthly_tokens": 1, "also": 2}
        assert c.put(url, json=extra, headers=admin.headers).status_code == 422
        missing = c.put(
            "/admin/users/99999/quota", json={"monthly_tokens": 1}, headers=admin.headers
        )
        assert missing.status_code == 404 and missing.json() == {"detail": "User not found"}
    engine = make_engine(settings)
    with make_session_factory(engine)() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.event == audit.ADMIN_QUOTA_CHANGED)
        ).all()
        # Three changes (the same value again is none), each with where it came from.
        assert [(e.actor, e.target) for e in events] == [("root", "ana")] * 3
        assert all(e.ip and e.user_agent for e in events)
        assert session.scalar(select(Message.id)) is None
    engine.dispose()
