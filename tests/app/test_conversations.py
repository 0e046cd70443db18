"""Conversations: listing, search, paging, rename, delete — and strict ownership."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import messages_of, new_conversation
from tests.helpers.accounts import Account, register_and_login


def test_list_newest_activity_first_with_paging(client: TestClient, user: Account, fake) -> None:
    ids = [new_conversation(client, user) for _ in range(3)]
    # Activity in the oldest moves it to the top.
    client.post("/chat", headers=user.headers, json={"conversationId": ids[0], "message": "hi"})
    page = client.get("/conversations", headers=user.headers).json()
    assert [c["id"] for c in page["items"]] == [ids[0], ids[2], ids[1]]
    assert page["total"] == 3
    first = client.get("/conversations", headers=user.headers, params={"limit": 2}).json()
    rest = client.get(
        "/conversations", headers=user.headers, params={"limit": 2, "offset": 2}
    ).json()
    assert [c["id"] for c in first["items"] + rest["items"]] == [ids[0], ids[2], ids[1]]


def test_search_titles(client: TestClient, user: Account) -> None:
    ids = {}
    for title in ("Receitas de bolo", "Viagem ao Recife", "100% útil", "under_score"):
        conv = new_conversation(client, user)
        client.patch(f"/conversations/{conv}", headers=user.headers, json={"title": title})
        ids[title] = conv

    def search(q: str) -> set[str]:
        r = client.get("/conversations", headers=user.headers, params={"q": q})
        return {c["title"] for c in r.json()["items"]}

    assert search("rec") == {"Receitas de bolo", "Viagem ao Recife"}
    assert search("BOLO") == {"Receitas de bolo"}
    assert search("%") == {"100% útil"}  # LIKE wildcards are literal
    assert search("_") == {"under_score"}
    assert search("zzz") == set()


def test_get_rename_and_delete(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    client.post("/chat", headers=user.headers, json={"conversationId": conv, "message": "hi"})
    r = client.patch(f"/conversations/{conv}", headers=user.headers, json={"title": "  Renamed  "})
    assert r.status_code == 200 and r.json()["title"] == "Renamed"
    assert client.get(f"/conversations/{conv}", headers=user.headers).json()["title"] == "Renamed"
    assert client.delete(f"/conversations/{conv}", headers=user.headers).status_code == 204
    assert client.get(f"/conversations/{conv}", headers=user.headers).status_code == 404
    assert client.get(f"/conversations/{conv}/messages", headers=user.headers).status_code == 404
    assert client.delete(f"/conversations/{conv}", headers=user.headers).status_code == 404


def test_message_paging_backwards(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    for i in range(3):
        client.post(
            "/chat", headers=user.headers, json={"conversationId": conv, "message": f"m{i}"}
        )
    r = client.get(f"/conversations/{conv}/messages", headers=user.headers, params={"limit": 4})
    page = r.json()
    assert page["has_more"] is True
    assert [m["content"] for m in page["items"]] == ["m1", "Echo: m1", "m2", "Echo: m2"]
    older = client.get(
        f"/conversations/{conv}/messages",
        headers=user.headers,
        params={"limit": 4, "before": page["items"][0]["id"]},
    ).json()
    assert older["has_more"] is False
    assert [m["content"] for m in older["items"]] == ["m0", "Echo: m0"]


@pytest.fixture
def two_users(client: TestClient, fake) -> tuple[Account, Account, str]:
    alice = register_and_login(client, "alice")
    bob = register_and_login(client, "bob")
    conv = new_conversation(client, alice)
    client.post("/chat", headers=alice.headers, json={"conversationId": conv, "message": "private"})
    client.patch(f"/conversations/{conv}", headers=alice.headers, json={"title": "Alice's"})
    return alice, bob, conv


def test_another_users_conversation_is_404_everywhere(
    client: TestClient, two_users: tuple[Account, Account, str], fake
) -> None:
    alice, bob, conv = two_users
    unknown = str(uuid.uuid4())
    requests = [
        ("GET", "/conversations/{}", None),
        ("PATCH", "/conversations/{}", {"title": "mine now"}),
        ("PATCH", "/conversations/{}", {"system_prompt": "leak everything"}),
        ("GET", "/conversations/{}/messages", None),
        ("POST", "/chat", {"conversationId": "{}", "message": "hi"}),
        ("POST", "/chat/stream", {"conversationId": "{}", "message": "hi"}),
        ("POST", "/chat/stream", {"conversationId": "{}", "regenerate": True}),
        ("DELETE", "/conversations/{}", None),
    ]
    before = len(fake.requests)
    for method, path, body in requests:
        answers = []
        for target in (conv, unknown):
            json_body = None
            if body is not None:
                json_body = {
                    k: (v.format(target) if isinstance(v, str) else v) for k, v in body.items()
                }
            r = client.request(method, path.format(target), headers=bob.headers, json=json_body)
            answers.append((r.status_code, r.json()))
        # Someone else's id and a non-existent one are indistinguishable.
        assert answers[0] == answers[1] == (404, {"detail": "Conversation not found"}), (
            method,
            path,
        )
    assert len(fake.requests) == before  # the model was never called for bob
    # Alice's data is untouched.
    got = client.get(f"/conversations/{conv}", headers=alice.headers).json()
    assert got["title"] == "Alice's" and got["system_prompt"] is None
    assert [m["content"] for m in messages_of(client, alice, conv)] == ["private", "Echo: private"]
    assert client.get("/conversations", headers=bob.headers).json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }
    assert "private" not in client.get("/me/export", headers=bob.headers).text


def test_search_is_scoped(client: TestClient, two_users: tuple[Account, Account, str]) -> None:
    _, bob, _ = two_users
    r = client.get("/conversations", headers=bob.headers, params={"q": "Alice"})
    assert r.json()["items"] == []


def test_every_endpoint_requires_authentication(client: TestClient) -> None:
    conv = str(uuid.uuid4())
    for method, path in [
        ("POST", "/session"),
        ("GET", "/conversations"),
        ("GET", f"/conversations/{conv}"),
        ("PATCH", f"/conversations/{conv}"),
        ("DELETE", f"/conversations/{conv}"),
        ("GET", f"/conversations/{conv}/messages"),
        ("POST", "/chat"),
        ("POST", "/chat/stream"),
        ("GET", "/me"),
        ("POST", "/me/password"),
        ("DELETE", "/me"),
        ("GET", "/me/export"),
    ]:
        r = client.request(method, path, json={})
        assert r.status_code in (401, 422), (method, path)
        if r.status_code == 422:
            # Validation may run first; without a token the answer is still never a 2xx.
            r = client.request(method, path, json={"conversationId": conv, "message": "x"})
            assert r.status_code == 401, (method, path)


def test_new_session_contract(client: TestClient, user: Account) -> None:
    r = client.post("/session", headers=user.headers)
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"sessionId", "title"} and body["title"] == "Novo Chat"
    uuid.UUID(body["sessionId"])


def test_conversation_ids_are_random(client: TestClient, user: Account) -> None:
    ids = {uuid.UUID(new_conversation(client, user)) for _ in range(3)}
    assert all(i.version == 4 for i in ids)
