"""The real playbook (ansible/site.yml) against a booted Debian 12 host.

One deployment per module (fixture `deployment`). What several tests need is a module-scoped
fixture too — `alice` (a user with a conversation), `redeploy` (a changed release deployed under
load) — so any test can run alone. Run in file order they tell one story: the appliance serves,
a second run changes nothing, a changed release goes live under load without a failed request,
backups restore, a rollback is one variable, and the service comes back after the host is
powered off and booted again.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.deploy.fixtures_playbook import (
    ARTIFACTS,
    Deployment,
    PlaybookRun,
    User,
    assert_succeeded,
    changed_release_archive,
    deployment,
    gemini,
    new_user,
)
from tests.fakes.fake_gemini import Behavior
from tests.helpers.accounts import PASSWORD, login, registration

__all__ = ["deployment", "gemini"]  # fixtures, imported for pytest

pytestmark = pytest.mark.slow

# Highest `systemd-analyze security` exposure accepted for the units (the bound).
MAX_EXPOSURE = 2.5


@pytest.fixture(scope="module")
def metrics() -> Iterator[dict[str, object]]:
    """What the tests measured; written to test-artifacts/deploy/measurements.json at the end."""
    measured: dict[str, object] = {}
    yield measured
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "measurements.json").write_text(json.dumps(measured, indent=2, sort_keys=True))


@pytest.fixture(scope="module")
def alice(deployment: Deployment) -> User:
    """A user whose conversation holds two exchanges: data the redeploy and the restore keep."""
    with deployment.client() as client:
        user = new_user(client, "alice")
        for message in ("Hello", "How are you?"):
            body = {"conversationId": user.conversation, "message": message}
            answer = client.post("/chat", headers=user.headers, json=body)
            assert answer.status_code == 200, answer.text
    return user


def test_check_diff_on_a_fresh_host_shows_the_changes(deployment: Deployment) -> None:
    run = deployment.fresh_check_run
    assert_succeeded(run)
    assert run.recap["changed"] > 0
    assert "+++ after: " in run.output, f"no diff shown ({run.log})"
    # The env file's diff is hidden (no_log): no secret shows anywhere.
    assert "fake-key-for-tests" not in run.output, f"a secret leaked into {run.log}"


def test_first_run_deploys_everything(deployment: Deployment, metrics: dict) -> None:
    run = deployment.first_run
    assert run.recap["changed"] > 0
    metrics["first_run_seconds"] = round(run.seconds, 1)
    release = deployment.sh("readlink /opt/chatbot/current").strip()
    assert release == f"/opt/chatbot/releases/{deployment.ref[:12]}"
    print(f"first run: {run.seconds:.1f} s, changed={run.recap['changed']}")


def test_service_active_enabled_and_socket_activated(deployment: Deployment) -> None:
    sh = deployment.sh
    for unit in ("chatbot.socket", "chatbot.service", "chatbot-backup.timer", "nginx.service"):
        assert sh(f"systemctl is-active {unit}").strip() == "active", unit
        assert sh(f"systemctl is-enabled {unit}").strip() == "enabled", unit
    assert sh("systemctl show -p TriggeredBy --value chatbot.service").strip() == "chatbot.socket"
    # gunicorn took the socket systemd listens on rather than binding its own.
    listeners = sh("ss -xlpn src /run/chatbot/chatbot.sock")
    assert '"systemd"' in listeners and "gunicorn" in listeners, listeners
    # Stopped service + open socket: the next request through nginx starts it again.
    sh("systemctl stop chatbot.service")
    assert sh("systemctl is-active chatbot.socket").strip() == "active"
    answer = httpx.get(f"{deployment.base_url}/health", timeout=60)
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert sh("systemctl is-active chatbot.service").strip() == "active"


def test_the_service_warns_about_an_unknown_setting_of_its_env_file(
    deployment: Deployment,
) -> None:
    """The env file is root's (0600) and the service can't read it; it still names the one
    invented setting the deployment put there, and nothing systemd added."""
    journal = deployment.sh("journalctl -u chatbot.service -b --no-pager -o cat")
    warnings = {
        line[line.index("unknown setting") :]
        for line in journal.splitlines()
        if "unknown setting" in line
    }
    assert warnings == {
        "unknown setting RATE_LIMIT_CHAT in /etc/chatbot/chatbot.env is ignored: "
        "did you mean CHAT_RATE_PER_MINUTE?"
    }, journal[-3000:]


def test_nginx_serves_the_ui_at_root(deployment: Deployment) -> None:
    with deployment.client() as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<script" in page.text and 'type="module"' in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["referrer-policy"]
        # Browsers refuse ES modules of any other type (nginx 1.22 doesn't know .mjs).
        modules = deployment.sh("cd /opt/chatbot/current/frontend && ls vendor/*/*.*js")
        assert modules.split()
        for module in modules.split():
            asset = client.get(f"/assets/{deployment.first_release}/{module}")
            assert asset.status_code == 200, module
            assert asset.headers["content-type"] == "application/javascript", module
        # Compressed for clients that ask.
        script = client.get("/js/main.js", headers={"Accept-Encoding": "gzip"})
        assert script.status_code == 200 and script.headers.get("content-encoding") == "gzip"
        # API paths reach the app; its answers are JSON.
        assert client.get("/ready").json()["status"] == "ready"
        assert client.get("/openapi.json").status_code == 200


IMMUTABLE = "public, max-age=31536000, immutable"
# A relative href/src of index.html (not a fragment, not a data: or other scheme's URL).
_PAGE_URL = re.compile(r'\s(?:href|src)="([^"]+)"')


def _raw(client: httpx.Client, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """GET without decoding the body: the bytes as they came over the wire."""
    request = client.build_request("GET", path, headers=headers)
    answer = client.send(request, stream=True)
    try:
        return answer, b"".join(answer.iter_raw())
    finally:
        answer.close()


def test_ui_files_are_compressed_and_cached_by_release(deployment: Deployment) -> None:
    release = deployment.first_release
    prefix = f"/assets/{release}/"
    with deployment.client() as client:
        page, _ = _raw(client, "/", **{"Accept-Encoding": "gzip"})
        html = client.get("/").text
        # index.html: revalidated on every load, and a 304 when it has not changed.
        assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
        assert page.headers["cache-control"] == "no-cache"
        etag = page.headers["etag"]
        unchanged = client.get("/", headers={"If-None-Match": etag, "Accept-Encoding": "gzip"})
        assert unchanged.status_code == 304, unchanged.headers
        assert client.get("/", headers={"If-None-Match": '"other"'}).status_code == 200

        # Every file the page names is under its release's prefix; nothing relative is left.
        named = [u for u in _PAGE_URL.findall(html) if not u.startswith(("#", "data:"))]
        assert any(u.endswith("/js/main.js") for u in named), named
        assert all(u.startswith(prefix) for u in named), named
        # ... and so are the files main.js imports relatively: the app's and the vendored ones.
        imported = [f"{prefix}js/markdown.js", f"{prefix}vendor/dompurify/purify.min.mjs"]
        for path in [*named, *imported]:
            file = f"/opt/chatbot/releases/{release}/frontend/{path.removeprefix(prefix)}"
            on_disk = int(deployment.sh(f"stat -c %s {file}"))
            for encoding in ("gzip", "br"):
                answer, body = _raw(client, path, **{"Accept-Encoding": encoding})
                assert answer.status_code == 200, path
                assert answer.headers["cache-control"] == IMMUTABLE, path
                assert answer.headers.get("content-encoding") == encoding, (path, answer.headers)
                assert "accept-encoding" in answer.headers["vary"].lower(), path
                assert len(body) < on_disk, (path, encoding, len(body), on_disk)
                # The static UI's security headers come along.
                assert "default-src 'self'" in answer.headers["content-security-policy"], path
        # To a client that takes no encoding the file as it is; gzip decodes to the same bytes.
        plain, plain_body = _raw(client, f"{prefix}js/main.js", **{"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        _, zipped_body = _raw(client, f"{prefix}js/main.js", **{"Accept-Encoding": "gzip"})
        assert gzip.decompress(zipped_body) == plain_body

        # Neither a file nor a release that doesn't exist is cached.
        for missing in (f"{prefix}js/nope.js", "/assets/no-such-release/js/main.js"):
            answer = client.get(missing)
            assert answer.status_code == 404, missing
            assert answer.headers.get("cache-control") != IMMUTABLE


def test_event_stream_is_never_compressed(deployment: Deployment, alice: User) -> None:
    deployment.gemini.fake.push(Behavior(text="one two three"))
    with (
        deployment.client() as client,
        client.stream(
            "POST",
            "/chat/stream",
            headers={**alice.headers, "Accept-Encoding": "gzip, deflate, br"},
            json={"conversationId": alice.conversation, "message": "Compressed?"},
        ) as answer,
    ):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in answer.headers
        assert b"event: done" in b"".join(answer.iter_raw())


def test_register_login_session_and_chat_through_nginx(deployment: Deployment) -> None:
    deployment.gemini.fake.push(Behavior(text="Hello from the fake Gemini."))
    with deployment.client() as client:
        erin = new_user(client, "erin")
        chat = client.post(
            "/chat",
            headers=erin.headers,
            json={"conversationId": erin.conversation, "message": "Hi there"},
        )
        assert chat.status_code == 200, chat.text
        assert chat.json() == {"answer": "Hello from the fake Gemini."}
        # The host's env points the app at the fake, with the configured key.
        recorded = deployment.gemini.fake.requests[-1]
        assert recorded.api_key == "fake-key-for-tests"
        assert recorded.texts[-1] == "Hi there"


def test_stream_events_arrive_before_the_answer_is_finished(
    deployment: Deployment, alice: User, metrics: dict
) -> None:
    fake = deployment.gemini.fake
    words = [f"word{i}" for i in range(12)]
    fake.push(Behavior(text=" ".join(words), chunk_delay=0.3))
    finished_before = fake.finished_streams
    start = time.monotonic()
    events: list[tuple[str, float, bool]] = []
    # httpx asks for gzip: the stream must still arrive piece by piece.
    with (
        deployment.client() as client,
        client.stream(
            "POST",
            "/chat/stream",
            headers=alice.headers,
            json={"conversationId": alice.conversation, "message": "Stream, please"},
        ) as answer,
    ):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in answer.headers
        for line in answer.iter_lines():
            if line.startswith("event: "):
                # Whether the fake had finished producing the answer when this event arrived.
                done = fake.finished_streams > finished_before  # POST /chat streams too
                events.append((line[7:], time.monotonic() - start, done))
    kinds = Counter(kind for kind, _, _ in events)
    assert kinds["done"] == 1 and kinds["token"] >= 2, events
    first_token = next(e for e in events if e[0] == "token")
    assert fake.finished_streams == finished_before + 1
    # The fake needs 11 × 0.3 s for the whole answer; the first event came long before.
    assert not first_token[2], f"first token only after the answer was complete: {events}"
    assert first_token[1] < events[-1][1] - 2.0, events
    metrics["stream_first_token_seconds"] = round(first_token[1], 2)
    metrics["stream_done_seconds"] = round(events[-1][1], 2)


def test_answers_in_flight_finish_across_systemctl_restart(
    deployment: Deployment, alice: User, metrics: dict
) -> None:
    """`systemctl restart` while answers stream: each worker lets its answers finish (they
    are a few seconds from the end, well inside the shutdown grace), so every one completes,
    arrives whole and is stored as done."""
    fake = deployment.gemini.fake
    in_flight = 6
    text = " ".join(f"part{i}" for i in range(10))
    fake.push(*[Behavior(text=text, chunk_delay=0.4) for _ in range(in_flight)])  # ~4 s each
    with deployment.client() as client:
        conversations = []
        for _ in range(in_flight):
            session = client.post("/session", headers=alice.headers)
            assert session.status_code == 201, session.text
            conversations.append(session.json()["sessionId"])
    streaming = [threading.Event() for _ in range(in_flight)]
    received: list[list[str]] = [[] for _ in range(in_flight)]

    def follow(i: int) -> None:
        body = {"conversationId": conversations[i], "message": f"Restart me {i}"}
        with (
            deployment.client() as client,
            client.stream("POST", "/chat/stream", headers=alice.headers, json=body) as answer,
        ):
            for line in answer.iter_lines():
                if line.startswith("event: "):
                    received[i].append(line[7:])
                    if line == "event: token":
                        streaming[i].set()

    threads = [threading.Thread(target=follow, args=(i,), daemon=True) for i in range(in_flight)]
    for thread in threads:
        thread.start()
    for event in streaming:
        assert event.wait(30), "an answer never started streaming"
    started = time.monotonic()
    deployment.sh("systemctl restart chatbot.service", timeout=120)
    restart_seconds = time.monotonic() - started
    for thread in threads:
        thread.join(60)
    deployment.wait_healthy()

    completed = 0
    with deployment.client() as client:
        for i, conversation in enumerate(conversations):
            listed = client.get(f"/conversations/{conversation}/messages", headers=alice.headers)
            assert listed.status_code == 200, listed.text
            answer = listed.json()["items"][-1]
            if answer["state"] == "done" and answer["content"] == text and "done" in received[i]:
                completed += 1
    metrics["restart_in_flight_answers_completed"] = f"{completed}/{in_flight}"
    metrics["restart_with_answers_in_flight_seconds"] = round(restart_seconds, 1)
    assert completed == in_flight, (received, completed)


def test_second_run_changes_nothing(deployment: Deployment, metrics: dict) -> None:
    run = deployment.playbook("2-second")
    assert_succeeded(run)
    assert run.recap["changed"] == 0, f"changed: {run.changed_tasks()} (log: {run.log})"
    metrics["second_run_seconds"] = round(run.seconds, 1)
    print(f"second run: {run.seconds:.1f} s, changed=0")


def test_check_diff_run_reports_nothing_to_change(deployment: Deployment) -> None:
    run = deployment.playbook("3-check", "--check", "--diff")
    assert_succeeded(run)
    assert run.recap["changed"] == 0, f"changed: {run.changed_tasks()} (log: {run.log})"


def test_env_file_is_private(deployment: Deployment) -> None:
    owner, group, mode = deployment.sh("stat -c '%U %G %a' /etc/chatbot/chatbot.env").split()
    assert mode == "600"
    assert owner in ("root", "chatbot")
    assert group in ("root", "chatbot")
    env = deployment.sh("cat /etc/chatbot/chatbot.env")
    assert "GEMINI_API_KEY='fake-key-for-tests'" in env
    assert "APP_ENV='production'" in env
    secret = next(line for line in env.splitlines() if line.startswith("SECRET_KEY="))
    assert len(secret.split("=", 1)[1].strip("'")) >= 32
    # The key was generated on the host and is reused, not regenerated, by later runs.
    kept = deployment.sh("cat /etc/chatbot/secret_key").strip()
    assert secret == f"SECRET_KEY='{kept}'"


def test_unit_sandbox_exposure(deployment: Deployment, metrics: dict) -> None:
    for unit in ("chatbot.service", "chatbot-backup.service"):
        report = deployment.sh(f"systemd-analyze security --no-pager {unit}")
        line = next(x for x in report.splitlines() if "Overall exposure level" in x)
        exposure = float(line.split(":")[1].split()[0])
        assert exposure <= MAX_EXPOSURE, report
        metrics[f"exposure {unit}"] = exposure
        print(line.strip())


def test_only_nginx_and_sshd_listen_publicly(deployment: Deployment) -> None:
    listeners = deployment.sh("ss -Htlnp")
    public: dict[str, str] = {}
    for line in listeners.splitlines():
        fields = line.split()
        local, process = fields[3], " ".join(fields[5:])
        address = local.rsplit(":", 1)[0].strip("[]")
        if address.startswith("127.") or address == "::1":
            continue
        public[local] = process
    programs = {p.split('"')[1] for p in public.values()}
    # sshd is also listed as "systemd" when it is socket-activated; both are sshd.
    assert programs <= {"nginx", "sshd", "systemd"}, public
    ports = {local.rsplit(":", 1)[1] for local in public}
    assert ports == {"80", "22"}, public
    assert all("nginx" in p for local, p in public.items() if local.endswith(":80")), public
    # The app listens only on its unix socket.
    assert "gunicorn" not in listeners and "python" not in listeners


@dataclass
class ClientLoop:
    """What a user who keeps chatting and reading during a redeploy saw."""

    user: User
    ok: int = 0
    failures: list[tuple[int, object, str]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, deployment: Deployment) -> None:
        """Bounded: at most 2,000 requests or 300 s; ends as soon as `stop` is set."""
        deadline = time.monotonic() + 300
        conv = self.user.conversation
        with deployment.client(timeout=120) as client:
            for i in range(2000):
                if self.stop.is_set() or time.monotonic() > deadline:
                    break
                start = time.monotonic()
                try:
                    if i % 2:
                        body = {"conversationId": conv, "message": f"ping {i}"}
                        answer = client.post("/chat", headers=self.user.headers, json=body)
                    else:
                        path = f"/conversations/{conv}/messages"
                        answer = client.get(path, headers=self.user.headers)
                    if answer.status_code == 200:
                        self.ok += 1
                    else:
                        self.failures.append((i, answer.status_code, answer.text[:200]))
                except httpx.HTTPError as exc:
                    self.failures.append((i, type(exc).__name__, str(exc)))
                self.latencies.append(time.monotonic() - start)
                time.sleep(0.05)


def _snapshot(deployment: Deployment, names: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Every message of every conversation of these users, read through the API."""
    seen: dict[str, list[tuple[str, str]]] = {}
    with deployment.client() as client:
        for name in names:
            headers = login(client, name).headers
            convs = client.get("/conversations", headers=headers).json()["items"]
            for conv in convs:
                items = client.get(
                    f"/conversations/{conv['id']}/messages?limit=100", headers=headers
                ).json()["items"]
                seen[f"{name}/{conv['id']}"] = [(m["role"], m["content"]) for m in items]
    return seen


