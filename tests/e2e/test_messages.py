"""Errors and messages: every API error in the page's language and plain words, once; errors
in dialogs look like errors; toasts belong to their screen; English for unknown languages."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import PASSWORD, PageLog, open_app, register, send, watch

DANGER = """() => {
  const probe = document.createElement("span");
  probe.style.color = "var(--danger)";
  document.querySelector("dialog[open]").append(probe);
  const color = getComputedStyle(probe).color;
  probe.remove();
  return color;
}"""


# A toast hides itself after 3.5 s; cleared by the screen change, it goes long before that.
SOONER_THAN_A_TOAST_GOES = 1000


def color(page: Page, selector: str) -> str:
    return page.locator(selector).evaluate("e => getComputedStyle(e).color")


def test_sign_up_errors_in_portuguese_all_at_once(new_context, app_server, unique):
    page = new_context(locale="pt-BR").new_page()
    log = watch(page, PageLog(expected_statuses={409, 422}))
    open_app(page, app_server.url)
    page.get_by_role("tab", name="Criar conta").click()
    page.fill("#register-username", "a b")
    page.fill("#register-email", "not-an-email")
    page.fill("#register-password", "short")
    page.fill("#register-password_confirm", "different")
    page.locator("#register-form").get_by_role("button", name="Criar conta").click()
    # The passwords differ, and still every other field says what is wrong with it.
    expect(page.locator("#register-username-error")).to_have_text(
        "Este nome de usuário tem caracteres não permitidos."
    )
    expect(page.locator("#register-email-error")).to_have_text("Isto não é um endereço de e-mail.")
    expect(page.locator("#register-password-error")).to_have_text("Curta demais.")
    expect(page.locator("#register-password_confirm-error")).to_have_text(
        "As senhas não coincidem."
    )
    expect(page.locator("#register-form-error")).to_be_hidden()
    shown = page.locator("#register-form").inner_text()
    for english in ["String should", "Value error", "value is not", "must be", "characters:"]:
        assert english not in shown
    # The hint says the rule once; the error doesn't repeat it.
    assert shown.count("Pelo menos 8 caracteres") == 1
    assert shown.count("3 a 32 letras") == 1
    expect(page.locator("#register-username")).to_be_focused()

    # A taken username (409) in Portuguese, under its field.
    taken = unique("taken")
    context = new_context()
    other = context.new_page()
    open_app(other, app_server.url)
    register(other, taken)
    page.fill("#register-username", taken)
    page.fill("#register-email", f"{unique('mail')}@example.com")
    page.fill("#register-password", PASSWORD)
    page.fill("#register-password_confirm", PASSWORD)
    page.locator("#register-form").get_by_role("button", name="Criar conta").click()
    expect(page.locator("#register-username-error")).to_have_text(
        "Este nome de usuário já está em uso."
    )
    expect(page.locator("#register-email-error")).to_be_hidden()
    assert log.unexpected_errors() == []


def test_change_password_dialog_errors_toggle_and_rule(page: Page, page_log, app_server, unique):
    page_log.expected_statuses |= {401, 422}
    open_app(page, app_server.url)
    register(page, unique("dialog"))
    page.get_by_role("button", name=re.compile("^Account")).click()
    page.get_by_role("menuitem", name="Change password").click()
    dialog = page.locator("#password-dialog")
    # The length rule, as on sign-up, and a show toggle on each field.
    expect(dialog.get_by_text("At least 8 characters")).to_be_visible()
    dialog.get_by_role("button", name="Show password").nth(1).click()
    expect(page.locator("#pw-new_password")).to_have_attribute("type", "text")
    expect(dialog.get_by_role("button", name="Hide password")).to_have_count(1)

    page.fill("#pw-current_password", PASSWORD)
    page.fill("#pw-new_password", "short")
    page.fill("#pw-new_password_confirm", "other")
    dialog.get_by_role("button", name="Save").click()
    # Both problems at once: the length (from the API) and the mismatch (found by the page).
    expect(page.locator("#pw-new_password-error")).to_have_text("Too short.")
    expect(page.locator("#pw-new_password_confirm-error")).to_have_text(
        "The passwords don't match."
    )
    danger = page.evaluate(DANGER)
    assert color(page, "#pw-new_password-error") == danger
    assert color(page, "#pw-new_password_confirm-error") == danger
    assert danger != color(page, "#password-dialog .field-hint")

    page.fill("#pw-current_password", "not my password")
    page.fill("#pw-new_password", "a brand new password")
    page.fill("#pw-new_password_confirm", "a brand new password")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("#pw-current_password-error")).to_have_text("Wrong password.")
    expect(page.locator("#pw-new_password-error")).to_be_hidden()
    assert color(page, "#pw-current_password-error") == danger
    dialog.get_by_role("button", name="Cancel").click()

    # Reopened, the form is clean and the passwords hidden again.
    page.get_by_role("button", name=re.compile("^Account")).click()
    page.get_by_role("menuitem", name="Change password").click()
    expect(page.locator("#pw-current_password-error")).to_be_hidden()
    expect(page.locator("#pw-new_password")).to_have_attribute("type", "password")
    dialog.get_by_role("button", name="Cancel").click()

    page.get_by_role("button", name=re.compile("^Account")).click()
    page.get_by_role("menuitem", name="Delete account").click()
    page.fill("#da-password", "not my password")
    page.locator("#delete-account-form").get_by_role("button", name="Delete forever").click()
    expect(page.locator("#da-password-error")).to_have_text("Wrong password.")
    assert color(page, "#da-password-error") == page.evaluate(DANGER)


def test_toasts_are_cleared_when_the_screen_changes(page: Page, app_server, unique):
    open_app(page, app_server.url)
    register(page, unique("toast"))
    toast = page.locator("#toast")
    expect(toast).to_have_text("Account created. You are now logged in.")
    send(page, "first")
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: first"])
    page.get_by_role("button", name="Copy answer").click()
    expect(toast).to_have_text("Copied")
    page.get_by_role("button", name="New chat", exact=True).click()
    expect(toast).to_be_hidden(timeout=SOONER_THAN_A_TOAST_GOES)

    send(page, "second")
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: second"])
    page.get_by_role("button", name="Copy answer").click()
    expect(toast).to_have_text("Copied")
    page.locator(".conversation-link", has_text="first").click()
    expect(toast).to_be_hidden(timeout=SOONER_THAN_A_TOAST_GOES)

    page.get_by_role("button", name="Copy answer").click()
    expect(toast).to_be_visible()
    page.get_by_role("button", name=re.compile("^Account")).click()
    page.get_by_role("menuitem", name="Log out").click()
    expect(page.locator("#auth-view")).to_be_visible()
    expect(toast).to_be_hidden(timeout=SOONER_THAN_A_TOAST_GOES)


def test_a_browser_language_we_lack_gets_english(new_context, app_server):
    for locale in ("de-DE", "fr-FR"):
        page = new_context(locale=locale).new_page()
        open_app(page, app_server.url)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("tab", name="Log in")).to_be_visible()
    page = new_context(locale="pt-PT").new_page()
    open_app(page, app_server.url)
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
