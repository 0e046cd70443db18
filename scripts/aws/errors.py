"""One-line explanations of the failures an operator can fix; no tracebacks."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import botocore.session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
    WaiterError,
)

POLICY_HINT = "see docs/iam-policy.json for the permissions the CLI needs"

_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_REJECTED = {
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
_CAPACITY = {"InstanceLimitExceeded", "VcpuLimitExceeded", "InsufficientInstanceCapacity"}
# Account quotas of the other resources `up` makes; raised in Service Quotas like the vCPU one.
_QUOTAS = {
    "VpcLimitExceeded": "VPCs per region",
    "InternetGatewayLimitExceeded": "internet gateways per region",
    "AddressLimitExceeded": "Elastic IP addresses",
    "RulesPerSecurityGroupLimitExceeded": "rules per security group",
    "SecurityGroupLimitExceeded": "security groups per VPC",
    "TooManyLoadBalancers": "Application Load Balancers per region",
    "TooManyTargetGroups": "target groups per region",
    "TooManyTargets": "targets per target group",
    "InstanceQuotaExceeded": "RDS DB instances",
    "InstanceQuotaExceededFault": "RDS DB instances",
    "StorageQuotaExceeded": "RDS total storage",
    "StorageQuotaExceededFault": "RDS total storage",
    "DBSubnetGroupQuotaExceeded": "RDS DB subnet groups",
    "DBSubnetGroupQuotaExceededFault": "RDS DB subnet groups",
    "LimitExceededException": "the service's request or resource limit",
}
RESUME_HINT = "run the same command again to continue where it stopped"
# The services the CLI calls, as (botocore name, IAM prefix); used to turn an operation name
# into an IAM action. Two services share a few operation names; the service the CLI calls
# the shared one on comes first: DescribeTags on elbv2, ListTagsForResource on none (acm's
# own ListTagsForCertificate is used).
_SERVICES = (
    ("elbv2", "elasticloadbalancing"),
    ("ec2", "ec2"),
    ("ssm", "ssm"),
    ("sts", "sts"),
    ("rds", "rds"),
    ("secretsmanager", "secretsmanager"),
    ("acm", "acm"),
)
# What each waiter the CLI uses waits for, for the one-line timeout message.
_WAITERS = {
    "InstanceRunning": "the EC2 instance to run",
    "InstanceStatusOk": "the EC2 instance's status checks",
    "InstanceStopped": "the EC2 instance to stop",
    "InstanceTerminated": "the EC2 instance to terminate",
    "VpcAvailable": "the VPC",
    "DBInstanceAvailable": "the RDS instance to become available",
    "DBInstanceDeleted": "the RDS instance to be deleted",
    "TargetDeregistered": "the host to drain from the load balancer",
    "LoadBalancersDeleted": "the load balancer to be deleted",
}


class DeployError(Exception):
    """A failure with a message the operator can act on; printed as one line."""


def error_code(exc: ClientError) -> str:
    """The AWS error code of a failed call, e.g. ``DependencyViolation``."""
    code: str = exc.response.get("Error", {}).get("Code", "")
    return code


@cache
def _operations(service: str) -> frozenset[str]:
    model = botocore.session.get_session().get_service_model(service)
    return frozenset(model.operation_names)


def iam_action(operation: str) -> str:
    """``RunInstances`` -> ``ec2:RunInstances``: the action to add to the IAM policy."""
    for service, prefix in _SERVICES:
        if operation in _operations(service):
            return f"{prefix}:{operation}"
    return operation


def explain(exc: BotoCoreError | ClientError) -> str:
    """The one line to print for an AWS failure."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "no AWS credentials found: run `aws configure` (or `aws sso login`), "
            "set AWS_PROFILE / pass --profile, or export AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(exc, ProfileNotFound):
        return f"{exc}: check --profile / AWS_PROFILE against ~/.aws/config"
    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region, set AWS_REGION, or set a region in the profile"
    if isinstance(exc, TokenRetrievalError):
        return f"AWS credentials expired: {exc}; log in again (e.g. `aws sso login`)"
    if isinstance(exc, WaiterError):
        return _explain_waiter(exc)
    if isinstance(exc, ClientError):
        return _explain_client_error(exc)
    return f"AWS call failed: {exc}"


def _explain_client_error(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    message = error.get("Message", "")
    action = iam_action(exc.operation_name)
    if code in _EXPIRED:
        return "AWS credentials expired: refresh them (new session token, `aws sso login`, ...)"
    if code in _REJECTED:
        return f"AWS rejected the credentials ({code}): check the access key of the profile in use"
    if code in _DENIED:
        return f"permission denied: the credentials may not call {action}; {POLICY_HINT}"
    if code in _CAPACITY:
        return (
            f"EC2 refused to start the instance ({code}: {message}); request a higher "
            "vCPU quota in Service Quotas, or choose another --instance-type or --region, "
            f"then {RESUME_HINT} (what was made is kept)"
        )
    if code in _QUOTAS:
        return (
            f"{action} failed: {code}: the account's quota of {_QUOTAS[code]} is reached; "
            f"raise it in Service Quotas or free one, then {RESUME_HINT}"
        )
    return f"{action} failed: {code}: {message}"


def _last_state(response: Any) -> str | None:
    """The state the waiter saw last, from the describe call it polls."""
    if not isinstance(response, dict):
        return None
    if "Error" in response:
        return str(response["Error"].get("Code"))
    polled: dict[str, Callable[[dict[str, Any]], Any]] = {
        "DBInstances": lambda item: item.get("DBInstanceStatus"),
        "InstanceStatuses": lambda item: item.get("InstanceStatus", {}).get("Status"),
        "TargetHealthDescriptions": lambda item: item.get("TargetHealth", {}).get("State"),
        "Reservations": lambda item: item["Instances"][0]["State"]["Name"],
        "LoadBalancers": lambda item: item.get("State", {}).get("Code"),
    }
    for key, read in polled.items():
        items = response.get(key)
        if items:
            state = read(items[0])
            return str(state) if state else None
    return None


def _explain_waiter(exc: WaiterError) -> str:
    name = str(exc.kwargs.get("name", ""))
    reason = str(exc.kwargs.get("reason", ""))
    what = _WAITERS.get(name, f"the waiter {name}")
    state = _last_state(exc.last_response)
    seen = f" (last state: {state})" if state else ""
    if "Max attempts exceeded" in reason:
        return f"timed out waiting for {what}{seen}; it carries on in AWS: {RESUME_HINT}"
    return f"stopped waiting for {what}: {reason}{seen}; {RESUME_HINT}"
