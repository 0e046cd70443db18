"""Edit and versions: messages form a tree, a conversation views one branch, and memory
follows the branch being viewed."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.app.conftest import messages_of, new_conversation, parse_sse
from tests.fakes.fake_gemini import Behavior
from tests.helpers.accounts import Account


def chat(client: TestClient, account: Account, conv: str, **body: object) -> dict:
    r = client.post("/chat", headers=account.headers, json={"conversationId": conv, **body})
    assert r.status_code == 200, r.text
    return r.json()


def switch(client: TestClient, account: Account, conv: str, message_id: int) -> list[dict]:
    r = client.put(
        f"/conversations/{conv}/leaf", headers=account.headers, json={"message_id": message_id}
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_regenerate_keeps_the_earlier_answer_as_a_version(
    client: TestClient, user: Account, fake
) -> None:
    conv = new_conversation(client, user)
    fake.push(Behavior(text="first answer"))
    chat(client, user, conv, message="q")
    fake.push(Behavior(text="second answer"))
    r = client.post(
        "/chat/stream", headers=user.headers, json={"conversationId": conv, "regenerate": True}
    )
    assert parse_sse(r.text)[-1][0] == "done"
    question, answer = messages_of(client, user, conv)
    assert answer["content"] == "second answer"
    assert (answer["version"], answer["versions"]) == (2, 2)
    assert (question["version"], question["versions"]) == (1, 1)
    assert question["sibling_ids"] == [question["id"]]
    old_id = answer["sibling_ids"][0]
    # Switching to the first version shows it, with its place among the versions.
    path = switch(client, user, conv, old_id)
    assert [m["content"] for m in path] == ["q", "first answer"]
    assert (path[1]["version"], path[1]["versions"]) == (1, 2)
    assert messages_of(client, user, conv) == path
    # The next turn continues the branch being viewed: the model sees the first answer.
    chat(client, user, conv, message="go on")
    assert fake.requests[-1].texts == ["q", "first answer", "go on"]


def test_edit_a_question_continues_from_there_and_keeps_the_old_branch(
    client: TestClient, user: Account, fake
) -> None:
    conv = new_conversation(client, user)
    for text in ("one", "two", "three"):
        chat(client, user, conv, message=text)
    original = messages_of(client, user, conv)
    two = original[2]
    assert two["content"] == "two"
    # Resend "two" edited: a new version of that question, continuing from its parent.
    r = client.post(
        "/chat/stream",
        headers=user.headers,
        json={"conversationId": conv, "message": "two, edited", "editOf": two["id"]},
    )
    assert parse_sse(r.text)[-1][0] == "done"
    assert fake.requests[-1].texts == ["one", "Echo: one", "two, edited"]
    edited = messages_of(client, user, conv)
    assert [m["content"] for m in edited] == [
        "one",
        "Echo: one",
        "two, edited",
        "Echo: two, edited",
    ]
    assert edited[2]["parent_id"] == two["parent_id"]
    assert (edited[2]["version"], edited[2]["versions"]) == (2, 2)
    assert edited[2]["sibling_ids"] == [two["id"], edited[2]["id"]]
    # Back to the first version of the question: its whole continuation is still there.
    assert switch(client, user, conv, two["id"]) == _same_except_versions(original)
    assert [m["content"] for m in messages_of(client, user, conv)] == [
        m["content"] for m in original
    ]
    # Forward again, and memory follows that branch.
    switch(client, user, conv, edited[2]["id"])
    chat(client, user, conv, message="and?")
    assert fake.requests[-1].texts == [
        "one",
        "Echo: one",
        "two, edited",
        "Echo: two, edited",
        "and?",
    ]
    # POST /chat kept its original contract throughout.
    assert chat(client, user, conv, message="plain") == {"answer": "Echo: plain"}


def _same_except_versions(original: list[dict]) -> list[dict]:
    """`original` as listed after the edit: the edited question now has two versions."""
    out = [dict(m) for m in original]
    out[2]["versions"] = 2
    out[2]["sibling_ids"] = [original[2]["id"], original[2]["id"] + 4]
    return out


def test_editing_the_first_question_makes_a_second_root(
    client: TestClient, user: Account, fake
) -> None:
    conv = new_conversation(client, user)
    chat(client, user, conv, message="hello")
    chat(client, user, conv, message="more")
    first = messages_of(client, user, conv)[0]
    chat(client, user, conv, message="hi instead", editOf=first["id"])
    assert fake.requests[-1].texts == ["hi instead"]
    path = messages_of(client, user, conv)
    assert [m["content"] for m in path] == ["hi instead", "Echo: hi instead"]
    assert path[0]["parent_id"] is None and path[0]["versions"] == 2
    # The newest descendant is followed when switching to the old root.
    assert [m["content"] for m in switch(client, user, conv, first["id"])] == [
        "hello",
        "Echo: hello",
        "more",
        "Echo: more",
    ]


def test_editing_an_answer_or_an_unknown_message_is_404(
    client: TestClient, user: Account, fake
) -> None:
    conv = new_conversation(client, user)
    chat(client, user, conv, message="q")
    answer = messages_of(client, user, conv)[1]
    for target in (answer["id"], 999_999):
        r = client.post(
            "/chat",
            headers=user.headers,
            json={"conversationId": conv, "message": "x", "editOf": target},
        )
        assert r.status_code == 404, r.text
    # Nothing changed, and the conversation is free.
    assert len(messages_of(client, user, conv)) == 2
    assert chat(client, user, conv, message="next")["answer"] == "Echo: next"


def test_paging_follows_the_branch(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    for i in range(5):
        chat(client, user, conv, message=f"m{i}")
    chat(client, user, conv, regenerate=True)  # a second version of the last answer
    page = client.get(
        f"/conversations/{conv}/messages", headers=user.headers, params={"limit": 4}
    ).json()
    assert page["has_more"] is True
    assert [m["content"] for m in page["items"]] == ["m3", "Echo: m3", "m4", "Echo: m4"]
    older = client.get(
        f"/conversations/{conv}/messages",
        headers=user.headers,
        params={"limit": 4, "before": page["items"][0]["id"]},
    ).json()
    assert [m["content"] for m in older["items"]] == ["m1", "Echo: m1", "m2", "Echo: m2"]
    rest = client.get(
        f"/conversations/{conv}/messages",
        headers=user.headers,
        params={"limit": 4, "before": older["items"][0]["id"]},
    ).json()
    assert [m["content"] for m in rest["items"]] == ["m0", "Echo: m0"]
    assert rest["has_more"] is False


def test_export_has_every_version_with_parent_and_state(
    client: TestClient, user: Account, fake
) -> None:
    conv = new_conversation(client, user)
    chat(client, user, conv, message="q")
    chat(client, user, conv, regenerate=True)
    exported = json.loads(client.get("/me/export", headers=user.headers).content)
    [conversation] = exported["conversations"]
    messages = conversation["messages"]
    assert [(m["role"], m["state"]) for m in messages] == [
        ("user", "done"),
        ("ai", "done"),
        ("ai", "done"),
    ]
    assert messages[0]["parent_id"] is None
    assert messages[1]["parent_id"] == messages[2]["parent_id"] == messages[0]["id"]
    assert messages[2]["model"] == "gemini-2.5-flash" and messages[2]["output_tokens"] > 0


def test_the_memory_window_is_bounded_on_a_long_branch(
    client: TestClient, settings_factory, fake
) -> None:
    """The window walks the parent links up from the leaf and stops at its cap, however
    long the conversation and however many versions it has."""
    from app.main import create_app
    from tests.helpers.accounts import register_and_login

    settings = settings_factory(history_max_messages=6)
    with TestClient(create_app(settings)) as c:
        account = register_and_login(c, "brancher")
        conv = new_conversation(c, account)
        for i in range(8):
            chat(c, account, conv, message=f"m{i}")
            chat(c, account, conv, regenerate=True)
        chat(c, account, conv, message="last")
        sent = fake.requests[-1].texts
        assert sent == ["m5", "Echo: m5", "m6", "Echo: m6", "m7", "Echo: m7", "last"]
