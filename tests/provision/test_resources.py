"""What `up` creates: exactly the intended firewall, a hardened instance, the AMI from SSM."""

from __future__ import annotations

import pytest

from scripts.aws.resources import architecture_for
from tests.provision.conftest import CALLER_CIDR


def the_instance(ec2) -> dict:
    [reservation] = ec2.describe_instances(
        Filters=[{"Name": "tag:Deployment", "Values": ["chatbot"]}]
    )["Reservations"]
    return reservation["Instances"][0]


def grants(group: dict) -> set[tuple[str, int, int, str]]:
    found = set()
    for perm in group["IpPermissions"]:
        key = (perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"))
        found |= {(*key, r["CidrIp"]) for r in perm.get("IpRanges", [])}
        found |= {(*key, r["CidrIpv6"]) for r in perm.get("Ipv6Ranges", [])}
        assert not perm.get("UserIdGroupPairs")
        assert not perm.get("PrefixListIds")
    return found


def test_security_group_rules_are_exactly_the_intended_ones(aws, public_key, run_cli):
    assert run_cli("up").code == 0
    [group] = aws.ec2.describe_security_groups(
        Filters=[{"Name": "tag:Deployment", "Values": ["chatbot"]}]
    )["SecurityGroups"]
    assert grants(group) == {
        ("tcp", 22, 22, CALLER_CIDR),
        ("tcp", 80, 80, "0.0.0.0/0"),
        ("tcp", 80, 80, "::/0"),
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 443, 443, "::/0"),
    }
    assert the_instance(aws.ec2)["SecurityGroups"][0]["GroupId"] == group["GroupId"]


def test_a_rule_added_by_hand_is_removed_on_the_next_up(aws, public_key, run_cli):
    assert run_cli("up").code == 0
    [group] = aws.ec2.describe_security_groups(
        Filters=[{"Name": "tag:Deployment", "Values": ["chatbot"]}]
    )["SecurityGroups"]
    aws.ec2.authorize_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    assert run_cli("up").code == 0
    [group] = aws.ec2.describe_security_groups(GroupIds=[group["GroupId"]])["SecurityGroups"]
    assert ("tcp", 5432, 5432, "0.0.0.0/0") not in grants(group)
    assert len(grants(group)) == 5


def test_instance_is_hardened_and_tagged(aws, public_key, run_cli):
    assert run_cli("up").code == 0
    instance = the_instance(aws.ec2)
    assert instance["InstanceType"] == "t3.small"
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert instance["KeyName"] == "chatbot-appliance-chatbot"
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert tags == {
        "Project": "chatbot-appliance",
        "Deployment": "chatbot",
        "Name": "chatbot-appliance-chatbot",
    }
    [volume] = aws.ec2.describe_volumes(
        Filters=[{"Name": "attachment.instance-id", "Values": [instance["InstanceId"]]}]
    )["Volumes"]
    assert volume["Encrypted"] is True
    assert volume["VolumeType"] == "gp3"
    assert volume["Size"] == 16
    assert {"Key": "Deployment", "Value": "chatbot"} in volume["Tags"]


def test_ami_comes_from_the_ssm_parameter(aws, public_key, run_cli):
    assert run_cli("up").code == 0
    assert the_instance(aws.ec2)["ImageId"] == aws.amd64_ami


def test_graviton_types_use_the_arm64_parameter(aws, public_key, run_cli):
    assert run_cli("up", "--instance-type", "t4g.small").code == 0
    instance = the_instance(aws.ec2)
    assert (instance["ImageId"], instance["InstanceType"]) == (aws.arm64_ami, "t4g.small")


@pytest.mark.parametrize(
    ("instance_type", "arch"),
    [
        ("t3.small", "amd64"),
        ("t3a.medium", "amd64"),
        ("m7i.large", "amd64"),
        ("g4dn.xlarge", "amd64"),
        ("t4g.small", "arm64"),
        ("m7gd.large", "arm64"),
        ("c6gn.medium", "arm64"),
        ("a1.large", "arm64"),
    ],
)
def test_architecture_by_family(instance_type, arch):
    assert architecture_for(instance_type) == arch


def test_burstable_instances_launch_with_standard_credits(aws, public_key, run_cli, monkeypatch):
    # moto does not report credit specifications back, so look at the request itself.
    seen = {}
    from scripts.aws import resources

    real = resources.launch_instance

    def spy(aws_, request):
        seen.update(request)
        return real(aws_, request)

    monkeypatch.setattr(resources, "launch_instance", spy)
    assert run_cli("up").code == 0
    assert seen["CreditSpecification"] == {"CpuCredits": "standard"}
    assert seen["ClientToken"].startswith("chatbot-")
