"""The AWS resources of one deployment: find by tag, create if missing, delete.

Every ``ensure_*`` converges: it looks for what an earlier (possibly interrupted) run left and
only creates what is missing, so ``up`` can be re-run at any point.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from scripts.aws.clients import Aws
from scripts.aws.config import DEBIAN_AMI_PARAMETER, Deployment, tag_value
from scripts.aws.errors import DeployError, error_code
from scripts.aws.report import detail, step
from scripts.aws.sshkey import PublicKey

LIVE_STATES = ["pending", "running", "stopping", "stopped"]
WEB_PORTS = (80, 443)
SSH_PORT = 22
# Graviton families carry a "g" right after the generation digit (t4g, m7gd, c6gn, ...).
_ARM_FAMILY = re.compile(r"^(a1|[a-z]+\d+g[a-z]*)$")


# --- key pair -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    name: str
    private_key_file: Path
    source: str  # "imported" or "created"


def find_key_pair(aws: Aws, dep: Deployment) -> dict[str, Any] | None:
    found = aws.ec2.describe_key_pairs(
        Filters=[{"Name": "key-name", "Values": [dep.resource_name]}], IncludePublicKey=True
    )["KeyPairs"]
    return found[0] if found else None


def ensure_key_pair(aws: Aws, dep: Deployment, public_key: PublicKey | None) -> KeyPair:
    existing = find_key_pair(aws, dep)
    if existing is not None:
        return _reuse_key_pair(dep, existing, public_key)
    if public_key is not None:
        aws.ec2.import_key_pair(
            KeyName=dep.resource_name,
            PublicKeyMaterial=public_key.material.encode("ascii"),
            TagSpecifications=dep.tag_specs("key-pair", KeySource="imported"),
        )
        step(f"key pair {dep.resource_name}: imported {public_key.path}")
        return KeyPair(dep.resource_name, public_key.private_key_file, "imported")
    created = aws.ec2.create_key_pair(
        KeyName=dep.resource_name,
        KeyType="ed25519",
        TagSpecifications=dep.tag_specs("key-pair", KeySource="created"),
    )
    _write_private_key(dep.created_key_file, created["KeyMaterial"])
    step(f"key pair {dep.resource_name}: created, private key saved to {dep.created_key_file}")
    return KeyPair(dep.resource_name, dep.created_key_file, "created")


def _reuse_key_pair(
    dep: Deployment, existing: dict[str, Any], public_key: PublicKey | None
) -> KeyPair:
    name = existing["KeyName"]
    if tag_value(existing, "KeySource") == "created":
        if not dep.created_key_file.exists():
            raise DeployError(
                f"key pair {name} exists but its private key {dep.created_key_file} is gone; "
                "run `down` and then `up` again"
            )
        step(f"key pair {name}: exists (private key {dep.created_key_file})")
        return KeyPair(name, dep.created_key_file, "created")
    if public_key is None:
        raise DeployError(
            f"key pair {name} was imported from a key this machine doesn't have; "
            "pass --ssh-key with that public key"
        )
    # The host only accepts the key it was launched with; a different local key would
    # make Ansible fail later with a far less helpful message.
    stored = existing.get("PublicKey", "").split()
    if len(stored) >= 2 and stored[1] != public_key.blob:
        raise DeployError(
            f"key pair {name} holds a different public key than {public_key.path}; "
            "pass --ssh-key with the original key, or run `down` and `up` again"
        )
    step(f"key pair {name}: exists (imported)")
    return KeyPair(name, public_key.private_key_file, "imported")


def _write_private_key(path: Path, material: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the first byte: the key is never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(material if material.endswith("\n") else material + "\n")
    path.chmod(0o600)


def delete_key_pairs(aws: Aws, dep: Deployment) -> None:
    found = aws.ec2.describe_key_pairs(Filters=dep.filters)["KeyPairs"]
    for key in found:
        aws.ec2.delete_key_pair(KeyName=key["KeyName"])
        step(f"key pair {key['KeyName']}: deleted")
        if tag_value(key, "KeySource") == "created":
            dep.created_key_file.unlink(missing_ok=True)


# --- security groups ------------------------------------------------------------------------


class Rule(NamedTuple):
    port: int
    source: str  # an IPv4 or IPv6 network, or the id of another security group ("sg-...")


def desired_rules(ssh_cidr: str) -> set[Rule]:
    web = {Rule(port, cidr) for port in WEB_PORTS for cidr in ("0.0.0.0/0", "::/0")}
    return {Rule(SSH_PORT, ssh_cidr), *web}


def _permission(rule: Rule) -> dict[str, Any]:
    if rule.source.startswith("sg-"):
        ranges: dict[str, Any] = {"UserIdGroupPairs": [{"GroupId": rule.source}]}
    elif ":" in rule.source:
        ranges = {"Ipv6Ranges": [{"CidrIpv6": rule.source}]}
    else:
        ranges = {"IpRanges": [{"CidrIp": rule.source}]}
    return {"IpProtocol": "tcp", "FromPort": rule.port, "ToPort": rule.port, **ranges}


def current_rules(group: dict[str, Any]) -> dict[Rule | str, dict[str, Any]]:
    """Each single ingress grant of the group, keyed by Rule (or a text key for grants we never
    make, such as port ranges or prefix lists), with the permission that revokes exactly it."""
    grants: dict[Rule | str, dict[str, Any]] = {}
    for perm in group.get("IpPermissions", []):
        base = {k: perm[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in perm}
        simple_tcp = perm.get("IpProtocol") == "tcp" and perm.get("FromPort") == perm.get("ToPort")
        for field_name, item_key in (
            ("IpRanges", "CidrIp"),
            ("Ipv6Ranges", "CidrIpv6"),
            ("UserIdGroupPairs", "GroupId"),
        ):
            for item in perm.get(field_name, []):
                source = item[item_key]
                key: Rule | str = (
                    Rule(perm["FromPort"], source) if simple_tcp else f"{base} {source}"
                )
                grants[key] = {**base, field_name: [{item_key: source}]}
        for prefix in perm.get("PrefixListIds", []):
            grants[f"{base} {prefix['PrefixListId']}"] = {
                **base,
                "PrefixListIds": [{"PrefixListId": prefix["PrefixListId"]}],
            }
    return grants


def find_groups(aws: Aws, dep: Deployment) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = aws.ec2.describe_security_groups(Filters=dep.filters)[
        "SecurityGroups"
    ]
    return groups


def find_security_group(
    aws: Aws, dep: Deployment, role: str | None = None
) -> dict[str, Any] | None:
    """The deployment's group of that role ("alb", "app", "db"); None = the single host's."""
    for group in find_groups(aws, dep):
        if tag_value(group, "Role") == role:
            return group
    return None


def default_vpc_id(aws: Aws) -> str:
    vpcs = aws.ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise DeployError(
            f"region {aws.region} has no default VPC; create one with `aws ec2 create-default-vpc`"
        )
    vpc_id: str = vpcs[0]["VpcId"]
    return vpc_id


def ensure_security_group(aws: Aws, dep: Deployment, ssh_cidr: str) -> str:
    """The single host's group, in the default VPC."""
    return ensure_group(
        aws,
        dep,
        role=None,
        name=dep.resource_name,
        description=f"{dep.resource_name}: SSH from the operator, HTTP(S) from anywhere",
        vpc_id=None,
        wanted=desired_rules(ssh_cidr),
    )


