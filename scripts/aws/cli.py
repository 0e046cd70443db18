"""Command line: argument parsing and the one place errors become a one-line message."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from scripts.aws import commands, state
from scripts.aws.clients import connect, whoami
from scripts.aws.config import DATABASES, DEFAULT_DB_CLASS, Deployment
from scripts.aws.errors import DeployError, explain
from scripts.aws.myip import caller_cidr
from scripts.aws.report import step


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--region", help="AWS region (default: the profile's or AWS_REGION)")
    common.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or the default)")
    common.add_argument("--name", default="chatbot", help="deployment name (default: chatbot)")
    common.add_argument("--state-dir", type=Path, help="where state files go (default: .deploy)")
    common.add_argument(
        "--inventory", type=Path, help="inventory to rewrite (default: inventory.ini)"
    )
    common.add_argument(
        "--no-wait", dest="wait", action="store_false", help="skip the EC2 waiters (tests)"
    )

    parser = argparse.ArgumentParser(
        prog="python -m scripts.aws", description="Provision the chatbot appliance on AWS."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", parents=[common], help="create or update the deployment")
    up.add_argument("--instance-type", default="t3.small", help="EC2 type (default: t3.small)")
    up.add_argument("--disk-gb", type=int, default=16, help="root volume size (default: 16)")
    up.add_argument(
        "--ssh-cidr", help="who may SSH in (default: $CHATBOT_SSH_CIDR, else your public IP/32)"
    )
    up.add_argument(
        "--ssh-key",
        type=Path,
        help="public key to import (default: ~/.ssh/id_ed25519.pub, then id_rsa.pub; "
        "if none, a key pair is created and saved under the state dir)",
    )
    up.add_argument("--playbook", type=Path, help="playbook to run (default: ansible/site.yml)")
    up.add_argument(
        "--playbook-arg",
        action="append",
        default=[],
        help="extra ansible-playbook argument, repeatable (e.g. --playbook-arg=--check)",
    )
    fleet = up.add_argument_group(
        "load-balanced layout (docs/deploy.md); omitted flags keep what the deployment has"
    )
    fleet.add_argument(
        "--hosts",
        type=int,
        help="app hosts behind an ALB (more than 1 needs --database rds; a new "
        "load-balanced deployment gets 2)",
    )
    fleet.add_argument(
        "--database",
        choices=DATABASES,
        help="sqlite: one host, the default; rds: RDS for PostgreSQL behind an ALB",
    )
    fleet.add_argument(
        "--db-instance-class", help=f"RDS instance class (default: {DEFAULT_DB_CLASS})"
    )
    fleet.add_argument(
        "--multi-az",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="RDS standby in a second zone (default: off)",
    )
    fleet.add_argument(
        "--domain", help="DNS name of the site: ACM certificate, HTTPS, HTTP redirects to it"
    )
    fleet.add_argument(
        "--db-wait-seconds",
        type=int,
        default=2400,
        help="how long to wait for a new RDS instance (default: 2400; a re-run waits again)",
    )
    up.add_argument("--skip-playbook", action="store_true", help="provision only")
    up.add_argument("--dry-run", action="store_true", help="print what would be done")

    sub.add_parser("status", parents=[common], help="show what exists, its state and URL")
    ssh = sub.add_parser("ssh", parents=[common], help="open a shell on the host")
    ssh.add_argument(
        "--host", type=int, default=1, help="which app host of a load-balanced deployment (1..N)"
    )
    ssh.add_argument("ssh_args", nargs="*", help="passed to ssh (after --)")
    down = sub.add_parser("down", parents=[common], help="remove every resource of the deployment")
    down.add_argument("--yes", action="store_true", help="don't ask for confirmation")
    down.add_argument(
        "--skip-final-snapshot",
        "--no-final-snapshot",
        dest="final_snapshot",
        action="store_false",
        help="delete the RDS instance without keeping a final snapshot (its data is lost)",
    )
    return parser


def deployment_from(args: argparse.Namespace) -> Deployment:
    options: dict[str, object] = {"name": args.name, "wait": args.wait}
    for attr in ("state_dir", "inventory", "playbook", "ssh_key"):
        if getattr(args, attr, None) is not None:
            options[attr] = getattr(args, attr)
    if args.command == "up":
        options.update(
            instance_type=args.instance_type,
            disk_gb=args.disk_gb,
            ssh_cidr=args.ssh_cidr,
            playbook_args=tuple(args.playbook_arg),
            run_playbook=not args.skip_playbook,
            dry_run=args.dry_run,
            hosts=args.hosts,
            database=args.database,
            db_instance_class=args.db_instance_class,
            multi_az=args.multi_az,
            domain=args.domain.lower().rstrip(".") if args.domain else None,
            db_wait_seconds=args.db_wait_seconds,
        )
    if args.command == "down":
        options["final_snapshot"] = args.final_snapshot
    return Deployment(**options)  # type: ignore[arg-type]


def ask(prompt: str) -> bool:
    try:
        return input(prompt).strip().lower() in ("y", "yes")
    except EOFError:
        return False


def run(args: argparse.Namespace) -> int:
    dep = deployment_from(args)
    # `down` and `status` find a deployment in the region `up` used, without --region again.
    region = args.region or state.load(dep).get("region")
    aws = connect(region, args.profile)
    step(f"AWS identity {whoami(aws)}, region {aws.region}")
    if args.command == "up":
        ssh_cidr = caller_cidr(dep.ssh_cidr)
        commands.up(aws, dep, ssh_cidr)
    elif args.command == "status":
        commands.status(aws, dep)
    elif args.command == "ssh":
        commands.ssh(aws, dep, args.ssh_args, host=args.host)
    elif args.command == "down":
        commands.down(aws, dep, confirm=(lambda _prompt: True) if args.yes else ask)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except (BotoCoreError, ClientError) as exc:
        print(f"error: {explain(exc)}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to finish", file=sys.stderr)
        return 130
    return 1
