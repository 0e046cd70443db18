"""up -> status -> down and re-runs of up, against moto's EC2."""

from __future__ import annotations

import json
import os
import stat

from tests.provision.conftest import CALLER_CIDR

PROJECT_FILTERS = [{"Name": "tag:Project", "Values": ["chatbot-appliance"]}]


def live_instances(ec2, name: str | None = None) -> list[dict]:
    filters = [
        *PROJECT_FILTERS,
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
    ]
    if name:
        filters.append({"Name": "tag:Deployment", "Values": [name]})
    reservations = ec2.describe_instances(Filters=filters)["Reservations"]
    return [inst for res in reservations for inst in res["Instances"]]


def everything(ec2) -> dict[str, list]:
    return {
        "instances": live_instances(ec2),
        "addresses": ec2.describe_addresses()["Addresses"],
        "groups": [
            g
            for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["GroupName"] != "default"
        ],
        "keys": ec2.describe_key_pairs()["KeyPairs"],
    }


def test_full_cycle_leaves_nothing(aws, public_key, run_cli):
    up = run_cli("up")
    assert up.code == 0, up.err
    made = everything(aws.ec2)
    assert [len(v) for v in made.values()] == [1, 1, 1, 1]
    address = made["addresses"][0]
    assert address["InstanceId"] == made["instances"][0]["InstanceId"]
    assert f"ready: http://{address['PublicIp']}/" in up.out

    status = run_cli("status")
    assert status.code == 0
    assert made["instances"][0]["InstanceId"] in status.out
    assert "running" in status.out
    assert f"http://{address['PublicIp']}/" in status.out
    assert f"ssh from {CALLER_CIDR}" in status.out

    down = run_cli("down", "--yes")
    assert down.code == 0, down.err
    assert "verified: nothing of the deployment is left" in down.out
    assert everything(aws.ec2) == {"instances": [], "addresses": [], "groups": [], "keys": []}
    assert not (run_cli.state_dir / "chatbot.json").exists()
    assert "chatbot-appliance-chatbot ansible_host" not in run_cli.inventory.read_text()
    assert "nothing deployed" in run_cli("status").out


def test_one_progress_line_per_step(aws, public_key, run_cli):
    up = run_cli("up")
    steps = [line for line in up.out.splitlines() if line.startswith("==> ")]
    for expected in ("key pair", "security group", "ami ", "instance", "elastic ip", "ready:"):
        assert any(expected in line for line in steps), expected


def test_up_twice_converges_to_one_instance(aws, public_key, run_cli):
    assert run_cli("up").code == 0
    first = everything(aws.ec2)
    second = run_cli("up")
    assert second.code == 0, second.err
    again = everything(aws.ec2)
    assert len(again["instances"]) == 1
    assert again["instances"][0]["InstanceId"] == first["instances"][0]["InstanceId"]
    assert again["addresses"][0]["PublicIp"] == first["addresses"][0]["PublicIp"]
    assert "launched" not in second.out
    assert "allocated" not in second.out


def test_changed_caller_ip_replaces_the_ssh_rule(aws, public_key, run_cli, monkeypatch):
    assert run_cli("up").code == 0
    monkeypatch.setenv("CHATBOT_SSH_CIDR", "203.0.113.44")
    result = run_cli("up")
    assert result.code == 0, result.err
    group = everything(aws.ec2)["groups"][0]
    ssh_sources = [
        r["CidrIp"] for p in group["IpPermissions"] if p["FromPort"] == 22 for r in p["IpRanges"]
    ]
    assert ssh_sources == ["203.0.113.44/32"]
    assert "removed rule" in result.out
    assert len(everything(aws.ec2)["instances"]) == 1


def test_ssh_cidr_flag_wins_over_the_environment(aws, public_key, run_cli):
    assert run_cli("up", "--ssh-cidr", "192.0.2.5").code == 0
    assert "ssh from 192.0.2.5/32" in run_cli("status").out


