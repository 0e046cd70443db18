"""The password-reset link page (#/reset/<token>) in the browser against the real app: the
length rule and a confirmation that must match (checked before anything is sent), the show
toggle, success back to the log-in form with a message, a used link refused in plain words."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.admin_support import admin_headers, client, make_admin
from tests.e2e.helpers import PageLog, login, watch
from tests.helpers.accounts import register as http_register

NEW = "another long passphrase"


def test_reset_link_page(new_context, app_server, unique):
    boss, ana = unique("boss"), unique("ana")
    with client(app_server) as http:
        http_register(http, boss)
        http_register(http, ana)
        make_admin(app_server, boss)
        users = http.get("/admin/users", params={"q": ana}, headers=admin_headers(app_server, boss))
        ana_id = users.json()["items"][0]["id"]
        link = http.post(
            f"/admin/users/{ana_id}/password-reset", headers=admin_headers(app_server, boss)
        )
        url = link.json()["url"]

    page: Page = new_context().new_page()
    watch(page, PageLog(expected_statuses={400}))
    page.goto(url)
    page.wait_for_selector("body.ready")
    expect(page.locator(".auth-tabs")).to_be_hidden()
    expect(page.locator("#reset-new_password")).to_be_focused()
    page.fill("#reset-new_password", "short")
    page.fill("#reset-new_password_confirm", "other")
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator("#reset-new_password-error")).to_have_text("Too short.")
    expect(page.locator("#reset-new_password_confirm-error")).to_have_text(
        "The passwords don't match."
    )
    page.fill("#reset-new_password", NEW)
    toggle = page.locator("#reset-form .show-password").first
    toggle.click()
    expect(page.locator("#reset-new_password")).to_have_attribute("type", "text")
    page.fill("#reset-new_password_confirm", NEW)
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator("#auth-notice")).to_have_text(
        "Your password was changed. Log in with the new one."
    )
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#reset-new_password")).to_have_attribute("type", "password")
    assert "#/reset/" not in page.url
    login(page, ana, NEW)

    # The link worked once.
    again = new_context().new_page()
    watch(again, PageLog(expected_statuses={400}))
    again.goto(url)
    again.wait_for_selector("body.ready")
    again.fill("#reset-new_password", NEW)
    again.fill("#reset-new_password_confirm", NEW)
    again.get_by_role("button", name="Set new password").click()
    expect(again.locator("#reset-form-error")).to_have_text(
        "This reset link is invalid, expired or was already used."
        " Ask an administrator for a new one."
    )
    again.get_by_role("button", name="Back to log in").click()
    expect(again.locator("#login-form")).to_be_visible()
