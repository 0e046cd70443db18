"""Stopping, failing and re-authenticating in the middle of a chat turn."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from tests.e2e.helpers import open_app, register, send
from tests.fakes.fake_gemini import Behavior

SLOW = " ".join(f"token{i}" for i in range(1, 41))
# short_token_app's 2 s tokens + the 5 s clock-skew leeway the app allows, + 1 s margin.
EXPIRY_WAIT = 8


def _wait_until_written(gemini, finished_before: int) -> None:
    """The server writes an answer to its end even when the page stops reading it (this UI's
    Stop only closes its stream; the API's explicit stop is POST …/messages/{id}/stop)."""
    deadline = time.monotonic() + 20
    while gemini.fake.finished_streams <= finished_before:
        assert time.monotonic() < deadline, "the answer was not written to its end"
        time.sleep(0.1)
    time.sleep(0.5)  # the final write follows the last chunk


def test_stop_keeps_partial_on_screen_and_the_server_finishes_the_answer(
    page: Page, app_server, gemini, unique
):
    open_app(page, app_server.url)
    register(page, unique("stop"))
    finished = gemini.fake.finished_streams
    gemini.fake.push(Behavior(text=SLOW, chunk_delay=0.1))
    send(page, "Count slowly")
    answer = page.locator(".message.ai .bubble").last
    expect(answer).to_contain_text("token3")
    page.get_by_role("button", name="Stop", exact=True).click()

    # The partial answer stays on screen, marked as stopped, and stops growing.
    stopped = page.locator(".message.ai.stopped")
    expect(stopped).to_be_visible()
    partial = answer.inner_text()
    assert "token40" not in partial
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    time.sleep(1)
    expect(answer).to_have_text(partial)

    # The server kept writing: after a reload the question and the whole answer are there.
    _wait_until_written(gemini, finished)
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".message.user")).to_have_text(["Count slowly"])
    expect(page.locator(".message.ai .bubble")).to_have_text([SLOW])

    # Asking again works and is stored.
    send(page, "Count quickly")
    expect(page.locator(".message.ai .bubble")).to_have_text([SLOW, "Echo: Count quickly"])
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".message.user")).to_have_text(["Count slowly", "Count quickly"])


def test_stopped_answer_retry_asks_again(page: Page, app_server, gemini, unique):
    open_app(page, app_server.url)
    register(page, unique("retry"))
    finished = gemini.fake.finished_streams
    gemini.fake.push(Behavior(text=SLOW, chunk_delay=0.1))
    send(page, "Please repeat")
    expect(page.locator(".message.ai .bubble").last).to_contain_text("token2")
    page.keyboard.press("Escape")  # Escape stops too
    expect(page.locator(".message.ai.stopped")).to_be_visible()
    _wait_until_written(gemini, finished)  # until then the conversation is busy (409)
    page.locator(".message.ai.stopped").get_by_role("button", name="Retry").click()
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: Please repeat"])
    expect(page.locator(".message.user")).to_have_text(["Please repeat"])


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


def test_error_in_the_middle_of_a_stream(page: Page, page_log, app_server, gemini, unique):
    page_log.expected_statuses |= {502, 503}
    open_app(page, app_server.url)
    register(page, unique("mid"))
    gemini.fake.push(Behavior(text=SLOW, chunk_delay=0.1, fail_after_chunks=3))
    send(page, "This will break halfway")
    expect(page.locator("#chat-error")).to_be_visible()
    expect(page.locator("#composer-input")).to_have_value("This will break halfway")
    expect(page.locator(".message")).to_have_count(0)


def test_regenerate_replaces_the_last_answer(page: Page, app_server, gemini, unique):
    open_app(page, app_server.url)
    register(page, unique("regen"))
    gemini.fake.push(Behavior(text="First answer"))
    send(page, "Say something")
    expect(page.locator(".message.ai .bubble")).to_have_text(["First answer"])
    gemini.fake.push(Behavior(text="Second answer"))
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator(".message.ai .bubble")).to_have_text(["Second answer"])
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".message.ai .bubble")).to_have_text(["Second answer"])
    expect(page.locator(".message.user")).to_have_count(1)


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
