"""inventory.ini: kept comments, one line per deployment, and valid for the real Ansible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scripts.aws import inventory
from scripts.aws.config import REPO_ROOT

ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"


def ansible_inventory(path: Path, tmp_path: Path) -> dict:
    result = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", str(path), "--list"],
        capture_output=True,
        text=True,
        check=True,
        # Ansible writes its temp files under $HOME; parse errors are warnings unless asked.
        env={
            "HOME": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
        },
    )
    return json.loads(result.stdout)


def test_inventory_written_by_up_is_valid_for_ansible(aws, public_key, run_cli, tmp_path):
    assert run_cli("up").code == 0
    address = aws.ec2.describe_addresses()["Addresses"][0]["PublicIp"]
    parsed = ansible_inventory(run_cli.inventory, tmp_path)
    assert parsed["chatbot"]["hosts"] == ["chatbot-appliance-chatbot"]
    host = parsed["_meta"]["hostvars"]["chatbot-appliance-chatbot"]
    assert host["ansible_host"] == address
    assert host["ansible_user"] == "admin"
    assert host["ansible_ssh_private_key_file"] == str(public_key.with_suffix(""))
    assert host["ansible_python_interpreter"] == "/usr/bin/python3"
    assert host["ansible_ssh_common_args"] == "-o StrictHostKeyChecking=accept-new"


def test_committed_example_is_valid_and_empty(tmp_path):
    parsed = ansible_inventory(REPO_ROOT / "inventory.ini", tmp_path)
    assert "chatbot" in parsed["all"]["children"]
    assert parsed["_meta"]["hostvars"] == {}


def test_set_host_keeps_comments_and_other_hosts(tmp_path):
    path = tmp_path / "inventory.ini"
    path.write_text(
        "# my notes\n[chatbot]\n# a comment in the group\nmine ansible_host=192.0.2.1\n\n"
        "[other]\nbox ansible_host=192.0.2.9\n"
    )
    key = Path("/home/me/my keys/id_ed25519")
    inventory.set_host(path, "chatbot", inventory.host_line("chatbot", "198.51.100.1", key))
    inventory.set_host(path, "chatbot", inventory.host_line("chatbot", "198.51.100.2", key))
    text = path.read_text()
    assert text.count("chatbot ansible_host=") == 1
    assert "198.51.100.2" in text
    assert "198.51.100.1" not in text
    for kept in ("# my notes", "# a comment in the group", "mine ansible_host", "box ansible_host"):
        assert kept in text
    parsed = ansible_inventory(path, tmp_path)
    assert sorted(parsed["chatbot"]["hosts"]) == ["chatbot", "mine"]
    assert parsed["other"]["hosts"] == ["box"]
    assert parsed["_meta"]["hostvars"]["chatbot"]["ansible_ssh_private_key_file"] == str(key)

    inventory.set_host(path, "chatbot", None)
    assert "chatbot ansible_host" not in path.read_text()
    assert "mine ansible_host" in path.read_text()


def test_a_missing_inventory_is_created_with_its_header(tmp_path):
    path = tmp_path / "inventory.ini"
    inventory.set_host(path, "demo", inventory.host_line("demo", "192.0.2.3", Path("/k")))
    text = path.read_text()
    assert text.startswith("# Ansible inventory of the chatbot appliance")
    assert ansible_inventory(path, tmp_path)["chatbot"]["hosts"] == ["demo"]
