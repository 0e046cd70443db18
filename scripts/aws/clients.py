"""The boto3 clients of one run, from the standard credential chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3


@dataclass(frozen=True)
class Aws:
    region: str
    ec2: Any
    ssm: Any
    sts: Any
    # The load-balanced layout's services; clients are cheap and make no call until used.
    rds: Any
    elbv2: Any
    secretsmanager: Any
    acm: Any


def connect(region: str | None, profile: str | None) -> Aws:
    """Clients for the region given, else the profile's / environment's region.

    Raises botocore's ProfileNotFound or NoRegionError, which the CLI turns into one line.
    """
    session = boto3.Session(profile_name=profile, region_name=region)
    ec2 = session.client("ec2")
    return Aws(
        region=ec2.meta.region_name,
        ec2=ec2,
        ssm=session.client("ssm"),
        sts=session.client("sts"),
        rds=session.client("rds"),
        elbv2=session.client("elbv2"),
        secretsmanager=session.client("secretsmanager"),
        acm=session.client("acm"),
    )


def whoami(aws: Aws) -> str:
    """The caller's ARN; the first call, so bad or expired credentials fail before any change."""
    arn: str = aws.sts.get_caller_identity()["Arn"]
    return arn