PRE_MIGRATE = "/var/lib/chatbot/backups/pre-migrate"


@dataclass
class Redeploy:
    """A changed release deployed while carol kept chatting; what was seen before and after."""

    run: PlaybookRun
    marker: str
    release: str
    loop: ClientLoop
    before: dict[str, list[tuple[str, str]]]
    after: dict[str, list[tuple[str, str]]]
    backups_before: set[str]
    backups_after: set[str]

    @property
    def pre_migrate_backup(self) -> str:
        """The one backup the redeploy took before migrating."""
        made = sorted(self.backups_after - self.backups_before)
        assert len(made) == 1, (self.backups_before, self.backups_after)
        return f"{PRE_MIGRATE}/{made[0]}"


@pytest.fixture(scope="module")
def redeploy(
    deployment: Deployment, alice: User, tmp_path_factory: pytest.TempPathFactory
) -> Redeploy:
    """Once per module: bob chats, carol keeps chatting and reading in a loop, and a changed
    release is deployed meanwhile. The tests that follow assert on what this recorded."""
    with deployment.client() as client:
        bob = new_user(client, "bob")
        answer = client.post(
            "/chat", headers=bob.headers, json={"conversationId": bob.conversation, "message": "x"}
        )
        assert answer.status_code == 200
    before = _snapshot(deployment, [alice.name, bob.name])
    backups_before = set(deployment.sh(f"ls {PRE_MIGRATE}").split())

    marker = f"release-{time.time_ns()}"
    work = tmp_path_factory.mktemp("redeploy")
    archive = changed_release_archive(deployment.ref, marker, work / "release.tar.gz")
    with deployment.client() as client:
        loop = ClientLoop(new_user(client, "carol"))
    thread = threading.Thread(target=loop.run, args=(deployment,), daemon=True)
    thread.start()
    try:
        time.sleep(2)  # the client loop is running before the deploy starts
        run = deployment.playbook("4-redeploy", "-e", f"chatbot_release_archive={archive}")
        time.sleep(2)  # and keeps running on the new release for a moment
    finally:
        loop.stop.set()
        thread.join(timeout=150)
    return Redeploy(
        run=run,
        marker=marker,
        release=deployment.sh("readlink /opt/chatbot/current").strip(),
        loop=loop,
        before=before,
        after=_snapshot(deployment, [alice.name, bob.name]),
        backups_before=backups_before,
        backups_after=set(deployment.sh(f"ls {PRE_MIGRATE}").split()),
    )


