"""Leases are heartbeats: a running turn keeps its lease alive, a dead worker's lapses within
the TTL (its answer shows as interrupted, the next turn works), and a graceful restart lets
answers in flight finish — or saves them as interrupted past the grace period. With real
gunicorn processes, killed and stopped mid-stream."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.main import create_app
from tests.app.conftest import new_conversation
from tests.app.live import http_account, path_of, sse_events, wait_for
from tests.fakes.fake_gemini import Behavior
from tests.helpers.accounts import register_and_login

ROOT = Path(__file__).resolve().parents[2]
LEASE = 3.0  # TURN_LEASE_SECONDS for the gunicorn tests: short, so a lapse is quick to see


def test_a_running_turn_keeps_its_lease_past_the_ttl(settings_factory, fake) -> None:
    ttl = 2.0
    settings = settings_factory(turn_lease_seconds=ttl, gemini_timeout_seconds=10.0)
    with TestClient(create_app(settings)) as c:
        account = register_and_login(c, "longturn")
        conv = new_conversation(c, account)
        fake.push(Behavior(text=" ".join(["w"] * 14), chunk_delay=0.5))  # ~6.5 s, 3 TTLs
        with c.stream(
            "POST",
            "/chat/stream",
            headers=account.headers,
            json={"conversationId": conv, "message": "q"},
        ) as r:
            lines = r.iter_lines()
            started = time.monotonic()
            for line in lines:
                assert not line.startswith(("event: done", "event: error")), line
                if time.monotonic() - started > 2 * ttl:
                    break
            other = c.post(
                "/chat", headers=account.headers, json={"conversationId": conv, "message": "y"}
            )
            assert other.status_code == 409  # the lease was renewed, not lapsed
            rest = list(lines)
        assert any(line.startswith("event: done") for line in rest)


@contextmanager
def gunicorn(database_url: str, gemini_url: str, tmp: Path, **env: str) -> Iterator[dict]:
    port = _free_port()
    environ = {
        **os.environ,
        "APP_ENV": "development",
        "SECRET_KEY": secrets.token_hex(32),
        "DATA_DIR": str(tmp),
        "DATABASE_URL": database_url,
        "GEMINI_API_KEY": "test-key",
        "GEMINI_BASE_URL": gemini_url,
        "GEMINI_MAX_RETRIES": "1",
        "SERVE_FRONTEND": "false",
        "WEB_CONCURRENCY": "1",
        "TURN_LEASE_SECONDS": str(LEASE),
        "LOG_LEVEL": "WARNING",
        **env,
    }
    log = (tmp / "gunicorn.log").open("w")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c", "app/gunicorn_conf.py",
            "--bind", f"127.0.0.1:{port}",
            "app.main:create_app()",
        ],
        cwd=ROOT,
        env=environ,
        stderr=log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url), 60, "gunicorn to serve")
        yield {"url": url, "proc": proc, "log": tmp / "gunicorn.log"}
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)
        log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def _row_state(database_url: str, message_id: int) -> tuple[str, str]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT state, content FROM messages WHERE id = :id"), {"id": message_id}
        ).one()
    engine.dispose()
    return row[0], row[1]


def _busy_until(database_url: str, conv: str) -> float | None:
    from app.core.config import Settings
    from app.core.db import make_engine, make_session_factory
    from app.models import Conversation

    engine = make_engine(Settings(_env_file=None, database_url=database_url))
    with make_session_factory(engine)() as session:
        until = session.get(Conversation, uuid.UUID(conv)).busy_until
    engine.dispose()
    return until.timestamp() if until is not None else None


def _stream_until_tokens(
    url: str, headers: dict, conv: str, tokens: int, then: Callable[[], None]
) -> list[tuple[str, dict]]:
    """Start a turn, read `tokens` tokens, run `then`, and return every event received."""
    received: list[tuple[str, dict]] = []
    with (
        httpx.Client(base_url=url, timeout=60) as http,
        http.stream(
            "POST", "/chat/stream", headers=headers, json={"conversationId": conv, "message": "q"}
        ) as r,
    ):
        events = sse_events(r)
        try:
            for event in events:
                received.append(event)
                if sum(e == "token" for e, _ in received) == tokens:
                    then()
                    break
            received.extend(events)
        except httpx.HTTPError:
            pass  # the worker died with the connection
    return received


def test_a_killed_worker_frees_the_conversation_within_the_ttl(
    database_url, gemini_server, fake, tmp_path
) -> None:
    with gunicorn(database_url, gemini_server.url, tmp_path) as app:
        with httpx.Client(base_url=app["url"], timeout=30) as http:
            account = http_account(http)
            conv = http.post("/session", headers=account).json()["sessionId"]
        fake.push(Behavior(text=" ".join(f"w{i}" for i in range(100)), chunk_delay=0.1))
        killed_at: list[float] = []

        def kill() -> None:
            [worker] = _workers(app["proc"].pid)
            os.kill(worker, signal.SIGKILL)
            killed_at.append(time.time())

        received = _stream_until_tokens(app["url"], account, conv, 3, kill)
        answer_id = received[0][1]["ai_message_id"]
        # The dead worker's lease lapses within the TTL of the kill (its last renewal was
        # at most a third of the TTL before)...
        lapses_at = _busy_until(database_url, conv)
        assert lapses_at is not None and lapses_at - killed_at[0] <= LEASE + 0.5
        # ...and from then on its answer is listed as interrupted (by whichever worker).
        with httpx.Client(base_url=app["url"], timeout=30) as http:
            wait_for(lambda: _ready(app["url"]), 60, "a new worker")
            wait_for(
                lambda: path_of(http, account, conv)[-1]["state"] == "interrupted",
                LEASE + 5,
                "the lapsed answer to show as interrupted",
            )
            assert time.time() >= lapses_at
            listed = path_of(http, account, conv)
            assert [m["role"] for m in listed] == ["user", "ai"]
            assert listed[1]["content"].startswith("w0")  # the partial answer is kept
            # A new turn works, and marks the row it found interrupted.
            fake.push(Behavior(text="back again"))
            r = http.post(
                "/chat", headers=account, json={"conversationId": conv, "message": "again"}
            )
            assert r.json() == {"answer": "back again"}
            assert _row_state(database_url, answer_id)[0] == "interrupted"
            # The dead turn's answer can be regenerated from its question.
            fake.push(Behavior(text="regenerated"))
            switched = http.put(
                f"/conversations/{conv}/leaf", headers=account, json={"message_id": answer_id}
            )
            assert switched.status_code == 200
            r = http.post(
                "/chat", headers=account, json={"conversationId": conv, "regenerate": True}
            )
            assert r.json() == {"answer": "regenerated"}


def test_a_turn_on_a_connection_accepted_before_a_stop_is_answered(
    database_url, gemini_server, tmp_path
) -> None:
    """nginx opens a connection per request and sends the request with it. A turn on one the
    worker accepted just before SIGTERM, whose request it had not read yet, is answered and
    stored: uvicorn alone closed the connection unanswered (nginx said 502, once in the
    redeploy-under-load test), and a turn starting during a shutdown hung until the stop's
    timeout with its conversation locked."""
    with gunicorn(database_url, gemini_server.url, tmp_path) as app:
        with httpx.Client(base_url=app["url"], timeout=30) as http:
            account = http_account(http)
            conv = http.post("/session", headers=account).json()["sessionId"]
        body = json.dumps({"conversationId": conv, "message": "just in time"}).encode()
        request = (
            f"POST /chat HTTP/1.1\r\nHost: t\r\nAuthorization: {account['Authorization']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode() + body
        port = int(app["url"].rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
            time.sleep(0.5)  # accepted: the worker's loop takes connections at once
            app["proc"].send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            time.sleep(0.5)  # the worker is shutting down (uvicorn looks every 0.1 s)
            conn.sendall(request)
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200"), reply
        assert json.loads(reply.split(b"\r\n\r\n", 1)[1]) == {"answer": "Echo: just in time"}
        assert app["proc"].wait(20) == 0
        assert time.monotonic() - stopped < 10  # not the stop's 28 s timeout
    assert _busy_until(database_url, conv) is None  # the lease is released


def test_a_turn_starting_after_the_grace_period_is_refused_and_frees_the_conversation(
    settings_factory, fake
) -> None:
    settings = settings_factory(shutdown_grace_seconds=0.0)
    with TestClient(create_app(settings)) as c:
        account = register_and_login(c, "late")
        conv = new_conversation(c, account)
        turns = c.app.state.services.turns

        async def shut_down() -> None:
            turns.begin_shutdown()
            await asyncio.sleep(0.05)  # the grace period (0 s) ends

        c.portal.call(shut_down)
        assert turns.past_grace
        r = c.post("/chat", headers=account.headers, json={"conversationId": conv, "message": "q"})
        assert r.status_code == 503, r.text
        assert r.json() == {"detail": "The server is restarting"}
        turns.past_grace = False  # a server that is not stopping after all: the lease is free
        r = c.post("/chat", headers=account.headers, json={"conversationId": conv, "message": "q"})
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("grace", "words", "expected"),
    [("25", 30, "done"), ("1", 200, "interrupted")],
    ids=["finishes", "past-the-grace-period"],
)
def test_a_graceful_restart_lets_answers_finish(
    database_url, gemini_server, fake, tmp_path, grace: str, words: int, expected: str
) -> None:
    """SIGTERM to gunicorn mid-stream: the answer in flight is written to its end (3 s of
    model output); one that needs longer than SHUTDOWN_GRACE_SECONDS is saved as interrupted
    and its stream told so."""
    answer = " ".join(f"w{i}" for i in range(words))
    with gunicorn(database_url, gemini_server.url, tmp_path, SHUTDOWN_GRACE_SECONDS=grace) as app:
        with httpx.Client(base_url=app["url"], timeout=30) as http:
            account = http_account(http)
            conv = http.post("/session", headers=account).json()["sessionId"]
        fake.push(Behavior(text=answer, chunk_delay=0.1))
        stopped: list[float] = []

        def terminate() -> None:
            app["proc"].send_signal(signal.SIGTERM)
            stopped.append(time.monotonic())

        received = _stream_until_tokens(app["url"], account, conv, 3, terminate)
        assert app["proc"].wait(40) == 0
        took = time.monotonic() - stopped[0]
    answer_id = received[0][1]["ai_message_id"]
    state, content = _row_state(database_url, answer_id)
    assert state == expected
    if expected == "done":
        assert content == answer
        assert received[-1][0] == "done"
        assert "".join(d["text"] for e, d in received if e == "token") == answer
    else:
        assert content.startswith("w0 w1 w2") and content != answer
        assert received[-1] == ("error", {"status": 503, "detail": "The server is restarting"})
        assert took < 10, took  # the grace period, not gunicorn's 35 s or the answer's 20 s
