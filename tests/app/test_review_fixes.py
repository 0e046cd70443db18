"""Regression tests for problems a review found: each one failed before its fix."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.core.config import Settings
from app.main import create_app
from tests.app.conftest import PASSWORD, Account, new_conversation, parse_sse, register
from tests.app.test_chat import _bulk_insert, _http_account
from tests.fakes.fake_gemini import Behavior


def test_a_deleted_accounts_token_never_acts_as_a_new_account(client: TestClient) -> None:
    register(client, "first")
    doomed = register(client, "doomed")
    r = client.request("DELETE", "/me", headers=doomed.headers, json={"password": PASSWORD})
    assert r.status_code == 204
    newcomer = register(client, "newcomer")
    assert newcomer.id != doomed.id  # ids are never reused
    assert client.get("/me", headers=doomed.headers).status_code == 401


def test_parallel_wrong_passwords_are_throttled(live_factory, settings_factory) -> None:
    server = live_factory(create_app(settings_factory(login_rate_per_minute=5)))
    with httpx.Client(base_url=server.url, timeout=30) as http:
        http.post(
            "/register",
            json={
                "username": "target",
                "email": "target@example.com",
                "password": PASSWORD,
                "password_confirm": PASSWORD,
            },
        )
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
        register(c, "shared")  # one successful login counts too
        c.post("/login", json={"username": "shared@example.com", "password": "wrong-pass"})
        r = c.post("/login", json={"username": "SHARED", "password": PASSWORD})
        assert r.status_code == 429


def test_password_change_and_delete_are_throttled(settings_factory) -> None:
    with TestClient(create_app(settings_factory(login_rate_per_minute=3))) as c:
        account = register(c, "guarded")
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


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/login", {"json": {"username": "al\x00ice", "password": "password1"}}),
        ("POST", "/login", {"data": {"username": "al\x00ice", "password": "password1"}}),
        ("GET", "/conversations", {"params": {"q": "a\x00b"}}),
    ],
)
def test_nul_bytes_are_422_everywhere(client: TestClient, user: Account, method, path, kwargs):
    r = client.request(method, path, headers=user.headers, **kwargs)
    assert r.status_code == 422, r.text


def test_whitespace_only_message_is_422(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    r = client.post("/chat", headers=user.headers, json={"conversationId": conv, "message": " \n "})
    assert r.status_code == 422
    assert fake.requests == []


def test_settings_errors_do_not_echo_secrets() -> None:
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, app_env="production", secret_key="short", gemini_api_key="AIzaXYZ")
    assert "AIzaXYZ" not in str(err.value)


def test_gemini_mode_without_a_key_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="MODEL_PROVIDER=gemini"):
        Settings(_env_file=None, model_provider="gemini")


def test_wildcard_cors_is_refused() -> None:
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        Settings(_env_file=None, cors_origins="*")


def test_500_carries_request_id_and_security_headers(settings_factory) -> None:
    app = create_app(settings_factory())

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("internal detail")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom", headers={"X-Request-ID": "req-42"})
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "req-42"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.json() == {"detail": "Internal server error (request id req-42)"}


def test_huge_before_id_is_422_not_500(client: TestClient, user: Account) -> None:
    conv = new_conversation(client, user)
    r = client.get(
        f"/conversations/{conv}/messages",
        headers=user.headers,
        params={"before": "99999999999999999999"},
    )
    assert r.status_code == 422


def test_api_answers_are_not_cacheable(client: TestClient, user: Account) -> None:
    r = client.post("/login", json={"username": "alice", "password": PASSWORD})
    assert r.headers["cache-control"] == "no-store"
    assert client.get("/me/export", headers=user.headers).headers["cache-control"] == "no-store"


def test_access_log_escapes_control_characters(client: TestClient, caplog) -> None:
    caplog.set_level(logging.INFO, logger="app.access")
    client.get("/health%0aFORGED POST /login 200")
    lines = [r.getMessage() for r in caplog.records if r.name == "app.access"]
    assert all("\n" not in line for line in lines)


def test_relaxed_csp_only_on_the_docs_pages(client: TestClient) -> None:
    assert "cdn.jsdelivr.net" in client.get("/docs").headers["content-security-policy"]
    r = client.get("/docsXYZ")
    assert "cdn.jsdelivr.net" not in r.headers["content-security-policy"]


def test_oversized_refresh_cookie_is_401_and_logout_still_clears(client: TestClient) -> None:
    client.cookies.set("refresh_token", "x" * 5000)
    assert client.post("/auth/refresh").status_code == 401
    r = client.post("/logout")
    assert r.status_code == 204 and "Max-Age=0" in r.headers["set-cookie"]


def test_rename_during_the_first_turn_wins(live_factory, settings, fake) -> None:
    server = live_factory(create_app(settings))
    with httpx.Client(base_url=server.url, timeout=20) as http:
        headers = _http_account(http)
        conv = http.post("/session", headers=headers).json()["sessionId"]
        fake.push(Behavior(text="a b c d", chunk_delay=0.3))
        events = []
        with http.stream(
            "POST",
            "/chat/stream",
            headers=headers,
            json={"conversationId": conv, "message": "first question here"},
        ) as r:
            renamed = False
            for line in r.iter_lines():
                events.append(line)
                if line.startswith("event: token") and not renamed:
                    with httpx.Client(base_url=server.url, timeout=10) as other:
                        p = other.patch(
                            f"/conversations/{conv}", headers=headers, json={"title": "My rename"}
                        )
                        assert p.status_code == 200
                    renamed = True
        done = next(d for e, d in parse_sse("\n".join(events)) if e == "done")
        assert done["title"] == "My rename"
        assert http.get(f"/conversations/{conv}", headers=headers).json()["title"] == "My rename"


def test_export_pages_through_long_conversations(client: TestClient, user: Account, settings):
    conv = new_conversation(client, user)
    _bulk_insert(settings, conv, 1203, size=20)
    r = client.get("/me/export", headers=user.headers)
    assert r.status_code == 200
    [exported] = r.json()["conversations"]
    contents = [m["content"] for m in exported["messages"]]
    assert len(contents) == 1203
    assert contents[0].startswith("m000") and contents[-1].startswith("m1202")
    assert len({m["id"] for m in exported["messages"]}) == 1203


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


def test_conversation_ids_are_random(client: TestClient, user: Account) -> None:
    ids = {uuid.UUID(new_conversation(client, user)) for _ in range(3)}
    assert all(i.version == 4 for i in ids)
