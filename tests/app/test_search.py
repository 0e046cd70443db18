"""Message search: owner-scoped, ranked, safe with any input, and an index that follows every
insert, update and delete — made through the API and through plain SQL alike."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.search import Query, make_snippet
from tests.app.conftest import TEST_DATABASE_URL, new_conversation
from tests.fakes.fake_gemini import Behavior, FakeGemini
from tests.helpers.accounts import PASSWORD, Account, register_and_login


def chat(client: TestClient, account: Account, conv: str, message: str) -> None:
    r = client.post(
        "/chat", headers=account.headers, json={"conversationId": conv, "message": message}
    )
    assert r.status_code == 200, r.text


def search(client: TestClient, account: Account, q: str, **params: object) -> dict:
    r = client.get("/search", headers=account.headers, params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()


def found(client: TestClient, account: Account, q: str) -> list[str]:
    return [hit["snippet"] for hit in search(client, account, q)["items"]]


def sql(app: FastAPI, statement: str, **params: object) -> None:
    """A write through the app's own engine (foreign keys on, as the app runs)."""
    with app.state.services.session_factory() as session, session.begin():
        session.execute(text(statement), params)


def test_finds_words_in_questions_and_answers_owner_scoped(
    client: TestClient, user: Account, fake: FakeGemini
) -> None:
    conv = new_conversation(client, user)
    fake.push(Behavior(text="Recife fica em Pernambuco."))
    chat(client, user, conv, "Onde fica a cidade de Recife?")
    other = register_and_login(client, "bob")
    chat(client, other, new_conversation(client, other), "Recife secret of bob")

    body = search(client, user, "recife")
    assert {hit["role"] for hit in body["items"]} == {"user", "ai"}
    assert all(hit["conversation_id"] == conv for hit in body["items"])
    assert "secret" not in str(body)
    hit = body["items"][0]
    assert set(hit) == {
        "conversation_id",
        "conversation_title",
        "message_id",
        "role",
        "snippet",
        "highlights",
        "created_at",
        "rank",
    }
    start, end = hit["highlights"][0]
    assert hit["snippet"][start:end] == "Recife"
    assert sorted(found(client, other, "secret")) == [
        "Echo: Recife secret of bob",
        "Recife secret of bob",
    ]
    assert found(client, other, "Pernambuco") == []


def test_accents_case_and_prefix_of_the_last_word(
    client: TestClient, user: Account, fake: FakeGemini
) -> None:
    conv = new_conversation(client, user)
    fake.push(Behavior(text="ok"))
    chat(client, user, conv, "Preciso de INFORMAÇÃO sobre a viagem")
    assert len(found(client, user, "informacao")) == 1
    assert len(found(client, user, "Informação viag")) == 1  # typing: "viag" is a prefix
    assert found(client, user, "viag ") == []  # a finished word must match whole
    assert found(client, user, "vi") == []  # prefixes start at 3 characters
    assert found(client, user, "informação ônibus") == []  # every word must match


def test_ranked_best_first_with_paging(client: TestClient, user: Account, fake: FakeGemini) -> None:
    conv = new_conversation(client, user)
    fake.push(Behavior(text="Nothing about it."))
    chat(client, user, conv, "A long message " + "with many other words " * 20 + "and one kiwi.")
    fake.push(Behavior(text="kiwi kiwi kiwi, all kiwi"))
    chat(client, user, conv, "short")
    items = search(client, user, "kiwi")["items"]
    assert [hit["role"] for hit in items] == ["ai", "user"]
    assert items[0]["rank"] > items[1]["rank"]
    first = search(client, user, "kiwi", limit=1)
    rest = search(client, user, "kiwi", limit=1, offset=1)
    assert first["has_more"] and not rest["has_more"]
    assert [h["message_id"] for h in first["items"] + rest["items"]] == [
        h["message_id"] for h in items
    ]


@pytest.mark.parametrize(
    "q",
    [
        'NOT "x" OR',
        "owner : 1",
        "content:(a) NEAR(b c)",
        "*",
        "a' & b:* | !c",
        "^start -minus +plus",
        "(((",
        "!!!",
        "ação)' ; DROP TABLE messages; --",
    ],
)
def test_query_syntax_in_the_text_is_just_words(
    client: TestClient, user: Account, fake: FakeGemini, q: str
) -> None:
    conv = new_conversation(client, user)
    chat(client, user, conv, "plain words owner content near start minus plus")
    body = search(client, user, q)
    assert body["items"] == [] or all(h["conversation_id"] == conv for h in body["items"])
    assert found(client, user, "plain") != []  # and the table is still there


def test_operators_are_searched_as_words(client: TestClient, user: Account, fake) -> None:
    chat(client, user, new_conversation(client, user), "to be OR NOT to be")
    assert len(found(client, user, "or not")) == 2  # question and the echoed answer
    assert found(client, user, "OR NOT absent") == []


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 422),
        ({"q": ""}, 422),
        ({"q": "x" * 201}, 422),
        ({"q": "a\x00b"}, 422),
        ({"q": "ok", "limit": 0}, 422),
        ({"q": "ok", "limit": 51}, 422),
        ({"q": "ok", "offset": -1}, 422),
        ({"q": "ok", "offset": 1001}, 422),
        ({"q": "ok", "limit": "many"}, 422),
    ],
)
def test_bad_input_is_a_422(client: TestClient, user: Account, params: dict, status: int) -> None:
    r = client.get("/search", headers=user.headers, params=params)
    assert r.status_code == status, r.text
    assert "detail" in r.json()


