"""Chat rate limits and the daily quota, kept in the database so every worker shares them."""

from __future__ import annotations

import time

import httpx
from fastapi.testclient import TestClient

from app.main import create_app
from tests.app.conftest import chat, messages_of, new_conversation
from tests.helpers.accounts import register_and_login


def test_per_user_rate_limit(settings_factory, fake) -> None:
    with TestClient(create_app(settings_factory(chat_rate_per_minute=2))) as c:
        account = register_and_login(c, "chatty")
        conv = new_conversation(c, account)
        codes = [chat(c, account, conv, f"m{i}").status_code for i in range(3)]
        assert codes == [200, 200, 429]
        r = chat(c, account, conv, "again")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert len(messages_of(c, account, conv)) == 4
        # Another user has a separate budget.
        other = register_and_login(c, "quiet")
        assert chat(c, other, new_conversation(c, other), "hi").status_code == 200


def test_daily_quota(settings_factory, fake) -> None:
    with TestClient(create_app(settings_factory(daily_message_quota=1))) as c:
        account = register_and_login(c, "quota")
        conv = new_conversation(c, account)
        assert chat(c, account, conv, "one").status_code == 200
        r = chat(c, account, conv, "two")
        assert r.status_code == 429 and "quota" in r.json()["detail"]


def test_rate_limit_is_shared_by_all_workers(live_factory, settings_factory, fake) -> None:
    settings = settings_factory(chat_rate_per_minute=3)
    servers = [live_factory(create_app(settings)) for _ in range(2)]
    with httpx.Client(base_url=servers[0].url, timeout=10) as http:
        account = register_and_login(http)
        convs = [
            http.post("/session", headers=account.headers).json()["sessionId"] for _ in range(4)
        ]
    codes = []
    for i, conv in enumerate(convs):
        with httpx.Client(base_url=servers[i % 2].url, timeout=10) as http:
            codes.append(
                http.post(
                    "/chat", headers=account.headers, json={"conversationId": conv, "message": "m"}
                ).status_code
            )
    assert codes == [200, 200, 200, 429]


def test_expired_rate_windows_are_swept(client: TestClient, settings) -> None:
    from sqlalchemy import func, select

    from app.core import ratelimit
    from app.core.db import make_engine, make_session_factory, write_transaction
    from app.models import RateCounter

    engine = make_engine(settings)
    factory = make_session_factory(engine)
    limit = ratelimit.Limit("t", 100, 60)
    with write_transaction(factory) as session:
        for i in range(5):
            ratelimit.hit(session, limit, f"s{i}", now=time.time() - 3600)
    with write_transaction(factory) as session:
        assert ratelimit.purge_expired(session, now=time.time()) == 5
        assert session.scalar(select(func.count()).select_from(RateCounter)) == 0
    engine.dispose()
