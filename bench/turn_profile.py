"""Where a chat turn's time goes, and how many SQL statements it issues.

One gunicorn worker of ours serves the issue-10 load shape (users × 10 turns in fresh
conversations, several at once) while py-spy samples it from outside, every thread, on-CPU
only. Each sampled stack is put in one cost centre (the google-genai SDK's request and
response models, the LangChain → google-genai message conversion, LangChain's runnable /
prompt / callback layers, the ORM and SQL split by purpose, JSON, logging and middleware,
the web framework, the server and event loop), and the table gives each one's share and its
CPU milliseconds per turn. The same is done for bench/original_reference.py, for
comparison.

The worker is built by `create_counted_app()`, which is ours plus SQLAlchemy event
listeners that count statements, commits and pool checkouts; a bench-only route reads
them out.

    python -m bench.turn_profile [--turns 10] [--users 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import (
    PY,
    ROOT,
    cpu_seconds,
    emit,
    fake_gemini,
    gunicorn_app,
    reference_app,
    script_fake,
)
from bench.throughput_vs_original import round_of_turns
from tests.helpers.accounts import register_and_login

SAMPLE_RATE_HZ = 500

# -- statement counting, inside the profiled worker ------------------------------------------
_counts: collections.Counter[str] = collections.Counter()
_counting = [False]
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


def _statement_kind(statement: str) -> str:
    verb = statement.lstrip().split(None, 1)[0].upper()
    if verb == "BEGIN":
        return statement.strip().upper()
    table = _TABLE.search(statement)
    return f"{verb} {table.group(1)}" if table else verb


def create_counted_app():
    from fastapi import APIRouter, FastAPI
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    from app.main import create_app

    def on_execute(_conn, _cursor, statement, _params, _context, _many) -> None:
        if _counting[0]:
            _counts["statements"] += 1
            _counts[_statement_kind(statement)] += 1

    def count(name: str):
        return lambda *_args: _counting[0] and _counts.update([name])

    event.listen(Engine, "before_cursor_execute", on_execute)
    event.listen(Engine, "commit", count("commits"))
    event.listen(Pool, "checkout", count("pool checkouts"))

    def sql_counts() -> dict[str, int]:
        """The counts so far; reading them ends the count (the profile runs without it)."""
        _counting[0] = False
        return dict(_counts)

    def reset_sql_counts() -> dict[str, int]:
        _counts.clear()
        _counting[0] = True
        return {}

    app: FastAPI = create_app()
    bench = APIRouter(include_in_schema=False)
    bench.add_api_route("/_bench/sql", sql_counts, methods=["GET"])
    bench.add_api_route("/_bench/sql", reset_sql_counts, methods=["DELETE"])
    # First, so the static UI mounted at / (when it is served) doesn't answer these.
    app.router.routes[:0] = bench.routes
    return app


# -- classifying py-spy's stacks ----------------------------------------------------------
# py-spy names a frame "function (path:line)", the path relative to its sys.path entry.
# Frames of libraries everyone uses (pydantic, the standard library's plumbing) are skipped,
# so their time goes to whoever called them; otherwise the innermost frame's package decides,
# after a few markers that name a purpose whatever the library underneath.
TRANSPARENT = {
    "pydantic", "pydantic_core", "typing_extensions", "annotated_types", "typing.py",
    "copy.py", "abc.py", "enum.py", "functools.py", "dataclasses.py", "inspect.py",
    "contextlib.py", "weakref.py", "_weakrefset.py", "re", "collections", "uuid.py",
    "datetime.py", "copyreg.py", "types.py", "warnings.py", "base64.py", "string.py",
    "operator.py", "random.py", "_collections_abc.py", "sniffio",
}  # fmt: skip
# (function-name marker, cost centre), first match wins.
MODEL_MARKERS = [
    ("_parse_chat_history", "model: LangChain messages -> google-genai types"),
    ("_GenerateContentResponse_from_mldev", "model: response parsing (SDK + LangChain)"),
    ("GenerateContentResponse._from_response", "model: response parsing (SDK + LangChain)"),
    ("_response_to_result", "model: response parsing (SDK + LangChain)"),
    ("BaseApiClient.async_request", "model: HTTP client (httpx2, tenacity)"),
    ("BaseApiClient.request", "model: HTTP client (httpx2, tenacity)"),
    ("Models._generate_content", "model: SDK request building (per-message pydantic)"),
    ("Models.generate_content", "model: SDK request building (per-message pydantic)"),
    ("ChatGoogleGenerativeAI.", "model: langchain-google-genai request setup"),
]
# The nearest function of ours (or of the reference) above an ORM frame names its purpose.
SQL_PURPOSE = {
    "acquire_turn": "lease",
    "release_turn": "lease",
    "renew_turn": "lease",
    "interrupt_streaming": "lease",
    "hit_many": "rate counters",
    "load_memory": "history window read",
    "ConversationHistory.messages": "history window read",
    "Summariser": "summariser (reads, lease, insert)",
    "start_answer": "save the turn",
    "grow_answer": "save the turn",
    "finish_answer": "save the turn",
    "insert_message": "save the turn",
    "get_user": "auth: user row",
    "get_current_user": "auth: user row",
    "get_conversation": "conversation row",
    "write_transaction": "BEGIN / COMMIT",
    "SQLiteWriteLock.__exit__": "BEGIN / COMMIT",
    "SQLHistory.messages": "history read (every row)",
    "SQLHistory.add_message": "two inserts",
    "current_user": "auth: user row",
}
PACKAGES = [
    ({"json", "orjson"}, "JSON"),
    ({"langchain_core", "langsmith"}, "LangChain runnable / prompt / callbacks"),
    ({"logging"}, "logging + middleware"),
    ({"jwt"}, "auth: JWT"),
    (
        {"httpx2", "httpcore2", "h11", "httpx", "httpcore", "tenacity"},
        "model: HTTP client (httpx2, tenacity)",
    ),
    ({"fastapi", "starlette"}, "FastAPI / Starlette (routing, DI, validation, responses)"),
    (
        {"uvicorn", "uvicorn_worker.py", "httptools", "uvloop", "gunicorn"},
        "server + event loop",
    ),
]


def _frames(stack: str) -> list[tuple[str, str]]:
    """(function, path) pairs, innermost first, from one line of py-spy's raw format."""
    out = []
    for frame in stack.split(";"):
        m = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame.strip())
        if m:
            out.append((m.group(1), m.group(2)))
    return out[::-1]


