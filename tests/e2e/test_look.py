"""Languages, themes and the phone layout; screenshots go to test-artifacts/e2e/."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import PageLog, open_app, register, screenshot, send, watch
from tests.fakes.fake_gemini import Behavior

RICH_ANSWER = """Here is a **small** example:

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

- it is *typed*
- it uses an `f-string`
"""


def test_portuguese_by_default_for_a_portuguese_browser_and_switch(new_context, app_server, unique):
    page = new_context(locale="pt-BR").new_page()
    log = watch(page, PageLog())
    open_app(page, app_server.url)
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    expect(page.get_by_role("tab", name="Entrar")).to_be_visible()
    screenshot(page, "login-pt-BR")

    page.get_by_label("Idioma").select_option("en")
    expect(page.get_by_role("tab", name="Log in")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    screenshot(page, "login-en")
    # The choice sticks across reloads.
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.get_by_role("tab", name="Log in")).to_be_visible()

    register(page, unique("lang"))
    page.get_by_label("Language").select_option("pt-BR")
    expect(page.get_by_role("button", name="Nova conversa")).to_be_visible()
    expect(page.get_by_role("heading", name="Como posso ajudar?")).to_be_visible()
    screenshot(page, "empty-state-pt-BR")
    assert log.unexpected_errors() == []


def test_dark_mode_follows_the_system_and_the_switch(new_context, app_server, gemini, unique):
    page = new_context(color_scheme="dark").new_page()
    log = watch(page, PageLog())
    open_app(page, app_server.url)
    background = "getComputedStyle(document.body).backgroundColor"
    dark_bg = page.evaluate(background)
    assert dark_bg == "rgb(23, 24, 28)"
    register(page, unique("dark"))
    gemini.fake.push(Behavior(text=RICH_ANSWER))
    send(page, "Show me a Python greeting")
    code = page.locator(".code-block code.hljs")
    expect(code).to_be_visible()
    expect(code.locator(".hljs-keyword").first).to_have_text("def")
    expect(page.get_by_role("button", name="Copy code")).to_be_visible()
    screenshot(page, "chat-dark")

    page.get_by_role("button", name="Switch dark/light theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert page.evaluate(background) == "rgb(255, 255, 255)"
    screenshot(page, "chat-light")
    page.reload()
    page.wait_for_selector("body.ready")
    assert page.evaluate(background) == "rgb(255, 255, 255)"
    assert log.unexpected_errors() == []


def test_phone_layout_at_360px(new_context, app_server, gemini, unique):
    page = new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = page.new_page()
    log = watch(page, PageLog())
    open_app(page, app_server.url)
    screenshot(page, "mobile-login")
    register(page, unique("phone"))
    sidebar = page.locator("#sidebar")
    expect(sidebar).to_be_hidden()
    gemini.fake.push(Behavior(text=RICH_ANSWER))
    send(page, "Show me a Python greeting")
    expect(page.locator(".code-block")).to_be_visible()
    # Nothing sticks out sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "mobile-chat")

    menu = page.get_by_role("button", name="Open conversations")
    menu.click()
    expect(sidebar).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".conversation")).to_have_count(1)
    page.wait_for_timeout(400)  # the drawer's slide-in transition
    screenshot(page, "mobile-drawer")
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    menu.click()
    page.get_by_role("button", name="New chat").click()
    expect(sidebar).to_be_hidden()
    expect(page.locator("#empty-state")).to_be_visible()
    screenshot(page, "mobile-empty")
    assert log.unexpected_errors() == []


def test_keyboard_only_use(page: Page, app_server, unique):
    open_app(page, app_server.url)
    register(page, unique("keys"))
    page.locator("#composer-input").focus()
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    expect(page.locator("#composer-input")).to_have_value("first line\nsecond line")
    height = page.locator("#composer-input").bounding_box()["height"]
    page.keyboard.press("Enter")
    expect(page.locator(".message.user")).to_have_text(["first line\nsecond line"])
    assert height > 45  # the textarea grew for the second line

    # The account menu opens and moves with the keyboard, and has a visible focus ring.
    page.locator("#account-button").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Export conversations")).to_be_focused()
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert ring != "none"
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Change password")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#account-menu")).to_be_hidden()
    expect(page.locator("#account-button")).to_be_focused()
    # Every button has an accessible name.
    unnamed = page.evaluate(
        """[...document.querySelectorAll('button')].filter(b =>
             b.checkVisibility() && !(b.getAttribute('aria-label') || b.textContent.trim())
           ).map(b => b.outerHTML)"""
    )
    assert unnamed == []


def test_account_menu_export_password_delete(page: Page, page_log, app_server, unique):
    page_log.expected_statuses |= {401}
    username = unique("acct")
    open_app(page, app_server.url)
    register(page, username)
    send(page, "Something to export")
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: Something to export"])

    account = page.get_by_role("button", name=re.compile("^Account"))
    account.click()
    with page.expect_download() as download_info:
        page.get_by_role("menuitem", name="Export conversations").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".json")
    exported = download.path().read_text()
    assert "Something to export" in exported

    account.click()
    page.get_by_role("menuitem", name="Change password").click()
    page.fill("#pw-current_password", "wrong password!")
    page.fill("#pw-new_password", "a brand new password")
    page.fill("#pw-new_password_confirm", "a brand new password")
    page.locator("#password-form").get_by_role("button", name="Save").click()
    expect(page.locator("#pw-current_password-error")).to_have_text("Wrong password.")
    page.fill("#pw-current_password", "correct horse battery")
    page.locator("#password-form").get_by_role("button", name="Save").click()
    expect(page.locator("#password-dialog")).to_be_hidden()
    expect(page.locator("#toast")).to_contain_text("Password changed")

    account.click()
    page.get_by_role("menuitem", name="Delete account").click()
    page.fill("#da-password", "a brand new password")
    page.locator("#delete-account-form").get_by_role("button", name="Delete forever").click()
    expect(page.locator("#auth-view")).to_be_visible()
    expect(page.locator("#auth-notice")).to_have_text(
        "Your account and conversations were deleted."
    )
    page.fill("#login-username", username)
    page.fill("#login-password", "a brand new password")
    page.locator("#login-form").get_by_role("button", name="Log in").click()
    expect(page.locator("#login-form-error")).to_have_text("Wrong username or password.")


def test_demo_mode_banner(new_context, tmp_path_factory, gemini):
    from tests.e2e.conftest import _start_app, _stop_app

    server = _start_app(tmp_path_factory.mktemp("demo"), gemini.url, MODEL_PROVIDER="demo")
    try:
        page = new_context().new_page()
        log = watch(page, PageLog())
        open_app(page, server.url)
        expect(page.locator("#demo-banner")).to_contain_text("Demo mode")
        assert log.unexpected_errors() == []
    finally:
        _stop_app(server)
