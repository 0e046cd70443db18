"""docs/iam-policy.json grants every AWS action a full up/status/down cycle calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripts.aws import cli
from scripts.aws.clients import Aws
from scripts.aws.config import REPO_ROOT

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


def test_policy_covers_every_call_of_a_full_cycle(aws, run_cli, monkeypatch: pytest.MonkeyPatch):
    called: set[str] = set()
    real_connect = cli.connect

    def record(model: Any, **_: Any) -> None:
        called.add(f"{model.service_model.signing_name}:{model.name}")

    def connect(region: str | None, profile: str | None) -> Aws:
        clients = real_connect(region, profile)
        for client in (clients.ec2, clients.ssm, clients.sts):
            client.meta.events.register("before-call", record)
        return clients

    monkeypatch.setattr(cli, "connect", connect)
    # No local key: the cycle then also creates a key pair, on top of what a normal run does.
    for args in (("up",), ("up", "--ssh-cidr", "192.0.2.1"), ("status",), ("down", "--yes")):
        assert run_cli(*args).code == 0
    assert "ec2:RunInstances" in called
    assert called - NEEDS_NO_PERMISSION <= policy_actions()
