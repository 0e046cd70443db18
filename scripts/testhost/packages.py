"""The host packages the test host needs on this machine, from host-packages.txt."""

from __future__ import annotations

import shutil
from pathlib import Path

PACKAGES_FILE = Path(__file__).with_name("host-packages.txt")


def _read(path: Path) -> dict[str, str]:
    """package -> the command it provides, in file order (comments and blank lines skipped)."""
    tools: dict[str, str] = {}
    for line in path.read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            package, command = fields
            tools[package] = command
    return tools


HOST_TOOLS = _read(PACKAGES_FILE)
HOST_PACKAGES = tuple(HOST_TOOLS)


def missing_host_tools() -> list[str]:
    """Host packages whose main command is absent (for skip messages and the make target)."""
    return [pkg for pkg, tool in HOST_TOOLS.items() if shutil.which(tool) is None]
