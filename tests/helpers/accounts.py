"""Signing up and logging in over HTTP: the one copy every suite uses.

Works with any httpx client — FastAPI's TestClient (an httpx.Client), a client of a live
uvicorn, of nginx on a booted host, or of the benchmarks' gunicorn.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def registration(username: str, *, email: str | None = None, password: str = PASSWORD) -> dict:
    """A valid POST /register body, for tests that look at the answer themselves."""
    return {
        "username": username,
        "email": email or f"{username}@example.com",
        "password": password,
        "password_confirm": password,
    }


def register(
    client: httpx.Client,
    username: str | None = None,
    *,
    email: str | None = None,
    password: str = PASSWORD,
) -> str:
    """Signs up without logging in (a login would spend a throttled attempt); returns the name."""
    username = username or f"user_{uuid.uuid4().hex[:8]}"
    r = client.post("/register", json=registration(username, email=email, password=password))
    assert r.status_code == 201, r.text
    return username


def login(client: httpx.Client, username: str, *, password: str = PASSWORD) -> Account:
    r = client.post("/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    return Account(body["user_id"], body["username"], body["access_token"])


def register_and_login(
    client: httpx.Client,
    username: str | None = None,
    *,
    email: str | None = None,
    password: str = PASSWORD,
) -> Account:
    """A new account, logged in (TestClient keeps its refresh cookie, as a browser would)."""
    username = register(client, username, email=email, password=password)
    return login(client, username, password=password)