def _top(path: str) -> str:
    return path.split("/", 1)[0]


PLUMBING = {"asyncio", "anyio", "threading.py", "queue.py", "concurrent"}


def classify(frames: list[tuple[str, str]]) -> str:
    if any(_top(path) == "passlib" for _, path in frames):
        return "password hashing (excluded)"
    inner = [(f, p) for f, p in frames if _top(p) not in TRANSPARENT and not p.startswith("<")]
    if inner and _top(inner[0][1]) in {"json", "orjson"}:
        return "JSON"
    for marker, centre in MODEL_MARKERS:
        if any(marker in func for func, _ in frames):
            return centre
    # Event-loop and thread-pool frames count for the library that called them (httpcore's
    # cancel scopes are the HTTP client's cost); called from ours or the framework they are
    # the thread hop or the event loop itself.
    plumbing = None
    for i, (func, path) in enumerate(inner):
        top = _top(path)
        if top in PLUMBING:
            plumbing = plumbing or top
            continue
        centre = _centre(func, path, inner[i:])
        if plumbing and not centre.startswith(("model:", "LangChain")):
            if plumbing == "asyncio":
                return "server + event loop"
            return "thread hops (anyio)"
        return centre
    return "server + event loop" if plumbing == "asyncio" else "thread hops (anyio)"


def _centre(func: str, path: str, outer: list[tuple[str, str]]) -> str:
    """The cost centre of the innermost interesting frame; `outer` is it and its callers."""
    top = _top(path)
    if func.startswith("SQLiteWriteLock."):
        return "SQLite write lock (thread lock + flock)"
    if top in {"sqlalchemy", "sqlite3"}:
        for caller, _ in outer:
            for marker, purpose in SQL_PURPOSE.items():
                # A function, a method, or (a class's name) any method of the class.
                if (
                    caller == marker
                    or caller.endswith("." + marker)
                    or (caller.startswith(marker + "."))
                ):
                    return f"ORM / SQL: {purpose}"
        return "ORM / SQL: session open/close"
    if path == "app/core/middleware.py":
        return "logging + middleware"
    if path == "app/core/security.py":
        return "auth: JWT"
    for tops, centre in PACKAGES:
        if top in tops:
            return centre
    if path == "bench/original_reference.py":
        return "the reference's own code"
    if top == "bench":
        return "bench instrumentation (SQL counter)"
    if top == "app":
        return "our code (turn service, crud, column types)"
    return f"other: {top}"


