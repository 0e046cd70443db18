"""Two-factor sign-in (TOTP): setup (secret, otpauth URI, QR SVG) pending until a code
confirms it, 10 one-time recovery codes, login asking for the code (JSON and form bodies),
replayed and wrong codes refused, codes throttled like passwords, disable, the secret
encrypted at rest and never logged, and REQUIRE_ADMIN_TOTP on /admin/*."""

from __future__ import annotations

import logging
import time

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.accounts import audit
from app.accounts.totp import STEP_SECONDS
from app.core import site_settings
from app.core.db import make_engine, make_session_factory, write_transaction
from app.main import create_app
from app.models import AuditEvent, TotpRecoveryCode, User
from tests.helpers.accounts import PASSWORD, Account, register_and_login
from tests.helpers.admin import make_admin

REQUIRED = {"detail": "Two-factor code required"}
INVALID = {"detail": "Invalid two-factor code"}


def _code(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + offset_steps * STEP_SECONDS)


def _enrol(c: TestClient, account: Account) -> tuple[str, list[str]]:
    r = c.post("/me/totp/setup", headers=account.headers, json={"password": PASSWORD})
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    r = c.post("/me/totp/enable", headers=account.headers, json={"code": _code(secret)})
    assert r.status_code == 200, r.text
    return secret, r.json()["recovery_codes"]


def _login(c: TestClient, username: str, code: str | None = None, password: str = PASSWORD):
    body = {"username": username, "password": password}
    if code is not None:
        body["totp"] = code
    return c.post("/login", json=body)


def _wait_for_next_step() -> None:
    """Sleep into the next time step, so a fresh code isn't the one just used."""
    time.sleep(STEP_SECONDS - time.time() % STEP_SECONDS + 0.05)


def test_setup_enable_and_login_with_a_code(client: TestClient, user: Account) -> None:
    me = client.get("/me", headers=user.headers).json()
    assert me["totp_enabled"] is False and me["totp_required"] is False
    r = client.post("/me/totp/setup", headers=user.headers, json={"password": PASSWORD})
    assert r.status_code == 200
    setup = r.json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/Chatbot:alice?secret=")
    assert setup["secret"] in setup["otpauth_uri"]
    assert setup["qr_svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    # Pending: the password alone still signs in until a code confirms the setup.
    assert _login(client, "alice").status_code == 200
    wrong = client.post("/me/totp/enable", headers=user.headers, json={"code": "000000"})
    assert wrong.status_code == 400 and wrong.json() == INVALID
    r = client.post("/me/totp/enable", headers=user.headers, json={"code": _code(setup["secret"])})
    assert r.status_code == 200
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 9 and c[4] == "-" for c in codes)
    assert client.get("/me", headers=user.headers).json()["totp_enabled"] is True
    again = client.post("/me/totp/setup", headers=user.headers, json={"password": PASSWORD})
    assert again.status_code == 409

    r = _login(client, "alice")
    assert r.status_code == 401 and r.json() == REQUIRED
    assert r.headers["x-totp-required"] == "1"
    _wait_for_next_step()  # the enable used this step's code
    code = _code(setup["secret"])
    r = _login(client, "alice", code)
    assert r.status_code == 200, r.text
    # The same code again (a replay) is refused, and so is the previous step's.
    r = _login(client, "alice", code)
    assert r.status_code == 401 and r.json() == INVALID
    assert _login(client, "alice", _code(setup["secret"], -1)).json() == INVALID
    # A wrong password with a right code is still a wrong password.
    assert _login(client, "alice", code, password="wrong-pass").status_code == 401


def test_form_login_takes_the_code(client: TestClient, user: Account) -> None:
    secret, _ = _enrol(client, user)
    form = {"username": "alice", "password": PASSWORD}
    r = client.post("/login", data=form)
    assert r.status_code == 401 and r.json() == REQUIRED
    _wait_for_next_step()
    r = client.post("/login", data={**form, "totp": _code(secret)})
    assert r.status_code == 200, r.text


def test_recovery_codes_work_once(client: TestClient, user: Account) -> None:
    _, codes = _enrol(client, user)
    assert _login(client, "alice", codes[0]).status_code == 200
    assert _login(client, "alice", codes[0]).json() == INVALID  # one time only
    assert _login(client, "alice", codes[1].upper().replace("-", " ")).status_code == 200
    assert _login(client, "alice", "abcd-efgh").json() == INVALID


def test_codes_are_throttled_like_passwords(settings_factory) -> None:
    with TestClient(create_app(settings_factory(login_rate_per_minute=5))) as c:
        account = register_and_login(c, "guarded")
        _enrol(c, account)  # the login, the setup and the enable: 3 of the budget of 5
        codes = [_login(c, "guarded", f"{i:06d}").status_code for i in range(3)]
        assert codes == [401, 401, 429]


