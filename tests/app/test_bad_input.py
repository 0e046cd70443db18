"""Bad input gets a clear JSON error with the right status and changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import messages_of, new_conversation
from tests.helpers.accounts import Account


def test_malformed_json(client: TestClient, user: Account) -> None:
    r = client.post(
        "/chat", headers={**user.headers, "Content-Type": "application/json"}, content=b"{nope"
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"
    r = client.post("/login", headers={"Content-Type": "application/json"}, content=b"[1,")
    assert r.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": "hi"},
        {"conversationId": "not-a-uuid", "message": "hi"},
        {"conversationId": 42, "message": "hi"},
        {"conversationId": "{conv}", "message": 42},
        {"conversationId": "{conv}", "message": ["a"]},
        {"conversationId": "{conv}", "message": ""},
        {"conversationId": "{conv}", "message": None},
        {"conversationId": "{conv}", "message": "a\x00b"},
        {"conversationId": "{conv}", "message": "hi", "regenerate": True},
        {"conversationId": "{conv}", "message": "hi", "extra": 1},
        ["not", "an", "object"],
        "just a string",
    ],
)
def test_chat_rejects_bad_bodies(client: TestClient, user: Account, fake, body) -> None:
    conv = new_conversation(client, user)
    if isinstance(body, dict):
        body = {k: (v.format(conv=conv) if isinstance(v, str) else v) for k, v in body.items()}
    for endpoint in ("/chat", "/chat/stream"):
        r = client.post(endpoint, headers=user.headers, json=body)
        assert r.status_code == 422, (endpoint, body, r.text)
        assert r.headers["content-type"].startswith("application/json")
        assert "detail" in r.json()
    assert fake.requests == []
    assert messages_of(client, user, conv) == []


def test_message_length_cap_is_422(client: TestClient, user: Account, settings, fake) -> None:
    conv = new_conversation(client, user)
    cap = settings.max_message_chars
    r = client.post(
        "/chat", headers=user.headers, json={"conversationId": conv, "message": "x" * (cap + 1)}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "message"]
    assert (
        client.post(
            "/chat", headers=user.headers, json={"conversationId": conv, "message": "x" * cap}
        ).status_code
        == 200
    )


def test_oversized_body_is_413(client: TestClient, user: Account, settings) -> None:
    conv = new_conversation(client, user)
    big = "x" * (settings.max_body_bytes + 10)
    r = client.post("/chat", headers=user.headers, json={"conversationId": conv, "message": big})
    assert r.status_code == 413
    assert "detail" in r.json()

    def chunks():
        yield b'{"conversationId": "' + conv.encode() + b'", "message": "'
        for _ in range(settings.max_body_bytes // 1000 + 2):
            yield b"y" * 1000
        yield b'"}'

    # Without Content-Length (chunked): counted while reading.
    r = client.post(
        "/chat",
        headers={**user.headers, "Content-Type": "application/json"},
        content=chunks(),
    )
    assert r.status_code == 413
    assert messages_of(client, user, conv) == []


def test_emoji_and_unicode_round_trip(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    text = "Olá 👋🏽 — ção, 日本語, עברית, 🧑‍🚀\n<script>alert(1)</script>"
    r = client.post("/chat", headers=user.headers, json={"conversationId": conv, "message": text})
    assert r.status_code == 200
    assert r.json()["answer"] == f"Echo: {text}"
    assert messages_of(client, user, conv)[0]["content"] == text
    assert fake.requests[-1].texts[-1] == text


def test_non_uuid_ids_in_paths(client: TestClient, user: Account) -> None:
    for path in ("/conversations/123", "/conversations/../etc", "/conversations/x/messages"):
        r = client.get(path, headers=user.headers)
        assert r.status_code in (404, 422)
        assert "detail" in r.json()
    r = client.get("/conversations/not-a-uuid", headers=user.headers)
    assert r.status_code == 422


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 10_000}, {"offset": -1}, {"limit": "abc"}, {"q": "x" * 201}],
)
def test_list_query_bounds(client: TestClient, user: Account, params) -> None:
    assert client.get("/conversations", headers=user.headers, params=params).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"title": None},
        {"title": 5},
        {"system_prompt": "x" * 4001},
        {"system_prompt": "a\x00"},
        {"owner": "me"},
    ],
)
def test_patch_validation(client: TestClient, user: Account, body) -> None:
    conv = new_conversation(client, user)
    r = client.patch(f"/conversations/{conv}", headers=user.headers, json=body)
    assert r.status_code == 422, body
    got = client.get(f"/conversations/{conv}", headers=user.headers).json()
    assert got["title"] == "Novo Chat" and got["system_prompt"] is None


def test_register_with_nul_and_wrong_types(client: TestClient) -> None:
    for body in (
        {
            "username": "ok_name",
            "email": "a@example.com",
            "password": "pass\x00word!",
            "password_confirm": "pass\x00word!",
        },
        {
            "username": 123,
            "email": "a@example.com",
            "password": "password1",
            "password_confirm": "password1",
        },
        {
            "username": "ok_name",
            "email": ["a@example.com"],
            "password": "password1",
            "password_confirm": "password1",
        },
    ):
        r = client.post("/register", json=body)
        assert r.status_code == 422


def test_unknown_path_and_method(client: TestClient) -> None:
    r = client.get("/nope")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = client.put("/chat", json={})
    assert r.status_code == 405 and "detail" in r.json()


def test_a_full_length_emoji_message_fits_even_ascii_escaped(
    client: TestClient, user: Account, settings, fake
) -> None:
    import json

    conv = new_conversation(client, user)
    body = json.dumps(
        {"conversationId": conv, "message": "🙂" * settings.max_message_chars},
        ensure_ascii=True,  # each emoji becomes a 12-byte surrogate pair escape
    )
    r = client.post(
        "/chat", headers={**user.headers, "Content-Type": "application/json"}, content=body
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/login", {"json": {"username": "al\x00ice", "password": "password1"}}),
        ("POST", "/login", {"data": {"username": "al\x00ice", "password": "password1"}}),
        ("GET", "/conversations", {"params": {"q": "a\x00b"}}),
    ],
)
def test_nul_bytes_are_422_everywhere(client: TestClient, user: Account, method, path, kwargs):
    r = client.request(method, path, headers=user.headers, **kwargs)
    assert r.status_code == 422, r.text


def test_whitespace_only_message_is_422(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    r = client.post("/chat", headers=user.headers, json={"conversationId": conv, "message": " \n "})
    assert r.status_code == 422
    assert fake.requests == []


def test_huge_before_id_is_422_not_500(client: TestClient, user: Account) -> None:
    conv = new_conversation(client, user)
    r = client.get(
        f"/conversations/{conv}/messages",
        headers=user.headers,
        params={"before": "99999999999999999999"},
    )
    assert r.status_code == 422
