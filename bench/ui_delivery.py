"""How the UI loads through nginx on a deployed host: bytes and requests of a first and a repeat
visit, and the time to an interactive composer, in Debian's Chromium with its network emulation
(CDP Network.emulateNetworkConditions) adding 150 ms to every request.

    python -m bench.ui_delivery --url http://10.231.0.2   # an appliance already up
    python -m bench.ui_delivery --refs main HEAD          # as root: boot a test host, deploy
                                                          # each ref in turn, measure each

Per run and network profile, three page loads (each page's own CDP session counts its requests):
- first visit: a new browser profile opens `/` until the login form shows;
- repeat visit: the same profile, now signed in (through the UI), opens `/` again until the
  composer is visible and enabled;
- signed in, empty cache: a new profile holding only that session's cookie and local storage
  opens `/` until the composer is interactive.
Bytes are what went over the wire (CDP encodedDataLength, headers included); a request answered
from the browser's cache without asking the server does not count as a network request.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from bench.harness import ROOT, emit
from tests.helpers.accounts import PASSWORD, register

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
LATENCY_MS = 150
# latency only, then a slow link as well (about a weak 3G/4G phone connection)
PROFILES = {
    "150ms": {"latency": LATENCY_MS, "downloadThroughput": -1, "uploadThroughput": -1},
    "150ms+1.6Mbps": {
        "latency": LATENCY_MS,
        "downloadThroughput": 1_600_000 / 8,
        "uploadThroughput": 750_000 / 8,
    },
}
# performance.now() (ms since the navigation started) once the composer can take input.
COMPOSER_READY = """() => {
  const el = document.querySelector('#composer-input');
  return el && el.offsetParent !== null && !el.disabled && performance.now();
}"""
LOGIN_READY = """() => {
  const el = document.querySelector('#login-username');
  return el && el.offsetParent !== null && performance.now();
}"""


@dataclass
class Traffic:
    """What one page load asked the network for, from its CDP Network events."""

    urls: dict[str, str] = field(default_factory=dict)
    from_cache: set[str] = field(default_factory=set)
    encodings: dict[str, str] = field(default_factory=dict)
    wire_bytes: dict[str, int] = field(default_factory=dict)

    def on_response(self, event: dict) -> None:
        response = event["response"]
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            self.from_cache.add(event["requestId"])
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        self.encodings[event["requestId"]] = headers.get("content-encoding", "")

    def summary(self, base_url: str) -> dict:
        network = [r for r in self.urls if r not in self.from_cache]
        static = [r for r in network if _is_static(self.urls[r], base_url)]
        return {
            "requests": len(self.urls),
            "network_requests": len(network),
            "static_network_requests": len(static),
            "kib": round(sum(self.wire_bytes.values()) / 1024, 1),
            "static_kib": round(sum(self.wire_bytes.get(r, 0) for r in static) / 1024, 1),
            "encodings": sorted({self.encodings.get(r, "") or "identity" for r in static}),
        }


def _is_static(url: str, base_url: str) -> bool:
    path = url.removeprefix(base_url)
    return path == "/" or path.endswith((".js", ".mjs", ".css", ".html"))


def load(context: BrowserContext, base_url: str, ready: str, conditions: dict) -> dict:
    """Opens `/` in a new page of `context` and returns the traffic and when `ready` held."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    traffic = Traffic()
    cdp.on(
        "Network.requestWillBeSent",
        lambda e: traffic.urls.setdefault(e["requestId"], e["request"]["url"]),
    )
    cdp.on("Network.requestServedFromCache", lambda e: traffic.from_cache.add(e["requestId"]))
    cdp.on("Network.responseReceived", traffic.on_response)
    cdp.on(
        "Network.loadingFinished",
        lambda e: traffic.wire_bytes.__setitem__(e["requestId"], int(e["encodedDataLength"])),
    )
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, **conditions})
    page.goto(base_url + "/", wait_until="commit")
    ready_ms = page.wait_for_function(ready, polling="raf", timeout=60_000).json_value()
    # Everything the page asks for at start (the API calls after the composer shows, too).
    page.wait_for_load_state("networkidle")
    result = {"ready_ms": round(ready_ms), **traffic.summary(base_url)}
    cdp.detach()
    page.close()
    return result


