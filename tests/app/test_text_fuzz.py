"""Every field that takes text, fed strings that break naive code: lone surrogates (valid
JSON, invalid Unicode), NUL, control and direction marks, emoji, huge text, and random
mixes of them. No answer may be a 5xx; text that can't be stored is a 422 naming the field;
everything else is stored and read back exactly."""

from __future__ import annotations

import json
import random

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import new_conversation, parse_sse
from tests.helpers.accounts import PASSWORD, Account

# Can't be stored anywhere: a 422 on every field.
UNSTORABLE = [
    "\ud800",  # lone high surrogate
    "\udfff",  # lone low surrogate
    "ok \udc80 ok",
    "\ud83d",  # half of an emoji's pair
    "🌍\ud800🌍",
    "a\x00b",
    "\x00",
]
# Odd but valid text.
STORABLE = [
    "🌍👩‍💻🇧🇷",  # astral plane, ZWJ sequence, flag
    "\u202eRTL override\u202c \u200f\u200e",
    "\u200b\ufeffzero width",
    "e\u0301" * 50,  # combining marks
    "\x1b[31mred\x1b[0m \x07 \x7f",
    "\r\n\t tabs and lines \u2028\u2029",
    "\uffff \U0010ffff \ufffd",
    '\'; DROP TABLE users; -- %_\\ "quoted"',
    "日本語のテキスト 한국어 العربية",
]


def _mixes(count: int, seed: int = 9) -> list[str]:
    """Random concatenations of the pieces above (the seed keeps failures reproducible)."""
    rng = random.Random(seed)
    pieces = [*UNSTORABLE, *STORABLE, "a", " ", "z" * 10]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(2, 5))) for _ in range(count)]


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


NASTY = [*UNSTORABLE, *STORABLE, *_mixes(4)]
HUGE = "🙂\u202e\ud800" * 60_000  # beyond the body cap however it is escaped


def _post_json(client: TestClient, path: str, body: dict, headers: dict | None = None):
    # \u-escaped, as a browser's JSON.stringify sends a lone surrogate.
    content = json.dumps(body, ensure_ascii=True)
    return client.request(
        "POST" if path != "/me" else "DELETE",
        path,
        content=content,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def _check(r, text: str, field: str, *, ok: tuple[int, ...]) -> None:
    assert r.status_code < 500, (field, text, r.status_code, r.text)
    assert "application/json" in r.headers["content-type"], (field, r.text)
    if not _storable(text):
        assert r.status_code == 422, (field, text, r.text)
        detail = r.json()["detail"]
        assert any(e["loc"][-1] == field for e in detail), detail
    else:
        assert r.status_code in ok, (field, text, r.status_code, r.text)


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_account_fields(client: TestClient, user: Account, text: str) -> None:
    good = {"username": "fuzz_user", "email": "fuzz@example.com"}
    for field in ("username", "email", "password", "password_confirm"):
        body = {**good, "password": PASSWORD, "password_confirm": PASSWORD, field: text}
        # Valid text still fails the username/email/password rules, or is a mismatch.
        _check(_post_json(client, "/register", body), text, field, ok=(201, 409, 422))
    for field in ("username", "password"):
        body = {"username": "alice", "password": "wrong password", field: text}
        _check(_post_json(client, "/login", body), text, field, ok=(401, 422))
    for field in ("current_password", "new_password", "new_password_confirm"):
        body = {
            "current_password": "wrong password",
            "new_password": "another password",
            "new_password_confirm": "another password",
            field: text,
        }
        r = _post_json(client, "/me/password", body, user.headers)
        _check(r, text, field, ok=(401, 422))
    r = _post_json(client, "/me", {"password": text}, user.headers)
    _check(r, text, "password", ok=(401,))
    # The account still works.
    assert client.get("/me", headers=user.headers).status_code == 200


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_login_form(client: TestClient, text: str) -> None:
    # A form is percent-encoded UTF-8; a lone surrogate can't even be sent that way, so
    # send the bytes its naive encoding would give, and the decoded text must still be safe.
    raw = text.encode("utf-8", "surrogatepass")
    r = client.post(
        "/login",
        content=b"username=" + raw + b"&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code in (401, 422), r.text


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_conversation_and_chat_fields(client: TestClient, user: Account, fake, text: str) -> None:
    conv = new_conversation(client, user)
    for field in ("title", "system_prompt"):
        r = client.request(
            "PATCH",
            f"/conversations/{conv}",
            content=json.dumps({field: text}, ensure_ascii=True),
            headers={**user.headers, "Content-Type": "application/json"},
        )
        # A title of only whitespace-like characters is a 422 of its own rules.
        _check(r, text, field, ok=(200, 422))
        if r.status_code == 200:
            stored = r.json()[field]
            assert stored == (text.strip() if field == "title" else text)
    if _storable(text):  # a URL can't even carry the others
        r = client.get("/conversations", headers=user.headers, params={"q": text})
        assert r.status_code in (200, 422), r.text
    for path in ("/chat", "/chat/stream"):
        r = _post_json(client, path, {"conversationId": conv, "message": text}, user.headers)
        assert r.status_code < 500, (path, text, r.text)
        if not _storable(text):
            assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "message"
        elif text.strip():
            assert r.status_code == 200, r.text
            if path == "/chat/stream":
                assert parse_sse(r.text)[-1][0] == "done"
    # Whatever was stored reads back, and the export is still one valid JSON document.
    r = client.get(f"/conversations/{conv}/messages", headers=user.headers)
    assert r.status_code == 200
    assert all(m["content"] == text for m in r.json()["items"] if m["role"] == "user")
    assert json.loads(client.get("/me/export", headers=user.headers).content)["conversations"]


def test_huge_text_is_refused_without_an_error(client: TestClient, user: Account) -> None:
    conv = new_conversation(client, user)
    for path, body in (
        ("/chat", {"conversationId": conv, "message": HUGE}),
        ("/register", {"username": HUGE, "email": HUGE, "password": HUGE,
                       "password_confirm": HUGE}),
        ("/login", {"username": HUGE, "password": HUGE}),
    ):  # fmt: skip
        r = _post_json(client, path, body, user.headers)
        assert r.status_code == 413, (path, r.status_code)
        assert "detail" in r.json()
