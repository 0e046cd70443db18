"""A real systemd Debian 12 host on this machine, for deploy tests and `make deploy-local`.

A bookworm rootfs is debootstrapped once into a cache; each boot runs `systemd-nspawn --boot`
on a copy-on-write overlay of it, reached over a veth pair with a /30 of its own
(host side `.1`, container `.2`). The host looks like a fresh EC2 Debian instance: user `admin`
with passwordless sudo and an SSH key, python3 (+ apt, packaging) for Ansible, and the CA
certificates / pip settings of the machine running the tests, so apt and pip inside work through
the same TLS interception or corporate proxy CA.

Python API::

    from scripts.testhost import TestHost

    with TestHost() as host:              # build (cached) + up(); down() on exit
        host.address                      # "10.231.0.2"  container, reachable by SSH as admin
        host.host_side_address            # "10.231.0.1"  this machine, as seen from inside
        host.init_pid                     # PID of the container's systemd (`nsenter -t PID -a`)
        host.run("systemctl is-active ssh")          # as root via nsenter -> CompletedProcess
        host.run(["id"], via="ssh")                  # as admin over SSH
        host.write_inventory(path)                   # Ansible inventory, group [chatbot]
        host.reboot()                                # power off + boot the same state again

    TestHost.free_slot()                  # a TestHost on an unused name + /30, for parallel runs

CLI: `python -m scripts.testhost build|up|down [--keep]|reboot|status|ssh [CMD...]|inventory PATH`
(`--name`, `--subnet`; cache dir from `TESTHOST_CACHE`, default /var/cache/chatbot-testhost).

Needs root and the host packages in HOST_PACKAGES. Only the /30's addresses and loopback are used
(plus masqueraded outbound traffic so apt/pip inside reach their mirrors). Every wait is bounded.
See docs/testhost.md for timings and pitfalls.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

HOST_PACKAGES = ("systemd-container", "debootstrap", "nftables", "openssh-client", "iproute2")
SUITE = "bookworm"
INCLUDE = (
    "systemd,systemd-sysv,dbus,python3,python3-apt,python3-packaging,openssh-server,sudo,"
    "iproute2,ca-certificates"
)
DEFAULT_CACHE = Path("/var/cache/chatbot-testhost")
DEFAULT_NAME = "chatbot"
DEFAULT_SUBNET = "10.231.0.0/30"
SSH_USER = "admin"
FALLBACK_MIRROR = "http://deb.debian.org/debian"
FALLBACK_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
# Bump when the customisation below changes, so cached rootfs get re-customised.
CUSTOMISE_VERSION = "3"

SSH_TIMEOUT = 60.0
RUNNING_TIMEOUT = 90.0
POWEROFF_TIMEOUT = 30.0
KILL_TIMEOUT = 10.0

# Commands run inside (chroot or nsenter) get a clean environment: this machine's PIP_*,
# SSL_CERT_FILE, etc. would otherwise leak in and point at paths that don't exist there.
CLEAN_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
    "DEBIAN_FRONTEND": "noninteractive",
}
# pip settings worth carrying into the host; anything else (constraint, find-links, local
# index mirrors) describes this machine's disk, not the network.
PIP_KEYS_KEPT = {
    "cert", "client-cert", "index-url", "extra-index-url", "trusted-host", "proxy",
    "timeout", "default-timeout", "retries",
}  # fmt: skip


class TestHostError(RuntimeError):
    """The test host could not be built, booted or stopped."""


def _log(msg: str) -> None:
    print(f"[testhost] {msg}", file=sys.stderr, flush=True)


def _sh(
    cmd: Sequence[str], *, check: bool = True, timeout: float | None = 600, **kw: object
) -> subprocess.CompletedProcess[str]:
    """Run a host command, capturing text output; raise TestHostError with its stderr on failure."""
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]
    if check and proc.returncode != 0:
        raise TestHostError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc


def cache_dir() -> Path:
    return Path(os.environ.get("TESTHOST_CACHE", DEFAULT_CACHE))


def missing_host_tools() -> list[str]:
    """Host packages whose main command is absent (for skip messages and the make target)."""
    tools = {
        "systemd-container": "systemd-nspawn",
        "debootstrap": "debootstrap",
        "nftables": "nft",
        "openssh-client": "ssh",
        "iproute2": "ip",
    }
    return [pkg for pkg, tool in tools.items() if shutil.which(tool) is None]


# --------------------------------------------------------------------------- build


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
        "# Copied from the machine that built this test host (scripts/testhost.py)",
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
    key = cache / "id_ed25519"
    if not key.exists():
        cache.mkdir(parents=True, exist_ok=True)
        _sh(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "chatbot-testhost",
                "-f",
                str(key),
            ]
        )
    return key


def _chroot(rootfs: Path, *cmd: str) -> None:
    _sh(["chroot", str(rootfs), *cmd], env=CLEAN_ENV)


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
        _log(f"debootstrap {SUITE} from {main} (about a minute)")
        start = time.monotonic()
        _sh(["debootstrap", f"--include={INCLUDE}", SUITE, str(staging), main], timeout=1800)
        _log(f"debootstrap took {time.monotonic() - start:.0f} s")
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


def _customise(
    rootfs: Path, main: str, security: str, pubkey: str, cas: list[Path], pip_conf: str
) -> None:
    _log("customising rootfs (user admin, ssh, networkd, CAs, apt/pip config)")
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
    if _sh(["chroot", str(rootfs), "id", SSH_USER], check=False, env=CLEAN_ENV).returncode:
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

    # Address config is per boot (see _prepare_root); here only the services.
    _chroot(rootfs, "systemctl", "enable", "systemd-networkd", "ssh")
    # The stock 80-container-host0.network asks for DHCP, which nobody serves here.
    dhcp = rootfs / "etc/systemd/network/80-container-host0.network"
    dhcp.unlink(missing_ok=True)
    dhcp.symlink_to("/dev/null")


# --------------------------------------------------------------------------- boot


class TestHost:
    """One booted host: `name` (≤ 12 chars: the veth is `ve-<name>`) on `subnet` (a /30)."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(
        self, name: str = DEFAULT_NAME, subnet: str = DEFAULT_SUBNET, cache: Path | None = None
    ) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,11}", name):
            raise ValueError(f"name {name!r}: 1-12 chars [a-z0-9-], so ve-<name> fits IFNAMSIZ")
        net = ipaddress.ip_network(subnet)
        if net.prefixlen != 30 or net.version != 4:
            raise ValueError(f"subnet {subnet!r} must be an IPv4 /30")
        self.name = name
        self.subnet = net
        self.host_side_address, self.address = (str(a) for a in net.hosts())
        self.cache = cache or cache_dir()
        self.run_dir = self.cache / "runs" / name
        self.key = self.cache / "id_ed25519"
        self.veth = f"ve-{name}"
        self._nft_table = "testhost_" + name.replace("-", "_")

    # ----- public API

    @classmethod
    def free_slot(cls, prefix: str = "testhost", cache: Path | None = None) -> TestHost:
        """A TestHost whose name and /30 (10.231.0.4n/30, n ≥ 1) no live host uses."""
        cache = cache or cache_dir()
        for n in range(1, 64):
            host = cls(f"{prefix}{n}", f"10.231.0.{4 * n}/30", cache)
            try:
                host.run_dir.mkdir(parents=True)
            except FileExistsError:
                if _pid_alive(host._state().get("owner", 0)):
                    continue
                # Its test session died (killed pytest): nobody will tear that host down.
                host.down()
            host._save_state({"owner": os.getpid()})
            return host
        raise TestHostError("no free test-host slot in 10.231.0.0/24")

    @property
    def init_pid(self) -> int:
        """PID (on this machine) of the container's systemd, for `nsenter -t PID -a`."""
        pid = self._state().get("init_pid")
        if not pid or not _pid_alive(pid):
            raise TestHostError(f"{self.name} is not running")
        return int(pid)

    def is_up(self) -> bool:
        return _pid_alive(self._state().get("nspawn_pid", 0))

    def up(self) -> TestHost:
        """Build the rootfs if needed, boot a fresh copy of it, wait for SSH and systemd."""
        if self.is_up():
            return self
        self._cleanup_stale()
        rootfs = build(self.cache)
        _sh(["ssh-keygen", "-q", "-y", "-f", str(self.key)])  # key readable before we boot
        self._mount_overlay(rootfs)
        self._prepare_root()
        self._network_up()
        self._boot()
        return self

    def down(self, *, keep: bool = False) -> None:
        """Power off, remove the per-run copy (unless keep) and undo the network changes."""
        self._stop()
        self._network_down()
        self._unmount_root()
        if not keep:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def reboot(self) -> None:
        """Power off and boot the same state again (nspawn exits on `systemctl reboot`)."""
        start = time.monotonic()
        self._stop()
        self._boot()
        _log(f"reboot took {time.monotonic() - start:.1f} s")

    def run(
        self,
        cmd: str | Sequence[str],
        *,
        via: str = "nsenter",
        check: bool = False,
        timeout: float = 600,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `cmd` (a shell string or argv) inside: as root via nsenter, or as admin via SSH."""
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        if via == "nsenter":
            full = ["nsenter", "-t", str(self.init_pid), "-a", "env", "-i"]
            full += [f"{k}={v}" for k, v in CLEAN_ENV.items()] + argv
        elif via == "ssh":
            # ssh joins its arguments into one remote shell line: quote them.
            full = [*self.ssh_argv(), " ".join(_shell_quote(a) for a in argv)]
        else:
            raise ValueError(f"via={via!r}: 'nsenter' or 'ssh'")
        return subprocess.run(
            full, capture_output=True, text=True, check=check, timeout=timeout, input=input
        )

    def ssh_argv(self) -> list[str]:
        """`ssh ... admin@address` (append a remote command, or nothing for a shell)."""
        return [
            "ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", f"{SSH_USER}@{self.address}",
        ]  # fmt: skip

    def write_inventory(self, path: str | os.PathLike[str]) -> Path:
        """An Ansible inventory: group [chatbot] with this host as `<name>.testhost`."""
        path = Path(path)
        path.write_text(
            "[chatbot]\n"
            f"{self.name}.testhost ansible_host={self.address} ansible_user={SSH_USER} "
            f"ansible_ssh_private_key_file={self.key} "
            "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null' "
            "ansible_python_interpreter=/usr/bin/python3\n"
        )
        return path

    def status(self) -> dict[str, object]:
        state = self._state()
        return {
            "name": self.name,
            "up": self.is_up(),
            "address": self.address,
            "host_side_address": self.host_side_address,
            "init_pid": state.get("init_pid") if self.is_up() else None,
            "log": str(self.run_dir / "console.log"),
        }

    def __enter__(self) -> TestHost:
        try:
            return self.up()
        except BaseException:
            self.down()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    # ----- state

    def _state(self) -> dict[str, int]:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            return json.loads((self.run_dir / "state.json").read_text())
        return {}

    def _save_state(self, updates: dict[str, int]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        state = self._state() | updates
        tmp = self.run_dir / "state.json.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(self.run_dir / "state.json")

    def _cleanup_stale(self) -> None:
        """Undo what a crashed earlier run left behind (dead nspawn, mounts, nft table)."""
        if not self.run_dir.exists() or self.is_up():
            return
        self._stop()
        self._network_down()
        self._unmount_root()
        # Keep only the slot claim (free_slot); everything else was the dead run's.
        owner = self._state().get("owner")
        shutil.rmtree(self.run_dir, ignore_errors=True)
        if owner:
            self._save_state({"owner": owner})

    # ----- filesystem

    def _unmount_root(self) -> None:
        root = self.run_dir / "root"
        if os.path.ismount(root):
            _sh(["umount", str(root)], check=False)
        if os.path.ismount(root):
            # Never rmtree through a live mount: that deletes files of a running container.
            raise TestHostError(f"{root} is still mounted (busy); not removing it")

    def _mount_overlay(self, rootfs: Path) -> None:
        # Copy-on-write: the cached rootfs stays pristine, a boot costs no copying, and the upper
        # dir keeps this host's state across reboot().
        for sub in ("upper", "work", "root"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        root = self.run_dir / "root"
        if not os.path.ismount(root):
            run = self.run_dir
            opts = f"lowerdir={rootfs},upperdir={run / 'upper'},workdir={run / 'work'}"
            _sh(["mount", "-t", "overlay", "overlay", "-o", opts, str(root)])

    def _prepare_root(self) -> None:
        root = self.run_dir / "root"
        (root / "etc/hostname").write_text(f"{self.name}\n")
        # sudo resolves the hostname; without this line each sudo waits for DNS.
        (root / "etc/hosts").write_text(
            f"127.0.0.1 localhost\n127.0.1.1 {self.name}\n::1 localhost ip6-localhost\n"
        )
        # LinkLocalAddressing/IPv6AcceptRA off: otherwise systemd-networkd-wait-online waits
        # (14 s measured) for an IPv6 router that never comes.
        (root / "etc/systemd/network/10-host0.network").write_text(
            "[Match]\nName=host0\n\n[Network]\n"
            f"Address={self.address}/30\nGateway={self.host_side_address}\n"
            "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
        )

    # ----- network

    def _network_up(self) -> None:
        forward = Path("/proc/sys/net/ipv4/ip_forward")
        if "ip_forward_before" not in self._state():
            # With other hosts up, the current 1 is theirs: inherit the value from before them.
            others = [
                st["ip_forward_before"] for st in self._other_states() if "ip_forward_before" in st
            ]
            before = others[0] if others else int(forward.read_text())
            self._save_state({"ip_forward_before": before})
        forward.write_text("1")
        # A table of our own, so teardown removes exactly what we added.
        _sh(["nft", "delete", "table", "ip", self._nft_table], check=False)
        rules = (
            f"table ip {self._nft_table} {{\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority srcnat; policy accept;\n"
            f"    ip saddr {self.address} ip daddr != {self.subnet} masquerade\n"
            "  }\n}\n"
        )
        _sh(["nft", "-f", "-"], input=rules)

    def _network_down(self) -> None:
        _sh(["nft", "delete", "table", "ip", self._nft_table], check=False)
        before = self._state().get("ip_forward_before")
        if before is not None and not self._other_hosts_up():
            Path("/proc/sys/net/ipv4/ip_forward").write_text(str(before))

    def _other_states(self) -> list[dict[str, int]]:
        """state.json of the other hosts that are up."""
        states = []
        for path in (self.cache / "runs").glob("*/state.json"):
            with contextlib.suppress(OSError, json.JSONDecodeError):
                state = json.loads(path.read_text())
                if path.parent.name != self.name and _pid_alive(state.get("nspawn_pid", 0)):
                    states.append(state)
        return states

    def _other_hosts_up(self) -> bool:
        return bool(self._other_states())

    # ----- boot / stop

    def _boot(self) -> None:
        log = (self.run_dir / "console.log").open("ab")
        env = dict(os.environ)
        # A pure cgroup v2 tree inside, like a real bookworm host (this machine is "hybrid").
        env["SYSTEMD_NSPAWN_UNIFIED_HIERARCHY"] = "1"
        cmd = [
            "systemd-nspawn", "--boot", "--register=no", "--keep-unit", "--network-veth",
            f"--machine={self.name}", "--resolv-conf=copy-host", "--console=read-only",
            "-D", str(self.run_dir / "root"),
        ]  # fmt: skip
        start = time.monotonic()
        # PID 1 here is not systemd and there is no machined: --register=no --keep-unit are what
        # make nspawn work at all. Own session so it outlives the CLI `up`.
        cgroups = self._own_cgroups()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: _join_cgroups(cgroups),
        )
        log.close()
        # Kept so _stop can reap it: a Popen dropped while running warns (ResourceWarning).
        self._nspawn_proc = proc
        self._save_state({"nspawn_pid": proc.pid})
        try:
            init_pid = self._wait_for_init(proc)
            self._save_state({"init_pid": init_pid})
            self._configure_host_veth(proc)
            self._wait_for_ssh(proc)
            t_ssh = time.monotonic() - start
            state = self._wait_running()
        except BaseException:
            _log(f"boot failed; console log: {self.run_dir / 'console.log'}")
            raise
        _log(
            f"{self.name} up: ssh after {t_ssh:.1f} s, {state} after "
            f"{time.monotonic() - start:.1f} s"
            f"; ssh {SSH_USER}@{self.address}; nsenter -t {init_pid} -a"
        )

    def _wait_for_init(self, proc: subprocess.Popen[bytes]) -> int:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            self._check_alive(proc)
            pid = _container_init(proc.pid)
            if pid:
                return pid
            time.sleep(0.05)
        raise TestHostError("the container's init did not appear within 15 s")

    def _configure_host_veth(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 15
        while _sh(["ip", "link", "show", self.veth], check=False).returncode:
            self._check_alive(proc)
            if time.monotonic() > deadline:
                raise TestHostError(f"{self.veth} did not appear within 15 s")
            time.sleep(0.05)
        _sh(["ip", "addr", "replace", f"{self.host_side_address}/30", "dev", self.veth])
        _sh(["ip", "link", "set", self.veth, "up"])

    def _wait_for_ssh(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + SSH_TIMEOUT
        while True:
            self._check_alive(proc)
            probe = self.ssh_argv()
            probe[probe.index("ConnectTimeout=5")] = "ConnectTimeout=2"
            with contextlib.suppress(subprocess.TimeoutExpired):
                if (
                    subprocess.run([*probe, "true"], capture_output=True, timeout=10).returncode
                    == 0
                ):
                    return
            if time.monotonic() > deadline:
                raise TestHostError(f"no SSH to {self.address} within {SSH_TIMEOUT:.0f} s")
            time.sleep(0.2)

    def _wait_running(self) -> str:
        """Wait for the boot to finish (`is-system-running --wait` fails until the bus is up)."""
        deadline = time.monotonic() + RUNNING_TIMEOUT
        out = ""
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                left = max(1.0, deadline - time.monotonic())
                out = self.run("systemctl is-system-running --wait", timeout=left).stdout.strip()
                if out in ("running", "degraded"):
                    return out
            time.sleep(0.3)
        raise TestHostError(f"system state {out!r} after {RUNNING_TIMEOUT:.0f} s")

    def _check_alive(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is not None:
            tail = (self.run_dir / "console.log").read_text(errors="replace")[-2000:]
            raise TestHostError(f"systemd-nspawn exited {proc.returncode}:\n{tail}")

    def _stop(self) -> None:
        state = self._state()
        nspawn = state.get("nspawn_pid", 0)
        if _pid_alive(nspawn):
            init = state.get("init_pid", 0)
            if _pid_alive(init):
                subprocess.run(
                    ["nsenter", "-t", str(init), "-a", "systemctl", "poweroff"],
                    capture_output=True, timeout=15, check=False, env=CLEAN_ENV,
                )  # fmt: skip
            if not _wait_gone(nspawn, POWEROFF_TIMEOUT):
                _log(f"{self.name}: no poweroff within {POWEROFF_TIMEOUT:.0f} s, terminating")
                # SIGTERM asks nspawn for an orderly shutdown; SIGKILL the group if that hangs.
                os.kill(nspawn, signal.SIGTERM)
                if not _wait_gone(nspawn, KILL_TIMEOUT):
                    os.killpg(nspawn, signal.SIGKILL)
                    _wait_gone(nspawn, KILL_TIMEOUT)
        self._kill_leftover_processes()
        proc = getattr(self, "_nspawn_proc", None)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=KILL_TIMEOUT)
            self._nspawn_proc = None
        self._save_state({"nspawn_pid": 0, "init_pid": 0})
        self._clean_nspawn_leftovers()

    def _kill_leftover_processes(self) -> None:
        # If nspawn itself died (killed, crashed), the container's init lives on, orphaned,
        # with its veth and mounts. SIGKILL to a PID namespace's init ends the whole namespace.
        deadline = time.monotonic() + KILL_TIMEOUT
        while pids := _cgroup_pids(self._own_cgroups()):
            if time.monotonic() > deadline:
                raise TestHostError(f"processes {sorted(pids)} of {self.name} won't die")
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)

    def _own_cgroups(self) -> list[Path]:
        """A cgroup per host in the systemd-tracking hierarchies, created empty.

        With --keep-unit nspawn puts the container in `<its own cgroup>/payload`. Started from
        the root cgroup (no systemd here), two hosts would share /payload — and their systemds
        the same system.slice/*.service cgroups. A cgroup of its own per host keeps them apart
        and makes teardown exact.
        """
        roots = [Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup/systemd")]
        if not any(r.is_dir() for r in roots):
            roots = [Path("/sys/fs/cgroup")]  # pure cgroup v2 host
        paths = []
        for root in roots:
            if (root / "cgroup.procs").exists():
                path = root / f"chatbot-testhost-{self.name}"
                path.mkdir(exist_ok=True)
                paths.append(path)
        return paths

    def _clean_nspawn_leftovers(self) -> None:
        # nspawn can't remove these here: /run is not a tmpfs, and without systemd as PID 1 its
        # payload/supervisor cgroups stay behind.
        shutil.rmtree(f"/run/systemd/nspawn/propagate/{self.name}", ignore_errors=True)
        for path in self._own_cgroups():
            _rmdir_cgroup_tree(path)


def _cgroup_pids(paths: list[Path]) -> set[int]:
    pids: set[int] = set()
    for path in paths:
        for procs in path.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(line) for line in procs.read_text().split())
    return pids


def _join_cgroups(paths: list[Path]) -> None:
    """In the child before exec: move into the host's own cgroups (see _own_cgroups)."""
    for path in paths:
        with contextlib.suppress(OSError):
            (path / "cgroup.procs").write_text("0")


def _rmdir_cgroup_tree(path: Path) -> None:
    """Remove an empty cgroup and its empty children (rmdir fails on any with processes)."""
    if not path.is_dir():
        return
    for child in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            child.rmdir()
    with contextlib.suppress(OSError):
        path.rmdir()


def _shell_quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own unreaped child) counts as gone.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return False


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        if not _pid_alive(pid):
            return True
        time.sleep(0.1)
    return not _pid_alive(pid)


def _container_init(nspawn_pid: int) -> int | None:
    """The descendant of nspawn that is PID 1 of a new PID namespace."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    todo = list(children.get(nspawn_pid, []))
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text()
            nspid = re.search(r"^NSpid:\s*(.*)$", status, re.MULTILINE)
            if nspid and nspid.group(1).split()[-1] == "1" and len(nspid.group(1).split()) > 1:
                return pid
        todo += children.get(pid, [])
    return None


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.testhost", description=__doc__.split("\n")[0]
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


if __name__ == "__main__":
    sys.exit(main())
