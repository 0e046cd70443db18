"""Sign-up under each policy, in the browser against the real app: open (with an email-domain
list shown as the email field's hint and a refused domain in plain words), invite only (no form
without a link; the link's form sends the invite), closed (no form at all, even with a link)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.admin_support import admin_headers, client, make_admin, set_settings
from tests.e2e.conftest import _start_app, _stop_app
from tests.e2e.helpers import PageLog, open_app, watch
from tests.helpers.accounts import PASSWORD
from tests.helpers.accounts import register as http_register


@pytest.fixture(scope="module")
def policy_app(tmp_path_factory, gemini):
    server = _start_app(tmp_path_factory.mktemp("policy"), gemini.url)
    with client(server) as http:
        http_register(http, "warden")
    make_admin(server, "warden")
    server.admin = admin_headers(server, "warden")
    yield server
    _stop_app(server)


def fill_sign_up(page: Page, username: str, email: str | None = None) -> None:
    page.fill("#register-username", username)
    page.fill("#register-email", email or f"{username}@example.com")
    page.fill("#register-password", PASSWORD)
    page.fill("#register-password_confirm", PASSWORD)
    page.get_by_role("button", name="Create account").click()


def test_open_with_email_domains(page: Page, page_log: PageLog, policy_app, unique):
    set_settings(
        policy_app,
        policy_app.admin,
        signup_policy="open",
        signup_email_domains=["example.com", "example.org"],
    )
    page_log.expected_statuses.add(422)
    open_app(page, policy_app.url)
    page.get_by_role("tab", name="Sign up").click()
    hint = page.locator("#register-email-hint")
    expect(hint).to_have_text("Only addresses at: example.com, example.org")
    expect(page.locator("#register-email")).to_have_attribute(
        "aria-describedby", "register-email-hint"
    )
    name = unique("dom")
    fill_sign_up(page, name, f"{name}@elsewhere.net")
    expect(page.locator("#register-email-error")).to_have_text(
        "Addresses at this domain can't sign up here."
    )
    page.fill("#register-email", f"{name}@example.org")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#account-name")).to_have_text(name)
    set_settings(policy_app, policy_app.admin, signup_email_domains=[])


def test_invite_only(new_context, policy_app, unique):
    set_settings(policy_app, policy_app.admin, signup_policy="invite")
    page = new_context().new_page()
    watch(page, PageLog())
    open_app(page, policy_app.url)
    page.get_by_role("tab", name="Sign up").click()
    expect(page.locator("#register-closed")).to_have_text(
        "Sign-up on this site needs an invite link. Ask its administrator for one, then open it."
    )
    expect(page.locator("#register-form")).to_be_hidden()
    expect(page.get_by_role("tab", name="Sign up")).to_have_attribute(
        "aria-controls", "register-closed"
    )

    with client(policy_app) as http:
        invite = http.post("/admin/invites", json={"max_uses": 1}, headers=policy_app.admin)
        url = invite.json()["url"]
    # Opened in a browser that has a session already: the link's form shows all the same.
    page.goto(url)
    page.wait_for_selector("body.ready")
    expect(page.get_by_role("tab", name="Sign up")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#register-invite-notice")).to_have_text(
        "You are signing up with an invite."
    )
    expect(page.locator("#register-username")).to_be_focused()
    name = unique("inv")
    fill_sign_up(page, name)
    expect(page.locator("#account-name")).to_have_text(name)

    # Used up: the same link refused in plain words.
    other = new_context().new_page()
    watch(other, PageLog(expected_statuses={403}))
    other.goto(url)
    other.wait_for_selector("body.ready")
    fill_sign_up(other, unique("late"))
    expect(other.locator("#register-form-error")).to_have_text(
        "This invite link is invalid, expired or used up. Ask for a new one."
    )


def test_closed_even_with_a_link(new_context, policy_app):
    with client(policy_app) as http:
        url = http.post("/admin/invites", json={}, headers=policy_app.admin).json()["url"]
    set_settings(policy_app, policy_app.admin, signup_policy="closed")
    for address in (policy_app.url + "/", url):
        page = new_context(locale="pt-BR").new_page()
        watch(page, PageLog())
        page.goto(address)
        page.wait_for_selector("body.ready")
        page.get_by_role("tab", name="Criar conta").click()
        expect(page.locator("#register-closed")).to_have_text(
            "O cadastro está fechado neste site. Peça uma conta ao administrador."
        )
        expect(page.locator("#register-form")).to_be_hidden()
    set_settings(policy_app, policy_app.admin, signup_policy="open")