def ensure_group(
    aws: Aws,
    dep: Deployment,
    *,
    role: str | None,
    name: str,
    description: str,
    vpc_id: str | None,
    wanted: set[Rule],
) -> str:
    """Create the group if missing, then make its ingress exactly ``wanted``; its id."""
    group = find_security_group(aws, dep, role)
    if group is None:
        extra = {"Role": role} if role else {}
        group_id: str = aws.ec2.create_security_group(
            GroupName=name,
            Description=description,
            VpcId=vpc_id or default_vpc_id(aws),
            TagSpecifications=dep.tag_specs("security-group", Name=name, **extra),
        )["GroupId"]
        step(f"security group {name}: created {group_id}")
        group = {"GroupId": group_id, "IpPermissions": []}
    else:
        group_id = group["GroupId"]
        step(f"security group {name}: exists {group_id}")
    grants = current_rules(group)
    stale = [perm for key, perm in grants.items() if key not in wanted]
    missing = sorted(wanted - grants.keys())
    if stale:
        aws.ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=stale)
        for key in grants.keys() - wanted:
            detail(f"removed rule {key}")
    if missing:
        aws.ec2.authorize_security_group_ingress(
            GroupId=group_id, IpPermissions=[_permission(rule) for rule in missing]
        )
        for rule in missing:
            detail(f"allowed tcp/{rule.port} from {rule.source}")
    return group_id


