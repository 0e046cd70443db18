"""Helpers for tests that talk to the app over real sockets (uvicorn or gunicorn): an
account, reading an SSE stream event by event, and waiting for a condition."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx

from tests.helpers.accounts import register_and_login


def http_account(http: httpx.Client, name: str | None = None) -> dict[str, str]:
    """A new account's authorization header (the shared sign-up helper, over real sockets)."""
    return register_and_login(http, name).headers


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """(event, data) pairs as they arrive; comments (pings) are skipped."""
    event, data = "message", []
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            yield event, json.loads("\n".join(data))
            event, data = "message", []


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def path_of(http: httpx.Client, headers: dict[str, str], conv: str) -> list[dict]:
    r = http.get(f"/conversations/{conv}/messages", headers=headers, params={"limit": 500})
    assert r.status_code == 200, r.text
    return r.json()["items"]
