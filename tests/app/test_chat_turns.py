"""One chat turn through the real LangChain Gemini client against the fake Gemini server:
the original contract, the memory each conversation feeds back, per-conversation system prompts."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.conftest import chat, new_conversation
from tests.fakes.fake_gemini import Behavior
from tests.helpers.accounts import Account


def test_chat_answers_the_original_contract(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    fake.push(Behavior(text="Olá! Como posso ajudar?"))
    r = chat(client, user, conv, "Oi")
    assert r.status_code == 200
    assert r.json() == {"answer": "Olá! Como posso ajudar?"}
    [sent] = fake.requests
    assert sent.api_key == "test-key"
    assert sent.texts == ["Oi"]
    assert "helpful" in sent.system_text  # the default system prompt


def test_the_model_receives_earlier_turns(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    chat(client, user, conv, "My name is Ana.")
    chat(client, user, conv, "I live in Recife.")
    chat(client, user, conv, "What is my name?")
    last = fake.requests[-1]
    assert last.texts == [
        "My name is Ana.",
        "Echo: My name is Ana.",
        "I live in Recife.",
        "Echo: I live in Recife.",
        "What is my name?",
    ]
    roles = [c["role"] for c in last.contents]
    assert roles == ["user", "model", "user", "model", "user"]


def test_conversations_have_separate_memories(client: TestClient, user: Account, fake) -> None:
    a, b = new_conversation(client, user), new_conversation(client, user)
    chat(client, user, a, "secret in A")
    chat(client, user, b, "hello B")
    assert fake.requests[-1].texts == ["hello B"]


def test_system_prompt_per_conversation(client: TestClient, user: Account, fake) -> None:
    conv = new_conversation(client, user)
    r = client.patch(
        f"/conversations/{conv}",
        headers=user.headers,
        json={"system_prompt": "Fale como um pirata."},
    )
    assert r.status_code == 200 and r.json()["system_prompt"] == "Fale como um pirata."
    chat(client, user, conv, "Oi")
    assert fake.requests[-1].system_text == "Fale como um pirata."
    client.patch(f"/conversations/{conv}", headers=user.headers, json={"system_prompt": None})
    chat(client, user, conv, "Oi de novo")
    assert "helpful" in fake.requests[-1].system_text
