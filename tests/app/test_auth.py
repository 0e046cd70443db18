"""Accounts: validation, duplicates, login, tokens, refresh rotation, logout, password, delete."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import new_conversation
from tests.helpers.accounts import PASSWORD, Account, register_and_login, registration


def use_cookie(client: TestClient, value: str | None) -> None:
    """Present exactly this refresh cookie (the jar would otherwise keep the server's)."""
    client.cookies.clear()
    if value is not None:
        client.cookies.set("refresh_token", value)


def reg(client: TestClient, **body: object):
    return client.post("/register", json={**registration("bob"), **body})


def error_fields(response) -> set[str]:
    return {e["loc"][-1] for e in response.json()["detail"]}


def test_register_answers_the_contract(client: TestClient) -> None:
    r = reg(client)
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"id", "username", "email"}
    assert body["username"] == "bob" and body["email"] == "bob@example.com"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "ab"),
        ("username", "a" * 33),
        ("username", "has space"),
        ("username", "ünïcode"),
        ("username", "semi;colon"),
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("password", "short"),
        ("password", "x" * 129),
    ],
)
def test_register_rejects_invalid_fields(client: TestClient, field: str, value: str) -> None:
    body = {field: value}
    if field == "password":
        body["password_confirm"] = value
    r = reg(client, **body)
    assert r.status_code == 422
    assert field in error_fields(r)


def test_register_accepts_the_allowed_username_alphabet(client: TestClient) -> None:
    assert reg(client, username="A.b-c_9").status_code == 201
    assert reg(client, username="x" * 32, email="x@example.com").status_code == 201


def test_password_confirmation_must_match(client: TestClient) -> None:
    r = reg(client, password_confirm=PASSWORD + "!")
    assert r.status_code == 422
    assert error_fields(r) == {"password_confirm"}


def test_validation_errors_never_echo_the_password(client: TestClient) -> None:
    r = reg(client, password="tiny", password_confirm="tiny")
    assert "tiny" not in r.text


def test_missing_fields_and_unknown_fields(client: TestClient) -> None:
    r = client.post("/register", json={"username": "bob"})
    assert r.status_code == 422
    assert {"email", "password", "password_confirm"} <= error_fields(r)
    r = reg(client, is_admin=True)
    assert r.status_code == 422


def test_duplicates_are_409_ignoring_case(client: TestClient) -> None:
    assert reg(client).status_code == 201
    r = reg(client, username="BOB", email="other@example.com")
    assert r.status_code == 409 and "username" in r.json()["detail"]
    r = reg(client, username="bobby", email="BOB@Example.com")
    assert r.status_code == 409 and "email" in r.json()["detail"]


