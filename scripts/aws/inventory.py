"""Rewrites the host lines of ``inventory.ini``; comments and other hosts stay as they are.

A single-host deployment is one host line whose alias is ``chatbot-appliance-<name>`` (not the
bare name: a host called ``chatbot`` would clash with the group), so several deployments share
the file and ``ansible-playbook --limit <alias>`` picks one.

A load-balanced deployment is a group of its own, ``chatbot_<name>`` (``-`` becomes ``_``,
which Ansible group names need), holding its hosts ``chatbot-appliance-<name>-<n>``, with the
database and load balancer facts as that group's vars, and made a child of ``[chatbot]`` so
the playbook's ``hosts: chatbot`` covers it; ``--limit chatbot_<name>`` picks it.
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


def host_line(
    name: str, address: str, private_key_file: Path, extra: dict[str, str] | None = None
) -> str:
    fields = {
        "ansible_host": address,
        "ansible_user": LOGIN_USER,
        "ansible_ssh_private_key_file": str(private_key_file),
        "ansible_python_interpreter": "/usr/bin/python3",
        # A new host's key is accepted once and pinned; a changed one still stops the run.
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=accept-new",
        **(extra or {}),
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


def fleet_group(deployment_name: str) -> str:
    return f"{GROUP}_{deployment_name.replace('-', '_')}"


def _sections(lines: list[str]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The lines before the first [section], then each section's name and its lines."""
    head: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for raw in lines:
        stripped = raw.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            sections.append((stripped[1:-1], []))
        elif sections:
            sections[-1][1].append(raw)
        else:
            head.append(raw)
    return head, sections


def set_fleet(
    path: Path,
    deployment_name: str,
    hosts: list[str] | None,
    group_vars: dict[str, str] | None = None,
) -> None:
    """Write the deployment's group ([chatbot_<name>] host lines and :vars), or remove it if
    ``hosts`` is None; sections of other deployments and comments stay."""
    group = fleet_group(deployment_name)
    children = f"{GROUP}:children"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else HEADER.splitlines()
    head, sections = _sections(lines)
    kept = [(name, body) for name, body in sections if name not in (group, f"{group}:vars")]
    if not any(name == GROUP for name, _ in kept):
        kept.append((GROUP, [""]))
    for name, body in kept:
        if name == children:
            body[:] = [line for line in body if line.strip() != group]
    if hosts is not None:
        if not any(name == children for name, _ in kept):
            kept.append((children, []))
        for name, body in kept:
            if name == children:
                while body and not body[-1].strip():
                    body.pop()
                body += [group, ""]
        kept.append((group, [*hosts, ""]))
        if group_vars:
            kept.append(
                (f"{group}:vars", [*(f"{k}={_quote(v)}" for k, v in group_vars.items()), ""])
            )
    out = list(head)
    for name, body in kept:
        if name == children and not any(
            line.strip() and not line.strip().startswith(("#", ";")) for line in body
        ):
            continue  # no load-balanced deployment left
        if out and out[-1].strip():
            out.append("")
        out += [f"[{name}]", *body]
    path.write_text("\n".join(out).rstrip("\n") + "\n", encoding="utf-8")
