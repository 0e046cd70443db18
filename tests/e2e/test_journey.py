"""The main path a user takes, end to end, in one browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import PASSWORD, login, open_app, register, row_action, send
from tests.fakes.fake_gemini import Behavior

LONG_ANSWER = " ".join(f"word{i}" for i in range(1, 31))


def answer_text(page: Page) -> str:
    return page.locator(".message.ai .bubble").last.inner_text()


def test_register_chat_reload_rename_search_delete_logout_login(
    page: Page, app_server, gemini, unique
):
    username = unique("journey")
    open_app(page, app_server.url)
    register(page, username)

    # New chat, then a slow streamed answer that must grow in front of the user's eyes.
    page.get_by_role("button", name="New chat").click()
    gemini.fake.push(Behavior(text=LONG_ANSWER, chunk_delay=0.15))
    send(page, "Tell me about penguins")
    expect(page.locator(".conversation.active")).to_have_count(1)
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_visible()
    bubble = page.locator(".message.ai .bubble").last
    expect(bubble).to_contain_text("word2")
    seen = [len(answer_text(page))]
    page.wait_for_function(
        "n => document.querySelector('.message.ai:last-child .bubble').innerText.length > n",
        arg=seen[0] + 5,
    )
    seen.append(len(answer_text(page)))
    assert seen[1] > seen[0], seen
    assert "word30" not in answer_text(page), "the whole answer arrived at once"
    expect(bubble).to_contain_text("word30")
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_hidden()
    # The automatic title arrives with the `done` event.
    expect(page.locator(".conversation.active .conversation-title")).to_have_text(
        re.compile("penguins", re.I)
    )
    expect(page.locator("#chat-title")).to_have_text(re.compile("penguins", re.I))

    # A second conversation, so search has something to filter out.
    page.get_by_role("button", name="New chat").click()
    send(page, "Quick question about volcanoes")
    expect(page.locator(".message.ai .bubble").last).to_contain_text("Echo: Quick question")
    expect(page.locator(".conversation")).to_have_count(2)
    # Newest activity first.
    expect(page.locator(".conversation").first).to_contain_text(re.compile("volcanoes", re.I))

    # History comes back after a reload, on the same conversation.
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".conversation")).to_have_count(2)
    expect(page.locator(".message.user")).to_have_text(["Quick question about volcanoes"])
    page.locator(".conversation-link", has_text=re.compile("penguins", re.I)).click()
    expect(page.locator(".message.ai .bubble")).to_contain_text(["word1 word2"])
    expect(page.locator(".message.user")).to_have_text(["Tell me about penguins"])

    # Rename inline, from the row's menu.
    row_action(page, page.locator(".conversation.active"), "Rename")
    rename = page.get_by_role("textbox", name="New title")
    rename.fill("Antarctic birds")
    rename.press("Enter")
    expect(page.locator(".conversation.active .conversation-title")).to_have_text("Antarctic birds")
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".conversation.active .conversation-title")).to_have_text("Antarctic birds")

    # Search by title.
    page.get_by_role("searchbox", name="Search conversations").fill("antarctic")
    expect(page.locator(".conversation")).to_have_count(1)
    page.get_by_role("searchbox", name="Search conversations").fill("no such title")
    expect(page.locator(".conversation")).to_have_count(0)
    expect(page.locator("#conversation-empty")).to_have_text("No conversation matches.")
    page.get_by_role("searchbox", name="Search conversations").fill("")
    expect(page.locator(".conversation")).to_have_count(2)

    # Delete with confirmation: cancel first, then confirm.
    row_action(page, page.locator(".conversation.active"), "Delete")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator(".conversation")).to_have_count(2)
    row_action(page, page.locator(".conversation.active"), "Delete")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator(".conversation")).to_have_count(1)
    expect(page.locator("#empty-state")).to_be_visible()
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".conversation")).to_have_count(1)

    # Log out, and back in: the remaining conversation is there.
    page.get_by_role("button", name=re.compile("^Account")).click()
    page.get_by_role("menuitem", name="Log out").click()
    expect(page.locator("#auth-view")).to_be_visible()
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator("#auth-view")).to_be_visible()
    login(page, username, PASSWORD)
    expect(page.locator(".conversation")).to_have_count(1)
    expect(page.locator(".conversation")).to_contain_text(re.compile("volcanoes", re.I))


def test_login_errors_are_shown_inline(page: Page, page_log, app_server, unique):
    page_log.expected_statuses |= {401, 409, 422}
    username = unique("taken")
    open_app(page, app_server.url)
    register(page, username)
    page.get_by_role("button", name=re.compile("^Account")).click()
    page.get_by_role("menuitem", name="Log out").click()

    login_form = page.locator("#login-form")
    page.fill("#login-username", username)
    page.fill("#login-password", "wrong password")
    login_form.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-form-error")).to_have_text("Wrong username or password.")

    # The show-password toggle.
    toggle = login_form.get_by_role("button", name="Show password")
    toggle.click()
    expect(page.locator("#login-password")).to_have_attribute("type", "text")
    expect(login_form.get_by_role("button", name="Hide password")).to_be_visible()

    page.get_by_role("tab", name="Sign up").click()
    page.fill("#register-username", username)
    page.fill("#register-email", f"other-{username}@example.com")
    page.fill("#register-password", PASSWORD)
    page.fill("#register-password_confirm", PASSWORD)
    page.locator("#register-form").get_by_role("button", name="Create account").click()
    # 409 taken username, shown under the username field.
    expect(page.locator("#register-username-error")).to_be_visible()
    expect(page.locator("#register-username")).to_have_attribute("aria-invalid", "true")

    # 422 from the API mapped to its field (loc[1]).
    page.fill("#register-username", unique("fresh"))
    page.fill("#register-email", "not-an-email")
    page.locator("#register-form").get_by_role("button", name="Create account").click()
    expect(page.locator("#register-email-error")).to_be_visible()
    expect(page.locator("#register-email")).to_have_attribute("aria-invalid", "true")


def test_the_default_title_is_translated_until_the_first_answer(
    page: Page, page_log, app_server, gemini, unique
):
    """The server's "Novo Chat" shows as "New chat" / "Nova conversa" while the conversation
    is not renamed (title_is_custom false) and has no saved turn; a rename to that very text
    is the user's title and shows as written."""
    page_log.expected_statuses |= {502, 503}
    open_app(page, app_server.url)
    register(page, unique("title"))
    # A conversation is stored when its first message is sent; one whose first answer failed
    # stays with the default title, which is shown translated.
    gemini.fake.push(*[Behavior(kind="error", status=503)] * 3)
    send(page, "Hello")
    expect(page.locator("#chat-error")).to_be_visible()
    gemini.fake.reset()
    link = page.locator(".conversation.active .conversation-link .conversation-title")
    expect(link).to_have_text("New chat")
    expect(page.locator("#chat-title")).to_have_text("New chat")
    page.get_by_label("Language").select_option("pt-BR")
    expect(link).to_have_text("Nova conversa")
    # After a reload the list item comes from GET /conversations.
    page.reload()
    page.wait_for_selector("body.ready")
    expect(link).to_have_text("Nova conversa")
    page.get_by_label("Idioma").select_option("en")

    send(page, "Novo Chat")  # the automatic title happens to equal the default text
    expect(page.locator(".message.ai .bubble").last).to_contain_text("Echo: Novo Chat")
    expect(link).to_have_text("Novo Chat")
    page.reload()
    page.wait_for_selector("body.ready")
    expect(link).to_have_text("Novo Chat")

    gemini.fake.push(*[Behavior(kind="error", status=503)] * 3)
    page.get_by_role("button", name="New chat").click()
    send(page, "Hello again")
    expect(page.locator("#chat-error")).to_be_visible()
    gemini.fake.reset()
    expect(link).to_have_text("New chat")
    row_action(page, page.locator(".conversation.active"), "Rename")
    rename = page.get_by_role("textbox", name="New title")
    rename.fill("Novo Chat")
    rename.press("Enter")
    expect(link).to_have_text("Novo Chat")
    page.reload()
    page.wait_for_selector("body.ready")
    expect(link).to_have_text("Novo Chat")
