"""The audit log: what is recorded (who, what, to whom, from where), GET /admin/audit's
filters and paging, `manage audit` / `audit-expire`, and expiry at startup."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.accounts import audit
from app.core.db import write_transaction
from app.main import create_app
from app.manage import main, parse_since
from app.models import AuditEvent, utcnow
from tests.helpers.accounts import Account, register, register_and_login

UA = {"User-Agent": "audit-test/1.0"}


def test_register_and_admin_actions_are_recorded(client: TestClient, admin: Account) -> None:
    r = client.post(
        "/register",
        json={
            "username": "bob",
            "email": "bob@example.com",
            "password": "correct horse battery",
            "password_confirm": "correct horse battery",
        },
        headers=UA,
    )
    bob_id = r.json()["id"]
    headers = {**admin.headers, **UA}
    client.patch(f"/admin/users/{bob_id}", json={"role": "admin"}, headers=headers)
    client.patch(f"/admin/users/{bob_id}", json={"role": "user", "disabled": True}, headers=headers)
    client.patch(f"/admin/users/{bob_id}", json={"disabled": False}, headers=headers)
    client.post(f"/admin/users/{bob_id}/password-reset", headers=headers)
    client.delete(f"/admin/users/{bob_id}", headers=headers)
    items = client.get("/admin/audit", headers=admin.headers).json()["items"]
    assert [(e["event"], e["actor"], e["target"]) for e in items] == [
        ("admin.user_deleted", "root", "bob"),
        ("admin.password_reset_link", "root", "bob"),
        ("admin.user_enabled", "root", "bob"),
        ("admin.user_disabled", "root", "bob"),
        ("admin.role_changed", "root", "bob"),
        ("admin.role_changed", "root", "bob"),
        ("register", "bob", "bob"),
        ("login_ok", "root", None),  # the admin fixture signing in
        ("register", "root", "root"),
    ]
    assert items[4]["details"] == {"from": "admin", "to": "user"}
    assert items[5]["details"] == {"from": "user", "to": "admin"}
    for e in items[:7]:
        assert e["ip"] == "testclient" and e["user_agent"] == "audit-test/1.0"
        assert datetime.fromisoformat(e["created_at"]).tzinfo is not None


def test_filters_and_paging(client: TestClient, admin: Account) -> None:
    for i in range(5):
        register(client, f"user{i}")
    bob = register_and_login(client, "bob")
    client.patch(f"/admin/users/{bob.id}", json={"disabled": True}, headers=admin.headers)

    def get(**params: object) -> dict:
        r = client.get("/admin/audit", params=params, headers=admin.headers)
        assert r.status_code == 200, r.text
        return r.json()

    assert len(get()["items"]) == 10  # 7 sign-ups, 2 logins, 1 admin action
    assert [e["event"] for e in get(event="admin.")["items"]] == ["admin.user_disabled"]
    assert {e["target"] for e in get(event="register")["items"]} == {
        "root",
        "bob",
        *(f"user{i}" for i in range(5)),
    }
    assert [e["event"] for e in get(username="BOB")["items"]] == [
        "admin.user_disabled",
        "login_ok",
        "register",
    ]
    page = get(limit=3)
    assert len(page["items"]) == 3 and page["has_more"] is True
    ids = [e["id"] for e in page["items"]]
    assert ids == sorted(ids, reverse=True)
    rest = get(before_id=ids[-1], limit=100)
    assert rest["has_more"] is False and len(rest["items"]) == 7
    assert all(e["id"] < ids[-1] for e in rest["items"])
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert get(since=future)["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"before_id": 0},
        {"since": "yesterday"},
        {"since": "2026-12-01T00:00:00"},
        {"event": "DROP TABLE"},
        {"event": "x" * 41},
    ],
)
def test_bad_filters_are_422(client: TestClient, admin: Account, params: dict) -> None:
    r = client.get("/admin/audit", params=params, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)


def test_parse_since() -> None:
    assert abs(parse_since("7d") - (datetime.now(UTC) - timedelta(days=7))) < timedelta(seconds=5)
    assert parse_since("2026-12-01") == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_since("2026-12-01T10:00+02:00").utcoffset() == timedelta(hours=2)


@pytest.fixture
def manage_env(settings, monkeypatch: pytest.MonkeyPatch):
    """`python -m app.manage` reads its settings from the environment: point it at the
    test's database."""
    from app.core.config import get_settings

    monkeypatch.setenv("DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.delenv("CHATBOT_ADMIN_PASSWORD", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _add_event(db, event: str, age: timedelta, **fields: object) -> None:
    with write_transaction(db) as session:
        audit.record(session, event, **fields)
        session.flush()
        row = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert row is not None
        row.created_at = utcnow() - age


def test_manage_audit_prints_json_lines_oldest_first(manage_env, db, capsys) -> None:
    _add_event(db, "register", timedelta(days=10), target_name="old")
    _add_event(db, "admin.user_disabled", timedelta(days=3), actor_name="root", target_name="a")
    _add_event(db, "register", timedelta(days=1), target_name="new", details={"invite_id": 4})
    assert main(["audit", "--since", "7d"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["event"], e["target"]) for e in lines] == [
        ("admin.user_disabled", "a"),
        ("register", "new"),
    ]
    assert lines[1]["details"] == {"invite_id": 4}
    assert main(["audit", "--since", "30d", "--event", "register"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["target"] for line in out] == ["old", "new"]
    with pytest.raises(SystemExit):
        main(["audit", "--since", "last week"])


def test_manage_audit_expire(manage_env, db, monkeypatch, capsys) -> None:
    from app.core.config import get_settings

    _add_event(db, "register", timedelta(days=91), target_name="old")
    _add_event(db, "register", timedelta(days=89), target_name="kept")
    assert main(["audit-expire"]) == 0
    assert "expired: 1 audit events" in capsys.readouterr().out
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    assert main(["audit-expire"]) == 0
    with db() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_old_events_expire_when_the_app_starts(settings_factory, db, fake) -> None:
    _add_event(db, "register", timedelta(days=8), target_name="old")
    _add_event(db, "register", timedelta(days=6), target_name="kept")
    with TestClient(create_app(settings_factory(audit_retention_days=7))):
        # It runs beside the startup, not before it: wait for it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with db() as session:
                left = list(session.scalars(select(AuditEvent.target)))
            if left == ["kept"]:
                break
            time.sleep(0.05)
    assert left == ["kept"]


def test_nothing_secret_is_recorded(client: TestClient, admin: Account, db) -> None:
    register_and_login(client, "bob")
    with db() as session:
        rows = session.scalars(select(AuditEvent)).all()
    text = " ".join(f"{r.details} {r.user_agent}" for r in rows)
    assert "correct horse" not in text and os.environ.get("SECRET_KEY", "\0") not in text
    assert rows


def test_expiry_keeps_running(tmp_path: Path) -> None:
    """expire_daily survives an unusable database (it logs and tries again later)."""
    import anyio

    from app.admin.retention import expire_daily
    from app.core.config import Settings
    from app.core.db import make_engine, make_session_factory

    engine = make_engine(Settings(_env_file=None, data_dir=tmp_path))  # never migrated
    ended: list[bool] = []

    async def run() -> None:
        stop = anyio.Event()
        async with anyio.create_task_group() as tasks:

            async def expire() -> None:
                await expire_daily(make_session_factory(engine), 1, stop=stop, every=0.05)
                ended.append(stop.is_set())

            tasks.start_soon(expire)
            await anyio.sleep(0.5)  # ~10 failed runs: still going
            assert ended == []
            stop.set()
        assert ended == [True]  # it ends when told to, not before

    anyio.run(run)
    engine.dispose()


@pytest.mark.parametrize(
    "params",
    [
        {"since": "0001-01-01T00:00:00+14:00"},  # before the first UTC datetime
        {"since": "9999-12-31T23:59:59-14:00"},  # after the last
        {"username": "\x00"},
    ],
)
def test_odd_filters_are_a_422_not_a_500(client: TestClient, admin: Account, params) -> None:
    r = client.get("/admin/audit", params=params, headers=admin.headers)
    assert r.status_code == 422, r.text
    r = client.get("/admin/users", params={"q": "\x00"}, headers=admin.headers)
    assert r.status_code == 422, r.text
