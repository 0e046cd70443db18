"""Several app hosts behind a load balancer on PostgreSQL (issue 13), on real booted hosts.

Three Debian 12 test hosts: one PostgreSQL server (tests/deploy/ansible/testdb.yml, standing
in for RDS) and two app hosts deployed by the real ansible/site.yml, behind HAProxy on
127.0.0.1 that stands in for the ALB (health check GET /ready, names the host that answered
in X-Served-By). The module is one story, run in order: the first deploy migrates once; both
hosts share one SECRET_KEY and the database; a chat load is spread over both; a rolling
redeploy under that load fails no request and loses no turn; one app host is powered off
under load and the other carries on. `make test-multihost`; `make test-deploy` leaves it out.

Traffic goes only to 127.0.0.1 and the test hosts' addresses; every loop is bounded.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import secrets
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from scripts.testhost import TestHost
from tests.deploy.conftest import require_test_hosts
from tests.deploy.fixtures_playbook import (
    ARTIFACTS,
    ROOT,
    PlaybookRun,
    User,
    assert_succeeded,
    changed_release_archive,
    new_user,
    run_playbook,
)
from tests.fakes.fake_gemini import Behavior, FakeGeminiServer
from tests.helpers.accounts import login

pytestmark = [pytest.mark.slow, pytest.mark.multihost]

TESTDB_PLAYBOOK = ROOT / "tests" / "deploy" / "ansible" / "testdb.yml"
PG_LOG = "/var/log/postgresql/postgresql-15-main.log"
# The balancer's health check; the playbook is told the same (chatbot_lb_*).
CHECK_INTERVAL, FALL, RISE = 1, 2, 2
CLIENTS = 4
# A turn cut by the loss of its host holds its conversation until that host's worker stops
# (its power-off: up to scripts/testhost's 30 s) or the turn's lease lapses (30 s after).
LOST_TURN_WAIT = 90.0
# scripts/testhost's slots. A host that is powered off takes its veth and its /30 route with it:
# without this route, packets still sent to its address (the balancer's, before its health
# check notices) would follow the default route off this machine.
TEST_NETWORK = "10.231.0.0/24"

METRICS: dict[str, object] = {}


# ----- the load balancer


class HAProxy:
    """Debian's HAProxy on 127.0.0.1 in front of the app hosts' nginx (port 80)."""

    def __init__(self, apps: list[TestHost], workdir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.stats_socket = workdir / "haproxy.sock"
        self.config = workdir / "haproxy.cfg"
        self.log = ARTIFACTS / "haproxy.log"
        servers = "\n".join(f"    server {a.name} {a.address}:80 check" for a in apps)
        # retries/redispatch: a connection refused by a host going down is tried on the other,
        # as the ALB does not do; the clients below therefore also retry once (as a browser
        # reload would). No shutdown-sessions: a host marked down finishes its streams.
        self.config.write_text(
            f"""global
    stats socket {self.stats_socket} mode 600 level admin
    maxconn 256

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout tunnel 3600s
    retries 2
    option redispatch
    option forwardfor

frontend chat
    bind 127.0.0.1:{self.port}
    default_backend apps

backend apps
    balance roundrobin
    option httpchk
    http-check send meth GET uri /ready ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter {CHECK_INTERVAL}s fall {FALL} rise {RISE}
    http-response set-header X-Served-By %[srv_name]
{servers}
"""
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> HAProxy:
        check = subprocess.run(["haproxy", "-c", "-f", str(self.config)], capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(
                ["haproxy", "-db", "-f", str(self.config)], stdout=out, stderr=out
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return self
            time.sleep(0.1)
        raise AssertionError(f"HAProxy not listening on {self.port}: {self.log.read_text()}")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)

    def server_status(self) -> dict[str, str]:
        """Server name -> UP / DOWN / ... from the stats socket's `show stat`."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(self.stats_socket))
            s.sendall(b"show stat\n")
            raw = b""
            while chunk := s.recv(65536):
                raw += chunk
        rows = csv.DictReader(io.StringIO(raw.decode().lstrip("# ")))
        return {
            r["svname"]: r["status"]
            for r in rows
            if r["pxname"] == "apps" and r["svname"] not in ("BACKEND", "FRONTEND")
        }

    def wait_status(self, wanted: dict[str, str], timeout: float = 30) -> None:
        deadline, seen = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            seen = self.server_status()
            if all(seen.get(k, "").startswith(v) for k, v in wanted.items()):
                return
            time.sleep(0.2)
        raise AssertionError(f"HAProxy servers {seen}, wanted {wanted}")


