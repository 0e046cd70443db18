"""Isolation between users, and hostile text rendered inert."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import PageLog, open_app, register, send, watch


def test_two_users_never_see_each_others_conversations(
    page: Page, page_log, new_context, app_server, unique
):
    page_log.expected_statuses |= {404}
    open_app(page, app_server.url)
    register(page, unique("alice"))
    send(page, "Alice's secret plan")
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: Alice's secret plan"])
    alice_url = page.url
    assert re.search(r"#/c/[0-9a-f-]{36}$", alice_url)

    bob_page = new_context().new_page()
    bob_log = watch(bob_page, PageLog(expected_statuses={404}))
    open_app(bob_page, app_server.url)
    register(bob_page, unique("bob"))
    expect(bob_page.locator("#conversation-empty")).to_have_text("No conversations yet.")
    send(bob_page, "Bob's own question")
    expect(bob_page.locator(".message.ai .bubble")).to_have_text(["Echo: Bob's own question"])
    expect(bob_page.locator(".conversation")).to_have_count(1)
    bob_page.get_by_role("searchbox", name="Search conversations").fill("secret")
    expect(bob_page.locator(".conversation")).to_have_count(0)

    # Bob opening Alice's conversation link gets "not found" and none of her messages.
    bob_page.goto(alice_url)
    bob_page.reload()
    bob_page.wait_for_selector("body.ready")
    expect(bob_page.locator("#toast")).to_have_text("This conversation no longer exists.")
    expect(bob_page.get_by_text("Alice's secret plan")).to_have_count(0)

    # And Alice still sees only her own.
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".conversation")).to_have_count(1)
    expect(page.get_by_text("Bob's own question")).to_have_count(0)
    assert bob_log.unexpected_errors() == []


def test_hostile_text_renders_inert(page: Page, page_log: PageLog, app_server, unique):
    open_app(page, app_server.url)
    register(page, unique("xss"))
    payloads = [
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        '<a href="javascript:alert(2)">click</a> <script>alert(3)</script>',
        "![pic](javascript:alert(4)) <svg onload=alert(5)>",
    ]
    for text in payloads:
        send(page, text)
        expect(page.locator(".message.user").last).to_have_text(text)
        expect(page.locator(".message.ai .bubble").last).to_contain_text("Echo:")

    def assert_inert() -> None:
        messages = page.locator("#message-list")
        # The raw HTML the model echoed is shown as text, never built.
        expect(page.locator(".message.ai .bubble").first).to_have_text(
            "Echo: <img src=x onerror=alert(1)>"
        )
        expect(messages.locator("img, script, svg, iframe")).to_have_count(0)
        expect(messages.locator("[onerror], [onload]")).to_have_count(0)
        hrefs = messages.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
        assert not [h for h in hrefs if h and h.strip().lower().startswith("javascript:")]
        assert page.locator('[href^="javascript:" i]').count() == 0
        link = messages.locator("a", has_text=re.compile("^x$")).first
        link.click()  # a link stripped of its href does nothing
        page.wait_for_timeout(300)
        assert page_log.dialogs == []

    assert_inert()
    # The history path (reload) renders through the same sanitizer.
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".message.ai")).to_have_count(len(payloads))
    assert_inert()


def test_csp_header_and_no_console_errors_on_first_load(page: Page, page_log, app_server):
    response = page.goto(app_server.url + "/")
    csp = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp
    page.wait_for_selector("body.ready")
    expect(page.locator("#auth-view")).to_be_visible()
    # Every script, style sheet and module came from this origin and loaded.
    assert page.evaluate("document.styleSheets.length") >= 5
    page.wait_for_timeout(300)
    assert page_log.errors == []
    assert page_log.blocked == []
