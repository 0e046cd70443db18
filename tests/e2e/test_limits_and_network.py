"""Being told "not now": the chat rate limit, a lost network, and login throttling.

Each failure must leave a clear inline message (with the wait time when the server gives one),
keep the user's unsent text, and store nothing of the refused turn.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.helpers import open_app, register, send
from tests.fakes.fake_gemini import Behavior
from tests.helpers import accounts

SLOW = " ".join(f"token{i}" for i in range(1, 41))
THROTTLED = re.compile(r"Try again in \d+ s\.")


class CuttableProxy:
    """A TCP relay on 127.0.0.1 in front of the app whose `cut()` drops every open connection
    at once, as a lost network would; new connections after that go through again."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname, parts.port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def __enter__(self) -> CuttableProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.listener.close()
        self.cut()

    def cut(self) -> None:
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _expect_network_console_errors(page_log, fragments: list[str]) -> None:
    """Chromium logs a failed fetch as a console error, and these tests fail fetches on
    purpose: each expected one must be there, and only those are taken out of the log that
    the `page` fixture checks."""
    network = [e for e in page_log.errors if e.startswith("Failed to load resource: net::")]
    for fragment in fragments:
        assert any(fragment in e for e in network), page_log.errors
    page_log.errors[:] = [e for e in page_log.errors if e not in network]


def test_chat_rate_limit_shows_wait_keeps_text_and_stores_nothing(
    page: Page, page_log, chat_limited_app, unique
):
    page_log.expected_statuses |= {429}
    open_app(page, chat_limited_app.url)
    register(page, unique("rate"))
    send(page, "First message")
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: First message"])

    send(page, "Second message, too soon")
    error = page.locator("#chat-error")
    expect(error).to_be_visible()
    expect(page.locator("#chat-error-text")).to_have_text(
        re.compile(r"You're sending messages too fast\. Try again in \d+ s\.")
    )
    expect(error.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.locator("#composer-input")).to_have_value("Second message, too soon")
    expect(page.locator(".message.user")).to_have_text(["First message"])
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: First message"])

    # Nothing of the refused turn was stored.
    page.reload()
    page.wait_for_selector("body.ready")
    expect(page.locator(".message.user")).to_have_text(["First message"])
    expect(page.locator(".message.ai .bubble")).to_have_text(["Echo: First message"])


def test_network_failure_keeps_text_and_retry_succeeds(
    page: Page, page_log, app_server, gemini, unique
):
    open_app(page, app_server.url)
    register(page, unique("net"))
    page.route("**/chat/stream", lambda route: route.abort("internetdisconnected"))
    send(page, "Typed while the network was down")

    error = page.locator("#chat-error")
    expect(error).to_be_visible()
    expect(page.locator("#chat-error-text")).to_have_text(
        "Can't reach the server. Check your connection."
    )
    expect(page.locator("#composer-input")).to_have_value("Typed while the network was down")
    expect(page.locator(".message")).to_have_count(0)

    page.unroute("**/chat/stream")
    error.get_by_role("button", name="Retry").click()
    expect(page.locator(".message.ai .bubble")).to_have_text(
        ["Echo: Typed while the network was down"]
    )
    expect(error).to_be_hidden()
    expect(page.locator("#composer-input")).to_have_value("")
    _expect_network_console_errors(page_log, ["net::ERR_INTERNET_DISCONNECTED"])


def test_connection_lost_mid_stream_reattaches_and_shows_the_whole_answer(
    page: Page, page_log, app_server, gemini, unique
):
    # Chromium's offline emulation (context.set_offline) fails new requests but lets a
    # response already streaming finish, so the connection is cut by a proxy in between.
    with CuttableProxy(app_server.url) as proxy:
        open_app(page, proxy.url)
        register(page, unique("cut"))
        gemini.fake.push(Behavior(text=SLOW, chunk_delay=0.1))
        send(page, "Answer me slowly")
        expect(page.locator(".message.ai .bubble").last).to_contain_text("token2")
        proxy.cut()

        # A cut is not a failure: the server goes on writing and the page follows it again
        # (GET …/stream), so the whole answer arrives with no error and nothing to retry.
        expect(page.locator(".message.ai .bubble")).to_have_text([SLOW], timeout=20_000)
        expect(page.locator(".message.ai.done")).to_have_count(1)
        expect(page.locator("#chat-error")).to_be_hidden()
        expect(page.locator(".message.user")).to_have_text(["Answer me slowly"])
        expect(page.locator("#composer-input")).to_have_value("")

        page.reload()
        page.wait_for_selector("body.ready")
        expect(page.locator(".message.ai .bubble")).to_have_text([SLOW])
    _expect_network_console_errors(page_log, ["net::ERR_INCOMPLETE_CHUNKED_ENCODING"])


def test_login_throttling_shows_retry_time(page: Page, page_log, login_limited_app, unique):
    page_log.expected_statuses |= {401, 429}
    username = unique("throttle")
    # Signed up without the UI: the form also logs in, which would spend one of the two
    # password attempts this test counts.
    with httpx.Client(base_url=login_limited_app.url, timeout=10) as http:
        accounts.register(http, username)
    open_app(page, login_limited_app.url)

    form_error = page.locator("#login-form-error")
    submit = page.locator("#login-form").get_by_role("button", name="Log in")
    for attempt in range(1, 4):
        page.fill("#login-username", username)
        page.fill("#login-password", f"wrong password {attempt}")
        submit.click()
        if attempt < 3:
            expect(form_error).to_have_text("Wrong username or password.")
    expect(form_error).to_be_visible()
    expect(form_error).to_have_text(THROTTLED)
    expect(page.locator("#app-view")).to_be_hidden()
