"""Shared pieces of the benchmarks: a fake Gemini and the app under gunicorn, as processes.

Everything runs on 127.0.0.1; every load loop is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def fake_gemini() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [PY, "-m", "tests.fakes.fake_gemini", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{url}/_fake/requests", timeout=1)
                break
            if time.monotonic() > deadline:
                raise RuntimeError("fake Gemini did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def script_fake(url: str, **default: object) -> None:
    httpx.post(f"{url}/_fake/reset")
    httpx.post(f"{url}/_fake/script", json={"default": default})


def fake_requests(url: str) -> list[dict]:
    return httpx.get(f"{url}/_fake/requests", timeout=30).json()


@dataclass
class App:
    url: str
    master_pid: int
    data_dir: Path
    env: dict[str, str]

    def worker_pids(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.master_pid)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return [int(p) for p in out.split()]


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fake_gemini_pid() -> int:
    """The fake Gemini process that fake_gemini() started from this process."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == os.getpid() and (
                b"tests.fakes.fake_gemini" in (stat.parent / "cmdline").read_bytes()
            ):
                return int(stat.parent.name)
    raise RuntimeError("fake Gemini process not found")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def gunicorn_app(
    gemini_url: str,
    workers: int = 4,
    app_spec: str = "app.main:create_app()",
    root: Path = ROOT,
    **env_overrides: str,
) -> Iterator[App]:
    """The app under gunicorn; `app_spec` names another factory of it (bench.turn_profile
    wraps ours to count SQL statements), `root` another copy of the source tree (to
    measure a change side by side with the committed code)."""
    data_dir = Path(tempfile.mkdtemp(prefix="chatbot-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATA_DIR": str(data_dir),
        "GEMINI_API_KEY": "bench-key",
        "GEMINI_BASE_URL": gemini_url,
        "GEMINI_MAX_RETRIES": "1",
        "COOKIE_SECURE": "false",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        # The benchmarks measure turns, not the abuse limits.
        "CHAT_RATE_PER_MINUTE": "1000000",
        "DAILY_MESSAGE_QUOTA": "1000000",
        "LOGIN_RATE_PER_MINUTE": "1000000",
        "REGISTER_RATE_PER_HOUR": "1000000",
        # Production's default is invite-only; the load signs its users up.
        "SIGNUP_POLICY": "open",
        "WEB_CONCURRENCY": str(workers),
        **env_overrides,
    }
    subprocess.run([PY, "-m", "app.manage", "migrate"], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    args = ["-c", "app/gunicorn_conf.py", app_spec]
    with _gunicorn(args, port, env, data_dir, root) as (url, pid):
        yield App(url=url, master_pid=pid, data_dir=data_dir, env=env)


@contextlib.contextmanager
def reference_app(gemini_url: str, workers: int = 4) -> Iterator[App]:
    """bench/original_reference.py (what the original project did per turn) under gunicorn
    with uvicorn workers, as ours is served."""
    data_dir = Path(tempfile.mkdtemp(prefix="chatbot-bench-ref-"))
    env = {
        **os.environ,
        "REFERENCE_DB": str(data_dir / "reference.db"),
        "REFERENCE_SECRET": secrets.token_hex(32),
        "GEMINI_BASE_URL": gemini_url,
    }
    # Create the tables once, before several workers would race to.
    subprocess.run([PY, "-c", "import bench.original_reference"], cwd=ROOT, env=env, check=True)
    with _bench_server("bench.original_reference:app", workers, env, data_dir) as app:
        yield app


@contextlib.contextmanager
def one_call_app(gemini_url: str, workers: int = 4, mode: str = "sync") -> Iterator[App]:
    """bench/one_call_server.py (one model call per turn, nothing else) served as the
    reference is."""
    data_dir = Path(tempfile.mkdtemp(prefix="chatbot-bench-one-call-"))
    env = {**os.environ, "GEMINI_BASE_URL": gemini_url, "ONE_CALL_MODE": mode}
    with _bench_server("bench.one_call_server:app", workers, env, data_dir) as app:
        yield app


@contextlib.contextmanager
def _bench_server(spec: str, workers: int, env: dict, data_dir: Path) -> Iterator[App]:
    """One of bench/'s own servers under gunicorn with uvicorn workers."""
    args = ["-k", "uvicorn_worker.UvicornWorker", "-w", str(workers), "--keep-alive", "5", spec]
    with _gunicorn(args, free_port(), env, data_dir) as (url, pid):
        yield App(url=url, master_pid=pid, data_dir=data_dir, env=env)


@contextlib.contextmanager
def _gunicorn(
    args: list[str], port: int, env: dict, data_dir: Path, root: Path = ROOT
) -> Iterator[tuple[str, int]]:
    """gunicorn on 127.0.0.1:port until /ready answers; yields (url, master pid)."""
    proc = subprocess.Popen(
        [str(Path(PY).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}", *args],
        cwd=root,
        env=env,
        stderr=open(data_dir / "gunicorn.log", "w"),  # noqa: SIM115 (lives as long as the server)
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # Generous: on a shared machine four workers importing the stack took over a minute.
        wait_http(f"{url}/ready", timeout=180)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "p95_ms": round(percentile(values, 0.95) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


def emit(name: str, result: dict) -> None:
    """Print a result and keep it in bench/results/<name>.json."""
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    result = {"benchmark": name, "recorded": time.strftime("%Y-%m-%d %H:%M:%S"), **result}
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
