"""The accounts service and what the routes build from rows: the streamed export, the
`title_is_custom` flag, and the service's refusals without HTTP in between."""

from __future__ import annotations

import json
import uuid
from functools import partial

import anyio
import pytest
from fastapi.testclient import TestClient

from app import crud
from app.accounts import export
from app.accounts.service import AccountError, AccountService
from app.core.db import write_transaction
from tests.app.conftest import new_conversation
from tests.helpers.accounts import PASSWORD, Account, register_and_login


def _service(client: TestClient) -> AccountService:
    return client.app.state.services.accounts


def test_export_streams_valid_json_across_pages(client: TestClient, user: Account) -> None:
    """More messages than one page, several conversations, text JSON must escape: the
    document parses and holds everything, in order."""
    first = new_conversation(client, user)
    second = new_conversation(client, user)
    client.patch(
        f"/conversations/{second}",
        headers=user.headers,
        json={"title": 'quote " and \\ and 🌍', "system_prompt": "linha\nnova"},
    )
    factory = client.app.state.services.session_factory
    count = export.PAGE + 3
    with write_transaction(factory) as session:
        parent = None  # one branch, each message under the one before it
        for i in range(count):
            parent = crud.insert_message(
                session,
                conversation_id=uuid.UUID(first),
                role="user" if i % 2 == 0 else "ai",
                content=f'm{i} "\\ \u202e {{]',
                parent_id=parent,
            )
    r = client.get("/me/export", headers=user.headers)
    assert r.status_code == 200
    data = json.loads(r.content)  # the whole body is one valid document
    assert set(data) == {"user", "exported_at", "conversations"}
    assert data["user"]["id"] == user.id and data["user"]["username"] == "alice"
    by_id = {c["id"]: c for c in data["conversations"]}
    assert [m["content"] for m in by_id[first]["messages"]] == [
        f'm{i} "\\ \u202e {{]' for i in range(count)
    ]
    assert by_id[first]["title"] == "Novo Chat" and by_id[first]["title_is_custom"] is False
    renamed = by_id[second]
    assert renamed["title"] == 'quote " and \\ and 🌍' and renamed["title_is_custom"] is True
    assert renamed["system_prompt"] == "linha\nnova" and renamed["messages"] == []


def test_export_of_a_user_without_conversations(client: TestClient, user: Account) -> None:
    data = client.get("/me/export", headers=user.headers).json()
    assert data["conversations"] == [] and data["user"]["email"] == "alice@example.com"


def test_title_is_custom_tells_the_placeholder_from_a_real_title(
    client: TestClient, user: Account, fake
) -> None:
    conv = new_conversation(client, user)

    def listed() -> dict:
        items = client.get("/conversations", headers=user.headers).json()["items"]
        return next(c for c in items if c["id"] == conv)

    got = client.get(f"/conversations/{conv}", headers=user.headers).json()
    assert got["title"] == "Novo Chat" and got["title_is_custom"] is False
    assert listed()["title_is_custom"] is False
    # The first answer titles it from the question: no longer the placeholder.
    r = client.post(
        "/chat", headers=user.headers, json={"conversationId": conv, "message": "Receita de bolo"}
    )
    assert r.status_code == 200
    assert listed()["title"] == "Receita de bolo" and listed()["title_is_custom"] is True

    # A rename to the placeholder's own text is the user's title, not the placeholder.
    other = new_conversation(client, user)
    r = client.patch(f"/conversations/{other}", headers=user.headers, json={"title": "Novo Chat"})
    assert r.json()["title_is_custom"] is True


def test_session_contract_has_no_extra_fields(client: TestClient, user: Account) -> None:
    body = client.post("/session", headers=user.headers).json()
    assert set(body) == {"sessionId", "title"} and body["title"] == "Novo Chat"


def test_service_login_refusals(client: TestClient, user: Account) -> None:
    accounts = _service(client)
    for name in ("alice", "nobody"):  # wrong password and unknown user: one answer
        with pytest.raises(AccountError) as caught:
            anyio.run(partial(accounts.login, login=name, password="wrong pass", ip="127.0.0.1"))
        assert caught.value.status == 401 and caught.value.bearer_challenge
        assert caught.value.detail == "Incorrect username or password"
    # The email works as the login name, in any case.
    sign_in = anyio.run(
        partial(accounts.login, login="ALICE@example.com", password=PASSWORD, ip=None)
    )
    assert sign_in.user_id == user.id and sign_in.username == "alice" and sign_in.refresh_secret


def test_service_refresh_refusals(client: TestClient, user: Account) -> None:
    accounts = _service(client)
    for presented in (None, "", "x" * 201, "not-a-token-of-ours"):
        with pytest.raises(AccountError) as caught:
            anyio.run(accounts.refresh, presented)
        assert caught.value.status == 401
    secret = client.cookies.get("refresh_token")
    rotated = anyio.run(accounts.refresh, secret)
    assert rotated.user_id == user.id and rotated.refresh_secret != secret
    with pytest.raises(AccountError) as caught:  # the old one again, within the grace
        anyio.run(accounts.refresh, secret)
    assert caught.value.detail == "Session already refreshed"
    anyio.run(accounts.logout, rotated.refresh_secret)
    with pytest.raises(AccountError) as caught:
        anyio.run(accounts.refresh, rotated.refresh_secret)
    assert caught.value.detail == "Session expired"


def test_registration_conflicts_name_the_taken_fields(client: TestClient) -> None:
    register_and_login(client, "bruno")
    again = partial(
        _service(client).register,
        username="BRUNO",
        email="Bruno@Example.com",
        password=PASSWORD,
        ip="192.0.2.1",
    )
    with pytest.raises(AccountError) as caught:
        anyio.run(again)
    assert caught.value.status == 409
    assert caught.value.detail == "username and email already registered"


def test_long_unknown_login_names_are_throttled_not_failed(settings_factory, fake) -> None:
    """A login name of the longest allowed size (254 characters) is a 401, then a 429 once
    its budget is spent, on PostgreSQL too (its counter key column holds 200 characters),
    and the name itself is not what the counters table stores."""
    from sqlalchemy import select

    from app.main import create_app
    from app.models import RateCounter

    name = "é" * 254
    with TestClient(create_app(settings_factory(login_rate_per_minute=2))) as c:
        codes = [
            c.post("/login", json={"username": name, "password": "wrong pass"}).status_code
            for _ in range(3)
        ]
        assert codes == [401, 401, 429]
        with c.app.state.services.session_factory() as session:
            keys = session.scalars(select(RateCounter.key)).all()
        assert keys and not any("é" in k for k in keys)
