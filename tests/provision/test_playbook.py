"""The playbook step runs the real ansible-playbook with the inventory `up` just wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

STAND_IN = """\
# Stands in for ansible/site.yml, which another issue writes.
- name: Stand-in appliance play
  hosts: chatbot
  gather_facts: false
  tasks:
    - name: Reach the host
      ansible.builtin.ping:
"""


@pytest.fixture
def playbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ANSIBLE_LOCAL_TEMP", str(tmp_path / "ansible-tmp"))
    path = tmp_path / "site.yml"
    path.write_text(STAND_IN)
    return path


def test_up_runs_a_syntax_check_of_the_playbook(aws, public_key, run_cli, playbook):
    result = run_cli(
        "up", "--playbook", str(playbook), "--playbook-arg=--syntax-check", playbook=True
    )
    assert result.code == 0, result.err
    inventory = run_cli.inventory
    # run_cli captures at the file-descriptor level, so ansible-playbook's output is here too.
    assert f"running -i {inventory} --limit chatbot-appliance-chatbot --syntax-check" in result.out
    assert f"playbook: {playbook}" in result.out
    assert "ready: http://" in result.out


def test_the_playbook_targets_the_host_written_to_the_inventory(aws, public_key, run_cli, playbook):
    # --list-hosts parses the play and resolves its hosts from the inventory; it connects to none.
    result = run_cli(
        "up", "--playbook", str(playbook), "--playbook-arg=--list-hosts", playbook=True
    )
    assert result.code == 0, result.err
    assert "play #1 (chatbot): Stand-in appliance play" in result.out
    hosts = result.out.split("hosts (1):", 1)[1].split()
    assert hosts[0] == "chatbot-appliance-chatbot"
    assert "WARNING" not in result.out + result.err


def test_a_failing_playbook_is_one_clear_error(aws, public_key, run_cli, playbook):
    playbook.write_text("- name: Broken\n  hosts: chatbot\n  tasks:\n    - no.such.module: {}\n")
    result = run_cli(
        "up", "--playbook", str(playbook), "--playbook-arg=--syntax-check", playbook=True
    )
    assert result.code == 1
    assert "ansible-playbook failed (exit 4); the AWS resources are up" in result.err


def test_missing_playbook(aws, public_key, run_cli, tmp_path):
    result = run_cli("up", "--playbook", str(tmp_path / "nope.yml"), playbook=True)
    assert result.code == 1
    assert "not found (pass --playbook or --skip-playbook)" in result.err
