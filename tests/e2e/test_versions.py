"""Versions: Regenerate keeps the earlier answer, an edited question is resent as a new
version (editOf), ‹ 1/2 › switches between them (PUT …/leaf) and a reload shows the branch
chosen; questions have Copy and Edit as answers have Copy."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.helpers import answered, open_app, register, send
from tests.fakes.fake_gemini import Behavior


def _reload(page: Page) -> None:
    page.reload()
    page.wait_for_selector("body.ready")


def test_regenerate_keeps_the_earlier_answer_as_a_version(page: Page, app_server, gemini, unique):
    open_app(page, app_server.url)
    register(page, unique("regen"))
    gemini.fake.push(Behavior(text="First answer"))
    send(page, "Say something")
    expect(page.locator(".message.ai .bubble")).to_have_text(["First answer"])
    expect(page.locator(".versions")).to_have_count(0)  # one version: no switch

    gemini.fake.push(Behavior(text="Second answer"))
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator(".message.ai .bubble")).to_have_text(["Second answer"])
    versions = page.locator(".message.ai .versions")
    expect(versions.locator(".version-count")).to_have_text("2/2")
    expect(versions.get_by_role("button", name="Next version")).to_be_disabled()

    versions.get_by_role("button", name="Previous version").click()
    expect(page.locator(".message.ai .bubble")).to_have_text(["First answer"])
    expect(versions.locator(".version-count")).to_have_text("1/2")
    expect(versions.get_by_role("button", name="Previous version")).to_be_disabled()

    # The branch chosen is the conversation's: a reload shows it.
    _reload(page)
    expect(page.locator(".message.ai .bubble")).to_have_text(["First answer"])
    expect(page.locator(".message.ai .version-count")).to_have_text("1/2")
    expect(page.locator(".message.user")).to_have_count(1)
    page.get_by_role("button", name="Next version").click()
    expect(page.locator(".message.ai .bubble")).to_have_text(["Second answer"])


def test_edit_a_question_resends_it_as_a_new_version(page: Page, app_server, unique):
    open_app(page, app_server.url)
    register(page, unique("edit"))
    send(page, "Question one")
    answered(page)
    send(page, "Follow-up")
    expect(page.locator(".message.ai .bubble")).to_have_text(
        ["Echo: Question one", "Echo: Follow-up"]
    )

    first = page.locator(".message.user").first
    # Escape cancels and gives the focus back to the Edit button.
    first.get_by_role("button", name="Edit message").click()
    editor = page.get_by_role("textbox", name="Edit message")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("Question one")
    editor.fill("Changed my mind")
    editor.press("Escape")
    expect(editor).to_have_count(0)
    expect(first.locator(".bubble")).to_have_text("Question one")
    expect(first.get_by_role("button", name="Edit message")).to_be_focused()

    # Enter saves and sends: the conversation continues from the edited question.
    first.get_by_role("button", name="Edit message").click()
    editor.fill("Question two")
    editor.press("Enter")
    expect(page.locator(".message.user .bubble")).to_have_text(["Question two"])
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: Question two"])
    expect(page.locator(".message.user .version-count")).to_have_text("2/2")

    # The earlier version and everything after it are still there.
    page.locator(".message.user").get_by_role("button", name="Previous version").click()
    expect(page.locator(".message.user .bubble")).to_have_text(["Question one", "Follow-up"])
    expect(page.locator(".message.ai .bubble")).to_have_text(
        ["Echo: Question one", "Echo: Follow-up"]
    )
    _reload(page)
    expect(page.locator(".message.user .bubble")).to_have_text(["Question one", "Follow-up"])

    # Save & send, by the button this time.
    page.locator(".message.user").last.get_by_role("button", name="Edit message").click()
    editor.fill("Another follow-up")
    page.get_by_role("button", name="Save & send").click()
    expect(page.locator(".message.ai .bubble")).to_have_text(
        ["Echo: Question one", "Echo: Another follow-up"]
    )
    expect(page.locator(".message.user").last.locator(".version-count")).to_have_text("2/2")


def test_copy_a_question(page: Page, app_server, unique):
    open_app(page, app_server.url)
    register(page, unique("copyq"))
    send(page, "Copy me, please")
    answered(page)
    page.locator(".message.user").get_by_role("button", name="Copy message").click()
    expect(page.locator("#toast")).to_have_text("Copied")