# ----- the cluster


@dataclass
class Cluster:
    db: TestHost
    apps: list[TestHost]
    gemini: FakeGeminiServer
    lb: HAProxy
    inventory: Path
    extra_vars: Path
    env: dict[str, str]
    ref: str
    first_run: PlaybookRun
    users: list[User] = field(default_factory=list)

    def playbook(self, name: str, *args: str) -> PlaybookRun:
        return run_playbook(self.inventory, self.extra_vars, name, *args, extra_env=self.env)

    def sh(self, host: TestHost, cmd: str) -> str:
        proc = host.run(cmd, timeout=60)
        assert proc.returncode == 0, f"{host.name}: {cmd!r}: {proc.stdout}{proc.stderr}"
        return proc.stdout

    def schema_creations(self) -> int:
        """How often the app's schema was created: PostgreSQL logs each DDL statement."""
        log = self.sh(self.db, f"cat {PG_LOG}")
        return len(re.findall(r"statement: \s*CREATE TABLE users\b", log))


def _keep_test_network_local(stack: contextlib.ExitStack) -> None:
    """An `unreachable` route for the whole test network, below the hosts' own /30 routes:
    a live host is reached as before, a powered-off one answers "no route to host" at once."""
    show = ["ip", "route", "show", "type", "unreachable", TEST_NETWORK]
    if subprocess.run(show, capture_output=True, text=True, check=True).stdout.strip():
        return  # someone else's guard: leave it
    subprocess.run(["ip", "route", "add", "unreachable", TEST_NETWORK], check=True)
    stack.callback(subprocess.run, ["ip", "route", "del", "unreachable", TEST_NETWORK], check=False)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_test_hosts()
    work = tmp_path_factory.mktemp("multihost")
    start = time.monotonic()
    with contextlib.ExitStack() as stack:
        _keep_test_network_local(stack)
        # Each free_slot() claims its own name and /30 before the next one looks.
        db, app1, app2 = (stack.enter_context(TestHost.free_slot()) for _ in range(3))
        apps = [app1, app2]
        METRICS["boot_seconds"] = round(time.monotonic() - start, 1)
        # On app1's end of its veth; app2 reaches it through this machine too.
        gemini = FakeGeminiServer(host=app1.host_side_address).start()
        stack.callback(gemini.stop)
        # Half the turns stream: a few chunks apart, so streams are in flight at any moment.
        gemini.fake.default = Behavior(chunk_delay=0.05, words_per_chunk=2)

        inventory = work / "inventory.ini"
        inventory.write_text(
            "[chatbot]\n"
            + "".join(f"{a.inventory_line()}\n" for a in apps)
            + f"[testdb]\n{db.inventory_line()}\n"
        )
        password = secrets.token_urlsafe(24)
        ref = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        extra_vars = work / "vars.json"
        extra_vars.write_text(
            json.dumps(
                {
                    "postgres_testdb_password": password,
                    "chatbot_release_ref": ref,
                    "chatbot_release_local_dir": str(work / "releases"),
                    "chatbot_gemini_api_key": "fake-key-for-tests",
                    "chatbot_gemini_base_url": gemini.url,
                    "chatbot_database_host": db.address,
                    "chatbot_database_sslmode": "disable",
                    "chatbot_lb_health_check_interval": CHECK_INTERVAL,
                    "chatbot_lb_unhealthy_threshold": FALL,
                    "chatbot_lb_healthy_threshold": RISE,
                    "chatbot_drain_timeout": 30,
                    # Production's default is invite-only; the load signs people up.
                    "chatbot_signup_policy": "open",
                    # HAProxy connects from this machine's end of each host's veth.
                    "nginx_chatbot_trusted_proxies": [f"{a.host_side_address}/32" for a in apps],
                    "chatbot_env_extra": {
                        "CHAT_RATE_PER_MINUTE": "100000",
                        "DAILY_MESSAGE_QUOTA": "100000",
                        "LOGIN_RATE_PER_MINUTE": "100000",
                        "REGISTER_RATE_PER_HOUR": "100000",
                    },
                }
            )
        )
        # The secrets the way a provisioning script hands them over (group_vars reads both).
        env = {
            "CHATBOT_DATABASE_PASSWORD": password,
            "CHATBOT_SECRET_KEY": secrets.token_urlsafe(48),
        }
        t = time.monotonic()
        testdb = run_playbook(
            inventory, extra_vars, "mh-0-testdb", playbook=TESTDB_PLAYBOOK, extra_env=env
        )
        assert_succeeded(testdb)
        METRICS["testdb_playbook_seconds"] = round(time.monotonic() - t, 1)

        lb = HAProxy(apps, work).start()
        stack.callback(lb.stop)
        first = run_playbook(inventory, extra_vars, "mh-1-first", extra_env=env)
        assert_succeeded(first)
        METRICS["first_deploy_seconds"] = round(first.seconds, 1)
        cluster = Cluster(db, apps, gemini, lb, inventory, extra_vars, env, ref, first)
        yield cluster
    METRICS["module_seconds"] = round(time.monotonic() - start, 1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "multihost-measurements.json").write_text(json.dumps(METRICS, indent=2))