def test_redeploy_under_load_loses_no_request_and_no_data(
    deployment: Deployment, redeploy: Redeploy, metrics: dict
) -> None:
    run, client_loop = redeploy.run, redeploy.loop
    assert sum(len(v) for v in redeploy.before.values()) >= 6
    assert_succeeded(run)
    metrics["redeploy_seconds"] = round(run.seconds, 1)

    # The new release is live: nginx serves its files.
    assert Path(redeploy.release).name.startswith("archive-")
    assert httpx.get(f"{deployment.base_url}/release.txt").text.strip() == redeploy.marker

    failures = client_loop.failures
    assert client_loop.ok >= 20, client_loop
    assert failures == [], f"requests failed during the redeploy: {failures[:10]}"
    metrics["redeploy_client_requests"] = client_loop.ok
    metrics["redeploy_client_max_latency_seconds"] = round(max(client_loop.latencies), 2)
    print(f"redeploy: {run.seconds:.1f} s; {client_loop.ok} requests, none failed")

    assert redeploy.after == redeploy.before

    # The backup taken right before the migration holds everyone registered before it.
    query = "select username from users"
    users = deployment.sh(f"sqlite3 -readonly {redeploy.pre_migrate_backup} '{query}'").split()
    assert {"alice", "bob", "carol"} <= set(users)
    # ... and it was taken before the migration ran in this deploy.
    log = run.output
    assert log.index("Back up the database before migrating") < log.index(
        "Migrate the database to the release's schema"
    )


