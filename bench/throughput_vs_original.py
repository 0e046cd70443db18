"""Our chat throughput over the original project's, on one machine, in one run.

Both servers run side by side under gunicorn with 4 uvicorn workers on SQLite, against the
same fake Gemini server: ours (app/) and bench/original_reference.py, which does per turn
what the original did (every stored message read from an unindexed table, the history
pasted as text into one human message, one model call, two inserts). The load is issue
10's: 20 users × 10 turns each, 20 at once, each user in a fresh conversation. Rounds
alternate between the two servers so that a noisy neighbour on the shared CPU hits both;
the figure is the ratio of the median rounds.

    python -m bench.throughput_vs_original [--rounds 3] [--users 20] [--turns 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from bench.harness import (
    emit,
    fake_gemini,
    gunicorn_app,
    reference_app,
    register_and_login,
    script_fake,
    summary_ms,
)

ROUND_SECONDS_CAP = 60


async def round_of_turns(
    url: str, headers: list[dict], turns: int
) -> tuple[list[float], dict[int, int], float]:
    """Every user opens a fresh conversation and sends `turns` messages, one after the other,
    all users at once. Bounded by count and by ROUND_SECONDS_CAP."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
    deadline = time.monotonic() + ROUND_SECONDS_CAP
    # A connection per request, as nginx opens to the app: with long-lived keep-alive
    # connections one gunicorn worker ends up holding most clients and the rest idle.
    limits = httpx.Limits(max_connections=len(headers))
    async with httpx.AsyncClient(
        base_url=url, timeout=30, limits=limits, headers={"Connection": "close"}
    ) as client:

        async def user(h: dict) -> None:
            conv = (await client.post("/session", headers=h)).json()["sessionId"]
            for n in range(turns):
                if time.monotonic() > deadline:
                    return
                start = time.perf_counter()
                r = await client.post(
                    "/chat", headers=h, json={"conversationId": conv, "message": f"question {n}"}
                )
                if r.status_code == 200:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors[r.status_code] = errors.get(r.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(user(h) for h in headers))
        wall = time.perf_counter() - started
    return latencies, errors, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    results: dict[str, dict[str, list]] = {
        name: {"turns_per_second": [], "latencies": [], "errors": []}
        for name in ("ours", "reference")
    }
    with (
        fake_gemini() as gemini,
        gunicorn_app(gemini, workers=args.workers) as ours,
        reference_app(gemini, workers=args.workers) as reference,
    ):
        script_fake(gemini, text="A short instant answer from the fake model.")
        servers = {"ours": ours.url, "reference": reference.url}
        headers = {}
        for name, url in servers.items():
            with httpx.Client(base_url=url, timeout=60) as client:
                headers[name] = [register_and_login(client, f"load{i}") for i in range(args.users)]
            # Warm-up: every worker imports, connects and opens its model client.
            asyncio.run(round_of_turns(url, headers[name], 2))
        for _ in range(args.rounds):
            for name, url in servers.items():
                latencies, errors, wall = asyncio.run(
                    round_of_turns(url, headers[name], args.turns)
                )
                results[name]["turns_per_second"].append(round(len(latencies) / wall, 1))
                results[name]["latencies"].extend(latencies)
                results[name]["errors"].append(errors)
    out: dict[str, object] = {
        "load": f"{args.users} users x {args.turns} turns, {args.users} at once",
        "workers": args.workers,
        "database": "sqlite",
        "rounds": args.rounds,
    }
    for name, r in results.items():
        out[name] = {
            "turns_per_second_median": statistics.median(r["turns_per_second"]),
            "turns_per_second_rounds": r["turns_per_second"],
            "errors": [e for e in r["errors"] if e],
            **summary_ms(r["latencies"]),
        }
    ours_tps = out["ours"]["turns_per_second_median"]  # type: ignore[index]
    ref_tps = out["reference"]["turns_per_second_median"]  # type: ignore[index]
    out["ratio_ours_over_reference"] = round(ours_tps / ref_tps, 2)
    out["target_ratio"] = 2.0
    emit("throughput_vs_original", out)
    print(
        f"ours {ours_tps} turns/s, original reference {ref_tps} turns/s: "
        f"ratio {out['ratio_ours_over_reference']} (target >= 2.0)"
    )


if __name__ == "__main__":
    main()