# ----- the chat load


@dataclass
class ChatClient:
    """One user chatting through the balancer: alternately /chat and /chat/stream, reading
    the conversation now and then. Retries a request once on a connection failure or a
    balancer error (502/503/504), as a browser's reload would; anything else is a failure."""

    user: User
    base_url: str
    acknowledged: list[str] = field(default_factory=list)
    failures: list[tuple[str, object]] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    served_by: Counter[str] = field(default_factory=Counter)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    requests: int = 0
    # Losing a host mid-turn: the retried turn finds the conversation still held by the
    # lost turn (409) until that host's worker stops or its lease lapses. With `patient`,
    # the client waits that out (at most LOST_TURN_WAIT), as the UI does by re-attaching.
    patient: bool = False
    waited_for_lost_turn: list[float] = field(default_factory=list)

    def _send(self, http: httpx.Client, method: str, path: str, body: dict | None) -> str | None:
        """The response text of a complete 200, else None (recorded as a failure)."""
        stream = path == "/chat/stream"
        attempt, held_since = 0, None
        while attempt < 2:
            attempt += 1
            try:
                with http.stream(method, path, headers=self.user.headers, json=body) as r:
                    text = r.read().decode()
            except httpx.TransportError as exc:
                outcome: object = type(exc).__name__
            else:
                self.requests += 1
                server = r.headers.get("x-served-by", "?")
                self.served_by[server] += 1
                self.timeline.append((time.monotonic(), server))
                if r.status_code == 200 and (not stream or "event: done" in text):
                    if held_since is not None:
                        self.waited_for_lost_turn.append(time.monotonic() - held_since)
                    return text
                outcome = (r.status_code, text[-200:])
                if r.status_code == 409 and attempt == 2 and self.patient:
                    held_since = held_since or time.monotonic()
                    if time.monotonic() - held_since < LOST_TURN_WAIT:
                        time.sleep(1)
                        attempt = 1  # the retry is still to come, once it is free
                        continue
                # A balancer error or a cut stream is what a reload would retry; an answer
                # of the app itself (4xx, 500) is final.
                if r.status_code not in (200, 502, 503, 504):
                    break
            if attempt == 1 and held_since is None:
                self.retried.append(f"{method} {path}: {outcome}")
        self.failures.append((f"{method} {path}", outcome))
        return None

    def run(self, stop: threading.Event, max_turns: int, seconds: float, tag: str) -> None:
        deadline = time.monotonic() + seconds
        conv = self.user.conversation
        with httpx.Client(base_url=self.base_url, timeout=60) as http:
            for i in range(max_turns):
                if stop.is_set() or time.monotonic() > deadline:
                    break
                message = f"{tag} {self.user.name} turn {i}"
                path = "/chat/stream" if i % 2 else "/chat"
                if self._send(http, "POST", path, {"conversationId": conv, "message": message}):
                    self.acknowledged.append(message)
                if i % 3 == 2:
                    self._send(http, "GET", f"/conversations/{conv}/messages?limit=5", None)
                # A person's pace, sped up: enough to keep turns in flight on both hosts at
                # every moment without taking the deploy's CPU on this 2-core machine.
                time.sleep(0.3)