def profile(pid: int, seconds_cap: float, work) -> tuple[collections.Counter, float, float]:
    """Run `work()` while py-spy samples `pid`; return (cost centre -> samples, CPU seconds
    the process used, wall seconds)."""
    out = Path(tempfile.mkdtemp(prefix="turn-profile-")) / "raw.txt"
    spy = subprocess.Popen(
        [str(Path(PY).parent / "py-spy"), "record", "--pid", str(pid), "--rate",
         str(SAMPLE_RATE_HZ), "--format", "raw", "--gil", "--nonblocking", "--output", str(out),
         "--duration", str(int(seconds_cap))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0)  # py-spy attaches
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    work()
    cpu, wall = cpu_seconds(pid) - cpu0, time.perf_counter() - wall0
    spy.send_signal(signal.SIGINT)
    spy.wait(30)
    centres: collections.Counter[str] = collections.Counter()
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            centres[classify(_frames(stack))] += int(count)
    return centres, cpu, wall


def table(centres: collections.Counter, cpu_ms_per_turn: float) -> list[dict]:
    total = sum(centres.values()) or 1
    rows = []
    for name, n in centres.most_common():
        share = n / total
        rows.append(
            {
                "cost_centre": name,
                "percent": round(100 * share, 1),
                "cpu_ms_per_turn": round(share * cpu_ms_per_turn, 2),
            }
        )
    return rows


def run_server(url: str, pid: int, users: int, turns: int, rounds: int) -> dict:
    with httpx.Client(base_url=url, timeout=60) as client:
        headers = [register_and_login(client, f"prof{i}").headers for i in range(users)]
    asyncio.run(round_of_turns(url, headers, 3))  # warm-up
    done = []

    def work() -> None:
        for _ in range(rounds):
            latencies, _errors, _wall = asyncio.run(round_of_turns(url, headers, turns))
            done.append(len(latencies))

    centres, cpu, wall = profile(pid, 120, work)
    n = sum(done)
    cpu_ms = 1000 * cpu / n
    return {
        "turns": n,
        "worker_cpu_ms_per_turn": round(cpu_ms, 2),
        "turns_per_second_one_worker": round(n / wall, 1),
        "samples": sum(centres.values()),
        "profile": table(centres, cpu_ms),
    }


def print_table(title: str, result: dict) -> None:
    print(f"\n{title}: {result['worker_cpu_ms_per_turn']} ms of worker CPU per turn")
    print(f"{'cost centre':<62} {'%':>6} {'ms/turn':>8}")
    for row in result["profile"]:
        print(f"{row['cost_centre']:<62} {row['percent']:>6} {row['cpu_ms_per_turn']:>8}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--tree", type=Path, default=ROOT, help="profile ours from this copy of the source tree"
    )
    parser.add_argument(
        "--setting", action="append", default=[], metavar="NAME=VALUE", help="for ours"
    )
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.setting)
    changed = args.tree != ROOT or bool(settings)
    with fake_gemini() as gemini:
        script_fake(gemini, text="A short instant answer from the fake model.")
        with gunicorn_app(
            gemini,
            workers=1,
            app_spec="bench.turn_profile:create_counted_app()",
            root=args.tree,
            **settings,
        ) as ours:
            (worker,) = ours.worker_pids()
            # Statements per turn: counted over one round with nothing else running.
            with httpx.Client(base_url=ours.url, timeout=60) as client:
                headers = [
                    register_and_login(client, f"count{i}").headers for i in range(args.users)
                ]
            httpx.delete(f"{ours.url}/_bench/sql")
            latencies, _, _ = asyncio.run(round_of_turns(ours.url, headers, args.turns))
            counts = httpx.get(f"{ours.url}/_bench/sql").json()
            # round_of_turns opens one conversation per user: subtract those requests.
            sessions_sql = _session_statements(ours.url, headers[0])
            per_turn = {
                k: round((v - sessions_sql.get(k, 0) * args.users) / len(latencies), 2)
                for k, v in sorted(counts.items())
            }
            ours_result = run_server(ours.url, worker, args.users, args.turns, args.rounds)
        with reference_app(gemini, workers=1) as ref:
            (ref_worker,) = ref.worker_pids()
            ref_result = run_server(ref.url, ref_worker, args.users, args.turns, args.rounds)
    print_table("ours", ours_result)
    print_table("original reference", ref_result)
    print(f"\nSQL per turn (ours): {per_turn}")
    emit(
        "turn_profile_variant" if changed else "turn_profile",
        {
            "ours_tree": str(args.tree),
            "ours_settings": settings,
            "load": f"1 worker; {args.users} users x {args.turns} turns at once, "
            f"{args.rounds} rounds",
            "sampler": f"py-spy {SAMPLE_RATE_HZ} Hz, on-CPU threads",
            "ours": ours_result,
            "reference": ref_result,
            "cpu_ratio_ours_over_reference": round(
                ours_result["worker_cpu_ms_per_turn"] / ref_result["worker_cpu_ms_per_turn"], 2
            ),
            "sql_per_turn_ours": per_turn,
        },
    )


def _session_statements(url: str, headers: dict) -> dict[str, int]:
    """What one POST /session issues, to take it out of the per-turn figures."""
    httpx.delete(f"{url}/_bench/sql")
    httpx.post(f"{url}/session", headers=headers)
    return httpx.get(f"{url}/_bench/sql").json()


if __name__ == "__main__":
    main()
