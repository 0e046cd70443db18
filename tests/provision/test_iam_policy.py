"""docs/iam-policy.json grants every AWS action a full up/status/down cycle calls."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import moto.settings
import pytest

from scripts.aws import cli
from scripts.aws.clients import Aws
from scripts.aws.config import REPO_ROOT
from scripts.aws.errors import iam_action

# Every caller may ask who it is; IAM has no permission for it.
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}


def policy_actions() -> set[str]:
    policy = json.loads((REPO_ROOT / "docs" / "iam-policy.json").read_text())
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def record_calls(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every IAM action the CLI's clients call from now on (signing name : operation)."""
    called: set[str] = set()
    real_connect = cli.connect

    def record(model: Any, **_: Any) -> None:
        called.add(f"{model.service_model.signing_name}:{model.name}")

    def connect(region: str | None, profile: str | None) -> Aws:
        clients = real_connect(region, profile)
        for field in dataclasses.fields(clients):
            client = getattr(clients, field.name)
            if hasattr(client, "meta"):
                client.meta.events.register("before-call", record)
        return clients

    monkeypatch.setattr(cli, "connect", connect)
    return called


def test_policy_covers_every_call_of_a_full_cycle(aws, run_cli, monkeypatch: pytest.MonkeyPatch):
    called = record_calls(monkeypatch)
    # No local key: the cycle then also creates a key pair, on top of what a normal run does.
    for args in (("up",), ("up", "--ssh-cidr", "192.0.2.1"), ("status",), ("down", "--yes")):
        assert run_cli(*args).code == 0
    assert "ec2:RunInstances" in called
    assert called - NEEDS_NO_PERMISSION <= policy_actions()


def test_policy_covers_the_load_balanced_cycle(aws, run_cli, monkeypatch: pytest.MonkeyPatch):
    called = record_calls(monkeypatch)
    fleet = ("up", "--hosts", "2", "--database", "rds", "--domain", "chat.example.com")
    assert run_cli(*fleet).code == 0
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", -1)  # the certificate is issued
    steps = (
        ("up", "--hosts", "3", "--multi-az", "--ssh-cidr", "192.0.2.1"),
        ("up", "--hosts", "1"),
        ("status",),
        ("down", "--yes"),
        fleet,
        ("down", "--yes", "--skip-final-snapshot"),
    )
    for args in steps:
        result = run_cli(*args)
        assert result.code == 0, (args, result.err)
    for action in (
        "rds:CreateDBInstance",
        "rds:DeleteDBInstance",
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:ModifyListener",
        "secretsmanager:CreateSecret",
        "secretsmanager:RestoreSecret",
        "acm:RequestCertificate",
        "acm:DeleteCertificate",
        "ec2:DeleteVpc",
    ):
        assert action in called
    assert called - NEEDS_NO_PERMISSION <= policy_actions()
    # The one-line error for a refused call names the same action the policy must grant.
    for action in called:
        assert iam_action(action.split(":", 1)[1]) == action