class Load:
    """CLIENTS users chatting at once, bounded by turns and seconds, stopped on demand."""

    def __init__(
        self, cluster: Cluster, tag: str, max_turns: int, seconds: float, *, patient: bool = False
    ) -> None:
        self.clients = [ChatClient(u, cluster.lb.url, patient=patient) for u in cluster.users]
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=c.run, args=(self.stop, max_turns, seconds, tag), daemon=True)
            for c in self.clients
        ]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in self.threads), "a client did not stop"

    def wait(self, timeout: float) -> None:
        for t in self.threads:
            t.join(timeout=timeout)

    @property
    def failures(self) -> list[tuple[str, object]]:
        return [f for c in self.clients for f in c.failures]

    @property
    def served_by(self) -> Counter[str]:
        return sum((c.served_by for c in self.clients), Counter())

    def summary(self) -> dict[str, object]:
        return {
            "requests": sum(c.requests for c in self.clients),
            "turns": sum(len(c.acknowledged) for c in self.clients),
            "retried": sum(len(c.retried) for c in self.clients),
            "served_by": dict(self.served_by),
        }


def all_messages(http: httpx.Client, user: User) -> list[tuple[str, str]]:
    """The whole conversation, oldest first, paged back with `before` (at most 50 pages)."""
    pages: list[list[tuple[str, str]]] = []
    before = ""
    for _ in range(50):
        answer = http.get(
            f"/conversations/{user.conversation}/messages?limit=500{before}", headers=user.headers
        )
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        if not items:
            break
        pages.insert(0, [(m["role"], m["content"]) for m in items])
        before = f"&before={items[0]['id']}"
    return [m for page in pages for m in page]


def assert_every_turn_saved(cluster: Cluster, load: Load) -> None:
    """Every turn a client got an answer for is in its conversation, with that answer after
    it; a retried turn may be there twice (its first try was saved but its answer lost)."""
    with httpx.Client(base_url=cluster.lb.url, timeout=60) as http:
        for client in load.clients:
            saved = all_messages(http, client.user)
            asked = Counter(content for role, content in saved if role == "user")
            for message in client.acknowledged:
                assert asked[message] >= 1, f"{client.user.name}: lost turn {message!r}"
                at = saved.index(("user", message))
                assert saved[at + 1][0] == "ai" and message in saved[at + 1][1], saved[at : at + 2]
            doubled = {m for m, n in asked.items() if n > 1}
            assert len(doubled) <= len(client.retried), (doubled, client.retried)


def chat_requests_logged(cluster: Cluster, host: TestHost) -> int:
    return int(cluster.sh(host, "grep -c 'POST /chat' /var/log/nginx/access.log || true"))


def service_cpu_ns(cluster: Cluster, host: TestHost) -> int:
    out = cluster.sh(host, "systemctl show -p CPUUsageNSec --value chatbot.service").strip()
    return int(out) if out.isdigit() else 0


