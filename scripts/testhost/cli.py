"""`python -m scripts.testhost build|up|down|reboot|status|ssh|inventory` (see mk/testhost.mk)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from .base import TestHostError
from .host import DEFAULT_NAME, DEFAULT_SUBNET, TestHost
from .rootfs import build


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.testhost",
        description="A real systemd Debian 12 host on this machine, for deploy tests.",
    )
    parser.add_argument("--name", default=os.environ.get("TESTHOST_NAME", DEFAULT_NAME))
    parser.add_argument("--subnet", default=os.environ.get("TESTHOST_SUBNET", DEFAULT_SUBNET))
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("build", help="debootstrap + customise the cached rootfs").add_argument(
        "--force", action="store_true", help="debootstrap again even if cached"
    )
    sub.add_parser("up", help="boot the host (no-op if up)")
    sub.add_parser("down", help="power off and clean up").add_argument(
        "--keep", action="store_true", help="keep the per-run copy (its upper dir)"
    )
    sub.add_parser("reboot", help="power off and boot the same state again")
    sub.add_parser("status", help="print the host's state as JSON")
    ssh = sub.add_parser("ssh", help="SSH in as admin (optionally run CMD)")
    ssh.add_argument("cmd", nargs=argparse.REMAINDER)
    sub.add_parser("inventory", help="write an Ansible inventory").add_argument("path")
    args = parser.parse_args(argv)

    if os.geteuid() != 0 and args.action != "status":
        parser.error("needs root (debootstrap, nspawn, nft, mount)")
    host = TestHost(args.name, args.subnet)
    try:
        if args.action == "build":
            print(build(force=args.force))
        elif args.action == "up":
            host.up()
            print(json.dumps(host.status(), indent=2))
        elif args.action == "down":
            host.down(keep=args.keep)
        elif args.action == "reboot":
            host.reboot()
        elif args.action == "status":
            print(json.dumps(host.status(), indent=2))
            return 0 if host.is_up() else 3
        elif args.action == "ssh":
            os.execvp("ssh", [*host.ssh_argv(), *args.cmd])  # noqa: S606
        elif args.action == "inventory":
            print(host.write_inventory(args.path))
    except TestHostError as exc:
        print(f"testhost: {exc}", file=sys.stderr)
        return 1
    return 0