def test_lone_surrogate_is_a_422(client: TestClient, user: Account) -> None:
    from app.schemas import _storable

    with pytest.raises(ValueError, match="surrogates"):
        _storable("a\ud800b")
    # Over HTTP a lone surrogate can only arrive as invalid UTF-8, which is decoded to U+FFFD:
    r = client.get("/search?q=%ED%A0%80", headers=user.headers)
    assert r.status_code in (200, 422), r.text


def test_needs_authentication(client: TestClient) -> None:
    r = client.get("/search", params={"q": "x"})
    assert r.status_code == 401
    assert r.json() == {"detail": "Not authenticated"}


def test_index_follows_inserts_updates_and_deletes(
    client: TestClient, app: FastAPI, user: Account, fake: FakeGemini
) -> None:
    conv = new_conversation(client, user)
    fake.push(Behavior(text="first answer about mangoes"))
    chat(client, user, conv, "tell me about fruit")
    assert found(client, user, "mangoes") == ["first answer about mangoes"]

    # Regenerate adds a version: the old answer is kept (and found), the new one is found too.
    fake.push(Behavior(text="second answer about papayas"))
    regenerate = {"conversationId": conv, "regenerate": True}
    r = client.post("/chat", headers=user.headers, json=regenerate)
    assert r.status_code == 200, r.text
    assert found(client, user, "mangoes") == ["first answer about mangoes"]
    assert found(client, user, "papayas") == ["second answer about papayas"]

    # An answer that grows while it streams is a row whose content is UPDATEd.
    sql(
        app,
        "UPDATE messages SET content = content || ' and guavas' WHERE content LIKE '%papayas%'",
    )
    assert found(client, user, "guavas") == ["second answer about papayas and guavas"]
    assert found(client, user, "papayas guavas") != []

    sql(app, "DELETE FROM messages WHERE content LIKE '%guavas%'")
    assert found(client, user, "papayas") == []
    assert found(client, user, "fruit") == ["tell me about fruit"]


def test_deleting_a_conversation_or_an_account_empties_the_index(
    client: TestClient, app: FastAPI, user: Account, fake: FakeGemini
) -> None:
    kept, dropped = new_conversation(client, user), new_conversation(client, user)
    chat(client, user, kept, "lychee kept")
    chat(client, user, dropped, "lychee dropped")
    assert client.delete(f"/conversations/{dropped}", headers=user.headers).status_code == 204
    assert all("dropped" not in s for s in found(client, user, "lychee"))

    # A cascade from a plain SQL delete, which the API never does, is followed too.
    via_sql = new_conversation(client, user)
    chat(client, user, via_sql, "lychee cascaded")
    sql(
        app,
        "DELETE FROM conversations WHERE id IN"
        " (SELECT conversation_id FROM messages WHERE content = 'lychee cascaded')",
    )
    assert all("cascaded" not in s for s in found(client, user, "lychee"))

    r = client.request("DELETE", "/me", headers=user.headers, json={"password": PASSWORD})
    assert r.status_code == 204
    again = register_and_login(client, "alice")  # same name; on SQLite never the same id
    assert found(client, again, "lychee") == []
    chat(client, again, new_conversation(client, again), "lychee anew")
    assert sorted(found(client, again, "lychee")) == ["Echo: lychee anew", "lychee anew"]
    _assert_index_consistent(app)


def test_deleting_a_user_row_cascades_through_the_index(
    client: TestClient, app: FastAPI, user: Account, fake: FakeGemini
) -> None:
    other = register_and_login(client, "bob")
    chat(client, user, new_conversation(client, user), "durian of alice")
    chat(client, other, new_conversation(client, other), "durian of bob")
    sql(app, "DELETE FROM users WHERE id = :id", id=user.id)
    assert found(client, other, "durian") != []
    with app.state.services.session_factory() as session:
        left = session.execute(text("SELECT count(*) FROM messages")).scalar()
    assert left == 2
    _assert_index_consistent(app)


def _assert_index_consistent(app: FastAPI) -> None:
    """On SQLite, FTS5's own check of the index's structure, and every indexed row is a
    message (a wrong 'delete' would leave rows behind or corrupt the table)."""
    if TEST_DATABASE_URL:
        return
    with app.state.services.session_factory() as session, session.begin():
        session.execute(text("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')"))
        words = session.execute(
            text(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'lychee OR durian'"
                " AND rowid NOT IN (SELECT id FROM messages)"
            )
        ).scalar()
    assert words == 0


# -- the query and the snippet, without a database -------------------------------------------
def test_query_parsing() -> None:
    assert Query.parse("  Ação, viag") == Query(("Ação", "viag"), True)
    assert Query.parse("ação viagem ") == Query(("ação", "viagem"), False)
    assert Query.parse("to") == Query(("to",), False)
    assert Query.parse("!!!") == Query((), False)
    assert Query.parse(" ".join(f"w{i}" for i in range(40))).terms[-1] == "w15"
    assert Query.parse('say "NOT" x').fts5(7) == 'owner : "7" AND content : ("say" "NOT" "x")'
    assert Query.parse("abc").tsquery() == "'abc':*"


def test_snippet_windows_the_match_and_counts_code_points() -> None:
    content = "🙂 " + "palavra " * 60 + "\n\n  o   ônibus   chegou\t" + "fim " * 60
    snippet, highlights = make_snippet(content, Query.parse("onibus chegou"))
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "\n" not in snippet and "  " not in snippet
    assert [snippet[s:e] for s, e in highlights] == ["ônibus", "chegou"]
    assert len(snippet) <= 164

    short, marks = make_snippet("🙂🙂 Olá MUNDO", Query.parse("mundo"))
    assert short == "🙂🙂 Olá MUNDO"
    assert [short[s:e] for s, e in marks] == ["MUNDO"]  # Python indexes code points too

    untouched, none = make_snippet("x" * 500, Query.parse("absent"))
    assert none == [] and untouched.endswith("…") and not untouched.startswith("…")
