"""TestHost: one booted host — its overlay, network, nspawn process, state file and API."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from . import cgroups, network, overlay
from .base import CLEAN_ENV, TestHostError, cache_dir, log, sh
from .processes import container_init, pid_alive, wait_gone
from .rootfs import SSH_USER, build, ssh_key_path

DEFAULT_NAME = "chatbot"
DEFAULT_SUBNET = "10.231.0.0/30"

SSH_TIMEOUT = 60.0
RUNNING_TIMEOUT = 90.0
POWEROFF_TIMEOUT = 30.0
KILL_TIMEOUT = 10.0


class TestHost:
    """One booted host: `name` (≤ 12 chars: the veth is `ve-<name>`) on `subnet` (a /30)."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(
        self, name: str = DEFAULT_NAME, subnet: str = DEFAULT_SUBNET, cache: Path | None = None
    ) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,11}", name):
            raise ValueError(f"name {name!r}: 1-12 chars [a-z0-9-], so ve-<name> fits IFNAMSIZ")
        net = ipaddress.ip_network(subnet)
        if not isinstance(net, ipaddress.IPv4Network) or net.prefixlen != 30:
            raise ValueError(f"subnet {subnet!r} must be an IPv4 /30")
        self.name = name
        self.subnet = net
        self.host_side_address, self.address = (str(a) for a in net.hosts())
        self.cache = cache or cache_dir()
        self.run_dir = self.cache / "runs" / name
        self.key = ssh_key_path(self.cache)
        self.veth = f"ve-{name}"
        self._nft_table = "testhost_" + name.replace("-", "_")
        # Kept so _stop can reap it: a Popen dropped while running warns (ResourceWarning).
        self._nspawn_proc: subprocess.Popen[bytes] | None = None

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
                if pid_alive(host._state().get("owner", 0)):
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
        if not pid or not pid_alive(pid):
            raise TestHostError(f"{self.name} is not running")
        return int(pid)

    def is_up(self) -> bool:
        return pid_alive(self._state().get("nspawn_pid", 0))

    def up(self) -> TestHost:
        """Build the rootfs if needed, boot a fresh copy of it, wait for SSH and systemd."""
        if self.is_up():
            return self
        self._cleanup_stale()
        rootfs = build(self.cache)
        sh(["ssh-keygen", "-q", "-y", "-f", str(self.key)])  # key readable before we boot
        root = overlay.mount(self.run_dir, rootfs)
        overlay.personalise(root, self.name, self.address, self.host_side_address)
        self._network_up()
        self._boot()
        return self

    def down(self, *, keep: bool = False) -> None:
        """Power off, remove the per-run copy (unless keep) and undo the network changes."""
        self._stop()
        self._network_down()
        overlay.unmount(self.run_dir)
        if not keep:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def reboot(self) -> None:
        """Power off and boot the same state again (nspawn exits on `systemctl reboot`)."""
        start = time.monotonic()
        self._stop()
        self._boot()
        log(f"reboot took {time.monotonic() - start:.1f} s")

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
            full = [*self.ssh_argv(), shlex.join(argv)]
        else:
            raise ValueError(f"via={via!r}: 'nsenter' or 'ssh'")
        return subprocess.run(
            full, capture_output=True, text=True, check=check, timeout=timeout, input=input
        )

    def ssh_argv(self, connect_timeout: int = 5) -> list[str]:
        """`ssh ... admin@address` (append a remote command, or nothing for a shell)."""
        return [
            "ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}",
            f"{SSH_USER}@{self.address}",
        ]  # fmt: skip

    def inventory_line(self) -> str:
        """This host as an Ansible inventory line: `<name>.testhost` with how to reach it."""
        return (
            f"{self.name}.testhost ansible_host={self.address} ansible_user={SSH_USER} "
            f"ansible_ssh_private_key_file={self.key} "
            "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null' "
            "ansible_python_interpreter=/usr/bin/python3"
        )

    def write_inventory(self, path: str | os.PathLike[str]) -> Path:
        """An Ansible inventory: group [chatbot] with this host as `<name>.testhost`."""
        path = Path(path)
        path.write_text(f"[chatbot]\n{self.inventory_line()}\n")
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
            state: dict[str, int] = json.loads((self.run_dir / "state.json").read_text())
            return state
        return {}

    def _save_state(self, updates: dict[str, int]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        state = self._state() | updates
        tmp = self.run_dir / "state.json.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(self.run_dir / "state.json")

    def _other_states(self) -> list[dict[str, int]]:
        """state.json of the other hosts that are up."""
        states = []
        for path in (self.cache / "runs").glob("*/state.json"):
            with contextlib.suppress(OSError, json.JSONDecodeError):
                state = json.loads(path.read_text())
                if path.parent.name != self.name and pid_alive(state.get("nspawn_pid", 0)):
                    states.append(state)
        return states

    def _cleanup_stale(self) -> None:
        """Undo what a crashed earlier run left behind (dead nspawn, mounts, nft table)."""
        if not self.run_dir.exists() or self.is_up():
            return
        self._stop()
        self._network_down()
        overlay.unmount(self.run_dir)
        # Keep only the slot claim (free_slot); everything else was the dead run's.
        owner = self._state().get("owner")
        shutil.rmtree(self.run_dir, ignore_errors=True)
        if owner:
            self._save_state({"owner": owner})

    # ----- network

    def _network_up(self) -> None:
        if "ip_forward_before" not in self._state():
            # With other hosts up, the current 1 is theirs: inherit the value from before them.
            others = [
                st["ip_forward_before"] for st in self._other_states() if "ip_forward_before" in st
            ]
            before = others[0] if others else network.ip_forward()
            self._save_state({"ip_forward_before": before})
        network.set_ip_forward(1)
        network.masquerade(self._nft_table, self.address, self.subnet)

    def _network_down(self) -> None:
        network.remove_table(self._nft_table)
        before = self._state().get("ip_forward_before")
        if before is not None and not self._other_states():
            network.set_ip_forward(before)

    # ----- boot / stop

    def _boot(self) -> None:
        log_file = (self.run_dir / "console.log").open("ab")
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
        own = cgroups.own_cgroups(self.name)
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: cgroups.join(own),
        )
        log_file.close()
        self._nspawn_proc = proc
        self._save_state({"nspawn_pid": proc.pid})
        try:
            init_pid = self._wait_for_init(proc)
            self._save_state({"init_pid": init_pid})
            network.configure_veth(
                self.veth, self.host_side_address, lambda: self._check_alive(proc)
            )
            self._wait_for_ssh(proc)
            t_ssh = time.monotonic() - start
            state = self._wait_running()
        except BaseException:
            log(f"boot failed; console log: {self.run_dir / 'console.log'}")
            raise
        log(
            f"{self.name} up: ssh after {t_ssh:.1f} s, {state} after "
            f"{time.monotonic() - start:.1f} s"
            f"; ssh {SSH_USER}@{self.address}; nsenter -t {init_pid} -a"
        )

    def _wait_for_init(self, proc: subprocess.Popen[bytes]) -> int:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            self._check_alive(proc)
            pid = container_init(proc.pid)
            if pid:
                return pid
            time.sleep(0.05)
        raise TestHostError("the container's init did not appear within 15 s")

    def _wait_for_ssh(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + SSH_TIMEOUT
        probe = [*self.ssh_argv(connect_timeout=2), "true"]
        while True:
            self._check_alive(proc)
            with contextlib.suppress(subprocess.TimeoutExpired):
                if subprocess.run(probe, capture_output=True, timeout=10).returncode == 0:
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
        if pid_alive(nspawn):
            init = state.get("init_pid", 0)
            if pid_alive(init):
                subprocess.run(
                    ["nsenter", "-t", str(init), "-a", "systemctl", "poweroff"],
                    capture_output=True, timeout=15, check=False, env=CLEAN_ENV,
                )  # fmt: skip
            if not wait_gone(nspawn, POWEROFF_TIMEOUT):
                log(f"{self.name}: no poweroff within {POWEROFF_TIMEOUT:.0f} s, terminating")
                # SIGTERM asks nspawn for an orderly shutdown; SIGKILL the group if that hangs.
                os.kill(nspawn, signal.SIGTERM)
                if not wait_gone(nspawn, KILL_TIMEOUT):
                    os.killpg(nspawn, signal.SIGKILL)
                    wait_gone(nspawn, KILL_TIMEOUT)
        own = cgroups.own_cgroups(self.name)
        cgroups.kill_all(own, self.name, KILL_TIMEOUT)
        if self._nspawn_proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._nspawn_proc.wait(timeout=KILL_TIMEOUT)
            self._nspawn_proc = None
        self._save_state({"nspawn_pid": 0, "init_pid": 0})
        # nspawn can't remove these here: /run is not a tmpfs, and without systemd as PID 1 its
        # payload/supervisor cgroups stay behind.
        shutil.rmtree(f"/run/systemd/nspawn/propagate/{self.name}", ignore_errors=True)
        for path in own:
            cgroups.remove_tree(path)
