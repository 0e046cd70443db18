"""Runs the Ansible playbook against the host just provisioned."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from scripts.aws.errors import DeployError
from scripts.aws.report import step


def ansible_playbook() -> str:
    # Prefer the one installed next to this Python (the project venv) over one on PATH.
    beside = Path(sys.executable).parent / "ansible-playbook"
    found = str(beside) if beside.exists() else shutil.which("ansible-playbook")
    if not found:
        raise DeployError("ansible-playbook not found: run `make deploy`, which installs it")
    return found


def run_playbook(inventory: Path, playbook: Path, limit: str, extra: Sequence[str] = ()) -> None:
    if not playbook.exists():
        raise DeployError(f"playbook {playbook} not found (pass --playbook or --skip-playbook)")
    command = [ansible_playbook(), "-i", str(inventory), "--limit", limit, *extra, str(playbook)]
    env = dict(os.environ)
    # sshd on a fresh host can refuse a connection or two just after the status checks pass.
    env.setdefault("ANSIBLE_SSH_RETRIES", "5")
    # ansible.cfg is only read from the working directory; the playbook's own one is next to it.
    config = playbook.parent / "ansible.cfg"
    if config.exists():
        env.setdefault("ANSIBLE_CONFIG", str(config))
    step(f"running {' '.join(command[1:])}")
    result = subprocess.run(command, env=env, check=False)
    if result.returncode != 0:
        raise DeployError(
            f"ansible-playbook failed (exit {result.returncode}); the AWS resources are up, "
            "fix the cause and run `up` again"
        )
