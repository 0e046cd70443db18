"""What one deployment is: its name, its options, and the tags and names derived from them."""

from __future__ import annotations

import hashlib
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
# Load balancer and target group names are limited to 32 characters.
_ELB_NAME_MAX = 32
# A DNS name for --domain (ACM certificate, HTTPS listener).
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
DATABASES = ("sqlite", "rds")
DEFAULT_DB_CLASS = "db.t4g.micro"


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
    # Several hosts behind a load balancer, on RDS ("fleet"). None = what the deployment already
    # has (its current host count, class and Multi-AZ setting), else the single-host default.
    hosts: int | None = None
    database: str | None = None
    db_instance_class: str | None = None
    multi_az: bool | None = None
    domain: str | None = None
    # How long `up` waits for a new RDS instance to become available (creation takes 5-40 min).
    db_wait_seconds: int = 2400
    final_snapshot: bool = True

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise DeployError(
                f"invalid deployment name {self.name!r}: use 1-31 lowercase letters, digits or '-'"
            )
        if self.hosts is not None and not 1 <= self.hosts <= 50:
            raise DeployError(f"invalid --hosts {self.hosts}: use 1 to 50")
        if self.database is not None and self.database not in DATABASES:
            raise DeployError(f"invalid --database {self.database!r}: use sqlite or rds")
        if self.database == "sqlite" and (self.hosts or 1) > 1:
            raise DeployError(
                "several hosts cannot share one SQLite file: add --database rds for --hosts > 1"
            )
        if self.domain is not None and not _DOMAIN.match(self.domain):
            raise DeployError(
                f"invalid --domain {self.domain!r}: give a DNS name such as chat.example.com"
            )

    @property
    def wants_fleet(self) -> bool:
        """Asked for the load-balanced layout explicitly (or implied by more than one host)."""
        return self.database == "rds" or (self.hosts or 1) > 1

    @property
    def elb_name(self) -> str:
        """Name of the load balancer and of its target group (32 characters at most)."""
        name = f"chatbot-{self.name}"
        if len(name) <= _ELB_NAME_MAX:
            return name
        digest = hashlib.sha256(self.name.encode()).hexdigest()[:8]
        return f"chatbot-{self.name[:15].rstrip('-')}-{digest}"

    @property
    def secret_name(self) -> str:
        return f"{PROJECT}/{self.name}/database"

    def host_name(self, index: int) -> str:
        """Name tag and inventory alias of app host ``index`` of a fleet."""
        return f"{self.resource_name}-{index}"

    @property
    def resource_name(self) -> str:
        return f"{PROJECT}-{self.name}"

    @property
    def tags(self) -> dict[str, str]:
        return {"Project": PROJECT, "Deployment": self.name, "Name": self.resource_name}

    def tag_list(self, **extra: str) -> list[dict[str, str]]:
        """The tags as the Key/Value list every service takes (``Name`` may be overridden)."""
        return [{"Key": k, "Value": v} for k, v in {**self.tags, **extra}.items()]

    def tag_specs(self, *resource_types: str, **extra: str) -> list[dict[str, Any]]:
        tags = self.tag_list(**extra)
        return [{"ResourceType": kind, "Tags": tags} for kind in resource_types]

    def owns(self, tags: list[dict[str, str]]) -> bool:
        """Whether a resource with these tags belongs to this deployment."""
        found = {t["Key"]: t["Value"] for t in tags}
        return found.get("Project") == PROJECT and found.get("Deployment") == self.name

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
            return str(tag["Value"])
    return None
