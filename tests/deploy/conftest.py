"""Fixtures for the deploy tests: a real systemd Debian 12 host booted with systemd-nspawn.

`test_host` (session scope) builds the cached rootfs if needed (about a minute, once per machine),
boots a fresh copy-on-write copy on a free name + /30, yields the `scripts.testhost.TestHost`
and powers it off at the end. See scripts/testhost/ for its API and docs/testhost.md.

Skips when not root or when the host packages are missing; with TESTHOST_REQUIRED=1 (CI) those
are failures instead, so a broken runner can't turn the deploy suite into a silent skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from scripts.testhost import HOST_PACKAGES, TestHost, missing_host_tools


def _unavailable(reason: str) -> None:
    if os.environ.get("TESTHOST_REQUIRED") == "1":
        pytest.fail(f"TESTHOST_REQUIRED=1 but {reason}")
    pytest.skip(reason)


def require_test_hosts() -> None:
    """Skip (or, with TESTHOST_REQUIRED=1, fail) unless test hosts can be booted here."""
    if os.geteuid() != 0:
        _unavailable("booting the test host needs root (debootstrap, systemd-nspawn, nft, mount)")
    missing = missing_host_tools()
    if missing:
        _unavailable(
            f"host packages missing: {' '.join(missing)} "
            f"(`make testhost-deps` installs {' '.join(HOST_PACKAGES)})"
        )


@pytest.fixture(scope="session")
def test_host() -> Iterator[TestHost]:
    require_test_hosts()
    with TestHost.free_slot() as host:
        yield host
