"""The load-balanced layout: N app hosts behind an ALB, on RDS for PostgreSQL, in a VPC of
their own. `up` converges every piece and scales the hosts to --hosts; `down` removes it all.

Order of `up`: network, security groups, database (its creation starts, it is waited for
last, so the ~10 minutes RDS takes overlap the hosts' boot), certificate, load balancer,
hosts (launched or drained and terminated), target registration, then the wait for RDS.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from scripts.aws import database, inventory, loadbalancer, network, resources, state
from scripts.aws.clients import Aws
from scripts.aws.config import Deployment, tag_value
from scripts.aws.report import detail, step
from scripts.aws.resources import Rule

# A fresh load-balanced deployment without --hosts: two, one per zone, so losing a host or a
# zone leaves the site up.
DEFAULT_HOSTS = 2


@dataclass(frozen=True)
class Fleet:
    url: str
    group: str  # the inventory group, for `ansible-playbook --limit`
    hosts: list[dict[str, Any]]


def exists(aws: Aws, dep: Deployment) -> bool:
    """Whether the deployment already has the load-balanced layout (its VPC is made first)."""
    return network.find_vpc(aws, dep) is not None


def app_hosts(aws: Aws, dep: Deployment) -> list[dict[str, Any]]:
    """Live app hosts, oldest first (the index breaks launch-time ties)."""
    found = [i for i in resources.find_instances(aws, dep) if tag_value(i, "Role") == "app"]
    return sorted(found, key=lambda i: (i["LaunchTime"], int(tag_value(i, "Index") or 0)))


def ensure_groups(
    aws: Aws, dep: Deployment, vpc_id: str, ssh_cidr: str, https: bool
) -> dict[str, str]:
    def group(role: str, description: str, wanted: set[Rule]) -> str:
        return resources.ensure_group(
            aws,
            dep,
            role=role,
            name=f"{dep.resource_name}-{role}",
            description=f"{dep.resource_name}: {description}",
            vpc_id=vpc_id,
            wanted=wanted,
        )

    web = {Rule(80, "0.0.0.0/0")} | ({Rule(443, "0.0.0.0/0")} if https else set())
    alb = group("alb", "HTTP(S) from anywhere to the load balancer", web)
    app = group(
        "app",
        "HTTP from the load balancer, SSH from the operator",
        {Rule(80, alb), Rule(resources.SSH_PORT, ssh_cidr)},
    )
    db = group("db", "PostgreSQL from the app hosts", {Rule(database.DB_PORT, app)})
    return {"alb": alb, "app": app, "db": db}


def up(aws: Aws, dep: Deployment, ssh_cidr: str, key: resources.KeyPair) -> Fleet:
    # Without --domain, the domain of the certificate an earlier run requested.
    domain = dep.domain or _current_domain(aws, dep)
    net = network.ensure_network(aws, dep)
    groups = ensure_groups(aws, dep, net.vpc_id, ssh_cidr, https=domain is not None)
    _, secret_arn = database.ensure_database(aws, dep, net.db_subnets, groups["db"])
    cert = loadbalancer.ensure_certificate(aws, dep, domain, net.vpc_id) if domain else None
    balancer = loadbalancer.ensure_load_balancer(aws, dep, net.public_subnets, groups["alb"])
    target_group = loadbalancer.ensure_target_group(aws, dep, net.vpc_id)
    loadbalancer.ensure_listeners(aws, balancer["LoadBalancerArn"], target_group, cert)
    state.update(
        dep,
        layout="fleet",
        vpc_id=net.vpc_id,
        load_balancer_arn=balancer["LoadBalancerArn"],
        target_group_arn=target_group,
        db_instance_id=dep.resource_name,
        secret_arn=secret_arn,
    )
    hosts = scale(aws, dep, key.name, groups["app"], net.public_subnets, target_group)
    db = database.wait_available(aws, dep)
    endpoint = db["Endpoint"]
    https = cert is not None and cert.status == "ISSUED"
    url = f"https://{domain}/" if https else f"http://{balancer['DNSName']}/"
    group_vars = {
        "appliance_deployment": dep.name,
        "appliance_aws_region": aws.region,
        "appliance_alb_dns_name": balancer["DNSName"],
        "appliance_public_url": url,
        "appliance_target_group_arn": target_group,
        "appliance_database_host": endpoint["Address"],
        "appliance_database_port": str(endpoint["Port"]),
        "appliance_database_name": database.DB_NAME,
        "appliance_database_user": database.DB_USER,
        "appliance_database_secret_id": secret_arn,
        "appliance_database_sslmode": "require",
    }
    lines = []
    for host in hosts:
        if not host.get("PublicIpAddress"):
            # Only with --no-wait: a host that is not running yet has no address.
            detail(f"host {host['InstanceId']} has no public address yet; the next `up` adds it")
            continue
        lines.append(
            inventory.host_line(
                tag_value(host, "Name") or host["InstanceId"],
                host["PublicIpAddress"],
                key.private_key_file,
                {"appliance_instance_id": host["InstanceId"]},
            )
        )
    group = inventory.fleet_group(dep.name)
    inventory.set_host(dep.inventory, dep.resource_name, None)
    inventory.set_fleet(dep.inventory, dep.name, lines, group_vars)
    step(f"inventory {dep.inventory}: group {group} with {len(lines)} host(s)")
    return Fleet(url=url, group=group, hosts=hosts)


def _current_domain(aws: Aws, dep: Deployment) -> str | None:
    certs = loadbalancer.find_certificates(aws, dep)
    return certs[0].domain if certs else None


def scale(
    aws: Aws,
    dep: Deployment,
    key_name: str,
    group_id: str,
    subnets: list[str],
    target_group_arn: str,
) -> list[dict[str, Any]]:
    """Make the host count --hosts (or keep it): launch the missing, drain and terminate the
    newest extra ones; start stopped ones, wait for all, register them. The live hosts."""
    current = app_hosts(aws, dep)
    wanted = dep.hosts if dep.hosts is not None else (len(current) or DEFAULT_HOSTS)
    for extra in reversed(current[wanted:]):
        loadbalancer.drain(aws, target_group_arn, extra["InstanceId"])
        aws.ec2.terminate_instances(InstanceIds=[extra["InstanceId"]])
        step(f"instance {extra['InstanceId']} ({tag_value(extra, 'Name')}): terminating")
    current = current[:wanted]
    for host in current:
        step(f"instance {host['InstanceId']} ({tag_value(host, 'Name')}): exists")
        resources.start_if_stopped(aws, host)
    used = {int(tag_value(h, "Index") or 0) for h in current}
    free = (i for i in range(1, 1000) if i not in used)
    ami_id: str | None = None
    for index in [next(free) for _ in range(wanted - len(current))]:
        if ami_id is None:
            ami_id = resources.find_debian_ami(aws, dep.instance_type)
            step(f"ami {ami_id}: from {resources.ami_parameter(dep.instance_type)}")
        current.append(
            _launch(aws, dep, index, ami_id, key_name, group_id, subnets[(index - 1) % 2])
        )
    ids = [h["InstanceId"] for h in current]
    if dep.wait and ids:
        resources.wait_until_ready(aws, *ids)
    loadbalancer.register(aws, target_group_arn, ids)
    # Read again: public addresses are assigned once an instance runs.
    by_id = {h["InstanceId"]: h for h in app_hosts(aws, dep)}
    return [by_id[i] for i in ids if i in by_id]


def _launch(
    aws: Aws,
    dep: Deployment,
    index: int,
    ami_id: str,
    key_name: str,
    group_id: str,
    subnet_id: str,
) -> dict[str, Any]:
    # One token per host index, saved before the launch: a run interrupted right after
    # RunInstances gets the same instance back instead of a second one.
    tokens: dict[str, str] = dict(state.load(dep).get("launch_tokens") or {})
    token = tokens.get(str(index)) or _new_token(dep, index)
    state.update(dep, launch_tokens={**tokens, str(index): token})
    request = resources.launch_request(
        dep,
        ami_id=ami_id,
        root_device=resources.root_device_name(aws, ami_id),
        group_id=group_id,
        key_name=key_name,
        token=token,
        subnet_id=subnet_id,
        tags={"Name": dep.host_name(index), "Role": "app", "Index": str(index)},
    )
    instance = resources.launch_instance(aws, request)
    if instance["State"]["Name"] in ("shutting-down", "terminated"):
        # The token belonged to a host removed by an earlier scale-down.
        request["ClientToken"] = _new_token(dep, index)
        state.update(dep, launch_tokens={**tokens, str(index): request["ClientToken"]})
        instance = resources.launch_instance(aws, request)
    return instance


def _new_token(dep: Deployment, index: int) -> str:
    return f"{dep.name}-{index}-{uuid.uuid4().hex}"[:64]


def status(aws: Aws, dep: Deployment) -> None:
    for line in network.describe(aws, dep):
        detail(line)
    for group in resources.find_groups(aws, dep):
        rules = sorted(
            f"{r.port}<-{r.source}" for r in resources.current_rules(group) if isinstance(r, Rule)
        )
        detail(f"security group {group['GroupId']} {tag_value(group, 'Role')} ({', '.join(rules)})")
    for line in loadbalancer.describe(aws, dep):
        detail(line)
    for host in app_hosts(aws, dep):
        detail(
            f"host {tag_value(host, 'Name')} {host['InstanceId']} {host['State']['Name']} "
            f"{host['InstanceType']} {host['Placement']['AvailabilityZone']} "
            f"{host.get('PublicIpAddress', 'no public ip')}"
        )
    for line in database.describe(aws, dep):
        detail(line)
    for snapshot in database.final_snapshots(aws, dep):
        detail(f"rds snapshot {snapshot['DBSnapshotIdentifier']} {snapshot['Status']}")
    balancer = loadbalancer.find_load_balancer(aws, dep)
    if balancer is not None:
        certs = loadbalancer.find_certificates(aws, dep)
        issued = [c for c in certs if c.status == "ISSUED"]
        detail(
            f"url https://{issued[0].domain}/" if issued else f"url http://{balancer['DNSName']}/"
        )


def leftovers(aws: Aws, dep: Deployment) -> list[str]:
    """Every piece of the load-balanced layout that exists (empty for a single host)."""
    left = loadbalancer.describe(aws, dep)
    left = [line for line in left if not line.startswith("  target ")]
    left += database.describe(aws, dep)
    left += network.describe(aws, dep)
    return left


def down(aws: Aws, dep: Deployment) -> None:
    """Reverse order of `up`; the security groups and key pair follow in commands.down."""
    loadbalancer.delete_load_balancer(aws, dep)
    loadbalancer.delete_certificates(aws, dep)
    resources.terminate_instances(aws, dep, wait=dep.wait)
    database.delete_database(aws, dep)


def delete_network(aws: Aws, dep: Deployment) -> None:
    network.delete_network(aws, dep)
