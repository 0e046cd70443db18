"""Our chat throughput over the original project's, on one machine, in one run.

Both servers run side by side under gunicorn with 4 uvicorn workers on SQLite, against the
same fake Gemini server: ours (app/) and bench/original_reference.py, which does per turn
what the original did (every stored message read from an unindexed table, the history
pasted as text into one human message, one model call, two inserts). The load is issue
10's: 20 users × 10 turns each, 20 at once, each user in a fresh conversation. Rounds
alternate between the two servers so that a noisy neighbour on the shared CPU hits both;
the figure is the ratio of the median rounds.

In the same rounds it serves bench/one_call_server.py's modes, ceilings: one model call per
turn through the real client and nothing else, shaped as the reference's call and as ours.
Their ratios over the reference bound what any server built on that call can reach here.
The load client is bench/raw_http.py, so that the load generator's own CPU, taken from the
same two cores, does not flatten the ratios.

    python -m bench.throughput_vs_original [--rounds 3] [--users 20] [--turns 10]
        [--client raw|httpx] [--no-ceiling]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from pathlib import Path

import httpx

from bench.harness import (
    ROOT,
    App,
    cpu_seconds,
    emit,
    fake_gemini,
    fake_gemini_pid,
    gunicorn_app,
    one_call_app,
    reference_app,
    script_fake,
    summary_ms,
)
from bench.raw_http import RawClient
from tests.helpers.accounts import register_and_login

ROUND_SECONDS_CAP = 60
# bench/one_call_server.py's modes: one model call per turn and nothing else, as the
# reference makes it (sync, and async) and as ours does (streamed, after a short window).
CEILINGS = {
    "one_call_sync": "sync",
    "one_call_async": "async",
    "one_call_window_stream": "window_stream",
    "one_call_window_invoke": "window_invoke",
}


async def round_of_turns(
    url: str, headers: list[dict], turns: int, client_kind: str = "raw"
) -> tuple[list[float], dict[int, int], float]:
    """Every user opens a fresh conversation and sends `turns` messages, one after the other,
    all users at once. Bounded by count and by ROUND_SECONDS_CAP. A connection per request,
    as nginx opens to the app: with long-lived keep-alive connections one gunicorn worker
    ends up holding most clients and the rest idle."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
    deadline = time.monotonic() + ROUND_SECONDS_CAP
    async with contextlib.AsyncExitStack() as stack:
        if client_kind == "raw":
            raw = RawClient(url)
            post = raw.post
        else:
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=url,
                    timeout=120,
                    limits=httpx.Limits(max_connections=len(headers)),
                    headers={"Connection": "close"},
                )
            )

            async def post(path: str, h: dict, body: object = None) -> tuple[int, bytes]:
                r = await client.post(path, headers=h, json=body)
                return r.status_code, r.content

        async def attempt(path: str, h: dict, body: object = None) -> tuple[int, bytes]:
            # A refused or cut-off connection is a failed request (counted as status 0),
            # not the end of the run.
            try:
                return await post(path, h, body)
            except (OSError, TimeoutError, ValueError, httpx.HTTPError):
                return 0, b""

        async def user(h: dict) -> None:
            # The reference's rollback-journal SQLite can answer "database is locked" (a
            # 500) when a write waits more than 5 s: counted, and tried again, thrice.
            for _ in range(3):
                code, body = await attempt("/session", h)
                if 200 <= code < 300:
                    break
                errors[code] = errors.get(code, 0) + 1
            else:
                return
            conv = json.loads(body)["sessionId"]
            for n in range(turns):
                if time.monotonic() > deadline:
                    return
                start = time.perf_counter()
                code, _ = await attempt(
                    "/chat", h, {"conversationId": conv, "message": f"question {n}"}
                )
                if code == 200:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors[code] = errors.get(code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(user(h) for h in headers))
        wall = time.perf_counter() - started
    return latencies, errors, wall


