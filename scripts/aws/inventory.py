"""Rewrites the host lines of ``inventory.ini``; comments and other hosts stay as they are.

Each deployment is one host whose alias is ``chatbot-appliance-<name>`` (not the bare name:
a host called ``chatbot`` would clash with the group), so several deployments share the file
and ``ansible-playbook --limit <alias>`` picks one.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from scripts.aws.config import LOGIN_USER

GROUP = "chatbot"
HEADER = f"""\
# Ansible inventory of the chatbot appliance: one host per deployment, in the [{GROUP}] group.
# `make deploy` (python -m scripts.aws up) writes its host line here; `make destroy` removes it.
# Comments are kept. To use a host of your own instead, add a line such as (one line):
#   myhost ansible_host=203.0.113.10 ansible_user={LOGIN_USER}
#     ansible_ssh_private_key_file=~/.ssh/id_ed25519 ansible_python_interpreter=/usr/bin/python3
"""


def host_line(name: str, address: str, private_key_file: Path) -> str:
    fields = {
        "ansible_host": address,
        "ansible_user": LOGIN_USER,
        "ansible_ssh_private_key_file": str(private_key_file),
        "ansible_python_interpreter": "/usr/bin/python3",
        # A new host's key is accepted once and pinned; a changed one still stops the run.
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=accept-new",
    }
    return " ".join([name, *(f"{key}={_quote(value)}" for key, value in fields.items())])


def _quote(value: str) -> str:
    # Ansible splits INI host lines like a shell does.
    return value if value and all(c not in value for c in " \"'#=") else shlex.quote(value)


def set_host(path: Path, name: str, line: str | None) -> None:
    """Put ``line`` as host ``name`` in the [chatbot] group, or remove that host if None."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else HEADER.splitlines()
    out: list[str] = []
    section: str | None = None
    group_end: int | None = None
    for raw in lines:
        stripped = raw.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
            out.append(raw)
            if section == GROUP:
                group_end = len(out)
            continue
        is_host = stripped and not stripped.startswith(("#", ";"))
        if section == GROUP and is_host and stripped.split()[0] == name:
            continue  # replaced below
        out.append(raw)
        if section == GROUP and is_host:
            group_end = len(out)
    if line is not None:
        if group_end is None:
            out += ["", f"[{GROUP}]"]
            group_end = len(out)
        out.insert(group_end, line)
    path.write_text("\n".join(out).rstrip("\n") + "\n", encoding="utf-8")
