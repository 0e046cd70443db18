"""Failing and re-authenticating in the middle of a chat turn. (Stop, re-attaching and
answers that end badly: test_answers_kept.py; regenerate and edits: test_versions.py.)"""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from tests.e2e.helpers import open_app, register, send
from tests.fakes.fake_gemini import Behavior

# short_token_app's 2 s tokens + the 5 s clock-skew leeway the app allows, + 1 s margin.
EXPIRY_WAIT = 8


def test_model_error_shows_error_keeps_text_and_retries(
    page: Page, page_log, app_server, gemini, unique
):
    page_log.expected_statuses |= {502, 503}
    open_app(page, app_server.url)
    register(page, unique("err"))
    gemini.fake.push(*[Behavior(kind="error", status=503)] * 3)
    send(page, "An important question I typed carefully")

    error = page.locator("#chat-error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(page.locator("#composer-input")).to_have_value("An important question I typed carefully")
    expect(page.locator(".message")).to_have_count(0)

    gemini.fake.reset()
    error.get_by_role("button", name="Retry").click()
    expect(page.locator(".message.ai .bubble")).to_have_text(
        ["Echo: An important question I typed carefully"]
    )
    expect(error).to_be_hidden()
    expect(page.locator("#composer-input")).to_have_value("")


def test_expired_access_token_is_refreshed_silently(page: Page, page_log, short_token_app, unique):
    page_log.expected_statuses |= {401}  # the expired token's first answer, before the refresh
    refreshes = []
    page.on("request", lambda r: refreshes.append(r.url) if "/auth/refresh" in r.url else None)
    open_app(page, short_token_app.url)
    register(page, unique("refresh"))
    send(page, "Before expiry")
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: Before expiry"])

    time.sleep(EXPIRY_WAIT)
    send(page, "After expiry")  # a stream: 401 → refresh → the same stream again
    expect(page.locator(".message.ai .bubble")).to_have_text(
        ["Echo: Before expiry", "Echo: After expiry"]
    )
    expect(page.locator("#app-view")).to_be_visible()
    assert len(refreshes) >= 1

    time.sleep(EXPIRY_WAIT)
    page.get_by_role("button", name="New chat").click()
    send(page, "In a new chat")  # POST /session first: the plain JSON request path
    expect(page.locator(".conversation")).to_have_count(2)
    expect(page.locator("#auth-view")).to_be_hidden()
    assert len(refreshes) >= 2