# A group can't be deleted while another group's rule references it: the referencing go first.
_GROUP_DELETE_ORDER = {"db": 0, "app": 1, "alb": 2}


def delete_security_groups(aws: Aws, dep: Deployment, timeout: float = 300.0) -> None:
    groups = sorted(
        find_groups(aws, dep), key=lambda g: _GROUP_DELETE_ORDER.get(tag_value(g, "Role") or "", 3)
    )
    for group in groups:
        deadline = time.monotonic() + timeout
        while True:
            try:
                aws.ec2.delete_security_group(GroupId=group["GroupId"])
                break
            except ClientError as exc:
                # A terminated instance's (or a deleted load balancer's or database's) network
                # interface holds the group for a while.
                if error_code(exc) != "DependencyViolation" or time.monotonic() > deadline:
                    raise
                time.sleep(5)
        step(f"security group {group['GroupId']}: deleted")


# --- AMI ------------------------------------------------------------------------------------


def architecture_for(instance_type: str) -> str:
    family = instance_type.split(".", 1)[0]
    return "arm64" if _ARM_FAMILY.match(family) else "amd64"


def ami_parameter(instance_type: str) -> str:
    return DEBIAN_AMI_PARAMETER.format(arch=architecture_for(instance_type))


def find_debian_ami(aws: Aws, instance_type: str) -> str:
    name = ami_parameter(instance_type)
    try:
        return str(aws.ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ClientError as exc:
        if error_code(exc) in ("ParameterNotFound", "ParameterVersionNotFound"):
            raise DeployError(
                f"region {aws.region} has no Debian 12 AMI parameter {name}; "
                "choose another --region"
            ) from None
        raise


def root_device_name(aws: Aws, ami_id: str) -> str:
    images = aws.ec2.describe_images(ImageIds=[ami_id])["Images"]
    if not images:
        raise DeployError(f"AMI {ami_id} (from the SSM parameter) is not visible in {aws.region}")
    return str(images[0].get("RootDeviceName", "/dev/xvda"))


# --- instance -------------------------------------------------------------------------------


def find_instances(aws: Aws, dep: Deployment) -> list[dict[str, Any]]:
    """The deployment's instances that are not terminated (or terminating), oldest first."""
    filters = [*dep.filters, {"Name": "instance-state-name", "Values": LIVE_STATES}]
    pages = aws.ec2.get_paginator("describe_instances").paginate(Filters=filters)
    found = [inst for page in pages for res in page["Reservations"] for inst in res["Instances"]]
    return sorted(found, key=lambda inst: inst["LaunchTime"])


def launch_request(
    dep: Deployment,
    *,
    ami_id: str,
    root_device: str,
    group_id: str,
    key_name: str,
    token: str,
    subnet_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """RunInstances arguments; ``subnet_id`` and ``tags`` (on top of the deployment's) place
    and name a fleet host, the single host goes to the default VPC's default subnet."""
    request: dict[str, Any] = {
        "ImageId": ami_id,
        "InstanceType": dep.instance_type,
        "KeyName": key_name,
        "SecurityGroupIds": [group_id],
        "MinCount": 1,
        "MaxCount": 1,
        # Same token on a retried launch returns the same instance instead of a second one.
        "ClientToken": token,
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": 1,
        },
        "BlockDeviceMappings": [
            {
                "DeviceName": root_device,
                "Ebs": {
                    "VolumeSize": dep.disk_gb,
                    "VolumeType": "gp3",
                    "Encrypted": True,
                    "DeleteOnTermination": True,
                },
            }
        ],
        "TagSpecifications": dep.tag_specs("instance", "volume", **(tags or {})),
    }
    if subnet_id is not None:
        request["SubnetId"] = subnet_id
    if dep.instance_type.startswith(("t2.", "t3.", "t3a.", "t4g.")):
        # Burstable types default to "unlimited" credits, which can bill beyond the hourly price.
        request["CreditSpecification"] = {"CpuCredits": "standard"}
    return request


def launch_instance(aws: Aws, request: dict[str, Any]) -> dict[str, Any]:
    instance: dict[str, Any] = aws.ec2.run_instances(**request)["Instances"][0]
    step(f"instance {instance['InstanceId']}: launched ({request['InstanceType']})")
    return instance


def start_if_stopped(aws: Aws, instance: dict[str, Any]) -> None:
    state = instance["State"]["Name"]
    instance_id = instance["InstanceId"]
    if state == "stopping":
        aws.ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance_id])
        state = "stopped"
    if state == "stopped":
        aws.ec2.start_instances(InstanceIds=[instance_id])
        step(f"instance {instance_id}: was stopped, starting")


