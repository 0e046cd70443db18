"""Answers are rows the server keeps as they stream: Stop keeps what was said, a reload or a
second tab follows an answer still being written, a cut connection re-attaches, and an answer
that ended badly (failed midway, interrupted) stays with its question and a Regenerate."""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import Page, Route, expect

from tests.e2e.helpers import PageLog, answered, open_app, register, send, watch
from tests.fakes.fake_gemini import Behavior

SLOW = " ".join(f"token{i}" for i in range(1, 41))


def _requests(page: Page, part: str) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(f"{r.method} {r.url}") if part in r.url else None)
    return seen


def test_stop_keeps_the_question_and_the_partial_answer(page: Page, app_server, gemini, unique):
    stops = _requests(page, "/stop")
    open_app(page, app_server.url)
    register(page, unique("stop"))
    gemini.fake.push(Behavior(text=SLOW, chunk_delay=0.1))
    send(page, "Count slowly")
    answer = page.locator(".message.ai .bubble").last
    expect(answer).to_contain_text("token3")
    page.get_by_role("button", name="Stop", exact=True).click()

    stopped = page.locator(".message.ai.stopped")
    expect(stopped).to_contain_text("Stopped.")
    answered(page)
    assert len(stops) == 1 and stops[0].startswith("POST "), stops
    partial = stopped.locator(".bubble").inner_text()
    assert "token3" in partial and "token40" not in partial

    # The server kept it as stopped: a reload shows the same turn, not a gap.
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".message.user")).to_have_text(["Count slowly"])
    expect(page.locator(".message.ai.stopped .bubble")).to_have_text(partial)
    expect(page.locator(".message.ai.stopped")).to_contain_text("Stopped.")

    # Regenerate answers again and keeps the stopped answer as version 1.
    page.locator(".message.ai.stopped").get_by_role("button", name="Regenerate").click()
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: Count slowly"])
    expect(page.locator(".message.ai .version-count")).to_have_text("2/2")


def test_stop_in_portuguese(new_context, app_server, gemini, unique):
    page = new_context(locale="pt-BR").new_page()
    log = watch(page, PageLog())
    open_app(page, app_server.url)
    register_pt = page.get_by_role("tab", name="Criar conta")
    register_pt.click()
    name = unique("parar")
    page.fill("#register-username", name)
    page.fill("#register-email", f"{name}@example.com")
    page.fill("#register-password", "correct horse battery")
    page.fill("#register-password_confirm", "correct horse battery")
    page.locator("#register-form").get_by_role("button", name="Criar conta").click()
    expect(page.locator("#app-view")).to_be_visible()
    gemini.fake.push(Behavior(text=SLOW, chunk_delay=0.1))
    send(page, "Conte devagar")
    expect(page.locator(".message.ai .bubble").last).to_contain_text("token2")
    page.get_by_role("button", name="Parar", exact=True).click()
    expect(page.locator(".message.ai.stopped")).to_contain_text("Interrompida.")
    expect(page.get_by_role("button", name="Gerar de novo")).to_be_visible()
    assert log.unexpected_errors() == []


def test_a_reload_follows_the_answer_still_being_written(page: Page, app_server, gemini, unique):
    follows = _requests(page, "/stream")
    open_app(page, app_server.url)
    register(page, unique("reload"))
    gemini.fake.push(Behavior(text=SLOW, chunk_delay=0.15))
    send(page, "Write a long answer")
    expect(page.locator(".message.ai .bubble").last).to_contain_text("token2")
    page.reload()
    page.wait_for_selector("body.ready")

    # It is shown growing (still streaming), then whole and done.
    growing = page.locator(".message.ai.streaming .bubble")
    expect(growing).to_contain_text("token")
    expect(page.locator("#stop-button")).to_be_visible()
    expect(page.locator(".message.ai .bubble")).to_have_text([SLOW], timeout=20_000)
    expect(page.locator(".message.ai.done")).to_have_count(1)
    answered(page)
    assert any("GET " in f and "/messages/" in f for f in follows), follows
    expect(page.locator(".message.user")).to_have_text(["Write a long answer"])


def test_a_second_tab_sees_the_answer_another_tab_receives(new_context, app_server, gemini, unique):
    context = new_context()
    first = context.new_page()
    log = watch(first, PageLog())
    open_app(first, app_server.url)
    register(first, unique("tabs"))
    gemini.fake.push(Behavior(text=SLOW, chunk_delay=0.15))
    send(first, "Both tabs should see this")
    expect(first.locator(".message.ai .bubble").last).to_contain_text("token2")

    second = context.new_page()
    watch(second, log)
    second.goto(first.url)
    second.wait_for_selector("body.ready")
    expect(second.locator(".message.user")).to_have_text(["Both tabs should see this"])
    expect(second.locator(".message.ai.streaming")).to_be_visible()
    expect(second.locator(".message.ai .bubble")).to_have_text([SLOW], timeout=20_000)
    expect(first.locator(".message.ai .bubble")).to_have_text([SLOW], timeout=20_000)
    answered(second)
    assert log.unexpected_errors() == []


