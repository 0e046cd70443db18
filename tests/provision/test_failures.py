"""Half-way failures leave a state the next run finishes; errors are one clear line."""

from __future__ import annotations

import pytest
from moto import mock_aws

from tests.provision.test_lifecycle import everything, live_instances


def test_failed_launch_then_down_cleans_up_and_up_succeeds(aws, public_key, run_cli, faults):
    faults.add("ec2", "RunInstances", "InsufficientInstanceCapacity")
    failed = run_cli("up")
    assert failed.code == 1
    assert "Traceback" not in failed.err
    half = everything(aws.ec2)
    assert (len(half["keys"]), len(half["groups"]), half["instances"]) == (1, 1, [])

    faults.clear()
    down = run_cli("down", "--yes")
    assert down.code == 0, down.err
    assert everything(aws.ec2) == {"instances": [], "addresses": [], "groups": [], "keys": []}

    again = run_cli("up")
    assert again.code == 0, again.err
    assert len(live_instances(aws.ec2)) == 1


def test_failed_launch_then_up_finishes(aws, public_key, run_cli, faults):
    faults.add("ec2", "RunInstances", "VcpuLimitExceeded")
    failed = run_cli("up")
    assert failed.code == 1
    assert "vCPU quota" in failed.err
    assert "VcpuLimitExceeded" in failed.err

    faults.clear()
    again = run_cli("up")
    assert again.code == 0, again.err
    assert "key pair chatbot-appliance-chatbot: exists" in again.out
    assert "security group chatbot-appliance-chatbot: exists" in again.out
    assert len(live_instances(aws.ec2)) == 1
    assert len(everything(aws.ec2)["addresses"]) == 1


def test_failure_after_the_launch_is_finished_by_the_next_up(aws, public_key, run_cli, faults):
    faults.add("ec2", "AllocateAddress", "AddressLimitExceeded")
    failed = run_cli("up")
    assert failed.code == 1
    assert "ec2:AllocateAddress failed: AddressLimitExceeded" in failed.err
    [instance] = live_instances(aws.ec2)

    faults.clear()
    assert run_cli("up").code == 0
    [again] = live_instances(aws.ec2)
    assert again["InstanceId"] == instance["InstanceId"]


def test_no_credentials(run_cli, monkeypatch):
    with mock_aws():  # a guard only: the CLI must stop before sending anything
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        result = run_cli("status")
    assert result.code == 1
    assert result.err.startswith("error: no AWS credentials found")
    assert len(result.err.strip().splitlines()) == 1


def test_unknown_profile(run_cli):
    result = run_cli("status", "--profile", "nope")
    assert result.code == 1
    assert "nope" in result.err
    assert "--profile" in result.err


def test_expired_credentials(aws, run_cli, faults):
    faults.add("sts", "GetCallerIdentity", "ExpiredToken")
    result = run_cli("status")
    assert result.code == 1
    assert result.err.strip() == (
        "error: AWS credentials expired: refresh them (new session token, `aws sso login`, ...)"
    )


@pytest.mark.parametrize(
    ("service", "operation", "code", "action"),
    [
        ("ec2", "RunInstances", "UnauthorizedOperation", "ec2:RunInstances"),
        ("ec2", "DescribeKeyPairs", "UnauthorizedOperation", "ec2:DescribeKeyPairs"),
        ("ssm", "GetParameter", "AccessDeniedException", "ssm:GetParameter"),
    ],
)
def test_access_denied_names_the_action(
    aws, public_key, run_cli, faults, service, operation, code, action
):
    faults.add(service, operation, code)
    result = run_cli("up")
    assert result.code == 1
    assert f"permission denied: the credentials may not call {action}" in result.err
    assert "docs/iam-policy.json" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_region_without_the_ami_parameter(aws, public_key, run_cli):
    result = run_cli("up", "--region", "eu-west-3")
    assert result.code == 1
    assert result.err.strip() == (
        "error: region eu-west-3 has no Debian 12 AMI parameter "
        "/aws/service/debian/release/bookworm/latest/amd64; choose another --region"
    )


def test_unreadable_ssh_key(aws, run_cli, tmp_path):
    missing = run_cli("up", "--ssh-key", str(tmp_path / "nope.pub"))
    assert missing.code == 1
    assert (
        missing.err.strip()
        == f"error: cannot read SSH public key {tmp_path / 'nope.pub'}: No such file or directory"
    )

    garbage = tmp_path / "garbage.pub"
    garbage.write_text("not a key\n")
    result = run_cli("up", "--ssh-key", str(garbage))
    assert result.code == 1
    assert "is not an OpenSSH public key" in result.err
    assert everything(aws.ec2)["keys"] == []


def test_a_different_local_key_is_refused(aws, public_key, run_cli, tmp_path):
    from tests.provision.conftest import write_public_key

    assert run_cli("up").code == 0
    other = write_public_key(tmp_path / "other" / "id_ed25519.pub")
    result = run_cli("up", "--ssh-key", str(other))
    assert result.code == 1
    assert "holds a different public key" in result.err


def test_invalid_deployment_name(aws, run_cli):
    result = run_cli("status", "--name", "Bad_Name")
    assert result.code == 1
    assert "invalid deployment name" in result.err


def test_invalid_ssh_cidr(aws, public_key, run_cli):
    result = run_cli("up", "--ssh-cidr", "my-laptop")
    assert result.code == 1
    assert "invalid SSH CIDR 'my-laptop'" in result.err