def task_results(run: PlaybookRun, task: str) -> dict[str, str]:
    """host -> ok / changed / skipping for one task of a playbook run's output."""
    results: dict[str, str] = {}
    current = None
    for line in run.output.splitlines():
        if line.startswith("TASK ["):
            current = line.split("[", 1)[1].rsplit("]", 1)[0]
        elif current == task and (m := re.match(r"^(ok|changed|skipping): \[([^\]]+)\]", line)):
            results[m[2].split(".")[0]] = m[1]
    return results


# ----- the story


def test_first_deploy_migrates_once_from_the_first_host(cluster: Cluster) -> None:
    app1, app2 = (a.name for a in cluster.apps)
    migrate = task_results(
        cluster.first_run, "chatbot : Migrate the database to the release's schema"
    )
    assert migrate == {app1: "changed", app2: "skipping"}, migrate
    assert cluster.schema_creations() == 1
    for secret in cluster.env.values():
        assert secret not in cluster.first_run.output, "a secret leaked into the playbook log"
    for app in cluster.apps:
        env = cluster.sh(app, "cat /etc/chatbot/chatbot.env")
        assert "DATABASE_URL='postgresql+psycopg://chatbot:" in env
        assert f"@{cluster.db.address}:5432/chatbot?sslmode=disable'" in env
        # The database's backups apply: no SQLite timer on a PostgreSQL host.
        assert cluster.sh(app, "ls /etc/systemd/system").count("chatbot-backup") == 0
    cluster.lb.wait_status({a.name: "UP" for a in cluster.apps})


def test_every_host_accepts_the_tokens_of_the_others(cluster: Cluster) -> None:
    keys = {
        cluster.sh(a, "grep ^SECRET_KEY= /etc/chatbot/chatbot.env").strip() for a in cluster.apps
    }
    assert len(keys) == 1 and f"SECRET_KEY='{cluster.env['CHATBOT_SECRET_KEY']}'" in keys
    with httpx.Client(base_url=cluster.lb.url, timeout=60) as http:
        cluster.users = [new_user(http, f"user{i}") for i in range(CLIENTS)]
    # A token from whichever host answered the login works on each host directly.
    for app in cluster.apps:
        me = httpx.get(f"http://{app.address}/me", headers=cluster.users[0].headers, timeout=30)
        assert me.status_code == 200 and me.json()["username"] == "user0", (app.name, me.text)


def test_a_chat_load_is_spread_over_both_hosts(cluster: Cluster) -> None:
    before = {a.name: chat_requests_logged(cluster, a) for a in cluster.apps}
    cpu_before = {a.name: service_cpu_ns(cluster, a) for a in cluster.apps}
    with Load(cluster, "spread", max_turns=12, seconds=60) as load:
        load.wait(timeout=90)
    assert load.failures == []
    # For docs/scaling.md: the service's CPU (all its workers) per request it served.
    METRICS["service_cpu_ms_per_request"] = {
        a.name: round(
            (service_cpu_ns(cluster, a) - cpu_before[a.name]) / 1e6 / load.served_by[a.name], 1
        )
        for a in cluster.apps
    }
    served = load.served_by
    total = sum(served.values())
    for app in cluster.apps:
        assert served[app.name] >= total // 4, served  # roundrobin: about half each
        # ... and each host's own nginx saw its share of the chat turns.
        after = chat_requests_logged(cluster, app)
        assert after - before[app.name] >= 5, (app.name, before, after)
    assert_every_turn_saved(cluster, load)
    METRICS["spread"] = load.summary()


