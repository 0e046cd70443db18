"""Message search at 100,000 messages: query time of the full-text index (FTS5 on SQLite,
tsvector + GIN on PostgreSQL) against an owner-scoped LIKE '%term%' scan, for common, rare,
two-word and prefix queries, as a heavy user (10,000 messages) and a typical one (~450).

    python -m bench.search_scaling [--messages 100000] [--repeats 30]
    python -m tests.pg_server -- python -m bench.search_scaling   # PostgreSQL as well

The database is migrated to head and seeded with bulk inserts, so the triggers (SQLite) and
the generated column (PostgreSQL) index every row as the app's own writes would. Each figure
times `app.search.search_messages` (the query and the snippets) for a page of 20.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.orm import Session

from app.manage import migrate
from app.models import Conversation, Message, User
from app.search import search_messages
from bench.harness import emit, percentile

USERS = 200
CONVERSATIONS_PER_USER = 5
HEAVY_SHARE = 0.10  # user 1 writes this share of all messages
PAGE = 20
# Everyday words of both languages (the common end of the distribution), then a long tail.
COMMON_TEXT = (
    "the of and to a in is it you that de que o e a do da em um para é com não uma os no"
    " se na por mais as dos como mas foi ao ele das tem à seu sua ou ser quando muito"
)
COMMON = COMMON_TEXT.split()
# 260 made-up words, the first ones far more frequent than the last (Zipf's law).
TAIL = [f"{a}{b}{c}" for a in "bcdfglmnprstv" for b in "aeiou" for c in ("nto", "ra", "lia")]
TAIL_WEIGHTS = [1 / (rank + 1) for rank in range(len(TAIL))]
RARE = "axolotl"  # put into a handful of messages only


def _text(rng: random.Random, words: int) -> str:
    common = rng.choices(COMMON, k=words)
    tail = rng.choices(TAIL, weights=TAIL_WEIGHTS, k=words)
    picks = [c if rng.random() < 0.55 else t for c, t in zip(common, tail, strict=True)]
    return " ".join(picks).capitalize() + "."


def seed(engine: Engine, messages: int) -> dict[str, float]:
    rng = random.Random(12)
    now = datetime.now(UTC)
    started = time.perf_counter()
    conversations: list[tuple[uuid.UUID, int]] = []
    with Session(engine) as session, session.begin():
        session.execute(
            insert(User),
            [
                {
                    "id": u,
                    "username": f"u{u}",
                    "username_key": f"u{u}",
                    "email": f"u{u}@example.com",
                    "email_key": f"u{u}@example.com",
                    "password_hash": "x",
                    "created_at": now,
                }
                for u in range(1, USERS + 1)
            ],
        )
        rows = []
        for u in range(1, USERS + 1):
            for _ in range(CONVERSATIONS_PER_USER * (10 if u == 1 else 1)):
                conversations.append((uuid.uuid4(), u))
                rows.append(
                    {
                        "id": conversations[-1][0],
                        "user_id": u,
                        "title": "t",
                        "title_is_custom": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        session.execute(insert(Conversation), rows)
    heavy = [c for c, u in conversations if u == 1]
    others = [c for c, u in conversations if u != 1]
    rare_at = set(rng.sample(range(messages), 12))
    batch: list[dict[str, object]] = []
    with Session(engine) as session, session.begin():
        for i in range(messages):
            conv = rng.choice(heavy) if rng.random() < HEAVY_SHARE else rng.choice(others)
            role = "user" if i % 2 == 0 else "ai"
            content = _text(rng, 25 if role == "user" else 90)
            if i in rare_at:
                content += f" Um {RARE} apareceu."
            batch.append(
                {
                    "conversation_id": conv,
                    "role": role,
                    "content": content,
                    "token_estimate": len(content) // 4,
                    "created_at": now,
                }
            )
            if len(batch) == 5000:
                session.execute(insert(Message), batch)
                batch = []
        if batch:
            session.execute(insert(Message), batch)
    return {"seed_seconds": round(time.perf_counter() - started, 1)}


LIKE_SQL = """
SELECT m.id, m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE c.user_id = :user_id AND lower(m.content) LIKE :pattern
ORDER BY m.id DESC LIMIT :limit
"""


def timed(fn: Callable[[], None], repeats: int) -> dict[str, float]:
    fn()  # warm the cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
    }


QUERIES = {
    "common word ('que')": ("que", "que"),
    f"mid word ('{TAIL[40]}')": (f"{TAIL[40]} ", TAIL[40]),
    "rare word ('axolotl')": (f"{RARE} ", RARE),
    "two words ('não para')": ("não para ", "não%para"),
    f"prefix while typing ('{TAIL[7][:3]}')": (TAIL[7][:3], TAIL[7][:3]),
}


def measure(engine: Engine, repeats: int) -> dict[str, object]:
    out: dict[str, object] = {}
    with Session(engine) as session:
        for who, user_id in (("heavy user", 1), ("typical user", 2)):
            count = session.execute(
                text(
                    "SELECT count(*) FROM messages m JOIN conversations c"
                    " ON c.id = m.conversation_id WHERE c.user_id = :u"
                ),
                {"u": user_id},
            ).scalar()
            rows: dict[str, object] = {"messages": count}
            for label, (query, like_term) in QUERIES.items():
                found = search_messages(
                    session, user_id=user_id, raw_query=query, limit=PAGE, offset=0
                )[0]

                def fts(query: str = query, user_id: int = user_id) -> None:
                    search_messages(session, user_id=user_id, raw_query=query, limit=PAGE, offset=0)

                def like(term: str = like_term, user_id: int = user_id) -> None:
                    session.execute(
                        text(LIKE_SQL),
                        {"user_id": user_id, "pattern": f"%{term}%", "limit": PAGE},
                    ).all()

                index, scan = timed(fts, repeats), timed(like, repeats)
                rows[label] = {
                    "hits_on_page": len(found),
                    "index": index,
                    "like_scan": scan,
                    "like_over_index": round(scan["median_ms"] / max(index["median_ms"], 1e-3), 1),
                }
            out[who] = rows
    return out


def sizes(engine: Engine) -> dict[str, float]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar() or 0
            page = conn.exec_driver_sql("PRAGMA page_size").scalar() or 0
            content = (
                conn.exec_driver_sql("SELECT sum(length(content)) FROM messages").scalar() or 0
            )
            return {"database_mb": round(pages * page / 1e6, 1), "text_mb": round(content / 1e6, 1)}
        index = conn.exec_driver_sql("SELECT pg_relation_size('ix_messages_search')").scalar() or 0
        vector = (
            conn.exec_driver_sql("SELECT sum(pg_column_size(search_vector)) FROM messages").scalar()
            or 0
        )
        content = (
            conn.exec_driver_sql("SELECT sum(octet_length(content)) FROM messages").scalar() or 0
        )
        return {
            "gin_index_mb": round(index / 1e6, 1),
            "tsvector_column_mb": round(vector / 1e6, 1),
            "text_mb": round(content / 1e6, 1),
        }


def run(url: str, messages: int, repeats: int) -> dict[str, object]:
    migrate(database_url=url)
    engine = create_engine(url)
    result: dict[str, object] = dict(seed(engine, messages))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    result.update(sizes(engine))
    result["queries"] = measure(engine, repeats)
    engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    result: dict[str, object] = {"messages": args.messages, "page": PAGE}
    with tempfile.TemporaryDirectory() as tmp:
        result["sqlite"] = run(f"sqlite:///{tmp}/search.db", args.messages, args.repeats)
    pg = os.environ.get("TEST_DATABASE_URL")
    if pg:
        result["postgresql"] = run(
            pg.replace("postgresql://", "postgresql+psycopg://", 1), args.messages, args.repeats
        )
    result["load_average_1min"] = round(os.getloadavg()[0], 1)
    emit("search_scaling", result)


if __name__ == "__main__":
    main()