def test_a_tab_already_open_catches_up_when_it_is_shown_again(
    new_context, app_server, gemini, unique
):
    """Both tabs are open on one conversation; the question is asked in the first. The
    second shows it once it is looked at again (focus), still streaming, then whole; and a
    conversation started in the first appears in its list."""
    context = new_context()
    first = context.new_page()
    log = watch(first, PageLog())
    open_app(first, app_server.url)
    register(first, unique("catchup"))
    send(first, "Before the second tab")
    expect(first.locator(".message.ai .bubble")).to_have_text(["Echo: Before the second tab"])
    answered(first)

    second = context.new_page()
    watch(second, log)
    second.goto(first.url)
    second.wait_for_selector("body.ready")
    expect(second.locator(".message.user")).to_have_count(1)

    gemini.fake.push(Behavior(text=SLOW, chunk_delay=0.15))
    send(first, "Asked in the first tab")
    expect(first.locator(".message.ai .bubble").last).to_contain_text("token2")
    expect(second.locator(".message.user")).to_have_count(1)  # nothing tells it yet

    second.evaluate("window.dispatchEvent(new Event('focus'))")
    expect(second.locator(".message.user")).to_have_text(
        ["Before the second tab", "Asked in the first tab"]
    )
    expect(second.locator(".message.ai.streaming")).to_be_visible()
    expect(second.locator(".message.ai .bubble").last).to_have_text(SLOW, timeout=20_000)
    answered(second)
    answered(first)

    first.get_by_role("button", name="New chat").click()
    expect(first.locator(".message")).to_have_count(0)  # on the new chat's screen
    send(first, "A second conversation")
    expect(first.locator(".message.ai .bubble")).to_have_text(["Echo: A second conversation"])
    expect(second.locator(".conversation")).to_have_count(1)
    second.evaluate("window.dispatchEvent(new Event('focus'))")
    expect(second.locator(".conversation")).to_have_count(2)
    # The second tab stays on its conversation, unchanged by the refresh.
    expect(second.locator(".message.user")).to_have_count(2)
    assert log.unexpected_errors() == []


def _cut_after_first_token(app_url: str):
    """A route for POST /chat/stream that passes the real stream through until its first
    token, then ends it, as a dropped connection does. The server is left writing."""

    def handle(route: Route) -> None:
        request = route.request
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("authorization", "content-type")
        }
        upstream = urllib.request.Request(
            app_url + "/chat/stream", data=request.post_data_buffer, headers=headers, method="POST"
        )
        body = b""
        with urllib.request.urlopen(upstream, timeout=30) as response:
            in_token = False
            for line in response:
                body += line
                if line.startswith(b"event: token"):
                    in_token = True
                elif in_token and line.strip() == b"":
                    break
        route.fulfill(status=200, headers={"content-type": "text/event-stream"}, body=body)

    return handle


def test_a_dropped_connection_reattaches_instead_of_failing(page: Page, app_server, gemini, unique):
    follows = _requests(page, "/stream")
    open_app(page, app_server.url)
    register(page, unique("drop"))
    page.route("**/chat/stream", _cut_after_first_token(app_server.url))
    gemini.fake.push(Behavior(text=SLOW, chunk_delay=0.1))
    send(page, "Keep going without me")

    expect(page.locator(".message.ai .bubble")).to_have_text([SLOW], timeout=20_000)
    answered(page)
    expect(page.locator("#chat-error")).to_be_hidden()
    expect(page.locator(".message.ai.done")).to_have_count(1)
    assert any("GET " in f for f in follows), follows
    expect(page.locator("#composer-input")).to_have_value("")


def test_an_answer_that_failed_midway_stays_with_regenerate(
    page: Page, page_log, app_server, gemini, unique
):
    page_log.expected_statuses |= {502, 503}
    open_app(page, app_server.url)
    register(page, unique("mid"))
    gemini.fake.push(Behavior(text=SLOW, chunk_delay=0.05, fail_after_chunks=3))
    send(page, "This will break halfway")
    failed = page.locator(".message.ai.error")
    expect(failed).to_contain_text("The model failed before finishing this answer.")
    expect(failed.locator(".bubble")).to_contain_text("token1")
    expect(page.locator(".message.user")).to_have_text(["This will break halfway"])
    expect(page.locator("#composer-input")).to_have_value("")
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".message.ai.error")).to_be_visible()
    page.locator(".message.ai.error").get_by_role("button", name="Regenerate").click()
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: This will break halfway"])


def test_an_interrupted_answer_is_shown_as_interrupted(page: Page, app_server, unique):
    """The server lists an answer whose writer died as "interrupted" (tested in tests/app);
    here the listing is made to say so, to see what the page makes of it."""
    open_app(page, app_server.url)
    register(page, unique("intr"))
    send(page, "Hello there")
    answered(page)

    def interrupted(route: Route) -> None:
        response = route.fetch()
        page_json = response.json()
        page_json["items"][-1]["state"] = "interrupted"
        route.fulfill(response=response, body=json.dumps(page_json))

    page.route("**/messages?*", interrupted)
    page.reload()
    page.wait_for_selector("body.ready")
    note = page.locator(".message.ai.interrupted")
    expect(note).to_contain_text("Interrupted")
    expect(note.get_by_role("button", name="Regenerate")).to_be_visible()
    expect(page.locator(".message.user")).to_have_text(["Hello there"])
