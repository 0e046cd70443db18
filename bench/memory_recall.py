"""Long memory: does a fact from turn 1 reach the model at turn 300, and what does the
running summary cost? One conversation of 300 sequential turns per configuration (gunicorn,
one worker, the fake Gemini, whose summary answers are deterministic), for several verbatim
windows and summary cadences, plus the window alone (no summaries) for comparison.

Prints per configuration: recalled (the fact was in the last request), the worker's CPU per
turn (summaries included), history messages sent per turn, summary calls per turn, the
largest estimated tokens sent, and the median turn latency.

    python -m bench.memory_recall [--turns 300]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import httpx

from bench.harness import emit, fake_gemini, fake_requests, gunicorn_app
from tests.fakes.fake_gemini import SUMMARY_MARKER
from tests.helpers.accounts import register_and_login

FACT = "Remember this: my cat is called Zorblax and she is 7."
QUESTION = "What is my cat called?"
# ~60 words per message, as in bench/history_scaling.py.
FILLER = ("Here is a typical message in a long conversation about planning a trip, " * 6).strip()

# (name, HISTORY_WINDOW_MESSAGES, SUMMARY_EVERY_TURNS, HISTORY_MAX_MESSAGES)
CONFIGS = [
    ("window 24, no summary", 24, 0, 24),
    ("window 12, every 4 turns", 12, 4, 24),
    ("window 12, every 2 turns", 12, 2, 24),
    ("window 6, every 2 turns", 6, 2, 12),
    ("window 6, every 4 turns", 6, 4, 16),
]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks


def system_text(record: dict) -> str:
    parts = (record["body"].get("systemInstruction") or {}).get("parts", [])
    return "".join(p.get("text", "") for p in parts)


def run(gemini: str, window: int, cadence: int, cap: int, turns: int) -> dict:
    env = {
        "HISTORY_WINDOW_MESSAGES": str(window),
        "SUMMARY_EVERY_TURNS": str(cadence),
        "HISTORY_MAX_MESSAGES": str(cap),
    }
    httpx.post(f"{gemini}/_fake/reset")
    with gunicorn_app(gemini, workers=1, **env) as app, httpx.Client(base_url=app.url) as client:
        client.timeout = 30
        headers = register_and_login(client, "rememberer").headers
        conv = client.post("/session", headers=headers).json()["sessionId"]
        [worker] = app.worker_pids()
        cpu = cpu_seconds(worker)
        latencies = []
        for i in range(turns):
            text = FACT if i == 0 else QUESTION if i == turns - 1 else f"#{i} {FILLER}"
            start = time.perf_counter()
            body = {"conversationId": conv, "message": text}
            r = client.post("/chat", headers=headers, json=body)
            latencies.append(time.perf_counter() - start)
            assert r.status_code == 200, r.text
        time.sleep(1)  # let the last summary finish before reading the CPU
        cpu = cpu_seconds(worker) - cpu
        remembered = client.get(f"/conversations/{conv}/memory", headers=headers).json()
    records = fake_requests(gemini)
    chats = [r for r in records if not system_text(r).startswith(SUMMARY_MARKER)]
    summaries = len(records) - len(chats)
    history = [len(r["body"]["contents"]) - 1 for r in chats]
    tokens = [
        (
            sum(len(p.get("text", "")) for c in r["body"]["contents"] for p in c["parts"])
            + len(system_text(r))
        )
        // 4
        for r in chats
    ]
    return {
        "recalled": "Zorblax" in system_text(chats[-1]),
        "cpu_ms_per_turn": round(cpu * 1000 / turns, 2),
        "history_messages_sent_mean": round(statistics.mean(history), 1),
        "history_messages_sent_max": max(history),
        "summary_calls_per_turn": round(summaries / turns, 3),
        "est_tokens_sent_max": max(tokens),
        "median_turn_ms": round(statistics.median(latencies) * 1000, 2),
        "summary_covers_messages": (remembered["summary"] or {}).get("covered_messages", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()
    rows = []
    with fake_gemini() as gemini:
        for name, window, cadence, cap in CONFIGS:
            row = {"config": name, **run(gemini, window, cadence, cap, args.turns)}
            print(row, flush=True)
            rows.append(row)
    by_name = {r["config"]: r for r in rows}
    # The defaults; the cap (24 by default) binds only while the summariser lags.
    chosen = by_name["window 6, every 4 turns"]
    emit(
        "memory_recall",
        {
            "turns": args.turns,
            "rows": rows,
            "fact_from_turn_1_recalled_at_last_turn": chosen["recalled"],
            "cpu_ratio_default_vs_window_only": round(
                chosen["cpu_ms_per_turn"] / by_name["window 24, no summary"]["cpu_ms_per_turn"], 3
            ),
        },
    )


if __name__ == "__main__":
    main()
