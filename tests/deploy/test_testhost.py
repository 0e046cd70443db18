"""The booted test host is a usable Debian server: what the Ansible playbook relies on."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from scripts.testhost import TestHost

pytestmark = pytest.mark.slow


def test_systemd_booted(test_host: TestHost) -> None:
    state = test_host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), test_host.run("systemctl --failed").stdout
    assert test_host.run("cat /etc/os-release").stdout.count("VERSION_CODENAME=bookworm") == 1


def test_ssh_as_admin_with_passwordless_sudo(test_host: TestHost) -> None:
    who = test_host.run(["id", "-un"], via="ssh", check=True).stdout.strip()
    root = test_host.run(["sudo", "-n", "id", "-u"], via="ssh", check=True).stdout.strip()
    assert (who, root) == ("admin", "0")


def test_ansible_prerequisites_present(test_host: TestHost) -> None:
    probe = test_host.run(["/usr/bin/python3", "-c", "import apt, packaging"], via="ssh")
    assert probe.returncode == 0, probe.stderr


def test_apt_reaches_the_mirror(test_host: TestHost) -> None:
    update = test_host.run("apt-get update", timeout=300)
    assert update.returncode == 0, update.stdout + update.stderr
    assert "Err:" not in update.stdout, update.stdout
    assert "W:" not in update.stderr, update.stderr


def test_pip_reaches_pypi_through_this_machines_tls(test_host: TestHost) -> None:
    # python3-venv is one of the packages the playbook installs anyway.
    install = test_host.run("apt-get update -q && apt-get install -y -q python3-venv", timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    download = test_host.run(
        "set -e; d=$(mktemp -d); trap 'rm -rf $d' EXIT; python3 -m venv $d/venv; "
        "$d/venv/bin/python -m pip download -q --no-deps -d $d/dl six; ls $d/dl",
        timeout=300,
    )
    assert download.returncode == 0, download.stdout + download.stderr
    assert "six-" in download.stdout


def test_this_machine_reachable_from_inside(test_host: TestHost) -> None:
    # How the deployed app reaches the fake Gemini server run by the test process.
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello from the test process")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer((test_host.host_side_address, 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://{test_host.host_side_address}:{server.server_port}/"
        fetch = test_host.run(
            [
                "python3",
                "-c",
                f"import urllib.request; print(urllib.request.urlopen({url!r}).read())",
            ],
            timeout=30,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert "hello from the test process" in fetch.stdout, fetch.stderr


def test_survives_a_reboot(test_host: TestHost) -> None:
    # /run is a fresh tmpfs per boot, /var/lib is disk: a real reboot loses one, keeps the other.
    test_host.run("touch /run/testhost-this-boot /var/lib/testhost-marker", check=True)
    init_before = test_host.init_pid
    test_host.reboot()
    assert test_host.init_pid != init_before
    assert test_host.run("test -e /run/testhost-this-boot").returncode == 1
    assert test_host.run("test -e /var/lib/testhost-marker").returncode == 0
    assert test_host.run(["sudo", "-n", "true"], via="ssh").returncode == 0
    state = test_host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded")
    test_host.run("rm -f /var/lib/testhost-marker", check=True)
