"""The load-balanced layout's own VPC: public subnets in two zones, database subnets, the route
out through an internet gateway.

A VPC of its own rather than the default one: the layout does not depend on the region still
having a default VPC, nothing else of the account shares its subnets or route table, and `down`
can prove it left nothing by deleting the VPC itself (docs/decisions.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from scripts.aws.clients import Aws
from scripts.aws.config import Deployment, tag_value
from scripts.aws.errors import DeployError, error_code
from scripts.aws.report import step

VPC_CIDR = "10.80.0.0/16"
# (role, zone index, CIDR): hosts and the load balancer in "public", RDS in "db", which has
# no route to the internet at all.
SUBNETS = (
    ("public", 0, "10.80.0.0/24"),
    ("public", 1, "10.80.1.0/24"),
    ("db", 0, "10.80.10.0/24"),
    ("db", 1, "10.80.11.0/24"),
)
ZONES = 2


@dataclass(frozen=True)
class Network:
    vpc_id: str
    public_subnets: list[str]  # one per zone, in zone order
    db_subnets: list[str]


def find_vpc(aws: Aws, dep: Deployment) -> dict[str, Any] | None:
    vpcs: list[dict[str, Any]] = aws.ec2.describe_vpcs(Filters=dep.filters)["Vpcs"]
    return vpcs[0] if vpcs else None


def find_subnets(aws: Aws, dep: Deployment) -> list[dict[str, Any]]:
    subnets: list[dict[str, Any]] = aws.ec2.describe_subnets(Filters=dep.filters)["Subnets"]
    return sorted(subnets, key=lambda s: s["CidrBlock"])


def find_internet_gateways(aws: Aws, dep: Deployment) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = aws.ec2.describe_internet_gateways(Filters=dep.filters)[
        "InternetGateways"
    ]
    return found


def find_route_tables(aws: Aws, dep: Deployment) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = aws.ec2.describe_route_tables(Filters=dep.filters)["RouteTables"]
    return found


def choose_zones(aws: Aws, instance_type: str) -> list[str]:
    """The first two available zones that offer the instance type (not every zone has every
    type, e.g. us-east-1e)."""
    zones = [
        z["ZoneName"]
        for z in aws.ec2.describe_availability_zones(
            Filters=[{"Name": "state", "Values": ["available"]}]
        )["AvailabilityZones"]
        if z.get("ZoneType", "availability-zone") == "availability-zone"
    ]
    offered = {
        o["Location"]
        for o in aws.ec2.describe_instance_type_offerings(
            LocationType="availability-zone",
            Filters=[{"Name": "instance-type", "Values": [instance_type]}],
        )["InstanceTypeOfferings"]
    }
    usable = sorted(z for z in zones if z in offered)
    if len(usable) < ZONES:
        raise DeployError(
            f"region {aws.region} offers {instance_type} in {len(usable)} availability zone(s); "
            f"the load-balanced layout needs {ZONES}: choose another --instance-type or --region"
        )
    return usable[:ZONES]


def ensure_network(aws: Aws, dep: Deployment) -> Network:
    vpc = find_vpc(aws, dep)
    if vpc is None:
        vpc_id: str = aws.ec2.create_vpc(
            CidrBlock=VPC_CIDR, TagSpecifications=dep.tag_specs("vpc")
        )["Vpc"]["VpcId"]
        aws.ec2.get_waiter("vpc_available").wait(VpcIds=[vpc_id])
        step(f"vpc {vpc_id}: created ({VPC_CIDR})")
    else:
        vpc_id = vpc["VpcId"]
        step(f"vpc {vpc_id}: exists")
    gateway_id = _ensure_internet_gateway(aws, dep, vpc_id)
    subnets = _ensure_subnets(aws, dep, vpc_id)
    _ensure_public_routes(aws, dep, vpc_id, gateway_id, subnets["public"])
    return Network(vpc_id=vpc_id, public_subnets=subnets["public"], db_subnets=subnets["db"])


def _ensure_internet_gateway(aws: Aws, dep: Deployment, vpc_id: str) -> str:
    found = find_internet_gateways(aws, dep)
    if found:
        gateway = found[0]
        gateway_id: str = gateway["InternetGatewayId"]
        step(f"internet gateway {gateway_id}: exists")
    else:
        gateway = aws.ec2.create_internet_gateway(
            TagSpecifications=dep.tag_specs("internet-gateway")
        )["InternetGateway"]
        gateway_id = gateway["InternetGatewayId"]
        step(f"internet gateway {gateway_id}: created")
    if vpc_id not in {a["VpcId"] for a in gateway.get("Attachments", [])}:
        aws.ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=vpc_id)
        step(f"internet gateway {gateway_id}: attached to {vpc_id}")
    return gateway_id


def _ensure_subnets(aws: Aws, dep: Deployment, vpc_id: str) -> dict[str, list[str]]:
    existing = {s["CidrBlock"]: s for s in find_subnets(aws, dep)}
    zones: list[str] | None = None
    made: dict[str, list[str]] = {"public": [], "db": []}
    for role, zone_index, cidr in SUBNETS:
        subnet = existing.get(cidr)
        if subnet is None:
            if zones is None:
                # Zones of the subnets made earlier win, so a re-run completes the same layout.
                zones = _zones_in_use(existing.values()) or choose_zones(aws, dep.instance_type)
            name = f"{dep.resource_name}-{role}-{zone_index + 1}"
            subnet = aws.ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=cidr,
                AvailabilityZone=zones[zone_index],
                TagSpecifications=dep.tag_specs("subnet", Name=name, Role=role),
            )["Subnet"]
            step(f"subnet {subnet['SubnetId']}: created ({role}, {zones[zone_index]}, {cidr})")
        if role == "public" and not subnet.get("MapPublicIpOnLaunch"):
            # App hosts get a public address for SSH and for fetching packages (no NAT gateway).
            aws.ec2.modify_subnet_attribute(
                SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": True}
            )
        made[role].append(subnet["SubnetId"])
    return made


def _zones_in_use(subnets: Any) -> list[str] | None:
    by_index: dict[int, str] = {}
    for subnet in subnets:
        for _role, zone_index, cidr in SUBNETS:
            if subnet["CidrBlock"] == cidr:
                by_index[zone_index] = subnet["AvailabilityZone"]
    return [by_index[i] for i in range(ZONES)] if len(by_index) == ZONES else None


def _ensure_public_routes(
    aws: Aws, dep: Deployment, vpc_id: str, gateway_id: str, public_subnets: list[str]
) -> None:
    tables = find_route_tables(aws, dep)
    if tables:
        table = tables[0]
        table_id: str = table["RouteTableId"]
    else:
        table = aws.ec2.create_route_table(
            VpcId=vpc_id,
            TagSpecifications=dep.tag_specs("route-table", Name=f"{dep.resource_name}-public"),
        )["RouteTable"]
        table_id = table["RouteTableId"]
        step(f"route table {table_id}: created")
    if not any(
        r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("GatewayId") == gateway_id
        for r in table.get("Routes", [])
    ):
        aws.ec2.create_route(
            RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway_id
        )
        step(f"route table {table_id}: 0.0.0.0/0 via {gateway_id}")
    associated = {a.get("SubnetId") for a in table.get("Associations", [])}
    for subnet_id in public_subnets:
        if subnet_id not in associated:
            aws.ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)


def delete_network(aws: Aws, dep: Deployment, timeout: float = 300.0) -> None:
    """Subnets, route table, internet gateway, then the VPC; what holds them (instances, the
    load balancer, the database, security groups) must be gone already."""
    for subnet in find_subnets(aws, dep):
        _retry_dependency(lambda s=subnet: aws.ec2.delete_subnet(SubnetId=s["SubnetId"]), timeout)
        step(f"subnet {subnet['SubnetId']}: deleted")
    for table in find_route_tables(aws, dep):
        for association in table.get("Associations", []):
            if not association.get("Main"):
                aws.ec2.disassociate_route_table(
                    AssociationId=association["RouteTableAssociationId"]
                )
        aws.ec2.delete_route_table(RouteTableId=table["RouteTableId"])
        step(f"route table {table['RouteTableId']}: deleted")
    for gateway in find_internet_gateways(aws, dep):
        for attachment in gateway.get("Attachments", []):
            aws.ec2.detach_internet_gateway(
                InternetGatewayId=gateway["InternetGatewayId"], VpcId=attachment["VpcId"]
            )
        aws.ec2.delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])
        step(f"internet gateway {gateway['InternetGatewayId']}: deleted")
    vpc = find_vpc(aws, dep)
    if vpc is not None:
        _retry_dependency(lambda: aws.ec2.delete_vpc(VpcId=vpc["VpcId"]), timeout)
        step(f"vpc {vpc['VpcId']}: deleted")


def _retry_dependency(call: Any, timeout: float) -> None:
    # Network interfaces of a deleted load balancer or database linger for a minute or two.
    deadline = time.monotonic() + timeout
    while True:
        try:
            call()
            return
        except ClientError as exc:
            if error_code(exc) != "DependencyViolation" or time.monotonic() > deadline:
                raise
            time.sleep(5)


def describe(aws: Aws, dep: Deployment) -> list[str]:
    """One line per network piece, for `status` and `down`."""
    lines = []
    vpc = find_vpc(aws, dep)
    if vpc is not None:
        lines.append(f"vpc {vpc['VpcId']} ({vpc['CidrBlock']})")
    for subnet in find_subnets(aws, dep):
        role = tag_value(subnet, "Role") or "?"
        lines.append(
            f"subnet {subnet['SubnetId']} ({role}, {subnet['AvailabilityZone']}, "
            f"{subnet['CidrBlock']})"
        )
    lines += [f"route table {t['RouteTableId']}" for t in find_route_tables(aws, dep)]
    lines += [
        f"internet gateway {g['InternetGatewayId']}" for g in find_internet_gateways(aws, dep)
    ]
    return lines
