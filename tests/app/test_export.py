"""GET /me/export: everything of mine, as one JSON download."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.conftest import insert_messages, new_conversation
from tests.helpers.accounts import Account


def test_export_contains_my_conversations(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    client.post("/chat", headers=user.headers, json={"conversationId": conv, "message": "olá 🌍"})
    r = client.get("/me/export", headers=user.headers)
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    data = r.json()
    assert data["user"]["username"] == "alice"
    [exported] = data["conversations"]
    assert exported["id"] == conv
    assert [m["role"] for m in exported["messages"]] == ["user", "ai"]
    assert exported["messages"][0]["content"] == "olá 🌍"


def test_export_pages_through_long_conversations(client: TestClient, user: Account, settings):
    conv = new_conversation(client, user)
    insert_messages(settings, conv, 1203, size=20)
    r = client.get("/me/export", headers=user.headers)
    assert r.status_code == 200
    [exported] = r.json()["conversations"]
    contents = [m["content"] for m in exported["messages"]]
    assert len(contents) == 1203
    assert contents[0].startswith("m000") and contents[-1].startswith("m1202")
    assert len({m["id"] for m in exported["messages"]}) == 1203
