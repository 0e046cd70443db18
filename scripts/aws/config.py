"""What one deployment is: its name, its options, and the tags and names derived from them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.aws.errors import DeployError

PROJECT = "chatbot-appliance"
REPO_ROOT = Path(__file__).resolve().parents[2]
# The login user of the official Debian AMIs.
LOGIN_USER = "admin"
DEBIAN_AMI_PARAMETER = "/aws/service/debian/release/bookworm/latest/{arch}"

# The name becomes part of AWS resource names, a file name and an Ansible host alias.
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")


@dataclass(frozen=True)
class Deployment:
    name: str = "chatbot"
    instance_type: str = "t3.small"
    disk_gb: int = 16
    ssh_cidr: str | None = None
    ssh_key: Path | None = None
    state_dir: Path = REPO_ROOT / ".deploy"
    inventory: Path = REPO_ROOT / "inventory.ini"
    playbook: Path = REPO_ROOT / "ansible" / "site.yml"
    playbook_args: tuple[str, ...] = ()
    run_playbook: bool = True
    wait: bool = True
    dry_run: bool = False
    home: Path = field(default_factory=Path.home)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise DeployError(
                f"invalid deployment name {self.name!r}: use 1-31 lowercase letters, digits or '-'"
            )

    @property
    def resource_name(self) -> str:
        return f"{PROJECT}-{self.name}"

    @property
    def tags(self) -> dict[str, str]:
        return {"Project": PROJECT, "Deployment": self.name, "Name": self.resource_name}

    def tag_specs(self, *resource_types: str, **extra: str) -> list[dict[str, Any]]:
        tags = [{"Key": k, "Value": v} for k, v in {**self.tags, **extra}.items()]
        return [{"ResourceType": kind, "Tags": tags} for kind in resource_types]

    @property
    def filters(self) -> list[dict[str, Any]]:
        """Filters that select exactly this deployment's resources."""
        return [
            {"Name": "tag:Project", "Values": [PROJECT]},
            {"Name": "tag:Deployment", "Values": [self.name]},
        ]

    @property
    def created_key_file(self) -> Path:
        """Where the private key lives when the CLI had to create the key pair."""
        return self.state_dir / f"{self.name}.pem"


def tag_value(resource: dict[str, Any], key: str) -> str | None:
    for tag in resource.get("Tags", []):
        if tag["Key"] == key:
            return tag["Value"]
    return None