def test_restore_from_the_pre_migration_backup(deployment: Deployment, redeploy: Redeploy) -> None:
    with deployment.client() as client:
        new_user(client, "dave")  # after the backup: gone once it is restored
    restore = deployment.host.run(f"chatbot-restore {redeploy.pre_migrate_backup}", timeout=120)
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert deployment.sh("systemctl is-active chatbot.socket chatbot.service").split() == [
        "active",
        "active",
    ]
    deployment.wait_healthy()
    with deployment.client() as client:
        late = client.post("/login", json={"username": "dave", "password": PASSWORD})
        assert late.status_code == 401
        login(client, "alice")
    # alice's and bob's conversations, as they were when the backup was taken.
    assert _snapshot(deployment, ["alice", "bob"]) == redeploy.after
    # The database that was replaced was kept, just in case.
    assert deployment.sh("ls /var/lib/chatbot/backups/pre-restore").strip()


def test_a_page_from_the_previous_release_still_gets_its_files(
    deployment: Deployment, redeploy: Redeploy
) -> None:
    old, new = deployment.first_release, Path(redeploy.release).name
    assert old != new
    with deployment.client() as client:
        assert f"/assets/{new}/js/main.js" in client.get("/").text
        for release in (old, new):
            answer = client.get(f"/assets/{release}/js/main.js")
            assert answer.status_code == 200 and answer.headers["cache-control"] == IMMUTABLE


