"""Invites: made by an admin, a link with a token stored only as a hash; single or
multi-use, expiry, revoke, who used it; a single-use invite raced by two sign-ups."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.core.db import write_transaction
from app.main import create_app
from app.models import Invite, utcnow
from tests.helpers.accounts import Account, login, register, registration
from tests.helpers.admin import promote

INVALID = {"detail": "This invite is invalid, expired or used up"}


@pytest.fixture
def invite_client(settings_factory, fake):
    """An app whose sign-up policy is "invite"."""
    with TestClient(create_app(settings_factory(signup_policy="invite"))) as c:
        yield c


@pytest.fixture
def invite_admin(invite_client: TestClient, client: TestClient, settings) -> Account:
    """Sign-ups need an invite on invite_client: the admin signs up on an open app on the
    same database (`client`) and is promoted as create-admin would."""
    register(client, "root")
    promote(settings, "root")
    return login(invite_client, "root")


def make_invite(client: TestClient, admin: Account, **body: object) -> dict:
    r = client.post("/admin/invites", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    return r.json()


def token_of(invite: dict) -> str:
    return invite["url"].rsplit("/#/invite/", 1)[1]


def test_create_and_list(invite_client: TestClient, invite_admin: Account, db) -> None:
    made = make_invite(invite_client, invite_admin, note="for the team")
    assert made["url"].startswith("http://testserver/#/invite/")
    assert made["max_uses"] == 1 and made["uses"] == 0 and made["revoked"] is False
    assert made["note"] == "for the team" and made["created_by"] == "root" and made["used_by"] == []
    token = token_of(made)
    assert len(token) >= 43
    listed = invite_client.get("/admin/invites", headers=invite_admin.headers).json()
    assert listed["total"] == 1
    assert "url" not in listed["items"][0] and token not in str(listed)
    with db() as session:
        row = session.scalar(select(Invite))
        assert row is not None and token not in row.token_hash and len(row.token_hash) == 64
    # Browsers send Origin: the link is built for the site the admin is on.
    r = invite_client.post(
        "/admin/invites",
        json={},
        headers={**invite_admin.headers, "Origin": "https://chat.example.org"},
    )
    assert r.json()["url"].startswith("https://chat.example.org/#/invite/")


def test_a_single_use_invite_lets_one_in(invite_client: TestClient, invite_admin: Account) -> None:
    token = token_of(make_invite(invite_client, invite_admin))
    r = invite_client.post("/register", json={**registration("bob"), "invite": token})
    assert r.status_code == 201, r.text
    r = invite_client.post("/register", json={**registration("carol"), "invite": token})
    assert r.status_code == 403 and r.json() == INVALID
    listed = invite_client.get("/admin/invites", headers=invite_admin.headers).json()["items"]
    assert listed[0]["uses"] == 1 and listed[0]["used_by"] == ["bob"]
    events = invite_client.get(
        "/admin/audit", params={"event": "register"}, headers=invite_admin.headers
    ).json()["items"]
    assert events[0]["target"] == "bob" and events[0]["details"] == {"invite_id": listed[0]["id"]}


def test_a_refused_sign_up_does_not_spend_the_invite(
    invite_client: TestClient, invite_admin: Account
) -> None:
    token = token_of(make_invite(invite_client, invite_admin))
    # Taken username: refused before the invite is claimed.
    r = invite_client.post("/register", json={**registration("root"), "invite": token})
    assert r.status_code == 409
    assert (
        invite_client.post("/register", json={**registration("bob"), "invite": token}).status_code
        == 201
    )


def test_a_multi_use_invite(invite_client: TestClient, invite_admin: Account) -> None:
    token = token_of(make_invite(invite_client, invite_admin, max_uses=3))
    for name in ("a_1", "a_2", "a_3"):
        r = invite_client.post("/register", json={**registration(name), "invite": token})
        assert r.status_code == 201
    r = invite_client.post("/register", json={**registration("a_4"), "invite": token})
    assert r.status_code == 403 and r.json() == INVALID
    item = invite_client.get("/admin/invites", headers=invite_admin.headers).json()["items"][0]
    assert item["uses"] == 3 and item["used_by"] == ["a_1", "a_2", "a_3"]


def test_an_expired_invite(invite_client: TestClient, invite_admin: Account, db) -> None:
    made = make_invite(invite_client, invite_admin, expires_in_hours=1)
    with write_transaction(db) as session:
        session.execute(update(Invite).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = invite_client.post("/register", json={**registration("bob"), "invite": token_of(made)})
    assert r.status_code == 403 and r.json() == INVALID


def test_a_revoked_invite(invite_client: TestClient, invite_admin: Account) -> None:
    made = make_invite(invite_client, invite_admin, max_uses=5)
    r = invite_client.delete(f"/admin/invites/{made['id']}", headers=invite_admin.headers)
    assert r.status_code == 204
    assert (
        invite_client.delete(
            f"/admin/invites/{made['id']}", headers=invite_admin.headers
        ).status_code
        == 204
    )
    assert (
        invite_client.delete("/admin/invites/999", headers=invite_admin.headers).status_code == 404
    )
    r = invite_client.post("/register", json={**registration("bob"), "invite": token_of(made)})
    assert r.status_code == 403 and r.json() == INVALID
    item = invite_client.get("/admin/invites", headers=invite_admin.headers).json()["items"][0]
    assert item["revoked"] is True
    events = invite_client.get(
        "/admin/audit", params={"event": "admin."}, headers=invite_admin.headers
    ).json()["items"]
    # Revoking twice records once.
    assert [e["event"] for e in events] == ["admin.invite_revoked", "admin.invite_created"]


@pytest.mark.parametrize(
    "body",
    [
        {"max_uses": 0},
        {"max_uses": 1001},
        {"max_uses": "2"},
        {"expires_in_hours": 0},
        {"expires_in_hours": 8761},
        {"note": "x" * 201},
        {"note": "nul\u0000"},
        {"token": "mine"},
    ],
)
def test_create_validates(invite_client: TestClient, invite_admin: Account, body: dict) -> None:
    r = invite_client.post("/admin/invites", json=body, headers=invite_admin.headers)
    assert r.status_code == 422, r.text


def test_an_oversized_invite_token_is_422(invite_client: TestClient) -> None:
    r = invite_client.post("/register", json={**registration("bob"), "invite": "x" * 201})
    assert r.status_code == 422


def test_under_the_open_policy_an_invite_is_optional(client: TestClient, admin: Account) -> None:
    token = token_of(make_invite(client, admin))
    assert (
        client.post("/register", json={**registration("bob"), "invite": token}).status_code == 201
    )
    # Used up: ignored, since nothing is needed to sign up.
    assert (
        client.post("/register", json={**registration("eve"), "invite": token}).status_code == 201
    )
    item = client.get("/admin/invites", headers=admin.headers).json()["items"][0]
    assert item["used_by"] == ["bob"]


def test_two_sign_ups_racing_for_one_invite(
    settings_factory, fake, live_factory, invite_admin: Account, invite_client: TestClient
) -> None:
    """Both pass the early check and hash their passwords at once; the account and the
    invite's use are one transaction, so exactly one gets in."""
    token = token_of(make_invite(invite_client, invite_admin))
    server = live_factory(create_app(settings_factory(signup_policy="invite")))
    barrier = threading.Barrier(4)
    results: dict[str, int] = {}

    def sign_up(name: str) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            barrier.wait()
            results[name] = c.post(
                "/register", json={**registration(name), "invite": token}
            ).status_code

    threads = [threading.Thread(target=sign_up, args=(f"racer{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [201, 403, 403, 403], results
    item = invite_client.get("/admin/invites", headers=invite_admin.headers).json()["items"][0]
    assert item["uses"] == 1 and len(item["used_by"]) == 1
    users = invite_client.get("/admin/users", headers=invite_admin.headers).json()
    assert users["total"] == 2