def test_rolling_redeploy_under_load_fails_no_request_and_loses_no_turn(
    cluster: Cluster, tmp_path: Path
) -> None:
    marker = f"release-{time.time_ns()}"
    archive = changed_release_archive(cluster.ref, marker, tmp_path / "release.tar.gz")
    lb_log_start = len(cluster.lb.log.read_text().splitlines())
    with Load(cluster, "rolling", max_turns=2000, seconds=300) as load:
        time.sleep(2)  # the clients are chatting before the deploy starts
        run = cluster.playbook("mh-2-rolling", "-e", f"chatbot_release_archive={archive}")
        time.sleep(2)  # ... and go on on the new release for a moment
    assert_succeeded(run)
    METRICS["rolling_deploy_seconds"] = round(run.seconds, 1)
    METRICS["rolling"] = load.summary()

    assert load.failures == [], f"requests failed during the rolling deploy: {load.failures[:10]}"
    assert all(len(c.acknowledged) >= 10 for c in load.clients), load.summary()
    assert_every_turn_saved(cluster, load)

    # One host at a time: the first is back in the balancer before the second is drained.
    app1, app2 = (a.name for a in cluster.apps)
    drain = "chatbot : Take the host out of the load balancer"
    assert task_results(run, drain) == {app1: "changed", app2: "changed"}
    drains = [m.start() for m in re.finditer(re.escape(f"TASK [{drain}]"), run.output)]
    rejoin = run.output.index("TASK [chatbot : Wait until the load balancer sends traffic")
    assert len(drains) == 2 and drains[0] < rejoin < drains[1]
    assert set(load.served_by) == {app1, app2}
    cluster.lb.wait_status({app1: "UP", app2: "UP"})
    # The balancer's view: each host went down on its 503 and came back, in turn, and there was
    # always a server left ("1 active ... left", never "0 active").
    changes = re.findall(
        r"Server apps/(\S+) is (UP|DOWN), reason: ([^,]+).*?(\d+) active",
        "\n".join(cluster.lb.log.read_text().splitlines()[lb_log_start:]),
    )
    assert [(h, state) for h, state, _, _ in changes] == [
        (app1, "DOWN"),
        (app1, "UP"),
        (app2, "DOWN"),
        (app2, "UP"),
    ], changes
    assert all(int(active) >= 1 for *_, active in changes), changes
    assert "code: 503" in cluster.lb.log.read_text()

    # No new revision in this release: the first host ran migrate and found nothing to do.
    migrate = task_results(run, "chatbot : Migrate the database to the release's schema")
    assert migrate == {app1: "ok", app2: "skipping"}, migrate
    assert cluster.schema_creations() == 1
    for app in cluster.apps:
        assert httpx.get(f"http://{app.address}/release.txt", timeout=30).text.strip() == marker
        release = cluster.sh(app, "readlink /opt/chatbot/current").strip()
        assert Path(release).name.startswith("archive-"), release


def test_losing_an_app_host_under_load(cluster: Cluster) -> None:
    survivor, lost = cluster.apps
    with Load(cluster, "loss", max_turns=2000, seconds=120, patient=True) as load:
        time.sleep(3)
        lost_at = time.monotonic()
        lost.down(keep=True)  # power off (systemd stops nginx and gunicorn as it goes)
        METRICS["power_off_seconds"] = round(time.monotonic() - lost_at, 1)
        cluster.lb.wait_status({lost.name: "DOWN", survivor.name: "UP"}, timeout=30)
        marked_down = time.monotonic()
        time.sleep(5)  # the survivor carries the whole load
    METRICS["loss"] = load.summary()
    waits = [w for c in load.clients for w in c.waited_for_lost_turn]
    METRICS["loss_waited_for_lost_turns_seconds"] = [round(w, 1) for w in waits]
    assert load.failures == [], f"failed after one retry: {load.failures[:10]}"
    assert_every_turn_saved(cluster, load)
    after = [s for c in load.clients for t, s in c.timeline if t > marked_down]
    assert after and set(after) == {survivor.name}, Counter(after)
    # The balancer found the lost host unreachable (not some other machine answering for it).
    assert re.search(
        rf"Server apps/{lost.name} is DOWN, reason: Layer4", cluster.lb.log.read_text()
    )
    # Logging in still works: every account lives in the shared database.
    with httpx.Client(base_url=cluster.lb.url, timeout=60) as http:
        assert login(http, cluster.users[0].name)
