"""Two-factor sign-in in the browser against the real app: enrol from the account menu (the
QR code as an image, the key as text, a code computed here with pyotp from that key, the
recovery codes shown once with Copy and Download), log in with a code and with a recovery
code, turn it off; and an admin the site requires it of is asked to enrol first."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.admin_support import make_admin
from tests.e2e.conftest import _start_app, _stop_app
from tests.e2e.helpers import PageLog, open_app, register, watch
from tests.helpers.accounts import PASSWORD


@pytest.fixture(scope="module")
def totp_app(tmp_path_factory, gemini):
    server = _start_app(tmp_path_factory.mktemp("totp"), gemini.url)
    yield server
    _stop_app(server)


def enrol(page: Page) -> tuple[str, list[str]]:
    """Account menu → Two-factor sign-in → password → code → recovery codes. Returns the key
    and the codes."""
    if page.viewport_size["width"] < 800:
        page.get_by_role("button", name="Open conversations").first.click()
    page.locator("#account-button").click()
    page.get_by_role("menuitem", name="Two-factor sign-in").click()
    return enrol_in_dialog(page)


def enrol_in_dialog(page: Page) -> tuple[str, list[str]]:
    dialog = page.locator("#totp-dialog")
    expect(dialog).to_be_visible()
    page.fill("#ts-password", PASSWORD)
    dialog.get_by_role("button", name="Continue").click()
    qr = dialog.get_by_role("img", name="QR code for your authenticator app")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
    assert qr.evaluate("img => img.naturalWidth") > 0, "the SVG draws"
    secret = page.locator("#totp-secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{16,}=*", secret), secret
    # A wrong code first: refused in plain words.
    page.fill("#tc-code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    dialog.get_by_role("button", name="Turn on").click()
    expect(page.locator("#tc-code-error")).to_contain_text("That code isn't right")
    page.fill("#tc-code", pyotp.TOTP(secret).now())
    dialog.get_by_role("button", name="Turn on").click()
    codes = page.locator("#totp-codes-list li")
    expect(codes).to_have_count(10)
    return secret, codes.all_inner_texts()


def log_out(page: Page) -> None:
    if page.viewport_size["width"] < 800:
        page.get_by_role("button", name="Open conversations").first.click()
    page.locator("#account-button").click()
    page.get_by_role("menuitem", name="Log out").click()
    expect(page.locator("#auth-view")).to_be_visible()


def password_step(page: Page, username: str) -> None:
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.locator("#login-form").get_by_role("button", name="Log in").click()
    expect(page.locator("#login-totp")).to_be_visible()
    expect(page.locator("#login-totp")).to_be_focused()
    expect(page.locator("#auth-notice")).to_have_text(
        "Enter the code from your authenticator app to finish logging in."
    )


def test_enrol_log_in_with_a_code_and_a_recovery_code_turn_off(new_context, totp_app, unique):
    page = new_context(accept_downloads=True).new_page()
    watch(page, PageLog(expected_statuses={401}))
    name = unique("otp")
    open_app(page, totp_app.url)
    register(page, name)
    secret, codes = enrol(page)
    dialog = page.locator("#totp-dialog")
    dialog.get_by_role("button", name="Copy").click()
    expect(dialog.get_by_role("button", name="Copied")).to_be_visible()
    with page.expect_download() as download:
        dialog.get_by_role("button", name="Download").click()
    saved = download.value.path().read_text()
    assert saved.split() == codes
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    # Shown once: reopened, the dialog offers to turn it off and shows no codes.
    page.locator("#account-button").click()
    page.get_by_role("menuitem", name="Two-factor sign-in").click()
    expect(page.locator("#totp-disable-form")).to_be_visible()
    expect(page.locator("#totp-codes-list li")).to_have_count(0)
    dialog.get_by_role("button", name="Cancel").click()

    # Log in: the password, then a code (the next time step: the current one was spent).
    log_out(page)
    password_step(page, name)
    page.fill("#login-totp", "12345")
    page.locator("#login-form").get_by_role("button", name="Log in").click()
    expect(page.locator("#login-totp-error")).to_contain_text("That code isn't right")
    page.fill("#login-totp", pyotp.TOTP(secret).at(time.time() + 30))
    page.locator("#login-form").get_by_role("button", name="Log in").click()
    expect(page.locator("#account-name")).to_have_text(name)

    # Or a recovery code, once.
    log_out(page)
    password_step(page, name)
    page.fill("#login-totp", codes[0])
    page.locator("#login-form").get_by_role("button", name="Log in").click()
    expect(page.locator("#account-name")).to_have_text(name)

    # Turned off with the password and a code: the next login asks for none.
    page.locator("#account-button").click()
    page.get_by_role("menuitem", name="Two-factor sign-in").click()
    page.fill("#td-password", PASSWORD)
    page.fill("#td-code", codes[1])
    dialog.get_by_role("button", name="Turn off").click()
    expect(page.locator("#toast")).to_have_text("Two-factor sign-in is off.")
    log_out(page)
    page.fill("#login-username", name)
    page.fill("#login-password", PASSWORD)
    page.locator("#login-form").get_by_role("button", name="Log in").click()
    expect(page.locator("#account-name")).to_have_text(name)


@pytest.fixture
def totp_required_app(tmp_path_factory, gemini):
    """An app whose operator requires two-factor sign-in of admins (REQUIRE_ADMIN_TOTP). The
    API refuses to turn the rule on for an admin without it (that admin would be locked out),
    so the env sets it, as an operator would."""
    server = _start_app(
        tmp_path_factory.mktemp("totp-required"), gemini.url, REQUIRE_ADMIN_TOTP="true"
    )
    yield server
    _stop_app(server)


def test_an_admin_the_site_requires_it_of_enrols_first(new_context, totp_required_app, unique):
    page = new_context().new_page()
    watch(page, PageLog())
    boss = unique("boss")
    open_app(page, totp_required_app.url)
    register(page, boss)
    make_admin(totp_required_app, boss)
    page.reload()
    page.wait_for_selector("body.ready")
    page.locator("#account-button").click()
    page.get_by_role("menuitem", name="Administration").click()
    banner = page.locator("#admin-totp-banner")
    expect(banner).to_contain_text("Administrators must use two-factor sign-in")
    expect(page.locator("#admin-users")).to_be_hidden()
    banner.get_by_role("button", name="Set it up now").click()
    enrol_in_dialog(page)
    page.locator("#totp-dialog").get_by_role("button", name="Done").click()
    expect(banner).to_be_hidden()
    expect(page.locator("#admin-users-rows tr", has_text=boss)).to_be_visible()
