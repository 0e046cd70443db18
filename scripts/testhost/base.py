"""What every part of the test host shares: its error and log line, running commands, the cache."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

DEFAULT_CACHE = Path("/var/cache/chatbot-testhost")

# Commands run inside (chroot or nsenter) get a clean environment: this machine's PIP_*,
# SSL_CERT_FILE, etc. would otherwise leak in and point at paths that don't exist there.
CLEAN_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
    "DEBIAN_FRONTEND": "noninteractive",
}


class TestHostError(RuntimeError):
    """The test host could not be built, booted or stopped."""


def log(msg: str) -> None:
    print(f"[testhost] {msg}", file=sys.stderr, flush=True)


def sh(
    cmd: Sequence[str],
    *,
    check: bool = True,
    timeout: float | None = 600,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a host command, capturing text output; raise TestHostError with its stderr on failure."""
    proc = subprocess.run(
        list(cmd), capture_output=True, text=True, timeout=timeout, input=input, env=env
    )
    if check and proc.returncode != 0:
        raise TestHostError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc


def cache_dir() -> Path:
    return Path(os.environ.get("TESTHOST_CACHE", DEFAULT_CACHE))
