"""A cgroup per host, so two hosts' systemds stay apart and teardown is exact.

With --keep-unit nspawn puts the container in `<its own cgroup>/payload`. Started from the root
cgroup (no systemd on this machine), two hosts would share /payload — and their systemds the same
system.slice/*.service cgroups. nspawn is started inside a cgroup of its own per host instead,
and whatever is left in it at teardown is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from .base import TestHostError


def own_cgroups(name: str) -> list[Path]:
    """The host's cgroup in each systemd-tracking hierarchy, created (empty) if missing."""
    roots = [Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup/systemd")]
    if not any(r.is_dir() for r in roots):
        roots = [Path("/sys/fs/cgroup")]  # pure cgroup v2 host
    paths = []
    for root in roots:
        if (root / "cgroup.procs").exists():
            path = root / f"chatbot-testhost-{name}"
            path.mkdir(exist_ok=True)
            paths.append(path)
    return paths


def join(paths: list[Path]) -> None:
    """In the child before exec: move into the host's own cgroups."""
    for path in paths:
        with contextlib.suppress(OSError):
            (path / "cgroup.procs").write_text("0")


def pids(paths: list[Path]) -> set[int]:
    """Every process in these cgroups and their children."""
    found: set[int] = set()
    for path in paths:
        for procs in path.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                found.update(int(line) for line in procs.read_text().split())
    return found


def kill_all(paths: list[Path], name: str, timeout: float) -> None:
    """SIGKILL every process left in the cgroups until none is left, for at most `timeout` s.

    If nspawn itself died (killed, crashed), the container's init lives on, orphaned, with its
    veth and mounts. SIGKILL to a PID namespace's init ends the whole namespace.
    """
    deadline = time.monotonic() + timeout
    while left := pids(paths):
        if time.monotonic() > deadline:
            raise TestHostError(f"processes {sorted(left)} of {name} won't die")
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def remove_tree(path: Path) -> None:
    """Remove an empty cgroup and its empty children (rmdir fails on any with processes)."""
    if not path.is_dir():
        return
    for child in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            child.rmdir()
    with contextlib.suppress(OSError):
        path.rmdir()