def _cpu(server: App, fake_pid: int) -> dict[str, float]:
    return {
        "server_workers": sum(cpu_seconds(pid) for pid in server.worker_pids()),
        "fake_model": cpu_seconds(fake_pid),
        "load_generator": time.process_time(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="also run ours with this setting (e.g. HISTORY_MAX_MESSAGES=6) in the same "
        "rounds, to measure a change; results go to throughput_vs_original_variant.json",
    )
    parser.add_argument(
        "--variant-tree",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also run ours from this copy of the source tree (a change to measure); "
        "repeat it to measure several changes in the same rounds",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="the load generator's HTTP client (raw: bench/raw_http.py, the default; httpx: "
        "its AsyncClient, which costs the shared CPU 2.5-3 ms per request)",
    )
    parser.add_argument(
        "--no-ceiling",
        action="store_true",
        help="leave out bench/one_call_server.py (one model call per turn, nothing else)",
    )
    args = parser.parse_args()
    variant = dict(item.split("=", 1) for item in args.variant)
    trees: list[Path] = args.variant_tree or ([ROOT] if variant else [])
    variants = {
        ("ours_variant" if len(trees) == 1 else f"ours_variant_{i}"): tree
        for i, tree in enumerate(trees, 1)
    }
    has_variant = bool(variants)
    ceilings = [] if args.no_ceiling else list(CEILINGS)
    names = ["ours", "reference", *ceilings, *variants]
    results: dict[str, dict[str, list]] = {
        name: {"turns_per_second": [], "latencies": [], "errors": [], "cpu": []} for name in names
    }
    with contextlib.ExitStack() as stack:
        gemini = stack.enter_context(fake_gemini())
        servers = {
            "ours": stack.enter_context(gunicorn_app(gemini, workers=args.workers)),
            "reference": stack.enter_context(reference_app(gemini, workers=args.workers)),
        }
        for name in ceilings:
            servers[name] = stack.enter_context(
                one_call_app(gemini, workers=args.workers, mode=CEILINGS[name])
            )
        for name, tree in variants.items():
            servers[name] = stack.enter_context(
                gunicorn_app(gemini, workers=args.workers, root=tree, **variant)
            )
        script_fake(gemini, text="A short instant answer from the fake model.")
        fake_pid = fake_gemini_pid()
        headers = {}
        for name, server in servers.items():
            if name in ceilings:  # no accounts there
                headers[name] = [{} for _ in range(args.users)]
            else:
                with httpx.Client(base_url=server.url, timeout=60) as client:
                    headers[name] = [
                        register_and_login(client, f"load{i}").headers for i in range(args.users)
                    ]
            # Warm-up: every worker imports, connects and opens its model client.
            asyncio.run(round_of_turns(server.url, headers[name], 2, args.client))
        for _ in range(args.rounds):
            for name, server in servers.items():
                before = _cpu(server, fake_pid)
                latencies, errors, wall = asyncio.run(
                    round_of_turns(server.url, headers[name], args.turns, args.client)
                )
                used = {k: v - before[k] for k, v in _cpu(server, fake_pid).items()}
                results[name]["turns_per_second"].append(round(len(latencies) / wall, 1))
                results[name]["latencies"].extend(latencies)
                results[name]["errors"].append(errors)
                results[name]["cpu"].append({k: 1000 * v / len(latencies) for k, v in used.items()})
    out: dict[str, object] = {
        "load": f"{args.users} users x {args.turns} turns, {args.users} at once",
        "workers": args.workers,
        "database": "sqlite",
        "rounds": args.rounds,
        "load_client": args.client,
    }
    tps = {}
    for name, r in results.items():
        tps[name] = statistics.median(r["turns_per_second"])
        out[name] = {
            "turns_per_second_median": tps[name],
            "turns_per_second_rounds": r["turns_per_second"],
            "errors": [e for e in r["errors"] if e],
            **summary_ms(r["latencies"]),
            # Where the machine's CPU went per turn (median over rounds): the server's
            # workers, the fake model, the load generator (this process).
            "cpu_ms_per_turn": {
                k: round(statistics.median(c[k] for c in r["cpu"]), 2) for k in r["cpu"][0]
            },
        }
    out["ratio_ours_over_reference"] = round(tps["ours"] / tps["reference"], 2)
    out["target_ratio"] = 2.0
    for name in ceilings:
        # The most any server making the original's one model call per turn can reach here.
        out[f"ratio_{name}_over_reference"] = round(tps[name] / tps["reference"], 2)
        out[f"ratio_ours_over_{name}"] = round(tps["ours"] / tps[name], 2)
    for name, tree in variants.items():
        out[name]["settings"] = variant  # type: ignore[index]
        out[name]["tree"] = str(tree)  # type: ignore[index]
        out[f"ratio_{name}_over_reference"] = round(tps[name] / tps["reference"], 2)
        out[f"ratio_{name}_over_ours"] = round(tps[name] / tps["ours"], 2)
    emit("throughput_vs_original_variant" if has_variant else "throughput_vs_original", out)
    print(
        f"ours {tps['ours']} turns/s, original reference {tps['reference']} turns/s: "
        f"ratio {out['ratio_ours_over_reference']} (target >= 2.0)"
    )
    for name in ceilings:
        print(
            f"ceiling {name} (one model call per turn, nothing else): {tps[name]} turns/s, "
            f"{out[f'ratio_{name}_over_reference']}x the reference; ours is "
            f"{out[f'ratio_ours_over_{name}']}x it"
        )
    for name, tree in variants.items():
        cpu = out[name]["cpu_ms_per_turn"]["server_workers"]  # type: ignore[index]
        print(
            f"{name} ({variant or tree}): {tps[name]} turns/s, "
            f"{out[f'ratio_{name}_over_reference']}x the reference, "
            f"{out[f'ratio_{name}_over_ours']}x ours; worker CPU {cpu} ms per turn "
            f"(ours {out['ours']['cpu_ms_per_turn']['server_workers']})"  # type: ignore[index]
        )


if __name__ == "__main__":
    main()
