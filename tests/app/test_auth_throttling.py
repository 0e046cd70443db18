"""Throttled password attempts (login, password change, delete) and sign-ups, per account
and per client address."""

from __future__ import annotations

import threading
import uuid

import httpx
from fastapi.testclient import TestClient

from app.main import create_app
from tests.helpers.accounts import PASSWORD, register, register_and_login, registration


def test_login_is_throttled_per_account(settings_factory) -> None:
    with TestClient(create_app(settings_factory(login_rate_per_minute=3))) as c:
        register(c, "dave")
        codes = [
            c.post("/login", json={"username": "dave", "password": "wrong-pass"}).status_code
            for _ in range(4)
        ]
        assert codes[:3] == [401, 401, 401]
        assert codes[3] == 429
        r = c.post("/login", json={"username": "dave", "password": PASSWORD})
        assert r.status_code == 429  # even the right password waits out the window
        assert 1 <= int(r.headers["retry-after"]) <= 61
        assert "detail" in r.json()


def test_login_is_throttled_per_client_ip(settings_factory) -> None:
    with TestClient(create_app(settings_factory(login_rate_per_minute=3))) as c:
        for i in range(3):
            c.post("/login", json={"username": f"ghost{i}", "password": "wrong-pass"})
        r = c.post("/login", json={"username": "someone-else", "password": "wrong-pass"})
        assert r.status_code == 429


def test_forwarded_for_is_ignored_unless_trusted(settings_factory) -> None:
    with TestClient(create_app(settings_factory(login_rate_per_minute=2))) as c:
        for i in range(2):
            headers = {"X-Forwarded-For": f"10.0.0.{i}"}
            c.post(
                "/login", json={"username": "x" + str(i), "password": "wrong-pass"}, headers=headers
            )
        r = c.post(
            "/login",
            json={"username": "y", "password": "wrong-pass"},
            headers={"X-Forwarded-For": "10.9.9.9"},
        )
        assert r.status_code == 429  # spoofed addresses don't open new buckets
    with TestClient(
        create_app(settings_factory(login_rate_per_minute=2, trust_proxy_headers=True))
    ) as c:
        for i in range(2):
            c.post(
                "/login",
                json={"username": "a" + str(i), "password": "wrong-pass"},
                headers={"X-Real-IP": "10.0.0.1"},
            )
        r = c.post(
            "/login",
            json={"username": "b", "password": "wrong-pass"},
            headers={"X-Real-IP": "10.0.0.2"},
        )
        assert r.status_code == 401  # behind nginx, each client has its own bucket


def test_register_is_throttled_per_ip(settings_factory) -> None:
    with TestClient(create_app(settings_factory(register_rate_per_hour=2))) as c:
        codes = []
        for _ in range(3):
            body = registration(f"u{uuid.uuid4().hex[:6]}")
            codes.append(c.post("/register", json=body).status_code)
        assert codes == [201, 201, 429]


def test_parallel_wrong_passwords_are_throttled(live_factory, settings_factory) -> None:
    server = live_factory(create_app(settings_factory(login_rate_per_minute=5)))
    with httpx.Client(base_url=server.url, timeout=30) as http:
        register(http, "target")
    codes: list[int] = []

    def guess() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            r = http.post("/login", json={"username": "target", "password": "wrong-guess"})
            codes.append(r.status_code)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert codes.count(401) <= 5
    assert codes.count(429) >= 15


def test_username_and_email_share_one_budget(settings_factory) -> None:
    with TestClient(create_app(settings_factory(login_rate_per_minute=2))) as c:
        register_and_login(c, "shared")  # one successful login counts too
        c.post("/login", json={"username": "shared@example.com", "password": "wrong-pass"})
        r = c.post("/login", json={"username": "SHARED", "password": PASSWORD})
        assert r.status_code == 429


def test_password_change_and_delete_are_throttled(settings_factory) -> None:
    with TestClient(create_app(settings_factory(login_rate_per_minute=3))) as c:
        account = register_and_login(c, "guarded")
        codes = [
            c.post(
                "/me/password",
                headers=account.headers,
                json={
                    "current_password": f"guess-{i}-xx",
                    "new_password": "new password 1",
                    "new_password_confirm": "new password 1",
                },
            ).status_code
            for i in range(4)
        ]
        assert codes[-1] == 429
        r = c.request("DELETE", "/me", headers=account.headers, json={"password": PASSWORD})
        assert r.status_code == 429
