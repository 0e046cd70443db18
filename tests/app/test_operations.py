"""Health/readiness, headers, request ids, error answers, CORS and the OpenAPI description."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import create_app
from tests.helpers.accounts import PASSWORD, Account


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


def test_500_carries_request_id_and_security_headers(settings_factory) -> None:
    app = create_app(settings_factory())

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("internal detail")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom", headers={"X-Request-ID": "req-42"})
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "req-42"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.json() == {"detail": "Internal server error (request id req-42)"}


def test_relaxed_csp_only_on_the_docs_pages(client: TestClient) -> None:
    assert "cdn.jsdelivr.net" in client.get("/docs").headers["content-security-policy"]
    r = client.get("/docsXYZ")
    assert "cdn.jsdelivr.net" not in r.headers["content-security-policy"]


def test_api_answers_are_not_cacheable(client: TestClient, user: Account) -> None:
    r = client.post("/login", json={"username": "alice", "password": PASSWORD})
    assert r.headers["cache-control"] == "no-store"
    assert client.get("/me/export", headers=user.headers).headers["cache-control"] == "no-store"
