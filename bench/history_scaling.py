"""History scaling: median turn latency and what is sent to the model at 50, 1,000 and 5,000
stored messages (one worker, sequential turns, fake model answering instantly). Each seeded
conversation is in the steady state long memory keeps it in: a running summary covers all
but the newest HISTORY_WINDOW_MESSAGES messages. Latency stays flat, and what is sent never
exceeds the window's token budget plus the summary's.

Also measures the CPU of one model call through the real LangChain Gemini client with the
full window versus a summary message plus the last few turns.

    python -m bench.history_scaling [--turns 30]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import time
import uuid

import httpx

from app.chat.history import SUMMARY_FRAME
from bench.harness import (
    emit,
    fake_gemini,
    fake_requests,
    gunicorn_app,
    script_fake,
)
from tests.fakes.fake_gemini import SUMMARY_MARKER
from tests.helpers.accounts import register_and_login

SIZES = (50, 1000, 5000)
# Realistic chat messages: ~60 words (~80 tokens) each.
MESSAGE = ("Here is a typical message in a long conversation about planning a trip, " * 6).strip()
# The seeded summary: ~600 tokens, the size a long conversation's summary settles at.
SUMMARY = "\n".join(f"- the user said point {i}: {MESSAGE[:80]}" for i in range(24))
KEEP = 6  # HISTORY_WINDOW_MESSAGES' default


def seed(db_path: str, conversation_id: str, count: int) -> None:
    conv = uuid.UUID(conversation_id).hex  # SQLAlchemy's Uuid stores 32 hex chars on SQLite
    with sqlite3.connect(db_path) as db:
        db.executemany(
            "INSERT INTO messages (conversation_id, role, content, token_estimate, created_at)"
            " VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)",
            [
                (conv, "user" if i % 2 == 0 else "ai", f"#{i} {MESSAGE}", (len(MESSAGE) + 9) // 4)
                for i in range(count)
            ],
        )
        # One branch: each message under the one before it, the conversation viewing the last.
        db.execute(
            "UPDATE messages SET parent_id = (SELECT max(p.id) FROM messages p"
            " WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id)"
            " WHERE conversation_id = ?",
            (conv,),
        )
        db.execute(
            "UPDATE conversations SET current_leaf_id = (SELECT max(id) FROM messages"
            " WHERE conversation_id = conversations.id) WHERE id = ?",
            (conv,),
        )
        if count > KEEP:  # the summary covers all but the newest KEEP messages
            db.execute(
                "INSERT INTO summaries (conversation_id, through_message_id, content,"
                " token_estimate, model, created_at) SELECT ?, id, ?, ?, 'seed',"
                " CURRENT_TIMESTAMP FROM messages WHERE conversation_id = ?"
                " ORDER BY id DESC LIMIT 1 OFFSET ?",
                (conv, SUMMARY, len(SUMMARY) // 4, conv, KEEP),
            )
    with sqlite3.connect(db_path) as db:
        # Seeding thousands of rows fills the WAL; without this the measured turn's commit
        # would pay for checkpointing them, which no real turn does.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def turn_latencies(
    url: str, headers: dict, db: str, sizes: tuple[int, ...], turns: int
) -> dict[int, list[float]]:
    """`turns` rounds; each seeds one conversation of every size and measures one turn in
    each, so every measured turn sees exactly that much stored history, and all sizes are
    measured against the same, growing database (what differs is the conversation's length,
    not the file's size)."""
    out: dict[int, list[float]] = {size: [] for size in sizes}
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(turns):
            for size in sizes:
                conv = client.post("/session", headers=headers).json()["sessionId"]
                seed(db, conv, size)
                start = time.perf_counter()
                r = client.post(
                    "/chat", headers=headers, json={"conversationId": conv, "message": f"q{i}"}
                )
                out[size].append(time.perf_counter() - start)
                assert r.status_code == 200, r.text
    return out


def summary_saving(gemini_url: str, window_messages: int, repeats: int = 30) -> dict:
    """CPU per model call with the whole window vs. a summary + the last 6 messages."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
    from langchain_google_genai import ChatGoogleGenerativeAI

    model = ChatGoogleGenerativeAI(
        model="gemini-2.5-flash", google_api_key="k", base_url=gemini_url, max_retries=1, timeout=10
    )
    window = [
        (HumanMessage if i % 2 == 0 else AIMessage)(content=f"#{i} {MESSAGE}")
        for i in range(window_messages)
    ]
    summarized = [SystemMessage(content="Summary of earlier turns: " + MESSAGE), *window[-6:]]

    async def cost(messages: list) -> float:
        await model.ainvoke([*messages, HumanMessage(content="q")])  # warm
        cpu = time.process_time()
        for _ in range(repeats):
            await model.ainvoke([*messages, HumanMessage(content="q")])
        return (time.process_time() - cpu) / repeats

    async def both() -> tuple[float, float]:
        full = await cost(window)
        short = await cost(summarized)
        await model.aclose()
        return full, short

    full, short = asyncio.run(both())
    return {
        "window_messages": window_messages,
        "cpu_ms_per_call_full_window": round(full * 1000, 2),
        "cpu_ms_per_call_summary_plus_6": round(short * 1000, 2),
        "saving_ratio": round(full / short, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=30)
    args = parser.parse_args()
    rows = []
    with fake_gemini() as gemini, gunicorn_app(gemini, workers=1) as app:
        script_fake(gemini, text="ok")
        db = str(app.data_dir / "chatbot.db")
        with httpx.Client(base_url=app.url, timeout=30) as client:
            headers = register_and_login(client, "historian").headers
            turn_latencies(app.url, headers, db, (10,), 5)  # warm-up
            script_fake(gemini, text="ok")
            latencies = turn_latencies(app.url, headers, db, SIZES, args.turns)
            sent = [
                r
                for r in fake_requests(gemini)
                if not "".join(
                    p.get("text", "") for p in r["body"]["systemInstruction"]["parts"]
                ).startswith(SUMMARY_MARKER)
            ]
            for size in SIZES:
                # This size's requests (round-robin order); the history is every content
                # but the new question; the summary rides in the system instruction after
                # the system prompt.
                mine = sent[SIZES.index(size) :: len(SIZES)]
                chars = [
                    sum(
                        len(p.get("text", ""))
                        for c in r["body"]["contents"][:-1]
                        for p in c["parts"]
                    )
                    for r in mine
                ]
                summary_chars = [
                    sum(len(p.get("text", "")) for p in r["body"]["systemInstruction"]["parts"][1:])
                    for r in mine
                ]
                msgs = [len(r["body"]["contents"]) - 1 for r in mine]
                rows.append(
                    {
                        "stored_messages": size,
                        "median_turn_ms": round(statistics.median(latencies[size]) * 1000, 2),
                        "history_messages_sent_max": max(msgs),
                        "est_history_tokens_sent_max": max(chars) // 4,
                        "est_summary_tokens_sent_max": max(summary_chars) // 4,
                    }
                )
        budget = int(app.env.get("HISTORY_TOKEN_BUDGET", 6000))
        summary_budget = int(app.env.get("SUMMARY_MAX_TOKENS", 800))
        saving = summary_saving(
            gemini, window_messages=max(r["history_messages_sent_max"] for r in rows)
        )
    by_size = {r["stored_messages"]: r for r in rows}
    emit(
        "history_scaling",
        {
            "rows": rows,
            "token_budget": budget,
            "summary_token_budget": summary_budget,
            "latency_ratio_5000_vs_50": round(
                by_size[5000]["median_turn_ms"] / by_size[50]["median_turn_ms"], 3
            ),
            "within_budget": all(
                r["est_history_tokens_sent_max"] <= budget
                and r["est_summary_tokens_sent_max"] <= summary_budget + len(SUMMARY_FRAME) // 4 + 1
                for r in rows
            ),
            "running_summary": saving,
        },
    )


if __name__ == "__main__":
    main()
