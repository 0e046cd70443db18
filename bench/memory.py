"""Memory: resident set size per gunicorn worker after warm-up, and its peak while 30
logins arrive at once (scrypt takes 16 MiB per hash; the app runs at most
MAX_CONCURRENT_HASHES at a time, so the peak stays bounded).

    python -m bench.memory [--logins 30]
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time

import httpx

from bench.harness import (
    emit,
    fake_gemini,
    gunicorn_app,
    rss_mb,
    script_fake,
)
from tests.helpers.accounts import PASSWORD, register_and_login


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logins", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with fake_gemini() as gemini, gunicorn_app(gemini, workers=args.workers) as app:
        script_fake(gemini, text="warm-up answer")
        with httpx.Client(base_url=app.url, timeout=60) as client:
            headers = register_and_login(client, "memuser").headers
            conv = client.post("/session", headers=headers).json()["sessionId"]
            # Warm every worker: several chats and logins spread over the workers.
            for i in range(40):
                client.post(
                    "/chat", headers=headers, json={"conversationId": conv, "message": f"m{i}"}
                )
            for _ in range(8):
                client.post("/login", json={"username": "memuser", "password": PASSWORD})
        pids = app.worker_pids()
        time.sleep(1)
        warm = {pid: rss_mb(pid) for pid in pids}

        peak = dict(warm)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                for pid in pids:
                    peak[pid] = max(peak[pid], rss_mb(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        async def burst() -> tuple[list[int], float]:
            async with httpx.AsyncClient(base_url=app.url, timeout=120) as client:
                start = time.perf_counter()
                rs = await asyncio.gather(
                    *(
                        client.post("/login", json={"username": "memuser", "password": PASSWORD})
                        for _ in range(args.logins)
                    )
                )
                return [r.status_code for r in rs], time.perf_counter() - start

        codes, wall = asyncio.run(burst())
        stop.set()
        sampler.join()
    emit(
        "memory",
        {
            "workers": len(pids),
            "rss_after_warmup_mb": sorted(round(v, 1) for v in warm.values()),
            "rss_after_warmup_max_mb": round(max(warm.values()), 1),
            "concurrent_logins": args.logins,
            "login_statuses": {str(c): codes.count(c) for c in sorted(set(codes))},
            "login_burst_seconds": round(wall, 2),
            "rss_peak_during_burst_max_mb": round(max(peak.values()), 1),
            "rss_growth_during_burst_max_mb": round(max(peak[p] - warm[p] for p in pids), 1),
        },
    )


if __name__ == "__main__":
    main()
