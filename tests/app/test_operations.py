"""Settings, health/readiness, headers, request ids, logs and the OpenAPI description."""

from __future__ import annotations

import logging
import secrets

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.core.config import Settings
from app.main import create_app
from tests.app.conftest import PASSWORD, Account, new_conversation


def prod(**values: object) -> Settings:
    return Settings(_env_file=None, app_env="production", **values)


@pytest.mark.parametrize("key", [None, "", "short", "changeme", "sua_chave_secreta" + " " * 0])
def test_production_refuses_missing_short_or_placeholder_secret(key) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        prod(secret_key=key, gemini_api_key="k")


def test_production_refuses_running_without_a_model_key() -> None:
    with pytest.raises(ValidationError, match="GEMINI_API_KEY"):
        prod(secret_key=secrets.token_hex(32))
    ok = prod(secret_key=secrets.token_hex(32), model_provider="demo")
    assert ok.model_mode == "demo"
    assert prod(secret_key=secrets.token_hex(32), google_api_key="g").model_mode == "gemini"


def test_production_defaults_are_safe() -> None:
    key = secrets.token_hex(32)
    s = prod(secret_key=key, gemini_api_key="AIza-not-a-real-key")
    assert s.secure_cookies is True
    assert s.cors_origins == []
    for secret in (key, "AIza-not-a-real-key"):
        assert secret not in repr(s)  # SecretStr: never printed or logged by accident


def test_development_without_key_uses_demo_and_a_persistent_dev_secret(tmp_path) -> None:
    from app.core.config import signing_key

    s = Settings(_env_file=None, data_dir=tmp_path)
    assert s.model_mode == "demo"
    first = signing_key(s)
    assert len(first) == 64 and signing_key(s) == first
    assert (tmp_path / ".dev-secret-key").stat().st_mode & 0o777 == 0o600


def test_cors_origins_from_a_comma_list(monkeypatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings(_env_file=None).cors_origins == ["https://a.example", "https://b.example"]


def test_health_ready_config(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready == {
        "status": "ready",
        "database": "ok",
        "model": {"mode": "gemini", "name": "gemini-2.5-flash", "label": "gemini-2.5-flash"},
    }
    config = client.get("/config").json()
    assert config["limits"]["max_message_chars"] == 8000


def test_ready_is_503_when_the_database_is_unreachable(settings_factory, tmp_path) -> None:
    settings = settings_factory(database_url=f"sqlite:///{tmp_path}/missing-dir/x/y.db")
    with TestClient(create_app(settings)) as c:
        r = c.get("/ready")
        assert r.status_code == 503 and r.json() == {"detail": "database unreachable"}
        assert c.get("/health").status_code == 200


def test_security_headers_and_request_id(client: TestClient) -> None:
    r = client.get("/health")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert len(r.headers["x-request-id"]) == 32
    r = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = client.get("/health", headers={"X-Request-ID": "bad id\twith junk"})
    assert r.headers["x-request-id"] != "bad id\twith junk"


def test_error_responses_carry_headers_too(client: TestClient) -> None:
    r = client.get("/me")
    assert r.status_code == 401 and "x-request-id" in r.headers
    assert r.headers["x-content-type-options"] == "nosniff"


def test_logs_hold_no_text_passwords_or_tokens(client: TestClient, fake, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client.post(
        "/register",
        json={
            "username": "logcheck",
            "email": "logcheck@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    login = client.post("/login", json={"username": "logcheck", "password": PASSWORD}).json()
    account = Account(login["user_id"], "logcheck", "", login["access_token"])
    conv = new_conversation(client, account)
    client.post(
        "/chat",
        headers=account.headers,
        json={"conversationId": conv, "message": "my very secret diary entry"},
    )
    client.get("/conversations", headers=account.headers, params={"q": "secret search"})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST /chat 200" in logged
    for secret in (PASSWORD, login["access_token"], "secret diary", "secret search", "test-key"):
        assert secret not in logged


def test_one_access_log_line_per_request(client: TestClient, caplog) -> None:
    caplog.set_level(logging.INFO, logger="app.access")
    client.get("/health")
    lines = [r for r in caplog.records if r.name == "app.access"]
    assert len(lines) == 1 and lines[0].getMessage().startswith("GET /health 200")


def test_unexpected_errors_are_json_500_without_internals(settings_factory) -> None:
    app = create_app(settings_factory())

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("internal detail that must not leak")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500
    assert "internal detail" not in r.text
    assert r.json()["detail"].startswith("Internal server error")


def test_cors_is_an_explicit_allow_list(settings_factory) -> None:
    with TestClient(create_app(settings_factory())) as c:
        r = c.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
    with TestClient(create_app(settings_factory(cors_origins=["https://ok.example"]))) as c:
        ok = c.options(
            "/chat",
            headers={"Origin": "https://ok.example", "Access-Control-Request-Method": "POST"},
        )
        assert ok.headers["access-control-allow-origin"] == "https://ok.example"
        bad = c.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in bad.headers


def test_openapi_describes_every_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    expected = {
        ("post", "/register"): {"201", "409", "422", "429"},
        ("post", "/login"): {"200", "401", "429"},
        ("post", "/session"): {"201"},
        ("post", "/chat"): {"200", "404", "409", "413", "422", "429", "502", "503", "504"},
        ("post", "/chat/stream"): {"200", "404", "409", "429", "502", "503", "504"},
        ("get", "/conversations"): {"200", "422"},
        ("get", "/conversations/{conversation_id}"): {"200", "404"},
        ("patch", "/conversations/{conversation_id}"): {"200", "404"},
        ("delete", "/conversations/{conversation_id}"): {"204", "404"},
        ("get", "/conversations/{conversation_id}/messages"): {"200", "404"},
        ("post", "/auth/refresh"): {"200", "401"},
        ("post", "/logout"): {"204"},
        ("get", "/me"): {"200", "401"},
        ("get", "/health"): {"200"},
        ("get", "/ready"): {"200", "503"},
    }
    for (method, path), statuses in expected.items():
        op = paths[path][method]
        assert statuses <= set(op["responses"]), (method, path, op["responses"].keys())
    login_body = paths["/login"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= set(login_body)
    assert "OAuth2PasswordBearer" in spec["components"]["securitySchemes"]


def test_docs_page_is_served(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()


def test_frontend_is_served_in_development(settings_factory) -> None:
    with TestClient(create_app(settings_factory(serve_frontend=True))) as c:
        r = c.get("/")
        assert r.status_code == 200 and "<html" in r.text.lower()
        assert c.get("/health").json() == {"status": "ok"}  # API routes still win
