"""Run a command against a throwaway PostgreSQL server.

    python -m tests.pg_server -- python -m pytest tests/app

Starts a private cluster (initdb in a temporary directory, listening on 127.0.0.1 at a free
port and on a private unix socket), creates a database, runs the command with
TEST_DATABASE_URL pointing at it, then stops the server and removes the cluster. Uses
Debian's PostgreSQL binaries (/usr/lib/postgresql/<version>/bin); as root it runs the
server as the `postgres` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise SystemExit("PostgreSQL server binaries not found: apt-get install postgresql")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # SIGTERM (a CI timeout, `kill`) would end us without running `finally`, leaving the
    # server running and its cluster on disk; as an exception it unwinds like Ctrl-C.
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        raise SystemExit(__doc__)
    bindir = _bindir()
    port = _free_port()
    as_root = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="chatbot-pg-"))
    data, sockdir = workdir / "data", workdir / "sock"
    sockdir.mkdir()
    prefix: list[str] = []
    if as_root:
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        os.chown(sockdir, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]

    def run(*cmd: str) -> None:
        subprocess.run([*prefix, *cmd], check=True, stdout=subprocess.DEVNULL)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        run(
            str(bindir / "pg_ctl"),
            "-D", str(data),
            "-l", str(workdir / "server.log"),
            "-w", "-t", "60",
            "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {sockdir} -c fsync=off "
            "-c max_connections=200",
            "start",
        )  # fmt: skip
        run(
            str(bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "chatbot_test",
        )
        url = f"postgresql://postgres@127.0.0.1:{port}/chatbot_test"
        print(f"PostgreSQL {bindir.parent.name} test server at {url}", flush=True)
        env = {**os.environ, "TEST_DATABASE_URL": url}
        return subprocess.run(argv, env=env).returncode
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                stdout=subprocess.DEVNULL,
            )
        time.sleep(0.1)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
