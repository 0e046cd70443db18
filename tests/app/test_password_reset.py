"""One-time password-reset links: made by an admin, 24 h, single use, stored as a hash;
using one ends every sign-in of the account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.core.db import write_transaction
from app.models import PasswordReset, utcnow
from tests.helpers.accounts import PASSWORD, Account, login, register_and_login

INVALID = {"detail": "This reset link is invalid, expired or used"}
NEW = "a brand new password"


def reset_link(client: TestClient, admin: Account, user_id: int) -> dict:
    r = client.post(f"/admin/users/{user_id}/password-reset", headers=admin.headers)
    assert r.status_code == 200, r.text
    return r.json()


def token_of(link: dict) -> str:
    return link["url"].rsplit("/#/reset/", 1)[1]


def test_a_link_sets_the_password_once(client: TestClient, admin: Account, db) -> None:
    bob = register_and_login(client, "bob")
    cookie = client.cookies.get("refresh_token")
    link = reset_link(client, admin, bob.id)
    assert link["url"].startswith("http://testserver/#/reset/")
    token = token_of(link)
    with db() as session:
        row = session.scalar(select(PasswordReset))
        assert row is not None and row.token_hash != token and len(row.token_hash) == 64
        assert timedelta(hours=23, minutes=59) < row.expires_at - utcnow() <= timedelta(hours=24)
    assert client.get("/me", headers=bob.headers).status_code == 200
    r = client.post("/password-reset", json={"token": token, "new_password": NEW})
    assert r.status_code == 204, r.text
    # Old password out, new one in; the old sign-in is over, its access token included.
    assert client.get("/me", headers=bob.headers).status_code == 401
    assert client.post("/login", json={"username": "bob", "password": PASSWORD}).status_code == 401
    client.cookies.clear()
    client.cookies.set("refresh_token", cookie)
    assert client.post("/auth/refresh").status_code == 401
    login(client, "bob", password=NEW)
    # Single use.
    r = client.post("/password-reset", json={"token": token, "new_password": "another one!"})
    assert r.status_code == 400 and r.json() == INVALID
    events = client.get("/admin/audit", headers=admin.headers).json()["items"]
    used = next(e for e in events if e["event"] == "password_reset_used")
    assert used["target"] == "bob" and used["details"] == {"link_by": "root"}
    made = next(e for e in events if e["event"] == "admin.password_reset_link")
    assert made["actor"] == "root" and made["target"] == "bob"
    assert token not in str(events)


def test_an_expired_link(client: TestClient, admin: Account, db) -> None:
    bob = register_and_login(client, "bob")
    token = token_of(reset_link(client, admin, bob.id))
    with write_transaction(db) as session:
        session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = client.post("/password-reset", json={"token": token, "new_password": NEW})
    assert r.status_code == 400 and r.json() == INVALID
    login(client, "bob")


def test_a_newer_link_replaces_an_older_one(client: TestClient, admin: Account) -> None:
    bob = register_and_login(client, "bob")
    old = token_of(reset_link(client, admin, bob.id))
    new = token_of(reset_link(client, admin, bob.id))
    r = client.post("/password-reset", json={"token": old, "new_password": NEW})
    assert r.status_code == 400
    assert (
        client.post("/password-reset", json={"token": new, "new_password": NEW}).status_code == 204
    )


def test_a_deleted_accounts_link_dies_with_it(client: TestClient, admin: Account) -> None:
    bob = register_and_login(client, "bob")
    token = token_of(reset_link(client, admin, bob.id))
    assert client.delete(f"/admin/users/{bob.id}", headers=admin.headers).status_code == 204
    r = client.post("/password-reset", json={"token": token, "new_password": NEW})
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"token": "made-up-token", "new_password": NEW}, 400),
        ({"token": "", "new_password": NEW}, 422),
        ({"token": "x" * 201, "new_password": NEW}, 422),
        ({"token": "abc", "new_password": "short"}, 422),
        ({"token": "abc"}, 422),
        ({"token": "abc", "new_password": NEW, "extra": 1}, 422),
    ],
)
def test_bad_requests(client: TestClient, body: dict, status: int) -> None:
    r = client.post("/password-reset", json=body)
    assert r.status_code == status, r.text
    if status == 400:
        assert r.json() == INVALID