def sign_in(context: BrowserContext, base_url: str, username: str) -> None:
    page = context.new_page()
    page.goto(base_url + "/")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_function(COMPOSER_READY, polling="raf", timeout=30_000)
    page.close()


def measure(browser: Browser, base_url: str, username: str, conditions: dict) -> dict:
    first = browser.new_context(locale="en-US")
    first_visit = load(first, base_url, LOGIN_READY, conditions)
    sign_in(first, base_url, username)
    repeat_visit = load(first, base_url, COMPOSER_READY, conditions)
    # The refresh cookie rotates on every load: the new profile takes the latest one and the
    # old profile is closed, so no stale cookie is ever replayed (that would end the session).
    state = first.storage_state()
    first.close()
    cold = browser.new_context(locale="en-US", storage_state=state)
    signed_in_cold = load(cold, base_url, COMPOSER_READY, conditions)
    cold.close()
    return {
        "first_visit": first_visit,
        "repeat_visit": repeat_visit,
        "signed_in_empty_cache": signed_in_cold,
    }


def median_of(runs: list[dict]) -> dict:
    """Median of each number over the runs; the rest as the first run had it."""
    out: dict = {}
    for key, value in runs[0].items():
        if isinstance(value, dict):
            out[key] = median_of([r[key] for r in runs])
        elif isinstance(value, int | float):
            out[key] = statistics.median(r[key] for r in runs)
        else:
            out[key] = value
    return out


def bench_url(base_url: str, runs: int) -> dict:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        username = register(client, f"ui_{uuid.uuid4().hex[:8]}")
    results: dict = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name, conditions in PROFILES.items():
                results[name] = median_of(
                    [measure(browser, base_url, username, conditions) for _ in range(runs)]
                )
        finally:
            browser.close()
    return results


@contextmanager
def test_host_deployer() -> Iterator[Callable[[str], str]]:
    """A booted test host; the callable deploys a commit with that commit's own playbook (its
    nginx site and roles, not this checkout's) and returns the appliance's URL."""
    # Imported here: only this mode needs root and the test host.
    from scripts.testhost import TestHost

    work = Path(tempfile.mkdtemp(prefix="ui-delivery-"))
    with TestHost.free_slot() as host:
        inventory = host.write_inventory(work / "inventory.ini")

        def deploy(commit: str) -> str:
            tree = work / commit
            tree.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", "--format=tar", commit, "ansible"],
                capture_output=True,
                check=True,
            )
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
            extra_vars = tree / "vars.json"
            extra_vars.write_text(
                json.dumps(
                    {
                        "chatbot_release_source_dir": str(ROOT),
                        "chatbot_release_ref": commit,
                        "chatbot_release_local_dir": str(work / "releases"),
                        "chatbot_model_provider": "demo",
                    }
                )
            )
            log = tree / "playbook.log"
            with log.open("w") as out:
                proc = subprocess.run(
                    [
                        str(Path(sys.executable).parent / "ansible-playbook"),
                        "-i",
                        str(inventory),
                        "-e",
                        f"@{extra_vars}",
                        str(tree / "ansible" / "site.yml"),
                    ],
                    env={**os.environ, "ANSIBLE_CONFIG": str(tree / "ansible" / "ansible.cfg")},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=900,
                    check=False,
                )
            if proc.returncode != 0:
                raise SystemExit(f"deploying {commit} failed; see {log}")
            return f"http://{host.address}"

        yield deploy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="base URL of an appliance already deployed")
    target.add_argument("--refs", nargs="+", help="git refs to deploy to a test host in turn")
    parser.add_argument("--runs", type=int, default=3, help="runs per profile (median kept)")
    args = parser.parse_args()
    if args.url:
        results = bench_url(args.url.rstrip("/"), args.runs)
        emit("ui_delivery", {"url": args.url, "latency_ms": LATENCY_MS, "results": results})
        return
    results = {}
    with test_host_deployer() as deploy:
        for ref in args.refs:
            commit = subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", "--short=12", ref],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            results[f"{ref} ({commit})"] = bench_url(deploy(commit), args.runs)
    emit("ui_delivery", {"latency_ms": LATENCY_MS, "results": results})


if __name__ == "__main__":
    main()
