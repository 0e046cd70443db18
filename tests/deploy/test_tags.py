"""The roles' phase tags (docs/operations.md, "Running one phase"): every task has one, and a
tag selects what the docs say. `ansible-playbook --list-tasks` only parses; it contacts no host.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from functools import cache

import pytest
import yaml

from tests.deploy.fixtures_playbook import ANSIBLE_CFG, PLAYBOOK, ROOT, ansible_playbook

PHASES = {"install", "configure", "service"}
ROLES_DIR = ROOT / "ansible" / "roles"
# "      nginx : Install nginx\tTAGS: [install, nginx, nginx_install]"
_LISTED = re.compile(r"^\s+(?:(?P<role>\w+) : )?(?P<name>.+?)\s+TAGS: \[(?P<tags>[^]]*)\]$")


@pytest.fixture(scope="module")
def listed_tasks(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., dict[str, set[str]]]:
    """`role : name` (or the play's own task name) -> its tags, as `--list-tasks ARGS` prints."""
    inventory = tmp_path_factory.mktemp("tags") / "inventory.ini"
    inventory.write_text("[chatbot]\nlisted.invalid\n")

    @cache
    def listed(*args: str) -> dict[str, set[str]]:
        proc = subprocess.run(
            [str(ansible_playbook()), "-i", str(inventory), str(PLAYBOOK), "--list-tasks", *args],
            env={"ANSIBLE_CONFIG": str(ANSIBLE_CFG), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        assert "WARNING" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        tasks = {}
        for line in proc.stdout.splitlines():
            if (match := _LISTED.match(line)) and not match["name"].startswith("play #"):
                key = f"{match['role']} : {match['name']}" if match["role"] else match["name"]
                tasks[key] = {t.strip() for t in match["tags"].split(",") if t.strip()}
        assert tasks, proc.stdout
        return tasks

    return listed


Listed = Callable[..., dict[str, set[str]]]


def test_every_role_task_has_a_phase_and_its_role_scoped_twin(listed_tasks: Listed) -> None:
    role_tasks = {
        key: tags
        for key, tags in listed_tasks().items()
        if " : " in key and "Validating arguments" not in key
    }
    assert len(role_tasks) > 40  # every statically imported task of the three roles
    for key, tags in role_tasks.items():
        role = key.split(" : ")[0]
        phases = tags & PHASES
        assert phases, f"{key}: no phase tag in {sorted(tags)}"
        assert role in tags, key
        assert {f"{role}_{p}" for p in phases} <= tags, f"{key}: {sorted(tags)}"


def test_dynamically_included_tasks_get_phase_tags() -> None:
    # --list-tasks doesn't expand include_tasks: read those files' tags from the YAML.
    includes = 0
    for path in ROLES_DIR.glob("*/tasks/*.yml"):
        for task in yaml.safe_load(path.read_text()) or []:
            spec = task.get("ansible.builtin.include_tasks")
            if spec is None:
                continue
            includes += 1
            file = spec if isinstance(spec, str) else spec["file"]
            applied = set() if isinstance(spec, str) else set(spec.get("apply", {}).get("tags", []))
            for inner in yaml.safe_load((path.parent / file).read_text()):
                tags = applied | set(inner.get("tags", []))
                assert tags & PHASES, f"{file}: {inner['name']!r} has no phase tag"
    assert includes == 2  # build.yml and certbot.yml


def test_configure_renders_files_and_leaves_packages_and_release_alone(
    listed_tasks: Listed,
) -> None:
    selected = set(listed_tasks("--tags", "configure"))
    assert {
        "chatbot : Render the environment file",
        "chatbot : Install the service and backup units",
        "nginx : Install the chatbot site",
        "common : Set the appliance's unattended-upgrades options",
        "chatbot : Apply pending unit reloads and restarts",
        "Check readiness (database and model) through nginx",
    } <= selected
    assert not selected & {
        "nginx : Install nginx",
        "common : Install the base packages",
        "chatbot : Switch the current release",
        "chatbot : Enable and start the socket, service and backup timer",
    }


def test_service_only_starts_units_then_checks(listed_tasks: Listed) -> None:
    role_tasks = {
        t
        for t in listed_tasks("--tags", "service")
        if " : " in t and "Validating arguments" not in t
    }
    assert role_tasks == {
        "common : Enable systemd-timesyncd",
        "chatbot : Check that the model can start in production",
        "chatbot : Check the given SECRET_KEY",
        "chatbot : Check that the environment values can be quoted",
        "chatbot : Check the release selection",
        "chatbot : Check what several hosts need",
        "chatbot : Check the database settings",
        "chatbot : Check the sign-up and first admin settings",
        # A restart in any phase drains the host from its load balancer first (several hosts).
        "chatbot : Look at the current release",
        "chatbot : Decide whether the release changes",
        "chatbot : Decide whether the service restarts",
        "chatbot : Take the host out of the load balancer",
        "chatbot : Wait until the load balancer has seen the host drained",
        "chatbot : Wait for the requests in flight to finish",
        "chatbot : Put the host back into the load balancer",
        "chatbot : Wait until the load balancer sends traffic to the host again",
        "chatbot : Apply pending unit reloads and restarts",
        "chatbot : Enable and start the socket, service and backup timer",
        "nginx : Enable and start nginx",
    }


def test_a_role_scoped_tag_stays_in_its_role(listed_tasks: Listed) -> None:
    # Argument validation is tagged `always`; everything else must be nginx's.
    selected = {
        t for t in listed_tasks("--tags", "nginx_configure") if "Validating arguments" not in t
    }
    assert "nginx : Install the chatbot site" in selected
    assert all(t.startswith("nginx : ") for t in selected), selected
