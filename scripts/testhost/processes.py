"""Process lookup from /proc: is a PID alive, wait for it to go, find a container's init."""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own unreaped child) counts as gone.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return False


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait up to `timeout` s for `pid` to exit (reaping it if it is our child); True if gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def container_init(nspawn_pid: int) -> int | None:
    """The descendant of nspawn that is PID 1 of a new PID namespace."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    todo = list(children.get(nspawn_pid, []))
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text()
            nspid = re.search(r"^NSpid:\s*(.*)$", status, re.MULTILINE)
            if nspid and nspid.group(1).split()[-1] == "1" and len(nspid.group(1).split()) > 1:
                return pid
        todo += children.get(pid, [])
    return None
