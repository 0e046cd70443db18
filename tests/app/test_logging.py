"""Logs: one access line per request, no passwords, tokens or message text, no forged lines."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from tests.app.conftest import new_conversation
from tests.helpers.accounts import PASSWORD, register_and_login


def test_logs_hold_no_text_passwords_or_tokens(client: TestClient, fake, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    account = register_and_login(client, "logcheck")
    conv = new_conversation(client, account)
    client.post(
        "/chat",
        headers=account.headers,
        json={"conversationId": conv, "message": "my very secret diary entry"},
    )
    client.get("/conversations", headers=account.headers, params={"q": "secret search"})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST /chat 200" in logged
    for secret in (PASSWORD, account.token, "secret diary", "secret search", "test-key"):
        assert secret not in logged


def test_one_access_log_line_per_request(client: TestClient, caplog) -> None:
    caplog.set_level(logging.INFO, logger="app.access")
    client.get("/health")
    lines = [r for r in caplog.records if r.name == "app.access"]
    assert len(lines) == 1 and lines[0].getMessage().startswith("GET /health 200")


def test_access_log_escapes_control_characters(client: TestClient, caplog) -> None:
    caplog.set_level(logging.INFO, logger="app.access")
    client.get("/health%0aFORGED POST /login 200")
    [line] = [r.getMessage() for r in caplog.records if r.name == "app.access"]
    assert "\n" not in line
    # One line for the one request, the newline shown escaped rather than starting a second.
    assert line.startswith("GET /health\\nFORGED POST /login 200 404 "), line
