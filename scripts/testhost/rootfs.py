"""The cached Debian 12 root filesystem: debootstrapped once, then customised like an EC2 image.

Every boot runs on an overlay of it (overlay.py), so it stays pristine. Both steps are stamped in
the cache: debootstrap reruns only when suite, packages or mirror change, the customisation when
the key, CAs, pip settings or CUSTOMISE_VERSION change.
"""

from __future__ import annotations

import configparser
import hashlib
import re
import shutil
import time
from pathlib import Path

from .base import CLEAN_ENV, cache_dir, log, sh

SUITE = "bookworm"
INCLUDE = (
    "systemd,systemd-sysv,dbus,python3,python3-apt,python3-packaging,openssh-server,sudo,"
    "iproute2,ca-certificates"
)
SSH_USER = "admin"
FALLBACK_MIRROR = "http://deb.debian.org/debian"
FALLBACK_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
# Bump when the customisation below changes, so cached rootfs get re-customised.
CUSTOMISE_VERSION = "3"

# pip settings worth carrying into the host; anything else (constraint, find-links, local
# index mirrors) describes this machine's disk, not the network.
PIP_KEYS_KEPT = {
    "cert", "client-cert", "index-url", "extra-index-url", "trusted-host", "proxy",
    "timeout", "default-timeout", "retries",
}  # fmt: skip


def ssh_key_path(cache: Path) -> Path:
    """The private key that `admin` and root accept (made by build())."""
    return cache / "id_ed25519"


def apt_mirrors() -> tuple[str, str]:
    """(main, security) Debian mirror URIs that this machine's apt already uses."""
    main = security = None
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    legacy = Path("/etc/apt/sources.list")
    uris: list[str] = []
    if deb822.exists():
        uris = re.findall(r"^URIs:\s*(\S+)", deb822.read_text(), flags=re.MULTILINE)
    elif legacy.exists():
        uris = re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", legacy.read_text(), re.MULTILINE)
    for uri in uris:
        if "security" in uri:
            security = security or uri
        else:
            main = main or uri
    return main or FALLBACK_MIRROR, security or FALLBACK_SECURITY_MIRROR


def build(cache: Path | None = None, *, force: bool = False) -> Path:
    """Debootstrap (once) and customise (when the recipe changed) the cached rootfs; return it."""
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    rootfs = cache / "rootfs"
    main, security = apt_mirrors()
    base_id = f"{SUITE} {INCLUDE} {main}"
    base_stamp = cache / "debootstrap.stamp"
    if force or not rootfs.exists() or _read(base_stamp) != base_id:
        staging = cache / "rootfs.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        log(f"debootstrap {SUITE} from {main} (about a minute)")
        start = time.monotonic()
        sh(["debootstrap", f"--include={INCLUDE}", SUITE, str(staging), main], timeout=1800)
        log(f"debootstrap took {time.monotonic() - start:.0f} s")
        shutil.rmtree(rootfs, ignore_errors=True)
        staging.rename(rootfs)
        base_stamp.write_text(base_id)
        (cache / "customise.stamp").unlink(missing_ok=True)

    key = _ssh_key(cache)
    pubkey = key.with_suffix(".pub").read_text()
    cas = _local_cas()
    pip_conf = _pip_config_for(rootfs)
    recipe = hashlib.sha256(
        "\0".join(
            [CUSTOMISE_VERSION, main, security, pubkey, pip_conf] + [p.read_text() for p in cas]
        ).encode()
    ).hexdigest()
    custom_stamp = cache / "customise.stamp"
    if _read(custom_stamp) != recipe:
        _customise(rootfs, main, security, pubkey, cas, pip_conf)
        custom_stamp.write_text(recipe)
    return rootfs


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def _pip_config_for(rootfs: Path) -> str:
    """This machine's global pip settings that still make sense inside the rootfs."""
    merged: dict[str, str] = {}
    # Same order as pip: the later file overrides the earlier one.
    for path in (Path("/etc/xdg/pip/pip.conf"), Path("/etc/pip.conf")):
        if not path.exists():
            continue
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(path)
        for key, value in parser.items("global") if parser.has_section("global") else []:
            if key not in PIP_KEYS_KEPT:
                continue
            kept = [v for v in value.split() if _exists_inside(rootfs, v)]
            if kept:
                merged[key] = " ".join(kept)
    if not merged:
        return ""
    lines = [
        "# Copied from the machine that built this test host (scripts/testhost)",
        "[global]",
    ]
    lines += [f"{k} = {v}" for k, v in sorted(merged.items())]
    return "\n".join(lines) + "\n"