def test_a_stopped_instance_is_started_not_replaced(aws, public_key, run_cli):
    assert run_cli("up").code == 0
    instance_id = everything(aws.ec2)["instances"][0]["InstanceId"]
    aws.ec2.stop_instances(InstanceIds=[instance_id])
    result = run_cli("up")
    assert result.code == 0, result.err
    assert "was stopped, starting" in result.out
    [instance] = live_instances(aws.ec2)
    assert (instance["InstanceId"], instance["State"]["Name"]) == (instance_id, "running")


def test_named_deployments_coexist(aws, public_key, run_cli):
    assert run_cli("up", "--name", "blue").code == 0
    assert run_cli("up", "--name", "green").code == 0
    assert len(live_instances(aws.ec2)) == 2
    inventory = run_cli.inventory.read_text()
    assert "\nchatbot-appliance-blue ansible_host=" in inventory
    assert "\nchatbot-appliance-green ansible_host=" in inventory

    assert run_cli("down", "--name", "blue", "--yes").code == 0
    [left] = live_instances(aws.ec2)
    assert {"Key": "Deployment", "Value": "green"} in left["Tags"]
    assert len(everything(aws.ec2)["groups"]) == 1
    inventory = run_cli.inventory.read_text()
    assert "chatbot-appliance-blue ansible_host=" not in inventory
    assert "chatbot-appliance-green ansible_host=" in inventory


def test_down_asks_first(aws, public_key, run_cli, monkeypatch):
    assert run_cli("up").code == 0
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    refused = run_cli("down")
    assert refused.code == 1
    assert "cancelled; nothing was removed" in refused.err
    assert len(everything(aws.ec2)["instances"]) == 1

    monkeypatch.setattr("builtins.input", lambda _prompt: "y")
    assert run_cli("down").code == 0
    assert everything(aws.ec2)["instances"] == []


def test_down_with_nothing_deployed_is_fine(aws, run_cli):
    result = run_cli("down", "--yes")
    assert result.code == 0
    assert "nothing to remove" in result.out


def test_dry_run_changes_nothing(aws, public_key, run_cli):
    result = run_cli("up", "--dry-run")
    assert result.code == 0, result.err
    assert "would import key pair" in result.out
    assert f"would launch t3.small from {aws.amd64_ami}" in result.out
    assert f"would allow tcp/22 from {CALLER_CIDR}" in result.out
    assert everything(aws.ec2) == {"instances": [], "addresses": [], "groups": [], "keys": []}


def test_without_a_local_key_one_is_created_and_saved_0600(aws, run_cli):
    result = run_cli("up")
    assert result.code == 0, result.err
    pem = run_cli.state_dir / "chatbot.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert pem.read_text().startswith("-----BEGIN")
    assert f"ansible_ssh_private_key_file={pem}" in run_cli.inventory.read_text()
    assert run_cli("up").code == 0  # the saved key is reused

    assert run_cli("down", "--yes").code == 0
    assert not pem.exists()


def test_state_file_remembers_region_and_key(aws, public_key, run_cli):
    assert run_cli("up").code == 0
    saved = json.loads((run_cli.state_dir / "chatbot.json").read_text())
    assert saved["region"] == "us-east-1"
    assert saved["private_key_file"] == str(public_key.with_suffix(""))
    assert saved["instance_id"] == live_instances(aws.ec2)[0]["InstanceId"]


def test_ssh_execs_ssh_to_the_host(aws, public_key, run_cli, monkeypatch):
    assert run_cli("up").code == 0
    address = everything(aws.ec2)["addresses"][0]["PublicIp"]
    calls = []
    monkeypatch.setattr(os, "execvp", lambda file, argv: calls.append((file, argv)))
    assert run_cli("ssh", "--", "uptime").code == 0
    [(program, argv)] = calls
    assert program == "ssh"
    assert argv[-2:] == [f"admin@{address}", "uptime"]
    assert ["-i", str(public_key.with_suffix(""))] == argv[argv.index("-i") : argv.index("-i") + 2]
