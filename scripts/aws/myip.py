"""The address SSH is opened to: the operator's own public IP, as a single-host CIDR."""

from __future__ import annotations

import ipaddress
import os
import urllib.request
from collections.abc import Callable, Mapping

from scripts.aws.errors import DeployError

CHECKIP_URL = "https://checkip.amazonaws.com"
# Set by tests and by operators behind a NAT whose public address checkip can't see.
CIDR_ENV = "CHATBOT_SSH_CIDR"


def normalize_cidr(text: str) -> str:
    """``1.2.3.4`` -> ``1.2.3.4/32``; rejects anything that is not an address or network."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError as exc:
        raise DeployError(f"invalid SSH CIDR {text.strip()!r}: {exc}") from None


def fetch_public_ip(url: str = CHECKIP_URL, timeout: float = 10.0) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed https URL)
            body: bytes = response.read(64)
            return body.decode("ascii").strip()
    except OSError as exc:
        raise DeployError(
            f"cannot find your public IP through {url} ({exc}); pass --ssh-cidr <ip>/32"
        ) from None


def caller_cidr(
    explicit: str | None,
    env: Mapping[str, str] = os.environ,
    fetch: Callable[[], str] | None = None,
) -> str:
    """The --ssh-cidr flag, else $CHATBOT_SSH_CIDR, else the address checkip reports."""
    chosen = explicit or env.get(CIDR_ENV)
    if not chosen:
        # Looked up at call time so tests can replace the module's fetcher.
        chosen = (fetch or fetch_public_ip)()
    return normalize_cidr(chosen)