def test_daily_backup_unit_makes_a_backup(deployment: Deployment) -> None:
    assert "chatbot-backup.service" in deployment.sh("systemctl list-timers --all chatbot-backup*")
    deployment.sh("systemctl start chatbot-backup.service")  # oneshot: returns when done
    made = deployment.sh("ls /var/lib/chatbot/backups/daily").split()
    assert len(made) == 1 and made[0].endswith(".db"), made
    path = f"/var/lib/chatbot/backups/daily/{made[0]}"
    owner_mode = deployment.sh(f"stat -c '%U %a' {path}").split()
    assert owner_mode == ["chatbot", "600"]
    assert deployment.sh(f"sqlite3 -readonly {path} 'pragma integrity_check'").strip() == "ok"


def test_rollback_is_one_variable(deployment: Deployment, redeploy: Redeploy, alice: User) -> None:
    first = deployment.first_release
    run = deployment.playbook("5-rollback", "-e", f"chatbot_release_rollback={first}")
    assert_succeeded(run)
    assert deployment.sh("readlink /opt/chatbot/current").strip().endswith(f"/{first}")
    assert httpx.get(f"{deployment.base_url}/release.txt").status_code == 404
    with deployment.client() as client:
        login(client, alice.name)


def test_service_comes_back_after_power_off_and_boot(deployment: Deployment, alice: User) -> None:
    deployment.host.reboot()
    deployment.wait_healthy(timeout=90)
    for unit in ("chatbot.socket", "chatbot.service", "nginx.service"):
        assert deployment.sh(f"systemctl is-active {unit}").strip() == "active", unit
    with deployment.client() as client:
        convs = client.get("/conversations", headers=login(client, alice.name).headers)
        assert convs.json()["total"] >= 1


