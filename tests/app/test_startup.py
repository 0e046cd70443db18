"""What the server says at startup: unknown settings, and a database whose migrations are
pending (never migrated, or behind the code), instead of an internal error per request."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings, closest_setting, known_setting_names, unknown_settings
from app.main import create_app
from app.manage import main as manage_main
from app.manage import migrate
from tests.helpers.accounts import PASSWORD


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "app.config"]


# -- unknown settings ----------------------------------------------------------------------
def test_unknown_keys_of_the_env_file_are_a_startup_warning(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    settings: Settings,
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(".env").write_text(
        "# comment\nRATE_LIMIT_CHAT=30/minute\nLOG_LEVL=debug\nLOG_LEVEL=info\n"
        "WEB_CONCURRENCY=3\nchat_rate_per_minute=5\n"
    )
    caplog.set_level(logging.WARNING, "app.config")
    create_app(settings)
    found = _warnings(caplog)
    assert found == [
        "unknown setting LOG_LEVL in .env is ignored: did you mean LOG_LEVEL?",
        "unknown setting RATE_LIMIT_CHAT in .env is ignored: did you mean CHAT_RATE_PER_MINUTE?",
    ]


def test_the_host_env_file_and_prefixed_variables_are_checked(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    settings: Settings,
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    host_env = tmp_path / "chatbot.env"
    host_env.write_text(
        f"CHATBOT_ENV_FILE='{host_env}'\nAPP_ENV='production'\nGEMINI_KEY='x'\n"
        "WEB_CONCURRENCY='2'\n"
    )
    # What systemd does with EnvironmentFile=: every key becomes a variable.
    monkeypatch.setenv("CHATBOT_ENV_FILE", str(host_env))
    monkeypatch.setenv("GEMINI_KEY", "x")
    monkeypatch.setenv("CHATBOT_LOG_LEVEL", "debug")
    monkeypatch.setenv("CHATBOT_RELEASE", "/opt/chatbot/releases/abc")  # the host's wrapper
    monkeypatch.setenv("SOME_OS_VARIABLE", "1")  # not ours: never a warning
    caplog.set_level(logging.WARNING, "app.config")
    create_app(settings)
    assert _warnings(caplog) == [
        "unknown setting CHATBOT_LOG_LEVEL in the environment is ignored: did you mean LOG_LEVEL?",
        f"unknown setting GEMINI_KEY in {host_env} is ignored: did you mean GEMINI_API_KEY?",
    ]


def test_an_unreadable_host_env_file_is_checked_through_what_systemd_passed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    settings: Settings,
) -> None:
    """On the host the env file is root's (0600) and the service can't read it: under
    systemd its keys are the variables systemd didn't add itself."""
    monkeypatch.chdir(tmp_path)
    host_env = tmp_path / "chatbot.env"
    host_env.write_text("unreadable")
    host_env.chmod(0)
    if os.access(host_env, os.R_OK):  # root reads anything: hide it instead
        host_env = tmp_path / "gone" / "chatbot.env"
    for key in list(os.environ):
        monkeypatch.delenv(key)
    systemd = {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "INVOCATION_ID": "0123",
        "JOURNAL_STREAM": "8:1",
        "LISTEN_FDS": "1",
        "RUNTIME_DIRECTORY": "/run/chatbot",
    }
    from_file = {
        "CHATBOT_ENV_FILE": str(host_env),
        "APP_ENV": "development",
        "WEB_CONCURRENCY": "2",
        "RATE_LIMIT_CHAT": "30/minute",
    }
    for key, value in {**systemd, **from_file}.items():
        monkeypatch.setenv(key, value)
    caplog.set_level(logging.WARNING, "app.config")
    create_app(settings)
    assert _warnings(caplog) == [
        f"unknown setting RATE_LIMIT_CHAT in {host_env} is ignored: "
        "did you mean CHAT_RATE_PER_MINUTE?"
    ]
    # Not started by systemd: the same variables are an ordinary environment.
    monkeypatch.delenv("INVOCATION_ID")
    caplog.clear()
    create_app(settings)
    assert _warnings(caplog) == []


def test_ordinary_environment_is_quiet() -> None:
    environ = {"PATH": "/bin", "HOME": "/root", "LANG": "C.UTF-8", "SECRET_KEY_X": "1"}
    assert unknown_settings(environ, []) == []


