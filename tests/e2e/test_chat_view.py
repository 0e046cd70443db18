"""The chat view's second pass: a loading state and a load error with Retry, a draft per
conversation, the length counter that refuses an over-long message, the model's name in the
header, autofocus, and "What the assistant remembers"."""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import Page, Route, expect

from tests.e2e.helpers import PageLog, answered, open_app, register, send, watch


def _reload(page: Page) -> None:
    page.reload()
    page.wait_for_selector("body.ready")


def _config(app_server) -> dict:
    with urllib.request.urlopen(f"{app_server.url}/config", timeout=5) as response:
        return json.load(response)


def test_loading_then_the_messages_and_a_failed_load_with_retry(
    page: Page, page_log, app_server, unique
):
    page_log.expected_statuses |= {500}
    open_app(page, app_server.url)
    register(page, unique("load"))
    send(page, "Remember this")
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: Remember this"])

    # Held: while the messages are on their way the screen says so (not the suggestions).
    held: list[Route] = []
    page.route("**/messages?*", lambda route: held.append(route))
    page.reload()  # body.ready waits for the messages: not here
    loading = page.locator("#chat-loading")
    expect(loading).to_be_visible()
    expect(loading).to_have_text("Loading the conversation…")
    expect(page.locator("#empty-state")).to_be_hidden()
    expect(page.locator("#messages")).to_have_attribute("aria-busy", "true")
    held[0].continue_()
    page.unroute("**/messages?*")
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: Remember this"])
    expect(loading).to_be_hidden()

    # A failed load is an error with Retry, which loads it.
    page.route("**/messages?*", lambda route: route.fulfill(status=500, body="{}"))
    _reload(page)
    error = page.locator("#chat-load-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("This conversation could not be loaded.")
    expect(error).to_contain_text("The server had a problem (500)")
    expect(page.locator("#empty-state")).to_be_hidden()
    expect(page.locator("#send-button")).to_be_disabled()
    page.unroute("**/messages?*")
    error.get_by_role("button", name="Retry").click()
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: Remember this"])
    expect(error).to_be_hidden()
    expect(page.locator("#send-button")).to_be_enabled()


def test_a_draft_per_conversation_kept_across_reloads(page: Page, app_server, unique):
    open_app(page, app_server.url)
    register(page, unique("draft"))
    composer = page.locator("#composer-input")
    send(page, "First chat")
    answered(page)
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: First chat"])
    first_url = page.url
    composer.fill("Half a thought for the first chat")

    # The new-chat screen has its own draft; switching swaps them.
    page.get_by_role("button", name="New chat").click()
    expect(composer).to_have_value("")
    composer.fill("A draft for a new chat")
    page.locator(".conversation-link").first.click()
    expect(composer).to_have_value("Half a thought for the first chat")

    # Kept across a reload, each with its conversation.
    _reload(page)
    expect(composer).to_have_value("Half a thought for the first chat")
    page.get_by_role("button", name="New chat").click()
    expect(composer).to_have_value("A draft for a new chat")

    # Sent: gone (a reload doesn't bring it back).
    page.goto(first_url)
    expect(composer).to_have_value("Half a thought for the first chat")
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: First chat"])
    composer.press("Enter")
    expect(page.locator(".message.ai .bubble")).to_have_text(
        ["Echo: First chat", "Echo: Half a thought for the first chat"]
    )
    _reload(page)
    expect(composer).to_have_value("")

    # Logged out: every draft of this user is removed from the browser.
    page.get_by_role("button", name="New chat").click()
    expect(composer).to_have_value("A draft for a new chat")
    page.get_by_role("button", name="Account").click()
    page.get_by_role("menuitem", name="Log out").click()
    expect(page.locator("#auth-view")).to_be_visible()
    drafts = page.evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('draft:'))")
    assert drafts == []


