"""Chat-turn throughput and latency: 20 concurrent users, gunicorn with 4 workers, SQLite,
the fake model answering instantly. Each user chats in its own conversation, so turns
accumulate history (the window fills up as the run goes on).

    python -m bench.chat_throughput [--users 20] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench.harness import (
    emit,
    fake_gemini,
    gunicorn_app,
    script_fake,
    summary_ms,
)
from tests.helpers.accounts import register_and_login


async def run_load(url: str, headers: list[dict], convs: list[str], seconds: float, cap: int):
    latencies: list[float] = []
    errors: dict[int, int] = {}
    deadline = time.monotonic() + seconds
    sent = 0

    async def user(i: int, client: httpx.AsyncClient) -> None:
        nonlocal sent
        n = 0
        while time.monotonic() < deadline and sent < cap:
            sent += 1
            n += 1
            start = time.perf_counter()
            r = await client.post(
                "/chat",
                headers=headers[i],
                json={"conversationId": convs[i], "message": f"question {n} from user {i}"},
            )
            elapsed = time.perf_counter() - start
            if r.status_code == 200:
                latencies.append(elapsed)
            else:
                errors[r.status_code] = errors.get(r.status_code, 0) + 1

    limits = httpx.Limits(max_connections=len(headers))
    # A connection per request, as nginx opens to the app: with long-lived keep-alive
    # connections one gunicorn worker ends up holding most clients and the rest idle.
    async with httpx.AsyncClient(
        base_url=url, timeout=30, limits=limits, headers={"Connection": "close"}
    ) as client:
        started = time.perf_counter()
        await asyncio.gather(*(user(i, client) for i in range(len(headers))))
        wall = time.perf_counter() - started
    return latencies, errors, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--max-turns", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with fake_gemini() as gemini, gunicorn_app(gemini, workers=args.workers) as app:
        script_fake(gemini, text="A short instant answer from the fake model.")
        with httpx.Client(base_url=app.url, timeout=30) as client:
            headers = [register_and_login(client, f"load{i}").headers for i in range(args.users)]
            convs = [client.post("/session", headers=h).json()["sessionId"] for h in headers]
        # Warm-up: every worker imports and connects before the clock starts.
        asyncio.run(run_load(app.url, headers, convs, 2, 200))
        latencies, errors, wall = asyncio.run(
            run_load(app.url, headers, convs, args.seconds, args.max_turns)
        )
    emit(
        "chat_throughput",
        {
            "users": args.users,
            "workers": args.workers,
            "database": "sqlite",
            "turns": len(latencies),
            "errors": errors,
            "turns_per_second": round(len(latencies) / wall, 1),
            **summary_ms(latencies),
        },
    )


if __name__ == "__main__":
    main()