def test_an_office_behind_one_address_signs_in_through_nginx(deployment: Deployment) -> None:
    """30 colleagues behind one address log in within a minute: nginx's /login zone lets
    them through (and the app, counting only failures per address, does too). The accounts
    are made on the host, through the app's socket: /register keeps its tighter zone."""
    socket = "/run/chatbot/chatbot.sock"
    names = [f"office{i:02d}" for i in range(30)]
    for name in names:
        body = json.dumps(registration(name))
        status = deployment.sh(
            f"curl -s -o /dev/null -w '%{{http_code}}' --unix-socket {socket}"
            f" -H 'Content-Type: application/json' -d '{body}' http://localhost/register"
        )
        assert status.strip() == "201", status
    with deployment.client() as client:
        statuses = [
            client.post("/login", json={"username": n, "password": PASSWORD}).status_code
            for n in names
        ]
    assert statuses == [200] * 30, statuses


def test_nginx_throttles_login_attempts(deployment: Deployment) -> None:
    statuses: list[int] = []
    bodies: list[str] = []
    with deployment.client() as client:
        # Past the /login zone's burst (30) and its refill (1 a second) while these run.
        for _ in range(80):
            answer = client.post("/login", json={"username": "nobody", "password": "wrong-pass"})
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                bodies.append(answer.text)
                assert answer.headers.get("retry-after")
    # The app's own login limit is raised for these tests, so every 429 is nginx's.
    assert 429 in statuses, statuses
    assert set(statuses) <= {401, 429}, statuses
    assert all(json.loads(b)["detail"].startswith("Too many attempts") for b in bodies)