def test_a_name_with_no_close_setting_points_at_the_example() -> None:
    [message] = unknown_settings({"CHATBOT_FOO": "1"}, [])
    assert message == (
        "unknown setting CHATBOT_FOO in the environment is ignored: "
        "see .env.example for the settings"
    )
    assert closest_setting("SECRETKEY", known_setting_names()) == "SECRET_KEY"


def test_every_example_setting_is_known() -> None:
    """.env.example lists the settings; none of its names may warn."""
    example = Path(__file__).resolve().parents[2] / ".env.example"
    assert unknown_settings({}, [example]) == []


def test_manage_check_reports_unknown_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.core.config import get_settings

    monkeypatch.chdir(tmp_path)
    env = tmp_path / "chatbot.env"
    env.write_text(f"DATA_DIR='{tmp_path}'\nRATE_LIMIT_CHAT='30/minute'\n")
    # --env-file loads the file into os.environ, as systemd would; these are undone after.
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RATE_LIMIT_CHAT", "30/minute")
    get_settings.cache_clear()
    try:
        assert manage_main(["--env-file", str(env), "check"]) == 0
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert f"unknown setting RATE_LIMIT_CHAT in {env} is ignored" in err


# -- pending migrations --------------------------------------------------------------------
@pytest.fixture
def fresh_sqlite(tmp_path: Path) -> str:
    """A database file nobody migrated."""
    return f"sqlite:///{tmp_path / 'never-migrated.db'}"


def _expect_pending(client: TestClient, revision_words: str) -> None:
    assert client.get("/health").json() == {"status": "ok"}  # the process is alive
    for method, path, body in (
        ("GET", "/ready", None),
        ("POST", "/register", {"username": "ana", "email": "a@example.com",
                               "password": PASSWORD, "password_confirm": PASSWORD}),
        ("POST", "/login", {"username": "ana", "password": PASSWORD}),
        ("GET", "/conversations", None),
        ("GET", "/config", None),
    ):  # fmt: skip
        r = client.request(method, path, json=body)
        assert r.status_code == 503, (path, r.text)
        detail = r.json()["detail"]
        assert detail.startswith("Database migrations are pending"), detail
        assert revision_words in detail
        assert "python -m app.manage migrate" in detail and "make migrate" in detail


def test_a_never_migrated_database_says_so(
    settings_factory: Callable[..., Settings],
    fresh_sqlite: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, "app")
    app = create_app(settings_factory(database_url=fresh_sqlite))
    with TestClient(app) as client:
        [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert "never migrated" in line and "python -m app.manage migrate" in line
        _expect_pending(client, "never migrated")
        # Migrating while it runs is enough: no restart needed.
        migrate(database_url=fresh_sqlite)
        assert client.get("/ready").status_code == 200
        r = client.post(
            "/register",
            json={"username": "ana", "email": "a@example.com",
                  "password": PASSWORD, "password_confirm": PASSWORD},
        )  # fmt: skip
        assert r.status_code == 201, r.text


def test_a_database_behind_the_code_says_so(
    settings_factory: Callable[..., Settings],
    fresh_sqlite: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    migrate("0002", database_url=fresh_sqlite)
    caplog.set_level(logging.ERROR, "app")
    with TestClient(create_app(settings_factory(database_url=fresh_sqlite))) as client:
        assert any("at revision 0002" in r.getMessage() for r in caplog.records)
        _expect_pending(client, "at revision 0002")


def test_a_current_database_logs_no_schema_error(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert client.get("/ready").status_code == 200
    assert not [r for r in caplog.records if "migrations are pending" in r.getMessage()]


def test_the_version_is_written_once(client: TestClient) -> None:
    """pyproject.toml takes it from app/__init__.py, and the API reports the same."""
    from setuptools.config.pyprojecttoml import read_configuration

    import app

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    assert "version =" not in pyproject.read_text().split("[tool.", 1)[0]  # no second copy
    assert read_configuration(pyproject)["project"]["version"] == app.__version__
    assert client.get("/config").json()["version"] == app.__version__
    assert client.get("/openapi.json").json()["info"]["version"] == app.__version__


def test_a_stop_right_after_the_start_leaves_no_connection_behind(settings_factory) -> None:
    """The start runs the audit log's expiry in a thread; a stop at once waits for it, so
    every connection is back in the pool when the engine is disposed (a cancelled wait let
    the thread hand its connection to a disposed pool, never closed: psycopg's
    ResourceWarnings in the PostgreSQL run)."""
    for _ in range(5):
        with TestClient(create_app(settings_factory())) as client:
            engine = client.app.state.services.session_factory.kw["bind"]
            pool = engine.pool
        assert pool.checkedout() == 0