def test_login_with_json_and_with_the_oauth2_form(client: TestClient) -> None:
    reg(client)
    r = client.post("/login", json={"username": "bob", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "token_type", "user_id", "username", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    cookie = r.headers["set-cookie"].lower()
    assert "refresh_token=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    r = client.post("/login", data={"username": "BOB", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["username"] == "bob"


def test_login_by_email(client: TestClient) -> None:
    reg(client)
    r = client.post("/login", json={"username": "Bob@Example.com", "password": PASSWORD})
    assert r.status_code == 200


def test_wrong_password_and_unknown_user_look_the_same(client: TestClient) -> None:
    reg(client)
    wrong = client.post("/login", json={"username": "bob", "password": "nope-nope"})
    unknown = client.post("/login", json={"username": "nobody", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_unknown_user_costs_a_real_hash(client: TestClient) -> None:
    """Not a timing benchmark: a bound that holds on any machine. Unknown-user logins run a
    real scrypt verification, so they can't be orders of magnitude faster than wrong ones."""
    reg(client)

    def timed(username: str) -> float:
        start = time.perf_counter()
        client.post("/login", json={"username": username, "password": "nope-nope"})
        return time.perf_counter() - start

    wrong = statistics.median(timed("bob") for _ in range(3))
    unknown = statistics.median(timed("nobody") for _ in range(3))
    assert unknown > wrong / 3


def test_me_requires_a_token(client: TestClient, user: Account) -> None:
    assert client.get("/me").status_code == 401
    r = client.get("/me", headers=user.headers)
    assert r.status_code == 200 and r.json()["username"] == "alice"


def _forge(payload: dict, key: str, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def test_tampered_and_forged_tokens_are_401(client: TestClient, user: Account, settings) -> None:
    key = settings.secret_key.get_secret_value()
    now = datetime.now(UTC)
    good = {"sub": str(user.id), "iat": now, "exp": now + timedelta(minutes=5), "jti": "x"}
    head, body, sig = user.token.split(".")
    tampered = f"{head}.{body[:-2]}AA.{sig}"
    unsigned = jwt.encode({**good, "typ": "access"}, None, algorithm="none")
    wrong_key = _forge({**good, "typ": "access"}, "another-key-" + "x" * 32)
    expired = _forge(
        {
            **good,
            "typ": "access",
            "iat": now - timedelta(hours=1),
            "exp": now - timedelta(minutes=5),
        },
        key,
    )
    no_typ = _forge(good, key)
    missing_sub = _forge({"iat": now, "exp": now + timedelta(minutes=5), "jti": "x"}, key)
    for token in (tampered, unsigned, wrong_key, expired, no_typ, missing_sub, "garbage"):
        r = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
        assert r.headers["www-authenticate"] == "Bearer"
    valid = _forge({**good, "typ": "access"}, key)
    assert client.get("/me", headers={"Authorization": f"Bearer {valid}"}).status_code == 200


def test_access_tokens_expire(client: TestClient, settings_factory) -> None:
    from app.main import create_app

    with TestClient(create_app(settings_factory(access_token_ttl_seconds=2))) as short:
        account = register_and_login(short, "carol")
        assert short.get("/me", headers=account.headers).status_code == 200
        time.sleep(2 + 5 + 1)  # ttl + the decoder's 5 s leeway for clock skew
        assert short.get("/me", headers=account.headers).status_code == 401
        # The refresh cookie still gets a new one.
        r = short.post("/auth/refresh")
        assert r.status_code == 200
        token = r.json()["access_token"]
        assert short.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_refresh_rotates_and_reuse_revokes_the_family(client: TestClient, user: Account) -> None:
    first_cookie = client.cookies.get("refresh_token")
    assert first_cookie
    r = client.post("/auth/refresh")
    assert r.status_code == 200 and r.json()["user_id"] == user.id
    second_cookie = client.cookies.get("refresh_token")
    assert second_cookie and second_cookie != first_cookie

    # The old cookie presented again, after the grace period: treated as stolen.
    import app.accounts.service as accounts

    grace = accounts.REFRESH_REUSE_GRACE
    accounts.REFRESH_REUSE_GRACE = timedelta(0)
    try:
        use_cookie(client, first_cookie)
        assert client.post("/auth/refresh").status_code == 401
    finally:
        accounts.REFRESH_REUSE_GRACE = grace
    # ...and the whole family is gone, including the legitimately rotated token.
    use_cookie(client, second_cookie)
    assert client.post("/auth/refresh").status_code == 401


def test_concurrent_refresh_within_grace_does_not_revoke(client: TestClient, user: Account) -> None:
    first_cookie = client.cookies.get("refresh_token")
    assert first_cookie
    assert client.post("/auth/refresh").status_code == 200
    rotated = client.cookies.get("refresh_token")
    use_cookie(client, first_cookie)
    assert client.post("/auth/refresh").status_code == 401  # already used, within grace
    use_cookie(client, rotated)
    assert client.post("/auth/refresh").status_code == 200  # the session lives on


def test_refresh_without_or_with_bogus_cookie(client: TestClient) -> None:
    assert client.post("/auth/refresh").status_code == 401
    use_cookie(client, "bogus")
    assert client.post("/auth/refresh").status_code == 401


def test_logout_revokes_the_refresh_token(client: TestClient, user: Account) -> None:
    cookie = client.cookies.get("refresh_token")
    r = client.post("/logout")
    assert r.status_code == 204
    assert "refresh_token=" in r.headers["set-cookie"] and "Max-Age=0" in r.headers["set-cookie"]
    use_cookie(client, cookie)
    assert client.post("/auth/refresh").status_code == 401


def test_change_password_revokes_other_sessions(client: TestClient, user: Account) -> None:
    other_session = client.cookies.get("refresh_token")
    new = "a brand new password"
    bad = client.post(
        "/me/password",
        headers=user.headers,
        json={
            "current_password": "wrong-password",
            "new_password": new,
            "new_password_confirm": new,
        },
    )
    assert bad.status_code == 401
    r = client.post(
        "/me/password",
        headers=user.headers,
        json={"current_password": PASSWORD, "new_password": new, "new_password_confirm": new},
    )
    assert r.status_code == 200 and r.json()["access_token"]
    # Access tokens issued before the change are refused too; the one it answered works.
    assert client.get("/me", headers=user.headers).status_code == 401
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/me", headers=fresh).status_code == 200
    mine = client.cookies.get("refresh_token")
    use_cookie(client, other_session)
    assert client.post("/auth/refresh").status_code == 401
    use_cookie(client, mine)
    assert client.post("/auth/refresh").status_code == 200
    assert (
        client.post("/login", json={"username": "alice", "password": PASSWORD}).status_code == 401
    )
    assert client.post("/login", json={"username": "alice", "password": new}).status_code == 200


def test_delete_account_removes_everything(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    assert (
        client.post(
            "/chat", headers=user.headers, json={"conversationId": conv, "message": "hi"}
        ).status_code
        == 200
    )
    wrong = client.request("DELETE", "/me", headers=user.headers, json={"password": "nope-nope"})
    assert wrong.status_code == 401
    r = client.request("DELETE", "/me", headers=user.headers, json={"password": PASSWORD})
    assert r.status_code == 204
    assert client.get("/me", headers=user.headers).status_code == 401
    assert (
        client.post("/login", json={"username": "alice", "password": PASSWORD}).status_code == 401
    )
    # The name is free again, and nothing of the old account shows up.
    again = register_and_login(client, "alice")
    assert client.get("/conversations", headers=again.headers).json()["total"] == 0


def test_a_deleted_accounts_token_never_acts_as_a_new_account(client: TestClient) -> None:
    register_and_login(client, "first")
    doomed = register_and_login(client, "doomed")
    r = client.request("DELETE", "/me", headers=doomed.headers, json={"password": PASSWORD})
    assert r.status_code == 204
    newcomer = register_and_login(client, "newcomer")
    assert newcomer.id != doomed.id  # ids are never reused
    assert client.get("/me", headers=doomed.headers).status_code == 401


def test_oversized_refresh_cookie_is_401_and_logout_still_clears(client: TestClient) -> None:
    client.cookies.set("refresh_token", "x" * 5000)
    assert client.post("/auth/refresh").status_code == 401
    r = client.post("/logout")
    assert r.status_code == 204 and "Max-Age=0" in r.headers["set-cookie"]
