"""This machine's side of a host's network: the veth's address, forwarding and masquerading.

Each host has an nft table of its own, so teardown removes exactly what was added; the previous
`net.ipv4.ip_forward` is kept by the caller (host.py) and restored when the last host goes down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path

from .base import TestHostError, sh

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def ip_forward() -> int:
    return int(IP_FORWARD.read_text())


def set_ip_forward(value: int) -> None:
    IP_FORWARD.write_text(str(value))


def masquerade(table: str, address: str, subnet: IPv4Network) -> None:
    """(Re)create `table`: NAT `address`'s traffic to anywhere outside `subnet` (apt, pip)."""
    remove_table(table)
    rules = (
        f"table ip {table} {{\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        f"    ip saddr {address} ip daddr != {subnet} masquerade\n"
        "  }\n}\n"
    )
    sh(["nft", "-f", "-"], input=rules)


def remove_table(table: str) -> None:
    sh(["nft", "delete", "table", "ip", table], check=False)


def configure_veth(
    veth: str, address: str, still_booting: Callable[[], None], timeout: float = 15
) -> None:
    """Wait for nspawn's `veth` to appear, then give it `address`/30 and bring it up.

    `still_booting` raises if the container died meanwhile, so a failed boot isn't a timeout.
    """
    deadline = time.monotonic() + timeout
    while sh(["ip", "link", "show", veth], check=False).returncode:
        still_booting()
        if time.monotonic() > deadline:
            raise TestHostError(f"{veth} did not appear within {timeout:.0f} s")
        time.sleep(0.05)
    sh(["ip", "addr", "replace", f"{address}/30", "dev", veth])
    sh(["ip", "link", "set", veth, "up"])