def wait_until_ready(aws: Aws, *instance_ids: str) -> None:
    ids = list(instance_ids)
    step(f"instance {', '.join(ids)}: waiting until running and status checks pass")
    aws.ec2.get_waiter("instance_running").wait(InstanceIds=ids)
    aws.ec2.get_waiter("instance_status_ok").wait(InstanceIds=ids)


def terminate_instances(aws: Aws, dep: Deployment, wait: bool = True) -> None:
    ids = [inst["InstanceId"] for inst in find_instances(aws, dep)]
    # A launch that was still shutting down from an earlier `down` also holds the group.
    shutting = aws.ec2.describe_instances(
        Filters=[*dep.filters, {"Name": "instance-state-name", "Values": ["shutting-down"]}]
    )["Reservations"]
    pending_ids = [inst["InstanceId"] for res in shutting for inst in res["Instances"]]
    if ids:
        aws.ec2.terminate_instances(InstanceIds=ids)
        step(f"instance {', '.join(ids)}: terminating")
    if wait and ids + pending_ids:
        aws.ec2.get_waiter("instance_terminated").wait(InstanceIds=ids + pending_ids)
        step(f"instance {', '.join(ids + pending_ids)}: terminated")


# --- Elastic IP -----------------------------------------------------------------------------


def find_addresses(aws: Aws, dep: Deployment) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = aws.ec2.describe_addresses(Filters=dep.filters)["Addresses"]
    return found


def ensure_address(aws: Aws, dep: Deployment, instance_id: str) -> dict[str, Any]:
    found = find_addresses(aws, dep)
    if found:
        address = found[0]
        step(f"elastic ip {address['PublicIp']}: exists")
    else:
        address = aws.ec2.allocate_address(
            Domain="vpc", TagSpecifications=dep.tag_specs("elastic-ip")
        )
        step(f"elastic ip {address['PublicIp']}: allocated")
    if address.get("InstanceId") != instance_id:
        aws.ec2.associate_address(
            AllocationId=address["AllocationId"], InstanceId=instance_id, AllowReassociation=True
        )
        step(f"elastic ip {address['PublicIp']}: associated with {instance_id}")
    return address


def release_addresses(aws: Aws, dep: Deployment) -> None:
    for address in find_addresses(aws, dep):
        if address.get("AssociationId"):
            aws.ec2.disassociate_address(AssociationId=address["AssociationId"])
        aws.ec2.release_address(AllocationId=address["AllocationId"])
        step(f"elastic ip {address['PublicIp']}: released")


# --- inventory of what exists ---------------------------------------------------------------


def leftovers(aws: Aws, dep: Deployment) -> list[str]:
    """Everything of the deployment that still exists, one description each."""
    left = [f"instance {i['InstanceId']} ({i['State']['Name']})" for i in find_instances(aws, dep)]
    left += [f"elastic ip {a['PublicIp']}" for a in find_addresses(aws, dep)]
    groups = aws.ec2.describe_security_groups(Filters=dep.filters)["SecurityGroups"]
    left += [f"security group {g['GroupId']}" for g in groups]
    keys = aws.ec2.describe_key_pairs(Filters=dep.filters)["KeyPairs"]
    left += [f"key pair {k['KeyName']}" for k in keys]
    return left
