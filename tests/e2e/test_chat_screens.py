"""Screenshots of the chat view's new states, in both themes at desktop and phone (390 px)
width, into test-artifacts/screens/ to be looked at: a stopped answer and versions, the
question editor, the length counter over the limit, the memory dialog, the loading state and
a failed load. Each is also checked for what must hold at every width: nothing wider than
the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Route, expect

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
from tests.fakes.fake_gemini import Behavior

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
SLOW = " ".join(f"token{i}" for i in range(1, 41))
SUMMARY = {
    "summary": {
        "content": "- the user's cat is called Zorblax\n- they live in Porto Alegre\n"
        "- they prefer short answers with examples",
        "through_message_id": 2,
        "covered_messages": 288,
        "token_estimate": 64,
        "model": "gemini-2.5-flash",
        "input_tokens": 10,
        "output_tokens": 5,
        "created_at": "2026-12-01T23:41:08Z",
    },
    "window": {"messages": 14, "tokens": 1290, "first_message_id": 3},
}

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chat_screens(new_context, app_server, gemini, unique, theme, size):
    page = new_context(color_scheme=theme, timezone_id="UTC", **SIZES[size]).new_page()
    log = watch(page, PageLog(expected_statuses={500}))
    name = f"chat-{theme}-{size}"
    open_app(page, app_server.url)
    register(page, unique("shots"))

    # A stopped answer, regenerated: 2/2, then back to the stopped one.
    gemini.fake.push(Behavior(text=SLOW, chunk_delay=0.1))
    send(page, "Count slowly, please")
    expect(page.locator(".message.ai .bubble").last).to_contain_text("token4")
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.locator(".message.ai.stopped")).to_be_visible()
    answered(page)
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator(".message.ai .version-count")).to_have_text("2/2")
    page.get_by_role("button", name="Previous version").click()
    expect(page.locator(".message.ai.stopped")).to_be_visible()
    page.get_by_role("button", name="Previous version").focus()  # the focus ring, too
    screenshot(page, f"{name}-stopped-versions", SCREENS)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)

    # The editor of a question.
    page.locator(".message.user").get_by_role("button", name="Edit message").click()
    expect(page.get_by_role("textbox", name="Edit message")).to_be_focused()
    screenshot(page, f"{name}-editor", SCREENS)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.keyboard.press("Escape")

    # Over the length limit.
    page.fill("#composer-input", "a" * 8005)
    expect(page.locator("#composer-counter.over")).to_be_visible()
    screenshot(page, f"{name}-too-long", SCREENS)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.fill("#composer-input", "")

    # What the assistant remembers.
    page.route("**/memory", lambda route: route.fulfill(json=SUMMARY))
    page.get_by_role("button", name="What the assistant remembers").click()
    expect(page.get_by_role("dialog")).to_contain_text("288 messages")
    screenshot(page, f"{name}-memory", SCREENS)
    page.keyboard.press("Escape")

    # Loading, then a failed load.
    held: list[Route] = []
    page.route("**/messages?*", lambda route: held.append(route))
    page.reload()
    expect(page.locator("#chat-loading")).to_be_visible()
    screenshot(page, f"{name}-loading", SCREENS)
    held[0].fulfill(status=500, body="{}")
    expect(page.locator("#chat-load-error")).to_be_visible()
    screenshot(page, f"{name}-load-error", SCREENS)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert log.unexpected_errors() == []
