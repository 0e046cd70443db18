"""Browser tests: the real app (uvicorn subprocess, SQLite in a temp dir) talking to the fake
Gemini server, driven through Debian's Chromium by Playwright's sync API.

Every request to a host other than 127.0.0.1 is aborted, so a stray CDN link fails loudly,
and every page records console errors and uncaught exceptions for `assert_no_console_errors`.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.e2e.helpers import PageLog, watch
from tests.fakes.fake_gemini import FakeGeminiServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
UVICORN = [
    sys.executable,
    "-m",
    "uvicorn",
    "--factory",
    "app.main:create_app",
    "--host",
    "127.0.0.1",
]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _start_app(workdir: Path, gemini_url: str, **overrides: str) -> AppServer:
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "APP_ENV": "development",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"sqlite:///{workdir / 'e2e.db'}",
        "DATA_DIR": str(workdir),
        "GEMINI_API_KEY": "fake-key",
        "GEMINI_BASE_URL": gemini_url,
        # One attempt: a scripted upstream error reaches the UI instead of being retried away.
        "GEMINI_MAX_RETRIES": "1",
        "ACCESS_TOKEN_TTL_SECONDS": "900",
        "LOGIN_RATE_PER_MINUTE": "1000",
        "REGISTER_RATE_PER_HOUR": "1000",
        "CHAT_RATE_PER_MINUTE": "1000",
        **overrides,
    }
    python = sys.executable
    subprocess.run([python, "-m", "app.manage", "migrate"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    log_path = workdir / "app.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*UVICORN, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = AppServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 90  # importing the stack on a loaded 2-core machine
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the app did not start:\n{server.log()}")
        time.sleep(0.1)


def _stop_app(server: AppServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def gemini() -> Iterator[FakeGeminiServer]:
    server = FakeGeminiServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, gemini) -> Iterator[AppServer]:
    server = _start_app(tmp_path_factory.mktemp("app"), gemini.url)
    yield server
    _stop_app(server)


@pytest.fixture(scope="session")
def short_token_app(tmp_path_factory, gemini) -> Iterator[AppServer]:
    """A second app whose access tokens expire after 2 s, for the silent-refresh test."""
    server = _start_app(tmp_path_factory.mktemp("short"), gemini.url, ACCESS_TOKEN_TTL_SECONDS="2")
    yield server
    _stop_app(server)


@pytest.fixture(scope="session")
def chat_limited_app(tmp_path_factory, gemini) -> Iterator[AppServer]:
    """An app that allows one chat message per user per minute, for the rate-limit test."""
    server = _start_app(tmp_path_factory.mktemp("chatlimit"), gemini.url, CHAT_RATE_PER_MINUTE="1")
    yield server
    _stop_app(server)


@pytest.fixture(scope="session")
def login_limited_app(tmp_path_factory, gemini) -> Iterator[AppServer]:
    """An app that allows two password attempts per account and per IP a minute."""
    server = _start_app(
        tmp_path_factory.mktemp("loginlimit"), gemini.url, LOGIN_RATE_PER_MINUTE="2"
    )
    yield server
    _stop_app(server)


@pytest.fixture(autouse=True)
def _fresh_fake(gemini) -> None:
    gemini.fake.reset()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def _abort_foreign(route) -> None:
    if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Factory for isolated browser contexts (separate cookies: separate users)."""
    contexts: list[BrowserContext] = []

    def make(**options) -> BrowserContext:
        options.setdefault("locale", "en-US")
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = browser.new_context(**options)
        context.route("**/*", _abort_foreign)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(new_context, page_log: PageLog) -> Iterator[Page]:
    """A fresh English page whose console errors and foreign requests fail the test."""
    page = new_context().new_page()
    watch(page, page_log)
    yield page
    assert page_log.unexpected_errors() == [], "console errors"
    assert page_log.blocked == [], f"requests to other hosts: {page_log.blocked}"


@pytest.fixture
def unique() -> Callable[..., str]:
    """A username nobody else in this test session has."""
    return lambda prefix="user": f"{prefix}{secrets.token_hex(4)}"