def test_wrong_codes_have_a_stricter_budget_of_their_own(settings_factory) -> None:
    """5 wrong codes in 15 minutes per account, whatever the login budget; right codes
    don't count, and a recovery code still gets in once it is spent."""
    with TestClient(create_app(settings_factory(login_rate_per_minute=1000))) as c:
        account = register_and_login(c, "guarded")
        secret, recovery = _enrol(c, account)  # its code's step is spent
        wrong = [_login(c, "guarded", f"{i:06d}").status_code for i in range(4)]
        assert wrong == [401] * 4
        assert _login(c, "guarded", _code(secret, 1)).status_code == 200  # not counted
        wrong = [_login(c, "guarded", f"{i:06d}").status_code for i in range(4, 6)]
        assert wrong == [401, 429]
        refused = _login(c, "guarded", _code(secret, -1))
        assert refused.status_code == 429
        assert "recovery code" in refused.json()["detail"] and refused.headers["retry-after"]
        assert _login(c, "guarded", recovery[0]).status_code == 200


def test_disable_needs_password_and_code(client: TestClient, user: Account) -> None:
    _, codes = _enrol(client, user)
    url = "/me/totp/disable"
    bad_pw = client.post(url, headers=user.headers, json={"password": "nope", "code": codes[0]})
    assert bad_pw.status_code == 401
    bad_code = client.post(url, headers=user.headers, json={"password": PASSWORD, "code": "1"})
    assert bad_code.status_code == 400 and bad_code.json() == INVALID
    r = client.post(url, headers=user.headers, json={"password": PASSWORD, "code": codes[0]})
    assert r.status_code == 204
    assert client.get("/me", headers=user.headers).json()["totp_enabled"] is False
    assert _login(client, "alice").status_code == 200  # the password alone again
    again = client.post(url, headers=user.headers, json={"password": PASSWORD, "code": "1"})
    assert again.status_code == 409


def test_the_secret_is_encrypted_at_rest_and_never_logged(
    settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(settings)) as c:
        account = register_and_login(c, "secretive")
        secret, codes = _enrol(c, account)
        _login(c, "secretive", codes[0])
    engine = make_engine(settings)
    with make_session_factory(engine)() as session:
        user = session.scalar(select(User).where(User.username == "secretive"))
        assert user is not None and user.totp_secret and secret not in user.totp_secret
        stored = session.scalars(select(TotpRecoveryCode.code_hash)).all()
        assert len(stored) == 10 and not set(codes) & set(stored)
        events = session.scalars(select(AuditEvent)).all()
        assert audit.TOTP_ENABLED in {e.event for e in events}
        assert all(secret not in (e.details or "") for e in events)
    engine.dispose()
    assert secret not in caplog.text
    assert not any(code in caplog.text for code in codes)


def test_admins_must_enrol_when_required(settings_factory) -> None:
    settings = settings_factory(require_admin_totp=True)
    with TestClient(create_app(settings)) as c:
        admin = register_and_login(c, "root")
        user = register_and_login(c, "plain")
        make_admin(settings, admin.id)
        r = c.get("/admin/usage", headers=admin.headers)
        assert r.status_code == 403
        assert r.json() == {"detail": "Two-factor sign-in is required for admins"}
        assert c.get("/me", headers=admin.headers).json()["totp_required"] is True
        assert c.get("/me", headers=user.headers).json()["totp_required"] is False
        assert c.get("/admin/usage", headers=user.headers).json() == {"detail": "Admins only"}
        _enrol(c, admin)
        assert c.get("/admin/usage", headers=admin.headers).status_code == 200
        assert c.get("/me", headers=admin.headers).json()["totp_required"] is False


def test_the_run_time_setting_wins(settings_factory) -> None:
    settings = settings_factory(require_admin_totp=False)
    with TestClient(create_app(settings)) as c:
        admin = register_and_login(c, "root")
        make_admin(settings, admin.id)
        assert c.get("/admin/usage", headers=admin.headers).status_code == 200
        engine = make_engine(settings)
        with write_transaction(make_session_factory(engine)) as session:
            site_settings.put(session, "require_admin_totp", True)
        engine.dispose()
        assert c.get("/admin/usage", headers=admin.headers).status_code == 403


def test_an_admin_with_two_factor_can_require_it_of_admins(settings_factory) -> None:
    """Through the API: refused while the asking admin has no second factor (it would lock
    them out), accepted once they have one; then another admin without it is kept out."""
    settings = settings_factory(require_admin_totp=False)
    with TestClient(create_app(settings)) as c:
        admin = register_and_login(c, "root")
        other = register_and_login(c, "second")
        make_admin(settings, admin.id)
        make_admin(settings, other.id)
        require = {"require_admin_totp": True}
        r = c.patch("/admin/settings", json=require, headers=admin.headers)
        assert r.status_code == 409
        _enrol(c, admin)
        r = c.patch("/admin/settings", json=require, headers=admin.headers)
        assert r.status_code == 200 and r.json()["require_admin_totp"] is True
        assert c.get("/admin/usage", headers=admin.headers).status_code == 200
        assert c.get("/admin/usage", headers=other.headers).status_code == 403
