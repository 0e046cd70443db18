"""Admin: who may call the admin API, the users list, roles, disabling, deleting, the last
admin, activity times."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.core.db import write_transaction
from app.models import RefreshToken, User, utcnow
from tests.helpers.accounts import PASSWORD, Account, login, register, register_and_login

ADMIN_ENDPOINTS = [
    ("GET", "/admin/users", None),
    ("PATCH", "/admin/users/1", {"role": "admin"}),
    ("DELETE", "/admin/users/1", None),
    ("POST", "/admin/users/1/password-reset", None),
    ("GET", "/admin/invites", None),
    ("POST", "/admin/invites", {}),
    ("DELETE", "/admin/invites/1", None),
    ("GET", "/admin/settings", None),
    ("PATCH", "/admin/settings", {"signup_policy": "open"}),
    ("GET", "/admin/audit", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ENDPOINTS)
def test_a_user_gets_403_from_every_admin_endpoint(
    client: TestClient, admin: Account, method: str, path: str, body: dict | None
) -> None:
    user = register_and_login(client, "mallory")
    r = client.request(method, path, json=body, headers=user.headers)
    assert r.status_code == 403, r.text
    assert r.json() == {"detail": "Admins only"}
    r = client.request(method, path, json=body)
    assert r.status_code == 401


def test_every_admin_endpoint_is_documented_with_a_response_model(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for method, path, _ in ADMIN_ENDPOINTS:
        templated = path.replace("/1", "/{user_id}" if "users" in path else "/{invite_id}")
        op = paths[templated][method.lower()]
        assert op["tags"] == ["admin"]
        assert "403" in op["responses"]
        ok = next(code for code in op["responses"] if code.startswith("2"))
        if ok != "204":
            assert "$ref" in str(op["responses"][ok]["content"]), (method, path)


def test_me_shows_the_role(client: TestClient, admin: Account) -> None:
    assert client.get("/me", headers=admin.headers).json()["role"] == "admin"
    user = register_and_login(client, "bob")
    assert client.get("/me", headers=user.headers).json()["role"] == "user"


def test_nobody_becomes_admin_by_registering_first(client: TestClient) -> None:
    first = register_and_login(client, "first")
    assert client.get("/me", headers=first.headers).json()["role"] == "user"
    assert client.get("/admin/users", headers=first.headers).status_code == 403


def test_list_searches_and_pages(client: TestClient, admin: Account) -> None:
    for name in ("Ana", "anabel", "bruno", "carla"):
        register(client, name, email=f"{name.lower()}@corp.example")
    r = client.get("/admin/users", headers=admin.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 5
    assert [u["username"] for u in body["items"]] == ["root", "Ana", "anabel", "bruno", "carla"]
    ana = body["items"][1]
    assert set(ana) == {
        "id",
        "username",
        "email",
        "role",
        "created_at",
        "last_active_at",
        "disabled",
        "totp_enabled",
        "messages_month",
        "tokens_month",
        "monthly_quota",
    }
    assert ana["role"] == "user" and ana["disabled"] is False and ana["last_active_at"] is None
    assert ana["messages_month"] == 0 and ana["monthly_quota"] is None
    r = client.get("/admin/users", params={"q": "ANA"}, headers=admin.headers).json()
    assert [u["username"] for u in r["items"]] == ["Ana", "anabel"] and r["total"] == 2
    r = client.get("/admin/users", params={"q": "corp.EX"}, headers=admin.headers).json()
    assert r["total"] == 4
    # LIKE's wildcards are taken literally.
    assert client.get("/admin/users", params={"q": "%"}, headers=admin.headers).json()["total"] == 0
    page = client.get(
        "/admin/users", params={"limit": 2, "offset": 2}, headers=admin.headers
    ).json()
    assert [u["username"] for u in page["items"]] == ["anabel", "bruno"] and page["total"] == 5


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}, {"q": "x" * 255}]
)
def test_list_refuses_bad_paging(client: TestClient, admin: Account, params: dict) -> None:
    r = client.get("/admin/users", params=params, headers=admin.headers)
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], list)


@pytest.mark.parametrize(
    "body",
    [{"role": "root"}, {"disabled": "yes"}, {"disabled": 1}, {"role": None, "extra": 1}, []],
)
def test_patch_refuses_bad_bodies(client: TestClient, admin: Account, body: object) -> None:
    bob = register(client, "bob")
    users = client.get("/admin/users", params={"q": bob}, headers=admin.headers).json()
    r = client.patch(f"/admin/users/{users['items'][0]['id']}", json=body, headers=admin.headers)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    ("method", "suffix"), [("PATCH", ""), ("DELETE", ""), ("POST", "/password-reset")]
)
def test_unknown_user_is_404(client: TestClient, admin: Account, method: str, suffix: str) -> None:
    body = {"role": "user"} if method == "PATCH" else None
    r = client.request(method, f"/admin/users/999{suffix}", json=body, headers=admin.headers)
    assert r.status_code == 404 and r.json() == {"detail": "User not found"}
    r = client.request(method, f"/admin/users/0{suffix}", json=body, headers=admin.headers)
    assert r.status_code == 422


def test_promote_and_demote(client: TestClient, admin: Account) -> None:
    bob = register_and_login(client, "bob")
    r = client.patch(f"/admin/users/{bob.id}", json={"role": "admin"}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["role"] == "admin"
    assert client.get("/admin/users", headers=bob.headers).status_code == 200
    # Now two admins: the first may step down, and bob then can't.
    r = client.patch(f"/admin/users/{admin.id}", json={"role": "user"}, headers=bob.headers)
    assert r.status_code == 200 and r.json()["role"] == "user"
    assert client.get("/admin/users", headers=admin.headers).status_code == 403
    r = client.patch(f"/admin/users/{bob.id}", json={"role": "user"}, headers=bob.headers)
    assert r.status_code == 409
    assert r.json() == {"detail": "The last admin can't be demoted, disabled or deleted"}


@pytest.mark.parametrize("action", ["demote", "disable", "delete"])
def test_the_last_admin_cant_be_removed(client: TestClient, admin: Account, action: str) -> None:
    other = register_and_login(client, "other")
    promote_r = client.patch(
        f"/admin/users/{other.id}", json={"role": "admin"}, headers=admin.headers
    )
    assert promote_r.status_code == 200
    # A disabled admin is no admin: with `other` disabled, root is the last one.
    r = client.patch(f"/admin/users/{other.id}", json={"disabled": True}, headers=admin.headers)
    assert r.status_code == 200
    if action == "demote":
        r = client.patch(f"/admin/users/{admin.id}", json={"role": "user"}, headers=admin.headers)
    elif action == "disable":
        r = client.patch(f"/admin/users/{admin.id}", json={"disabled": True}, headers=admin.headers)
    else:
        r = client.delete(f"/admin/users/{admin.id}", headers=admin.headers)
    assert r.status_code == 409
    assert r.json() == {"detail": "The last admin can't be demoted, disabled or deleted"}
    assert client.get("/me", headers=admin.headers).json()["role"] == "admin"


def test_a_no_op_patch_is_fine_for_the_last_admin(client: TestClient, admin: Account) -> None:
    r = client.patch(
        f"/admin/users/{admin.id}", json={"role": "admin", "disabled": False}, headers=admin.headers
    )
    assert r.status_code == 200 and r.json()["role"] == "admin"


def test_disabling_ends_every_sign_in(client: TestClient, admin: Account, db) -> None:
    bob = register_and_login(client, "bob")  # the client's cookie jar now holds bob's cookie
    cookie = client.cookies.get("refresh_token")
    r = client.patch(f"/admin/users/{bob.id}", json={"disabled": True}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["disabled"] is True
    # The old access token, the refresh cookie, and a fresh login are all refused.
    r = client.get("/conversations", headers=bob.headers)
    assert r.status_code == 401 and r.json() == {"detail": "This account is disabled"}
    client.cookies.clear()
    client.cookies.set("refresh_token", cookie)
    r = client.post("/auth/refresh")
    assert r.status_code == 401
    r = client.post("/login", json={"username": "bob", "password": PASSWORD})
    assert r.status_code == 403 and r.json() == {"detail": "This account is disabled"}
    # A wrong password says nothing about the account being disabled.
    r = client.post("/login", json={"username": "bob", "password": "wrong password"})
    assert r.status_code == 401
    with db() as session:
        tokens = session.scalars(select(RefreshToken).where(RefreshToken.user_id == bob.id)).all()
        assert tokens and all(t.revoked_at is not None for t in tokens)
    # Enabled again: logins work; the revoked refresh token stays dead.
    r = client.patch(f"/admin/users/{bob.id}", json={"disabled": False}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["disabled"] is False
    client.cookies.clear()
    client.cookies.set("refresh_token", cookie)
    assert client.post("/auth/refresh").status_code == 401
    again = login(client, "bob")
    assert client.get("/me", headers=again.headers).status_code == 200


def test_delete_removes_the_account(client: TestClient, admin: Account) -> None:
    bob = register_and_login(client, "bob")
    assert client.post("/session", headers=bob.headers).status_code == 201
    r = client.delete(f"/admin/users/{bob.id}", headers=admin.headers)
    assert r.status_code == 204
    assert client.get("/me", headers=bob.headers).status_code == 401
    assert client.delete(f"/admin/users/{bob.id}", headers=admin.headers).status_code == 404
    assert client.get("/admin/users", headers=admin.headers).json()["total"] == 1
    # The name is free again.
    register(client, "bob")


def test_last_active_is_written_at_most_once_a_minute(
    client: TestClient, admin: Account, db
) -> None:
    bob = register_and_login(client, "bob")

    def last_active():
        with db() as session:
            return session.scalar(select(User.last_active_at).where(User.id == bob.id))

    first = last_active()
    assert first is not None and utcnow() - first < timedelta(seconds=30)
    login(client, "bob")
    assert last_active() == first  # within the minute: untouched
    earlier = utcnow() - timedelta(seconds=61)
    with write_transaction(db) as session:
        session.execute(update(User).where(User.id == bob.id).values(last_active_at=earlier))
    assert client.post("/auth/refresh").status_code == 200
    assert last_active() > earlier
    with write_transaction(db) as session:
        session.execute(update(User).where(User.id == bob.id).values(last_active_at=earlier))
    conv = client.post("/session", headers=bob.headers).json()["sessionId"]
    r = client.post("/chat", headers=bob.headers, json={"conversationId": conv, "message": "hi"})
    assert r.status_code == 200, r.text
    assert last_active() > earlier
    listed = client.get("/admin/users", params={"q": "bob"}, headers=admin.headers).json()
    assert listed["items"][0]["last_active_at"] is not None
