"""Fixtures for the provisioning CLI: moto's fake AWS, a throwaway home, and a CLI runner.

Nothing here reaches the network: AWS is moto's in-process mock, the caller's IP comes from
$CHATBOT_SSH_CIDR, and the checkip lookup is replaced by one that fails the test.
"""

from __future__ import annotations

import datetime
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ssm.models import Parameter, ssm_backends

from scripts.aws import cli, myip
from scripts.aws.clients import Aws

REGION = "us-east-1"
CALLER_CIDR = "198.51.100.7/32"
AMD64_PARAMETER = "/aws/service/debian/release/bookworm/latest/amd64"
ARM64_PARAMETER = "/aws/service/debian/release/bookworm/latest/arm64"


def write_public_key(path: Path) -> Path:
    """A real ed25519 key pair on disk, as `ssh-keygen` would leave it."""
    key = ed25519.Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    path.with_suffix("").write_bytes(private)
    path.with_suffix("").chmod(0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    path.write_bytes(public + b" tester@laptop\n")
    return path


def seed_ssm_parameter(name: str, value: str, region: str = REGION) -> None:
    # moto refuses put_parameter under the reserved /aws/ prefix, as AWS does, so the public
    # parameter is planted in moto's backend, the way moto loads its own Amazon Linux ones.
    backend = ssm_backends[DEFAULT_ACCOUNT_ID][region]
    backend._parameters[name].append(
        Parameter(
            account_id=DEFAULT_ACCOUNT_ID,
            name=name,
            value=value,
            parameter_type="String",
            description=None,
            allowed_pattern=None,
            keyid=None,
            last_modified_date=datetime.datetime.now(datetime.UTC),
            version=1,
            data_type="aws:ec2:image",
        )
    )


@pytest.fixture(autouse=True)
def offline_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Fake credentials and a home of our own, so no real AWS config or SSH key is read."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv(myip.CIDR_ENV, CALLER_CIDR)

    def no_network() -> str:
        raise AssertionError("the test tried to look up the public IP over the network")

    monkeypatch.setattr(myip, "fetch_public_ip", no_network)
    return home


@pytest.fixture
def public_key(offline_env: Path) -> Path:
    return write_public_key(offline_env / ".ssh" / "id_ed25519.pub")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.SimpleNamespace]:
    """moto's AWS with the Debian AMI parameters seeded, each naming an image registered here."""
    # moto's ~1000 built-in AMIs cost ~2 s per test to load; two of our own are enough.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        amis = {}
        for arch, parameter in (("amd64", AMD64_PARAMETER), ("arm64", ARM64_PARAMETER)):
            amis[arch] = ec2.register_image(Name=f"debian-12-{arch}")["ImageId"]
            seed_ssm_parameter(parameter, amis[arch])
        yield types.SimpleNamespace(ec2=ec2, amd64_ami=amis["amd64"], arm64_ami=amis["arm64"])


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Runs `python -m scripts.aws ...` in-process with the state and inventory in tmp."""
    state_dir = tmp_path / "state"
    inventory = tmp_path / "inventory.ini"

    def run(*args: str, playbook: bool = False) -> Result:
        command, *rest = args
        local = ["--state-dir", str(state_dir), "--inventory", str(inventory)]
        if command == "up" and not playbook:
            local.append("--skip-playbook")
        code = cli.main([command, *local, *rest])
        captured = capfd.readouterr()
        return Result(code, captured.out, captured.err)

    run.state_dir = state_dir  # type: ignore[attr-defined]
    run.inventory = inventory  # type: ignore[attr-defined]
    return run


class Faults:
    """Makes AWS operations answer with an error, the way AWS would (botocore raises a real
    ClientError), through before-call hooks on the clients the CLI creates."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._faults: dict[tuple[str, str], tuple[str, int]] = {}
        self._rewrites: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {}
        real_connect = cli.connect

        def connect(region: str | None, profile: str | None) -> Aws:
            clients = real_connect(region, profile)
            for (service, operation), (code, after) in self._faults.items():
                client = getattr(clients, service)
                event = f"before-call.{client.meta.service_model.service_id.hyphenize()}"
                client.meta.events.register(f"{event}.{operation}", self._answer(code, after))
            for (service, operation), rewrite in self._rewrites.items():
                client = getattr(clients, service)
                event = f"after-call.{client.meta.service_model.service_id.hyphenize()}"
                client.meta.events.register(f"{event}.{operation}", self._rewrite(rewrite))
            return clients

        monkeypatch.setattr(cli, "connect", connect)

    @staticmethod
    def _answer(code: str, after: int) -> Callable[..., tuple[Any, dict[str, Any]] | None]:
        calls = 0

        def answer(**_: Any) -> tuple[Any, dict[str, Any]] | None:
            nonlocal calls
            calls += 1
            if calls <= after:
                return None  # this call goes through to moto
            http = types.SimpleNamespace(status_code=400, headers={}, content=b"")
            error = {"Code": code, "Message": f"injected {code}"}
            return http, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

        return answer

    @staticmethod
    def _rewrite(rewrite: Callable[[dict[str, Any]], None]) -> Callable[..., None]:
        def handler(parsed: dict[str, Any], **_: Any) -> None:
            if "Error" not in parsed:
                rewrite(parsed)

        return handler

    def add(self, service: str, operation: str, code: str, after: int = 0) -> None:
        """Answer ``operation`` with error ``code``, after ``after`` calls that succeed."""
        self._faults[(service, operation)] = (code, after)

    def rewrite(
        self, service: str, operation: str, change: Callable[[dict[str, Any]], None]
    ) -> None:
        """Change what AWS answers to ``operation`` before the CLI (or a waiter) reads it."""
        self._rewrites[(service, operation)] = change

    def clear(self) -> None:
        self._faults.clear()
        self._rewrites.clear()


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    return Faults(monkeypatch)