def test_the_counter_near_the_limit_and_an_over_long_message_refused(
    page: Page, app_server, unique
):
    limit = _config(app_server)["limits"]["max_message_chars"]
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/chat/stream" in r.url else None)
    open_app(page, app_server.url)
    register(page, unique("count"))
    composer = page.locator("#composer-input")
    counter = page.locator("#composer-counter")

    composer.fill("a" * (limit // 2))
    expect(counter).to_be_hidden()
    composer.fill("a" * limit)
    expect(counter).to_be_visible()
    expect(counter).to_have_text(f"{limit:,} / {limit:,} characters")
    expect(page.locator("#send-button")).to_be_enabled()

    composer.fill("a" * (limit + 5))
    expect(counter).to_have_text(
        f"{limit + 5:,} / {limit:,} characters — too long to send: remove 5."
    )
    expect(counter).to_have_class("composer-counter over")
    assert counter.evaluate("e => getComputedStyle(e).color") != page.locator(
        ".composer-hint"
    ).evaluate("e => getComputedStyle(e).color")
    expect(page.locator("#send-button")).to_be_disabled()
    expect(composer).to_have_attribute("aria-invalid", "true")
    composer.press("Enter")
    expect(page.locator(".message")).to_have_count(0)
    expect(page.locator("#chat-error")).to_be_hidden()  # refused here: no useless Retry
    assert sent == []

    # Shortened, it goes.
    composer.fill("a" * 10)
    expect(counter).to_be_hidden()
    composer.press("Enter")
    expect(page.locator(".message.user")).to_have_count(1)


def test_the_models_name_in_the_header(page: Page, app_server, unique):
    label = _config(app_server)["model"]["label"]
    open_app(page, app_server.url)
    register(page, unique("model"))
    expect(page.locator("#chat-model")).to_have_text(label)
    send(page, "Hi")
    answered(page)
    expect(page.locator(".chat-header #chat-model")).to_have_text(label)


def test_autofocus_on_first_visit_after_a_reload_and_after_new_chat(page: Page, app_server, unique):
    open_app(page, app_server.url)
    expect(page.locator("#login-username")).to_be_focused()
    register(page, unique("focus"))
    send(page, "Hello")
    answered(page)
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: Hello"])
    _reload(page)
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: Hello"])
    expect(page.locator("#composer-input")).to_be_focused()
    page.get_by_role("button", name="New chat").click()
    expect(page.locator("#composer-input")).to_be_focused()


def test_what_the_assistant_remembers(page: Page, app_server, unique):
    open_app(page, app_server.url)
    register(page, unique("memory"))
    expect(page.get_by_role("button", name="What the assistant remembers")).to_be_hidden()
    send(page, "My cat is called Zorblax")
    answered(page)
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: My cat is called Zorblax"])

    # A short conversation: nothing summarised yet.
    page.get_by_role("button", name="What the assistant remembers").click()
    dialog = page.get_by_role("dialog", name="What the assistant remembers")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(
        "Nothing summarised yet — the assistant reads the whole conversation."
    )
    expect(dialog).to_contain_text("The latest 2 messages")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="What the assistant remembers")).to_be_focused()

    # With a summary: its text as text (markup in it stays characters), what it covers.
    summary = {
        "summary": {
            "content": "- the user's cat is called Zorblax\n- <img src=x onerror=alert(1)>",
            "through_message_id": 2,
            "covered_messages": 288,
            "token_estimate": 64,
            "model": "gemini-2.5-flash",
            "input_tokens": 10,
            "output_tokens": 5,
            "created_at": "2026-12-01T23:41:08Z",
        },
        "window": {"messages": 14, "tokens": 1290, "first_message_id": 3},
    }
    page.route("**/memory", lambda route: route.fulfill(json=summary))
    page.get_by_role("button", name="What the assistant remembers").click()
    expect(dialog).to_contain_text("A summary of the first 288 messages")
    text = dialog.locator(".memory-summary")
    expect(text).to_have_text(summary["summary"]["content"])
    expect(dialog.locator("img")).to_have_count(0)
    expect(dialog).to_contain_text("The latest 14 messages (about 1,290 tokens)")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_memory_in_portuguese(new_context, app_server, unique):
    page = new_context(locale="pt-BR").new_page()
    log = watch(page, PageLog())
    open_app(page, app_server.url)
    page.get_by_label("Idioma").select_option("en")
    register(page, unique("memoria"))
    send(page, "Oi")
    answered(page)
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: Oi"])
    page.get_by_label("Language").select_option("pt-BR")
    page.get_by_role("button", name="O que o assistente lembra").click()
    expect(page.get_by_role("dialog")).to_contain_text(
        "Nada resumido ainda — o assistente lê a conversa inteira."
    )
    assert log.unexpected_errors() == []
