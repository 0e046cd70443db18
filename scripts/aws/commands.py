"""The four commands: up, status, ssh, down, for both layouts: one host (default) or the
load-balanced one (scripts/aws/fleet.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scripts.aws import database, fleet, inventory, resources, state
from scripts.aws.clients import Aws
from scripts.aws.config import LOGIN_USER, Deployment, tag_value
from scripts.aws.errors import DeployError
from scripts.aws.playbook import run_playbook
from scripts.aws.report import detail, step
from scripts.aws.sshkey import find_public_key


def url_for(address: str) -> str:
    return f"http://{address}/"


def up(aws: Aws, dep: Deployment, ssh_cidr: str) -> str | None:
    """Create or converge every resource, write the inventory, run the playbook; the URL."""
    # A re-run without --ssh-key keeps using the key the first run imported.
    remembered = state.load(dep).get("public_key_file")
    explicit = dep.ssh_key or (Path(remembered) if remembered else None)
    public_key = find_public_key(explicit, dep.home)
    if dep.dry_run:
        plan(aws, dep, ssh_cidr, public_key is not None)
        return None
    load_balanced = _choose_layout(aws, dep)
    state.update(dep, name=dep.name, region=aws.region)
    key = resources.ensure_key_pair(aws, dep, public_key)
    state.update(
        dep,
        key_name=key.name,
        private_key_file=str(key.private_key_file),
        public_key_file=str(public_key.path) if key.source == "imported" and public_key else None,
    )
    if load_balanced:
        made = fleet.up(aws, dep, ssh_cidr, key)
        if dep.run_playbook:
            run_playbook(dep.inventory, dep.playbook, made.group, dep.playbook_args)
        step(f"ready: {made.url}")
        return made.url
    group_id = resources.ensure_security_group(aws, dep, ssh_cidr)
    instance = _ensure_instance(aws, dep, key_name=key.name, group_id=group_id)
    instance_id = instance["InstanceId"]
    if dep.wait:
        resources.wait_until_ready(aws, instance_id)
    address = resources.ensure_address(aws, dep, instance_id)
    state.update(
        dep, security_group_id=group_id, instance_id=instance_id, public_ip=address["PublicIp"]
    )
    inventory.set_host(
        dep.inventory,
        dep.resource_name,
        inventory.host_line(dep.resource_name, address["PublicIp"], key.private_key_file),
    )
    step(f"inventory {dep.inventory}: host {dep.resource_name} -> {address['PublicIp']}")
    if dep.run_playbook:
        run_playbook(dep.inventory, dep.playbook, dep.resource_name, dep.playbook_args)
    url = url_for(address["PublicIp"])
    step(f"ready: {url}")
    return url


def _choose_layout(aws: Aws, dep: Deployment) -> bool:
    """True for the load-balanced layout: asked for, or what the deployment already is."""
    if fleet.exists(aws, dep):
        if dep.database == "sqlite":
            raise DeployError(
                f"deployment {dep.name} runs on RDS behind a load balancer; "
                "drop --database sqlite (or `down` it first)"
            )
        return True
    if dep.wants_fleet and (
        resources.find_instances(aws, dep)
        or resources.find_security_group(aws, dep)
        or resources.find_addresses(aws, dep)
    ):
        raise DeployError(
            f"deployment {dep.name} is a single host on SQLite; deploy the load-balanced one "
            "under another --name and move the data (docs/deploy.md, 'From one host to many')"
        )
    return dep.wants_fleet


def _ensure_instance(aws: Aws, dep: Deployment, *, key_name: str, group_id: str) -> dict[str, Any]:
    found = resources.find_instances(aws, dep)
    if found:
        instance = found[0]
        if len(found) > 1:
            extra = ", ".join(i["InstanceId"] for i in found[1:])
            detail(
                f"warning: more instances carry this deployment's tags ({extra}); using the oldest"
            )
        step(f"instance {instance['InstanceId']}: exists ({instance['State']['Name']})")
        resources.start_if_stopped(aws, instance)
        return instance
    ami_id = resources.find_debian_ami(aws, dep.instance_type)
    step(f"ami {ami_id}: from {resources.ami_parameter(dep.instance_type)}")
    # The token is saved before the launch, so a run interrupted right after RunInstances
    # (before the new instance shows up in a tag search) gets the same instance back.
    token = state.load(dep).get("launch_token") or _new_token(dep)
    state.update(dep, launch_token=token)
    request = resources.launch_request(
        dep,
        ami_id=ami_id,
        root_device=resources.root_device_name(aws, ami_id),
        group_id=group_id,
        key_name=key_name,
        token=token,
    )
    instance = resources.launch_instance(aws, request)
    if instance["State"]["Name"] in ("shutting-down", "terminated"):
        # The saved token belonged to an instance terminated outside this CLI.
        request["ClientToken"] = _new_token(dep)
        state.update(dep, launch_token=request["ClientToken"])
        instance = resources.launch_instance(aws, request)
    return instance


def _new_token(dep: Deployment) -> str:
    return f"{dep.name}-{uuid.uuid4().hex}"[:64]


def plan(aws: Aws, dep: Deployment, ssh_cidr: str, have_public_key: bool) -> None:
    """Print what `up` would do, calling only read-only APIs."""
    step(f"dry run: nothing will be changed in {aws.region}")
    if _choose_layout(aws, dep):
        _plan_fleet(aws, dep)
        return
    key = resources.find_key_pair(aws, dep)
    if key:
        detail(f"key pair {dep.resource_name}: exists")
    else:
        detail(f"would {'import' if have_public_key else 'create'} key pair {dep.resource_name}")
    group = resources.find_security_group(aws, dep)
    wanted = resources.desired_rules(ssh_cidr)
    if group is None:
        detail(f"would create security group {dep.resource_name}")
        changes = sorted(wanted)
        stale: list[Any] = []
    else:
        current = resources.current_rules(group)
        changes = sorted(wanted - current.keys())
        stale = [key for key in current if key not in wanted]
        detail(f"security group {group['GroupId']}: exists")
    for rule in changes:
        detail(f"would allow tcp/{rule.port} from {rule.source}")
    for rule in stale:
        detail(f"would remove rule {rule}")
    instances = resources.find_instances(aws, dep)
    if instances:
        detail(f"instance {instances[0]['InstanceId']}: exists ({instances[0]['State']['Name']})")
    else:
        ami_id = resources.find_debian_ami(aws, dep.instance_type)
        detail(f"would launch {dep.instance_type} from {ami_id} (IMDSv2, encrypted gp3 root)")
    addresses = resources.find_addresses(aws, dep)
    if addresses:
        detail(f"elastic ip {addresses[0]['PublicIp']}: exists")
    else:
        detail("would allocate and associate an Elastic IP")
    detail(f"would write {dep.inventory}")
    if dep.run_playbook:
        detail(f"would run {dep.playbook}")


def _plan_fleet(aws: Aws, dep: Deployment) -> None:
    existing = fleet.leftovers(aws, dep)
    for line in existing:
        detail(f"exists: {line}")
    if not existing:
        detail(
            "would create a VPC (2 public and 2 database subnets in 2 zones, internet gateway, "
            "route table), 3 security groups (alb, app, db), the RDS instance and its secret, "
            "an ALB with a target group on /ready"
            + (f" and a certificate for {dep.domain}" if dep.domain else "")
        )
    hosts = fleet.app_hosts(aws, dep)
    wanted = dep.hosts if dep.hosts is not None else (len(hosts) or fleet.DEFAULT_HOSTS)
    detail(f"app hosts: {len(hosts)} now, {wanted} wanted ({dep.instance_type})")
    detail(f"would write {dep.inventory}")
    if dep.run_playbook:
        detail(f"would run {dep.playbook}")


def status(aws: Aws, dep: Deployment) -> bool:
    """Print what exists; True if anything does."""
    step(f"deployment {dep.name} in {aws.region}")
    if fleet.exists(aws, dep):
        key = resources.find_key_pair(aws, dep)
        if key:
            detail(f"key pair {key['KeyName']} ({tag_value(key, 'KeySource') or 'unknown'})")
        fleet.status(aws, dep)
        return True
    key = resources.find_key_pair(aws, dep)
    group = resources.find_security_group(aws, dep)
    instances = resources.find_instances(aws, dep)
    addresses = resources.find_addresses(aws, dep)
    if key:
        detail(f"key pair        {key['KeyName']} ({tag_value(key, 'KeySource') or 'unknown'})")
    if group:
        ssh = [
            r.source
            for r in resources.current_rules(group)
            if isinstance(r, resources.Rule) and r.port == resources.SSH_PORT
        ]
        detail(f"security group  {group['GroupId']} (ssh from {', '.join(ssh) or 'nowhere'})")
    for inst in instances:
        detail(
            f"instance        {inst['InstanceId']} {inst['State']['Name']} {inst['InstanceType']}"
        )
    for address in addresses:
        detail(f"elastic ip      {address['PublicIp']}")
        detail(f"url             {url_for(address['PublicIp'])}")
    if not (key or group or instances or addresses):
        detail("nothing deployed")
        return False
    return True


def ssh(
    aws: Aws,
    dep: Deployment,
    args: Sequence[str] = (),
    execute: Callable[[str, list[str]], object] | None = None,
    host: int = 1,
) -> None:
    """Replace this process with an ssh session to the host (``host``: which app host of a
    load-balanced deployment, counting from 1, oldest first)."""
    hosts = [h for h in fleet.app_hosts(aws, dep) if h.get("PublicIpAddress")]
    if hosts:
        if not 1 <= host <= len(hosts):
            raise DeployError(f"deployment {dep.name} has {len(hosts)} host(s); --host {host}?")
        address = hosts[host - 1]["PublicIpAddress"]
    else:
        addresses = resources.find_addresses(aws, dep)
        if not addresses:
            raise DeployError(
                f"deployment {dep.name} has no address in {aws.region}; run `up` first"
            )
        address = addresses[0]["PublicIp"]
    command = ["ssh", "-o", "StrictHostKeyChecking=accept-new"]
    key_file = state.load(dep).get("private_key_file")
    if key_file:
        command += ["-i", key_file]
    command += [f"{LOGIN_USER}@{address}", *args]
    (execute or os.execvp)("ssh", command)


def down(aws: Aws, dep: Deployment, confirm: Callable[[str], bool]) -> None:
    """Remove everything tagged with this deployment, in reverse order, then verify."""
    existing = resources.leftovers(aws, dep) + fleet.leftovers(aws, dep)
    if not existing:
        step(f"deployment {dep.name}: nothing to remove in {aws.region}")
    else:
        step(f"deployment {dep.name} in {aws.region}: will remove")
        for item in existing:
            detail(item)
        if any(line.startswith("rds ") for line in existing):
            detail(
                "the database's final snapshot is kept"
                if dep.final_snapshot
                else "NO final snapshot of the database will be kept: its data will be lost"
            )
        if not confirm(f"Remove these {len(existing)} resources? [y/N] "):
            raise DeployError("cancelled; nothing was removed")
        resources.release_addresses(aws, dep)
        fleet.down(aws, dep)
        resources.terminate_instances(aws, dep, wait=dep.wait)
        resources.delete_security_groups(aws, dep)
        resources.delete_key_pairs(aws, dep)
        fleet.delete_network(aws, dep)
        left = resources.leftovers(aws, dep) + fleet.leftovers(aws, dep)
        if left:
            raise DeployError(f"still there after down: {'; '.join(left)}; run `down` again")
        step("verified: nothing of the deployment is left")
        for snapshot in database.final_snapshots(aws, dep):
            detail(f"kept: rds snapshot {snapshot['DBSnapshotIdentifier']}")
    if dep.inventory.exists():
        inventory.set_host(dep.inventory, dep.resource_name, None)
        inventory.set_fleet(dep.inventory, dep.name, None)
    state.remove(dep)
