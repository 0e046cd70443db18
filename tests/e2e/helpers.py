"""Page helpers shared by the browser tests: watching a page, signing up and logging in through
the forms, sending. (Over HTTP, without the UI: tests/helpers/accounts.py.)"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.helpers.accounts import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
# The screens a UI change is looked at on (tests/e2e/test_screens.py).
SCREENS = ARTIFACTS.parent / "screens"

expect.set_options(timeout=10_000)


_HTTP_ERROR = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")


@dataclass
class PageLog:
    """What a page reported: console errors, uncaught exceptions, dialogs, blocked hosts.

    Chromium logs every 4xx/5xx response as a console error; a test that provokes one on
    purpose lists its status in `expected_statuses`, every other error fails the test.
    """

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def unexpected_errors(self) -> list[str]:
        return [
            e
            for e in self.errors
            if not ((m := _HTTP_ERROR.match(e)) and int(m.group(1)) in self.expected_statuses)
        ]


def watch(page: Page, log: PageLog) -> PageLog:
    """Record console errors, uncaught exceptions, dialogs (dismissed) and blocked hosts."""
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: log.errors.append(f"pageerror: {exc}"))

    def on_dialog(dialog) -> None:
        log.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "requestfailed",
        lambda r: log.blocked.append(r.url) if "//127.0.0.1" not in r.url else None,
    )
    return log


def open_app(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    page.wait_for_selector("body.ready")


def register(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign up through the form; the UI logs straight in."""
    page.get_by_role("tab", name="Sign up").click()
    page.fill("#register-username", username)
    page.fill("#register-email", f"{username}@example.com")
    page.fill("#register-password", password)
    page.fill("#register-password_confirm", password)
    page.locator("#register-form").get_by_role("button", name="Create account").click()
    expect(page.locator("#app-view")).to_be_visible()
    expect(page.locator("#account-name")).to_have_text(username)


def login(page: Page, username: str, password: str = PASSWORD) -> None:
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.locator("#login-form").get_by_role("button", name="Log in").click()
    expect(page.locator("#app-view")).to_be_visible()


def send(page: Page, text: str) -> None:
    page.fill("#composer-input", text)
    page.press("#composer-input", "Enter")


def answered(page: Page) -> None:
    """Wait until no answer is streaming: the text can be complete before the stream's end,
    and a message sent (or a chat left) before it would be refused (or stop the answer)."""
    expect(page.locator("#send-button")).to_be_visible()
    expect(page.locator("#messages")).to_have_attribute("aria-busy", "false")


def row_action(page: Page, row: Locator, action: str) -> None:
    """Open a conversation row's "⋯" menu with the mouse and choose `action` (Rename, Delete)."""
    row.hover()
    row.locator(".conversation-more").click()
    page.locator("#conversation-menu").get_by_role("menuitem", name=action).click()


def screenshot(page: Page, name: str, folder: Path = ARTIFACTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
