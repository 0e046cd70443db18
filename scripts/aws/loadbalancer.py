"""The Application Load Balancer: its target group (health check on /ready), listeners, the
ACM certificate for --domain, and registering / draining the app hosts."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from scripts.aws.clients import Aws
from scripts.aws.config import Deployment
from scripts.aws.errors import DeployError, error_code
from scripts.aws.report import detail, step

HEALTH_CHECK_PATH = "/ready"
# Seconds a deregistered host keeps its open connections (answers being streamed). Longer than
# gunicorn's graceful stop (chatbot_stop_timeout, 45 s) so a drained host finishes its turns.
DEREGISTRATION_DELAY = 60
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# DescribeTags takes at most 20 resources per call.
_TAG_BATCH = 20


@dataclass(frozen=True)
class Certificate:
    arn: str
    domain: str
    status: str  # PENDING_VALIDATION, ISSUED, FAILED, ...
    # The CNAME that proves the domain is yours: (name, value), once ACM has made it.
    record: tuple[str, str] | None


def _owned(aws: Aws, dep: Deployment, arns: list[str]) -> list[str]:
    owned: list[str] = []
    for i in range(0, len(arns), _TAG_BATCH):
        described = aws.elbv2.describe_tags(ResourceArns=arns[i : i + _TAG_BATCH])
        owned += [d["ResourceArn"] for d in described["TagDescriptions"] if dep.owns(d["Tags"])]
    return owned


def find_load_balancer(aws: Aws, dep: Deployment) -> dict[str, Any] | None:
    pages = aws.elbv2.get_paginator("describe_load_balancers").paginate()
    balancers = {lb["LoadBalancerArn"]: lb for page in pages for lb in page["LoadBalancers"]}
    owned = _owned(aws, dep, list(balancers))
    return balancers[owned[0]] if owned else None


def find_target_group(aws: Aws, dep: Deployment) -> dict[str, Any] | None:
    pages = aws.elbv2.get_paginator("describe_target_groups").paginate()
    groups = {tg["TargetGroupArn"]: tg for page in pages for tg in page["TargetGroups"]}
    owned = _owned(aws, dep, list(groups))
    return groups[owned[0]] if owned else None


def ensure_load_balancer(
    aws: Aws, dep: Deployment, subnets: list[str], group_id: str
) -> dict[str, Any]:
    found = find_load_balancer(aws, dep)
    if found is not None:
        step(f"load balancer {found['LoadBalancerName']}: exists ({found['State']['Code']})")
        if found.get("SecurityGroups") != [group_id]:
            aws.elbv2.set_security_groups(
                LoadBalancerArn=found["LoadBalancerArn"], SecurityGroups=[group_id]
            )
        return found
    balancer: dict[str, Any] = aws.elbv2.create_load_balancer(
        Name=dep.elb_name,
        Subnets=subnets,
        SecurityGroups=[group_id],
        Scheme="internet-facing",
        Type="application",
        IpAddressType="ipv4",
        Tags=dep.tag_list(),
    )["LoadBalancers"][0]
    step(f"load balancer {dep.elb_name}: created {balancer['DNSName']}")
    return balancer


def ensure_target_group(aws: Aws, dep: Deployment, vpc_id: str) -> str:
    health = {
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPath": HEALTH_CHECK_PATH,
        "HealthCheckIntervalSeconds": 10,
        "HealthCheckTimeoutSeconds": 5,
        "HealthyThresholdCount": 2,
        "UnhealthyThresholdCount": 2,
        "Matcher": {"HttpCode": "200"},
    }
    found = find_target_group(aws, dep)
    if found is None:
        arn: str = aws.elbv2.create_target_group(
            Name=dep.elb_name,
            Protocol="HTTP",
            Port=80,
            VpcId=vpc_id,
            TargetType="instance",
            Tags=dep.tag_list(),
            **health,
        )["TargetGroups"][0]["TargetGroupArn"]
        step(f"target group {dep.elb_name}: created (health check {HEALTH_CHECK_PATH})")
    else:
        arn = found["TargetGroupArn"]
        step(f"target group {found['TargetGroupName']}: exists")
        if any(found.get(key) != value for key, value in health.items()):
            aws.elbv2.modify_target_group(TargetGroupArn=arn, **health)
            detail(f"health check set to {HEALTH_CHECK_PATH}")
    attributes = {
        a["Key"]: a["Value"]
        for a in aws.elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    }
    if attributes.get("deregistration_delay.timeout_seconds") != str(DEREGISTRATION_DELAY):
        aws.elbv2.modify_target_group_attributes(
            TargetGroupArn=arn,
            Attributes=[
                {
                    "Key": "deregistration_delay.timeout_seconds",
                    "Value": str(DEREGISTRATION_DELAY),
                }
            ],
        )
    return arn


# --- certificate ----------------------------------------------------------------------------


def find_certificates(aws: Aws, dep: Deployment) -> list[Certificate]:
    pages = aws.acm.get_paginator("list_certificates").paginate()
    found = []
    for page in pages:
        for summary in page["CertificateSummaryList"]:
            arn = summary["CertificateArn"]
            tags = aws.acm.list_tags_for_certificate(CertificateArn=arn).get("Tags", [])
            if dep.owns(tags):
                found.append(_certificate(aws, arn))
    return found


def _certificate(aws: Aws, arn: str) -> Certificate:
    cert = aws.acm.describe_certificate(CertificateArn=arn)["Certificate"]
    record = None
    for option in cert.get("DomainValidationOptions", []):
        if "ResourceRecord" in option:
            record = (option["ResourceRecord"]["Name"], option["ResourceRecord"]["Value"])
    return Certificate(arn=arn, domain=cert["DomainName"], status=cert["Status"], record=record)


def ensure_certificate(aws: Aws, dep: Deployment, domain: str, vpc_id: str) -> Certificate:
    """Request (once) a DNS-validated certificate for ``domain``; print the CNAME to create."""
    found = find_certificates(aws, dep)
    for cert in found:
        if cert.domain != domain:
            raise DeployError(
                f"deployment {dep.name} has a certificate for {cert.domain}, not {domain}: "
                f"keep --domain {cert.domain}, or `down` and deploy again"
            )
    if found:
        cert = found[0]
        step(f"certificate {cert.domain}: exists ({cert.status})")
    else:
        arn: str = aws.acm.request_certificate(
            DomainName=domain,
            ValidationMethod="DNS",
            # The same token within an hour returns the same certificate, not a second one.
            # The VPC id makes it new for a deployment made again after `down` deleted the
            # first certificate (the token would return the deleted one).
            IdempotencyToken=hashlib.sha256(f"{dep.name} {domain} {vpc_id}".encode()).hexdigest()[
                :32
            ],
            Tags=dep.tag_list(),
        )["CertificateArn"]
        step(f"certificate {domain}: requested (DNS validation)")
        cert = _certificate(aws, arn)
        # ACM fills in the validation record a few seconds after the request.
        for _ in range(10):
            if cert.record is not None:
                break
            time.sleep(2)
            cert = _certificate(aws, arn)
    if cert.status != "ISSUED":
        if cert.record is not None:
            name, value = cert.record
            detail(f"create this DNS record to validate it: {name} CNAME {value}")
        else:
            detail("ACM has not published the validation record yet; `status` shows it")
        detail("until it is issued the site is served over HTTP; run `up` again afterwards")
    return cert


def delete_certificates(aws: Aws, dep: Deployment, timeout: float = 300.0) -> None:
    for cert in find_certificates(aws, dep):
        deadline = time.monotonic() + timeout
        while True:
            try:
                aws.acm.delete_certificate(CertificateArn=cert.arn)
                break
            except ClientError as exc:
                # A deleted load balancer releases its certificate a little later.
                if error_code(exc) != "ResourceInUseException" or time.monotonic() > deadline:
                    raise
                time.sleep(5)
        step(f"certificate {cert.domain}: deleted")


# --- listeners ------------------------------------------------------------------------------


def ensure_listeners(
    aws: Aws, balancer_arn: str, target_group_arn: str, cert: Certificate | None
) -> None:
    """HTTP forwards to the hosts; with an issued certificate HTTPS does, and HTTP redirects."""
    forward = [{"Type": "forward", "TargetGroupArn": target_group_arn}]
    redirect = [
        {
            "Type": "redirect",
            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
        }
    ]
    issued = cert if cert is not None and cert.status == "ISSUED" else None
    listeners = {
        listener["Port"]: listener
        for listener in aws.elbv2.describe_listeners(LoadBalancerArn=balancer_arn)["Listeners"]
    }
    if issued is not None:
        _ensure_listener(
            aws,
            balancer_arn,
            listeners.get(443),
            port=443,
            protocol="HTTPS",
            actions=forward,
            certificates=[{"CertificateArn": issued.arn}],
        )
    _ensure_listener(
        aws,
        balancer_arn,
        listeners.get(80),
        port=80,
        protocol="HTTP",
        actions=redirect if issued else forward,
    )


def _same_actions(current: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> bool:
    def essence(actions: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [
            (a["Type"], a.get("TargetGroupArn") or str(a.get("RedirectConfig", {}).get("Protocol")))
            for a in actions
        ]

    return essence(current) == essence(wanted)


def _ensure_listener(
    aws: Aws,
    balancer_arn: str,
    current: dict[str, Any] | None,
    *,
    port: int,
    protocol: str,
    actions: list[dict[str, Any]],
    certificates: list[dict[str, str]] | None = None,
) -> None:
    tls: dict[str, Any] = (
        {"Certificates": certificates, "SslPolicy": TLS_POLICY} if certificates else {}
    )
    if current is None:
        aws.elbv2.create_listener(
            LoadBalancerArn=balancer_arn,
            Port=port,
            Protocol=protocol,
            DefaultActions=actions,
            **tls,
        )
        step(f"listener {protocol}:{port}: created ({actions[0]['Type']})")
        return
    same_cert = not certificates or [
        c["CertificateArn"] for c in current.get("Certificates", [])
    ] == [c["CertificateArn"] for c in certificates]
    if not _same_actions(current["DefaultActions"], actions) or not same_cert:
        aws.elbv2.modify_listener(ListenerArn=current["ListenerArn"], DefaultActions=actions, **tls)
        step(f"listener {protocol}:{port}: now {actions[0]['Type']}")


# --- targets --------------------------------------------------------------------------------


def target_health(aws: Aws, target_group_arn: str) -> dict[str, str]:
    """Instance id -> health state (initial, healthy, unhealthy, draining, ...)."""
    described = aws.elbv2.describe_target_health(TargetGroupArn=target_group_arn)
    return {
        d["Target"]["Id"]: d["TargetHealth"]["State"] for d in described["TargetHealthDescriptions"]
    }


def register(aws: Aws, target_group_arn: str, instance_ids: Iterable[str]) -> None:
    registered = target_health(aws, target_group_arn)
    missing = [i for i in instance_ids if registered.get(i) in (None, "unused", "draining")]
    if missing:
        aws.elbv2.register_targets(
            TargetGroupArn=target_group_arn, Targets=[{"Id": i, "Port": 80} for i in missing]
        )
        step(f"target group: registered {', '.join(missing)}")


def drain(aws: Aws, target_group_arn: str, instance_id: str) -> None:
    """Take the host out of the load balancer and wait until its connections have finished."""
    targets = [{"Id": instance_id, "Port": 80}]
    if target_health(aws, target_group_arn).get(instance_id) not in (None, "unused"):
        aws.elbv2.deregister_targets(TargetGroupArn=target_group_arn, Targets=targets)
        step(f"target group: deregistered {instance_id}, draining (up to {DEREGISTRATION_DELAY} s)")
    aws.elbv2.get_waiter("target_deregistered").wait(
        TargetGroupArn=target_group_arn,
        Targets=targets,
        WaiterConfig={"Delay": 5, "MaxAttempts": (DEREGISTRATION_DELAY + 60) // 5},
    )


# --- teardown -------------------------------------------------------------------------------


def delete_load_balancer(aws: Aws, dep: Deployment) -> None:
    balancer = find_load_balancer(aws, dep)
    if balancer is not None:
        arn = balancer["LoadBalancerArn"]
        aws.elbv2.delete_load_balancer(LoadBalancerArn=arn)  # its listeners go with it
        aws.elbv2.get_waiter("load_balancers_deleted").wait(LoadBalancerArns=[arn])
        step(f"load balancer {balancer['LoadBalancerName']}: deleted")
    group = find_target_group(aws, dep)
    if group is not None:
        aws.elbv2.delete_target_group(TargetGroupArn=group["TargetGroupArn"])
        step(f"target group {group['TargetGroupName']}: deleted")


def describe(aws: Aws, dep: Deployment) -> list[str]:
    lines = []
    balancer = find_load_balancer(aws, dep)
    if balancer is not None:
        lines.append(
            f"load balancer {balancer['LoadBalancerName']} {balancer['State']['Code']} "
            f"{balancer['DNSName']}"
        )
    group = find_target_group(aws, dep)
    if group is not None:
        lines.append(
            f"target group {group['TargetGroupName']} (health check {group['HealthCheckPath']})"
        )
        for instance_id, health in sorted(target_health(aws, group["TargetGroupArn"]).items()):
            lines.append(f"  target {instance_id} {health}")
    for cert in find_certificates(aws, dep):
        line = f"certificate {cert.domain} {cert.status}"
        if cert.status != "ISSUED" and cert.record:
            line += f" (validate with: {cert.record[0]} CNAME {cert.record[1]})"
        lines.append(line)
    return lines
