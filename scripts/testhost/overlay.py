"""A host's copy-on-write copy of the cached rootfs: `<run_dir>/{upper,work,root}`.

The cached rootfs stays pristine, a boot costs no copying, and the upper dir keeps the host's
state across reboots.
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import TestHostError, sh


def mount(run_dir: Path, rootfs: Path) -> Path:
    """Mount the overlay of `rootfs` on `<run_dir>/root` (unless mounted) and return that path."""
    for sub in ("upper", "work", "root"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    root = run_dir / "root"
    if not os.path.ismount(root):
        opts = f"lowerdir={rootfs},upperdir={run_dir / 'upper'},workdir={run_dir / 'work'}"
        sh(["mount", "-t", "overlay", "overlay", "-o", opts, str(root)])
    return root


def unmount(run_dir: Path) -> None:
    root = run_dir / "root"
    if os.path.ismount(root):
        sh(["umount", str(root)], check=False)
    if os.path.ismount(root):
        # Never rmtree through a live mount: that deletes files of a running container.
        raise TestHostError(f"{root} is still mounted (busy); not removing it")


def personalise(root: Path, name: str, address: str, gateway: str) -> None:
    """Write the host's name and its static address (a /30) into the mounted copy."""
    (root / "etc/hostname").write_text(f"{name}\n")
    # sudo resolves the hostname; without this line each sudo waits for DNS.
    (root / "etc/hosts").write_text(
        f"127.0.0.1 localhost\n127.0.1.1 {name}\n::1 localhost ip6-localhost\n"
    )
    # LinkLocalAddressing/IPv6AcceptRA off: otherwise systemd-networkd-wait-online waits
    # (14 s measured) for an IPv6 router that never comes.
    (root / "etc/systemd/network/10-host0.network").write_text(
        "[Match]\nName=host0\n\n[Network]\n"
        f"Address={address}/30\nGateway={gateway}\n"
        "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
    )
