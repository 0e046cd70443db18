"""Searching inside messages from the sidebar's search box, in the browser."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.helpers import PASSWORD, open_app, register, screenshot, send, watch


def test_search_finds_a_message_and_opens_the_chat_at_it(
    page: Page, app_server, gemini, unique
) -> None:
    username = unique("finder")
    open_app(page, app_server.url)
    register(page, username)
    page.get_by_role("button", name="New chat").click()
    expect(page.locator(".conversation")).to_have_count(0)  # stored when its first message is sent
    send(page, "Where do axolotls live in the wild?")
    expect(page.locator(".message.ai .bubble").last).to_contain_text("Echo: Where do axolotls")
    expect(page.locator(".conversation")).to_have_count(1)
    conversation = page.evaluate("location.hash").removeprefix("#/c/")

    # Bury that first message under 60 more turns, so it is far above the newest page.
    with httpx.Client(base_url=app_server.url, timeout=10) as api:
        login = api.post("/login", json={"username": username, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for i in range(60):
            r = api.post(
                "/chat",
                headers=headers,
                json={"conversationId": conversation, "message": f"filler turn {i}"},
            )
            assert r.status_code == 200, r.text

    # Another chat is open when the search starts; its text is markup that must stay text.
    page.get_by_role("button", name="New chat").click()
    send(page, '<img src=x onerror="alert(1)"> <b>salamander</b> notes')
    expect(page.locator(".message.ai .bubble").last).to_contain_text("Echo:")
    expect(page.locator(".conversation")).to_have_count(2)

    search = page.get_by_role("searchbox", name="Search conversations")
    search.fill("salamander")
    results = page.locator(".message-search")
    expect(results.get_by_role("heading", name="In messages")).to_be_visible()
    hits = results.locator(".message-hit")
    expect(hits).to_have_count(2)  # the question and its echo
    expect(hits.first.locator("mark")).to_have_text("salamander")
    expect(hits.first).to_contain_text('<img src=x onerror="alert(1)"> <b>salamander</b>')
    assert results.locator("img, b").count() == 0

    # Typing: the last word is a prefix; the words of other users' messages never show.
    search.fill("axolot")
    expect(hits).to_have_count(2)
    expect(results.get_by_role("status")).to_have_text("2 messages found")
    expect(hits.locator("mark")).to_have_text(["axolotls", "axolotls"])
    screenshot(page, "search-results")

    # Keyboard: ↓ from the box into the results, Enter opens the conversation at the message.
    search.press("ArrowDown")
    expect(hits.first).to_be_focused()
    hits.first.press("Enter")
    expect(page).to_have_url(re.compile(f"#/c/{conversation}$"))
    found = page.locator(".message.found")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("axolotls")
    expect(found).to_be_in_viewport()
    # The newest message is far below, out of view: the view did not jump to the bottom.
    expect(page.locator(".message").last).not_to_be_in_viewport()
    screenshot(page, "search-opened-message")
    expect(page.locator(".message.found")).to_have_count(0, timeout=5_000)  # the flash ends

    # Nothing found, and clearing the box hides the results.
    search.fill("okapi")
    expect(results.get_by_role("status")).to_have_text("No message contains these words.")
    search.fill("")
    expect(results).to_be_hidden()


def test_search_in_portuguese_ignores_accents_and_other_accounts(
    page: Page, new_context, app_server, gemini, unique, page_log
) -> None:
    open_app(page, app_server.url)
    register(page, unique("owner"))
    page.get_by_role("button", name="New chat").click()
    send(page, "Informação secreta sobre capivaras")
    expect(page.locator(".message.ai .bubble").last).to_contain_text("Echo:")
    expect(page.locator(".conversation")).to_have_count(1)

    # Someone else, reading in Portuguese, on a phone: the words are theirs to find only.
    phone = new_context(locale="pt-BR", viewport={"width": 390, "height": 800}).new_page()
    watch(phone, page_log)
    open_app(phone, app_server.url)
    phone.get_by_role("tab", name="Criar conta").click()
    other = unique("outra")
    phone.fill("#register-username", other)
    phone.fill("#register-email", f"{other}@example.com")
    phone.fill("#register-password", PASSWORD)
    phone.fill("#register-password_confirm", PASSWORD)
    phone.locator("#register-form").get_by_role("button", name="Criar conta").click()
    expect(phone.locator("#app-view")).to_be_visible()
    phone.get_by_role("button", name="Abrir conversas").click()
    phone.get_by_role("searchbox", name="Buscar conversas").fill("capivaras")
    expect(phone.locator(".message-search-status")).to_have_text(
        "Nenhuma mensagem contém estas palavras."
    )
    phone.get_by_role("button", name="Nova conversa").click()
    send(phone, "Onde vivem as capivaras?")
    expect(phone.locator(".message.ai .bubble").last).to_contain_text("Echo:")
    expect(phone.locator(".conversation")).to_have_count(1)
    phone.get_by_role("button", name="Abrir conversas").click()
    search = phone.get_by_role("searchbox", name="Buscar conversas")
    search.fill("")
    search.fill("ONDE capiv")  # case, and the last word typed in part
    hits = phone.locator(".message-hit")
    expect(hits).to_have_count(2)
    expect(phone.locator(".message-search-status")).to_have_text("2 mensagens encontradas")
    expect(hits.first.locator("mark")).to_have_text(["Onde", "capivaras"])
    assert "secreta" not in phone.locator(".message-search").inner_text()
    screenshot(phone, "search-results-phone-pt")
    hits.first.click()
    expect(phone.locator("body")).not_to_have_class(re.compile("drawer-open"))
    expect(phone.locator(".message.found")).to_be_in_viewport()

    # And the first account still finds its own, without accents typed.
    page.get_by_role("searchbox", name="Search conversations").fill("informacao")
    expect(page.locator(".message-hit").first.locator("mark")).to_have_text("Informação")
