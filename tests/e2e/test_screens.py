"""Screenshots of the screens the second UI pass changed, in both themes at desktop and phone
width, into test-artifacts/screens/ to be looked at: the grouped sidebar with a row's menu
open, the dialogs showing errors, sign-up errors in Portuguese, the drawer with the account
menu. Each screen is also checked for what must hold in every theme and width."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    SCREENS,
    PageLog,
    answered,
    open_app,
    register,
    screenshot,
    send,
    watch,
)
from tests.e2e.test_sidebar import age_conversations
from tests.fakes.fake_gemini import Behavior

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True},
}

TABLE = """Compared:

| Database | Full-text search | Replication |
|---|---|---|
| SQLite | FTS5 virtual tables | Litestream (external) |
| PostgreSQL | tsvector and GIN indexes | Streaming, built in |
"""


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screens(new_context, app_server, gemini, unique, theme, size):
    page = new_context(color_scheme=theme, timezone_id="UTC", **SIZES[size]).new_page()
    log = watch(page, PageLog(expected_statuses={401, 422}))
    name = f"{theme}-{size}"
    phone = size == "phone"

    # Sign-up errors, in Portuguese.
    open_app(page, app_server.url)
    page.get_by_label("Language").select_option("pt-BR")
    page.get_by_role("tab", name="Criar conta").click()
    page.fill("#register-username", "a b")
    page.fill("#register-email", "x")
    page.fill("#register-password", "curta")
    page.fill("#register-password_confirm", "outra")
    page.locator("#register-form").get_by_role("button", name="Criar conta").click()
    expect(page.locator("#register-password_confirm-error")).to_be_visible()
    screenshot(page, f"{name}-signup-errors-pt", SCREENS)
    page.get_by_label("Idioma").select_option("en")

    # A sidebar with conversations in several date groups.
    username = unique("screens")
    register(page, username)
    titles = ["Trip ideas for the long weekend", "Refactor the billing module", "Penguins"]
    for text in titles:
        if phone:
            page.get_by_role("button", name="Open conversations").click()
        page.get_by_role("button", name="New chat", exact=True).click()
        send(page, text)
        expect(page.locator(".message.ai .bubble")).to_have_text([f"Echo: {text}"])
        answered(page)
    gemini.fake.push(Behavior(text=TABLE))
    send(page, "Compare SQLite and PostgreSQL, as a table, with a rather long question title")
    expect(page.locator(".message.ai table")).to_be_visible()
    answered(page)  # saved before the reload
    age_conversations(
        app_server,
        username,
        {"Trip ideas": timedelta(days=40), "Refactor": timedelta(days=3)},
    )
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".message.ai table")).to_be_visible()
    screenshot(page, f"{name}-chat-table", SCREENS)
    if phone:
        page.get_by_role("button", name="Open conversations").click()
        page.wait_for_timeout(300)  # the drawer slides in
    expect(page.locator(".group-label")).to_have_count(3)
    row = page.locator(".conversation").filter(has_text="Refactor")
    if not phone:
        row.hover()
    row.locator(".conversation-more").click()
    menu = page.locator("#conversation-menu")
    expect(menu).to_be_visible()
    # The menu is on screen, next to its row.
    box, at = menu.bounding_box(), row.bounding_box()
    assert box["height"] >= 70, "both items inside the menu's box"
    assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["viewport"]["width"]
    assert abs(box["y"] - (at["y"] + at["height"])) < 40 or box["y"] + box["height"] <= at["y"]
    screenshot(page, f"{name}-sidebar-row-menu", SCREENS)
    page.keyboard.press("Escape")

    # The account menu (in the drawer, at phone width).
    page.get_by_role("button", name=re.compile("^Account")).click()
    expect(page.locator("#account-menu")).to_be_visible()
    screenshot(page, f"{name}-account-menu", SCREENS)

    # Change password with errors.
    page.get_by_role("menuitem", name="Change password").click()
    page.fill("#pw-current_password", "whatever")
    page.fill("#pw-new_password", "short")
    page.fill("#pw-new_password_confirm", "other")
    page.locator("#password-form").get_by_role("button", name="Save").click()
    expect(page.locator("#pw-new_password_confirm-error")).to_be_visible()
    screenshot(page, f"{name}-password-errors", SCREENS)
    page.locator("#password-form").get_by_role("button", name="Cancel").click()

    # (At phone width the drawer the dialog was opened from is still open.)
    page.get_by_role("button", name=re.compile("^Account")).click()
    page.get_by_role("menuitem", name="Delete account").click()
    page.fill("#da-password", "not my password")
    page.locator("#delete-account-form").get_by_role("button", name="Delete forever").click()
    expect(page.locator("#da-password-error")).to_have_text("Wrong password.")
    screenshot(page, f"{name}-delete-account-error", SCREENS)
    assert log.unexpected_errors() == []
