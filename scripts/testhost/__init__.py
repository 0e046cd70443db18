"""A real systemd Debian 12 host on this machine, for deploy tests and `make deploy-local`.

A bookworm rootfs is debootstrapped once into a cache (rootfs.py); each boot runs
`systemd-nspawn --boot` (host.py) on a copy-on-write overlay of it (overlay.py), in a cgroup of
its own (cgroups.py), reached over a veth pair with a /30 of its own (network.py; host side `.1`,
container `.2`). The host looks like a fresh EC2 Debian instance: user `admin` with passwordless
sudo and an SSH key, python3 (+ apt, packaging) for Ansible, and the CA certificates / pip
settings of the machine running the tests, so apt and pip inside work through the same TLS
interception or corporate proxy CA.

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

CLI (cli.py): `python -m scripts.testhost build|up|down [--keep]|reboot|status|ssh [CMD...]|
inventory PATH` (`--name`, `--subnet`; cache dir from `TESTHOST_CACHE`, default
/var/cache/chatbot-testhost).

Needs root and the host packages in host-packages.txt (HOST_PACKAGES). Only the /30's addresses
and loopback are used (plus masqueraded outbound traffic so apt/pip inside reach their mirrors).
Every wait is bounded. Stdlib only: it runs on the system python3. See docs/testhost.md for
timings and pitfalls.
"""

from .base import TestHostError, cache_dir
from .host import TestHost
from .packages import HOST_PACKAGES, missing_host_tools
from .rootfs import build

__all__ = ["HOST_PACKAGES", "TestHost", "TestHostError", "build", "cache_dir", "missing_host_tools"]
