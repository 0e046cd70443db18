"""Login throttling that a shared office survives: failures are counted per account and per
client address before the password hash; a correct sign-in gives its address's attempt
back. And the audit events of signing in: login_ok, login_failed (address, user agent),
throttled (once a minute per subject), refresh_token_reuse, password_changed,
account_deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.accounts import audit, service
from app.core.db import make_engine, make_session_factory
from app.main import create_app
from app.models import AuditEvent
from tests.helpers.accounts import PASSWORD, login, register, register_and_login


def _events(settings, event: str | None = None) -> list[AuditEvent]:
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            query = select(AuditEvent).order_by(AuditEvent.id)
            if event:
                query = query.where(AuditEvent.event == event)
            return list(session.scalars(query))
    finally:
        engine.dispose()


def test_thirty_colleagues_behind_one_address_all_sign_in(settings_factory) -> None:
    with TestClient(create_app(settings_factory(login_rate_per_minute=10))) as c:
        names = [register(c, f"colleague{i}") for i in range(30)]
        for name in names:
            login(c, name)  # asserts 200


def test_thirty_wrong_passwords_for_one_account_are_throttled(settings_factory) -> None:
    with TestClient(create_app(settings_factory(login_rate_per_minute=10))) as c:
        register(c, "target")
        codes = [
            c.post("/login", json={"username": "target", "password": f"guess-{i}"}).status_code
            for i in range(30)
        ]
        assert codes[:10] == [401] * 10 and codes[10:] == [429] * 20
        # The right password waits out the window too.
        assert (
            c.post("/login", json={"username": "target", "password": PASSWORD}).status_code == 429
        )


def test_failures_from_one_address_are_throttled_across_accounts(settings_factory) -> None:
    with TestClient(create_app(settings_factory(login_rate_per_minute=10))) as c:
        names = [register(c, f"sprayed{i}") for i in range(12)]
        codes = [
            c.post("/login", json={"username": n, "password": "Winter2026!"}).status_code
            for n in names
        ]
        assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
        # Once the address is throttled, even a correct password from it waits.
        r = c.post("/login", json={"username": names[0], "password": PASSWORD})
        assert r.status_code == 429


def test_correct_sign_ins_between_failures_dont_use_up_the_address(settings_factory) -> None:
    with TestClient(create_app(settings_factory(login_rate_per_minute=3))) as c:
        names = [register(c, f"office{i}") for i in range(10)]
        c.post("/login", json={"username": names[0], "password": "typo-typo"})
        c.post("/login", json={"username": names[1], "password": "typo-typo"})
        for name in names[2:]:
            login(c, name)
        assert (
            c.post("/login", json={"username": names[0], "password": "x-typo"}).status_code == 401
        )
        assert (
            c.post("/login", json={"username": names[1], "password": "x-typo"}).status_code == 429
        )


def test_sign_in_events_are_audited(settings_factory) -> None:
    settings = settings_factory(login_rate_per_minute=3)
    ua = {"User-Agent": "Browser/1.0 (test)"}
    with TestClient(create_app(settings)) as c:
        register(c, "audited")
        c.post("/login", json={"username": "audited", "password": "nope-nope"}, headers=ua)
        c.post("/login", json={"username": "nobody-such", "password": "my-password"}, headers=ua)
        r = c.post("/login", json={"username": "audited", "password": PASSWORD}, headers=ua)
        assert r.status_code == 200
        for _ in range(4):  # over the account's budget of 3: throttled, recorded once
            c.post("/login", json={"username": "audited", "password": "again-wrong"}, headers=ua)
    failed = _events(settings, audit.LOGIN_FAILED)
    assert [(e.target, e.ip, e.user_agent) for e in failed[:2]] == [
        ("audited", "testclient", "Browser/1.0 (test)"),
        (None, "testclient", "Browser/1.0 (test)"),
    ]
    assert all("my-password" not in (e.details or "") for e in failed)  # no typed secrets
    [ok] = _events(settings, audit.LOGIN_OK)
    assert (ok.actor, ok.ip, ok.user_agent) == ("audited", "testclient", "Browser/1.0 (test)")
    throttled = _events(settings, audit.THROTTLED)
    assert len(throttled) == 1 and throttled[0].target == "audited"
    assert '"limit": "login-account"' in (throttled[0].details or "")


def test_password_change_deletion_and_token_reuse_are_audited(
    settings_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "REFRESH_REUSE_GRACE", timedelta(seconds=0))
    settings = settings_factory()
    with TestClient(create_app(settings)) as c:
        account = register_and_login(c, "changer")
        old_cookie = c.cookies.get("refresh_token")
        assert c.post("/auth/refresh").status_code == 200
        c.cookies.clear()
        c.cookies.set("refresh_token", old_cookie)
        assert c.post("/auth/refresh").status_code == 401  # reuse: the sign-in ends
        account = login(c, "changer")
        r = c.post(
            "/me/password",
            headers=account.headers,
            json={
                "current_password": PASSWORD,
                "new_password": "a new password",
                "new_password_confirm": "a new password",
            },
        )
        assert r.status_code == 200
        token = r.json()["access_token"]
        r = c.request(
            "DELETE",
            "/me",
            headers={"Authorization": f"Bearer {token}"},
            json={"password": "a new password"},
        )
        assert r.status_code == 204
    names = [(e.event, e.actor or e.target) for e in _events(settings)]
    assert (audit.REFRESH_REUSE, "changer") in names
    assert (audit.PASSWORD_CHANGED, "changer") in names
    assert names[-1] == (audit.ACCOUNT_DELETED, "changer")
