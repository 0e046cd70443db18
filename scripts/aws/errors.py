"""One-line explanations of the failures an operator can fix; no tracebacks."""

from __future__ import annotations

from functools import cache

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
# Only the services the CLI calls; used to turn an operation name into an IAM action.
_SERVICES = ("ec2", "ssm", "sts")


class DeployError(Exception):
    """A failure with a message the operator can act on; printed as one line."""


@cache
def _operations(service: str) -> frozenset[str]:
    model = botocore.session.get_session().get_service_model(service)
    return frozenset(model.operation_names)


def iam_action(operation: str) -> str:
    """``RunInstances`` -> ``ec2:RunInstances``: the action to add to the IAM policy."""
    for service in _SERVICES:
        if operation in _operations(service):
            return f"{service}:{operation}"
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
        return f"{exc}; run the same command again to continue where it stopped"
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
            "vCPU quota in Service Quotas, or choose another --instance-type or --region"
        )
    return f"{action} failed: {code}: {message}"