def _exists_inside(rootfs: Path, value: str) -> bool:
    """False for a local path / file: URL that the rootfs doesn't have; True for anything else."""
    path = value.removeprefix("file://") if value.startswith("file:") else value
    if not path.startswith("/"):
        return True
    return (rootfs / path.lstrip("/")).exists()


def _local_cas() -> list[Path]:
    return sorted(Path("/usr/local/share/ca-certificates").glob("**/*.crt"))


def _ssh_key(cache: Path) -> Path:
    key = ssh_key_path(cache)
    if not key.exists():
        cache.mkdir(parents=True, exist_ok=True)
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "chatbot-testhost",
            "-f", str(key)])  # fmt: skip
    return key


def _chroot(rootfs: Path, *cmd: str) -> None:
    sh(["chroot", str(rootfs), *cmd], env=CLEAN_ENV)


def _customise(
    rootfs: Path, main: str, security: str, pubkey: str, cas: list[Path], pip_conf: str
) -> None:
    log("customising rootfs (user admin, ssh, networkd, CAs, apt/pip config)")
    # Without a machine-id the first boot counts as "first boot" and applies unit presets,
    # and every boot of a fresh overlay gets its own id, like a new instance.
    (rootfs / "etc/machine-id").unlink(missing_ok=True)

    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(
        f"Types: deb\nURIs: {main}\nSuites: {SUITE} {SUITE}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        f"Types: deb\nURIs: {security}\nSuites: {SUITE}-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )

    ca_dir = rootfs / "usr/local/share/ca-certificates/testhost"
    shutil.rmtree(ca_dir, ignore_errors=True)
    ca_dir.mkdir(parents=True)
    for ca in cas:
        shutil.copy2(ca, ca_dir / ca.name)
    _chroot(rootfs, "update-ca-certificates", "--fresh")
    pip_path = rootfs / "etc/pip.conf"
    if pip_conf:
        pip_path.write_text(pip_conf)
    else:
        pip_path.unlink(missing_ok=True)

    # Like an EC2 Debian AMI: `admin` with passwordless sudo; root also takes the key.
    if sh(["chroot", str(rootfs), "id", SSH_USER], check=False, env=CLEAN_ENV).returncode:
        _chroot(rootfs, "useradd", "--create-home", "--shell", "/bin/bash", "--groups", "sudo",
                SSH_USER)  # fmt: skip
    sudoers = rootfs / "etc/sudoers.d/90-admin"
    sudoers.write_text(f"{SSH_USER} ALL=(ALL) NOPASSWD:ALL\n")
    sudoers.chmod(0o440)
    for home, owner in ((rootfs / "root", "root"), (rootfs / "home" / SSH_USER, SSH_USER)):
        ssh_dir = home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(pubkey)
        (ssh_dir / "authorized_keys").chmod(0o600)
        _chroot(rootfs, "chown", "-R", f"{owner}:{owner}", f"/{home.relative_to(rootfs)}/.ssh")

    # Address config is per boot (overlay.personalise); here only the services.
    _chroot(rootfs, "systemctl", "enable", "systemd-networkd", "ssh")
    # The stock 80-container-host0.network asks for DHCP, which nobody serves here.
    dhcp = rootfs / "etc/systemd/network/80-container-host0.network"
    dhcp.unlink(missing_ok=True)
    dhcp.symlink_to("/dev/null")
