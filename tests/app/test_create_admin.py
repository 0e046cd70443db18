"""`python -m app.manage create-admin`: the first admin is made on the host, never by
signing up first; an existing account is promoted; --if-no-admin is what the playbook runs."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.manage import main
from app.models import AuditEvent, User
from tests.app.test_audit import manage_env  # noqa: F401 (a fixture)
from tests.helpers.accounts import PASSWORD, login, register

ADMIN_PASSWORD = "admin password 123"


def role_of(db, username: str) -> str | None:
    with db() as session:
        return session.scalar(select(User.role).where(User.username_key == username.lower()))


@pytest.mark.usefixtures("manage_env")
def test_create_admin_from_the_environment(client: TestClient, db, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CHATBOT_ADMIN_PASSWORD", ADMIN_PASSWORD)
    assert main(["create-admin", "--username", "Boss", "--email", "boss@example.com"]) == 0
    assert capsys.readouterr().out.strip() == "created: Boss is an admin"
    assert role_of(db, "boss") == "admin"
    account = login(client, "boss", password=ADMIN_PASSWORD)
    assert client.get("/admin/users", headers=account.headers).status_code == 200
    # Again: nothing to do.
    assert main(["create-admin", "--username", "boss", "--email", "boss@example.com"]) == 0
    assert capsys.readouterr().out.startswith("unchanged:")
    with db() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.event == "register"))
        assert event is not None and event.actor == "(create-admin)" and event.target == "Boss"


@pytest.mark.usefixtures("manage_env")
def test_create_admin_reads_the_password_from_stdin(client: TestClient, db, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(ADMIN_PASSWORD + "\n"))
    assert main(["create-admin", "--username", "boss", "--email", "boss@example.com"]) == 0
    login(client, "boss", password=ADMIN_PASSWORD)


@pytest.mark.usefixtures("manage_env")
def test_an_existing_account_is_promoted_by_its_own_email_and_password(
    client: TestClient, db, monkeypatch, capsys
) -> None:
    register(client, "ana")
    monkeypatch.setenv("CHATBOT_ADMIN_PASSWORD", PASSWORD)
    assert main(["create-admin", "--username", "ana", "--email", "Ana@example.com"]) == 0
    assert capsys.readouterr().out.strip() == "promoted: ana is an admin"
    assert role_of(db, "ana") == "admin"
    login(client, "ana", password=PASSWORD)  # password untouched


@pytest.mark.usefixtures("manage_env")
@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ops@example.org", PASSWORD),  # someone registered the chosen name with their email
        ("ana@example.com", "the operator's password"),  # ... and their own password
        ("ana@example.com", None),
    ],
)
def test_an_account_someone_else_registered_is_never_promoted(
    client: TestClient, db, monkeypatch, email: str, password: str | None
) -> None:
    """On a site that was open to sign-ups, the name the operator picks may be taken by
    anyone: the playbook's `--if-no-admin` run must not hand them the site."""
    register(client, "ana")
    if password is None:
        monkeypatch.delenv("CHATBOT_ADMIN_PASSWORD", raising=False)
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
    else:
        monkeypatch.setenv("CHATBOT_ADMIN_PASSWORD", password)
    args = ["create-admin", "--username", "ana", "--email", email, "--if-no-admin"]
    with pytest.raises(SystemExit, match="exists and this email and password are not its own"):
        main(args)
    assert role_of(db, "ana") == "user"


@pytest.mark.usefixtures("manage_env")
def test_if_no_admin_leaves_a_site_with_admins_alone(
    client: TestClient, db, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("CHATBOT_ADMIN_PASSWORD", ADMIN_PASSWORD)
    args = ["create-admin", "--username", "boss", "--email", "boss@example.com", "--if-no-admin"]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("created:")
    # The site's admins since made "boss" a user again (and another admin): a redeploy
    # running the same command changes nothing.
    register(client, "other")
    boss = login(client, "boss", password=ADMIN_PASSWORD)
    other_id = next(
        u["id"]
        for u in client.get("/admin/users", headers=boss.headers).json()["items"]
        if u["username"] == "other"
    )
    client.patch(f"/admin/users/{other_id}", json={"role": "admin"}, headers=boss.headers)
    client.patch(f"/admin/users/{boss.id}", json={"role": "user"}, headers=boss.headers)
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("unchanged:")
    assert role_of(db, "boss") == "user"


@pytest.mark.usefixtures("manage_env")
@pytest.mark.parametrize(
    ("username", "email", "password", "message"),
    [
        ("boss", "boss@example.com", "short", "password"),
        ("no spaces", "boss@example.com", ADMIN_PASSWORD, "username"),
        ("boss", "not-an-email", ADMIN_PASSWORD, "email"),
        ("boss", "alice@example.com", ADMIN_PASSWORD, "email already registered"),
        ("boss", "boss@example.com", "", "no password"),
    ],
)
def test_create_admin_refusals(
    client: TestClient, db, monkeypatch, username, email, password, message
) -> None:
    register(client, "alice")
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    with pytest.raises(SystemExit) as exc:
        main(["create-admin", "--username", username, "--email", email])
    assert message in str(exc.value)
    assert role_of(db, username) is None
