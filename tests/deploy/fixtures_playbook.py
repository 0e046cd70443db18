"""Fixtures for test_playbook.py: the fake Gemini server on the veth pair, the playbook runner,
and the first deployment of the appliance onto the session's test host.

The conftest's `test_host` boots the host; `deployment` runs the real `ansible-playbook` against
it once per module, with the host's env pointing the Gemini client at the fake server that runs
in this test process, and remembers which release it made live. Every playbook log is kept in
test-artifacts/deploy/.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from scripts.testhost import TestHost
from tests.fakes.fake_gemini import FakeGeminiServer
from tests.helpers.accounts import Account, register_and_login

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "ansible" / "site.yml"
ANSIBLE_CFG = ROOT / "ansible" / "ansible.cfg"
ARTIFACTS = ROOT / "test-artifacts" / "deploy"
PLAYBOOK_TIMEOUT = 600

_RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    seconds: float
    log: Path
    recap: dict[str, int] = field(default_factory=dict)

    def changed_tasks(self) -> list[str]:
        """Names of the tasks that reported a change (for a readable assertion message)."""
        names, current = [], ""
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                current = line.split("[", 1)[1].rsplit("]", 1)[0]
            elif line.startswith("changed:"):
                names.append(current)
        return names


def ansible_playbook() -> Path:
    found = Path(sys.executable).parent / "ansible-playbook"
    if not found.exists():
        pytest.fail("ansible-playbook is not in the venv: `make deploy-deps` installs ansible-core")
    return found


def run_playbook(
    inventory: Path,
    extra_vars: Path,
    name: str,
    *args: str,
    timeout: float = PLAYBOOK_TIMEOUT,
    playbook: Path = PLAYBOOK,
    extra_env: dict[str, str] | None = None,
) -> PlaybookRun:
    """Runs `playbook` (site.yml) the way an operator does and returns its outcome and PLAY
    RECAP (the totals of every host). `extra_env` is for secrets the playbook looks up."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / f"playbook-{name}.log"
    cmd = [str(ansible_playbook()), "-i", str(inventory), "-e", f"@{extra_vars}", *args]
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(Path.home()),
        "LANG": "C.UTF-8",
        "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_SSH_RETRIES": "3",
        **(extra_env or {}),
    }
    start = time.monotonic()
    proc = subprocess.run(
        [*cmd, str(playbook)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.monotonic() - start
    output = proc.stdout + proc.stderr
    log.write_text(f"$ {' '.join(cmd)}\n# {seconds:.1f} s, exit {proc.returncode}\n{output}")
    recap: dict[str, int] = {}
    for match in _RECAP.finditer(proc.stdout):
        for k, v in match.groupdict().items():
            if k != "host":
                recap[k] = recap.get(k, 0) + int(v)
    return PlaybookRun(proc.returncode, output, seconds, log, recap)


def assert_succeeded(run: PlaybookRun) -> None:
    assert run.returncode == 0 and run.recap.get("failed") == 0, (
        f"playbook failed (exit {run.returncode}); log: {run.log}\n{run.output[-4000:]}"
    )


@dataclass
class Deployment:
    host: TestHost
    gemini: FakeGeminiServer
    inventory: Path
    extra_vars: Path
    ref: str
    fresh_check_run: PlaybookRun
    first_run: PlaybookRun
    first_release: str
    base_url: str

    def playbook(self, name: str, *args: str) -> PlaybookRun:
        return run_playbook(self.inventory, self.extra_vars, name, *args)

    def sh(self, cmd: str, *, check: bool = True, timeout: float = 120) -> str:
        """Runs a command as root on the host and returns its stdout."""
        proc = self.host.run(cmd, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{cmd!r} exited {proc.returncode}: {proc.stdout}{proc.stderr}")
        return proc.stdout

    def client(self, timeout: float = 60) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout)

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"{self.base_url}/health", timeout=5)
                if answer.status_code == 200:
                    return
                last = answer.status_code
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.5)
        raise AssertionError(f"/health through nginx not 200 within {timeout} s: {last!r}")


@dataclass(frozen=True)
class User:
    """An account registered through nginx, with one conversation."""

    account: Account
    conversation: str

    @property
    def name(self) -> str:
        return self.account.username

    @property
    def headers(self) -> dict[str, str]:
        return self.account.headers


def new_user(client: httpx.Client, name: str) -> User:
    account = register_and_login(client, name)
    session = client.post("/session", headers=account.headers)
    assert session.status_code in (200, 201), session.text
    assert session.json()["title"] == "Novo Chat"
    return User(account, session.json()["sessionId"])


def changed_release_archive(ref: str, marker: str, dest: Path) -> Path:
    """`git archive` of `ref` plus frontend/release.txt: a release that differs from `ref`'s
    and shows through nginx which one is live."""
    plain = dest.with_suffix("")
    subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(plain), ref], check=True
    )
    extra = dest.parent / "release.txt"
    extra.write_text(marker + "\n")
    with tarfile.open(plain, "a") as tar:
        tar.add(extra, arcname="frontend/release.txt")
    # Shipped gzipped, the usual shape of a CI artifact.
    with plain.open("rb") as src, gzip.open(dest, "wb") as out:
        shutil.copyfileobj(src, out)
    return dest


@pytest.fixture(scope="module")
def gemini(test_host: TestHost) -> Iterator[FakeGeminiServer]:
    # Bound on this machine's end of the veth pair: the deployed app reaches it, nothing else.
    server = FakeGeminiServer(host=test_host.host_side_address).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def deployment(
    test_host: TestHost, gemini: FakeGeminiServer, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    work = tmp_path_factory.mktemp("playbook")
    inventory = test_host.write_inventory(work / "inventory.ini")
    # One commit for the whole module, even if the checkout moves on meanwhile.
    ref = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    extra_vars = work / "vars.json"
    extra_vars.write_text(
        json.dumps(
            {
                "chatbot_release_ref": ref,
                "chatbot_release_local_dir": str(work / "releases"),
                "chatbot_gemini_api_key": "fake-key-for-tests",
                "chatbot_gemini_base_url": gemini.url,
                # Production's default is invite-only; the tests sign people up as they go.
                "chatbot_signup_policy": "open",
                # The redeploy test keeps one user chatting for a while, and every test logs
                # in from the same address: only nginx's own limits stay in force.
                "chatbot_env_extra": {
                    "CHAT_RATE_PER_MINUTE": "100000",
                    "DAILY_MESSAGE_QUOTA": "100000",
                    "LOGIN_RATE_PER_MINUTE": "100000",
                    "REGISTER_RATE_PER_HOUR": "100000",
                    # An invented name: the service must say it ignores it (and only it).
                    "RATE_LIMIT_CHAT": "30/minute",
                },
            }
        )
    )
    # --check --diff on the untouched host first: what an operator runs before the first deploy.
    fresh_check = run_playbook(inventory, extra_vars, "0-check-fresh", "--check", "--diff")
    first = run_playbook(inventory, extra_vars, "1-first")
    assert_succeeded(first)
    current = test_host.run("readlink /opt/chatbot/current", timeout=60)
    assert current.returncode == 0, current.stdout + current.stderr
    return Deployment(
        host=test_host,
        gemini=gemini,
        inventory=inventory,
        extra_vars=extra_vars,
        ref=ref,
        fresh_check_run=fresh_check,
        first_run=first,
        first_release=Path(current.stdout.strip()).name,
        base_url=f"http://{test_host.address}",
    )
