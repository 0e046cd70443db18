"""The offline demo model, used when no Gemini key is configured."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from app.main import create_app
from tests.app.conftest import chat, new_conversation, parse_sse
from tests.helpers.accounts import register_and_login


def test_demo_model_streams_and_reports_memory(settings_factory) -> None:
    settings = settings_factory(gemini_api_key=None, model_provider="auto")
    with TestClient(create_app(settings)) as c:
        assert c.get("/ready").json()["model"]["mode"] == "demo"
        account = register_and_login(c, "demo")
        conv = new_conversation(c, account)
        first = chat(c, account, conv, "hello").json()["answer"]
        assert "demo" in first.lower() and "0 earlier message" in first
        r = c.post(
            "/chat/stream",
            headers=account.headers,
            json={"conversationId": conv, "message": "again"},
        )
        events = parse_sse(r.text)
        text = "".join(d["text"] for e, d in events if e == "token")
        assert "2 earlier message" in text
        assert events[-1][0] == "done"
        assert json.dumps(events[-1][1])
