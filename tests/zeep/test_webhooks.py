"""Webhooks (Standard Webhooks) end to end on both backends: `raas admin webhook …` endpoints,
`raas admin publish` broadcasts making the mailbox events, and the dispatcher of `raas serve`
POSTing to a receiver of the test's own (an `http.server` on 127.0.0.1 in a thread, recording
what it gets and answering the statuses it is scripted with). Signatures are verified with
the official `standardwebhooks` library.

Every test has a fresh database of its own (a file for SQLite, `CREATE DATABASE` on
TEST_DATABASE_URL for PostgreSQL, dropped at the end) and starts its own servers, with
`--webhook-allow-private true` since the receiver is on loopback (except the test of that
refusal)."""

from __future__ import annotations

import base64
import collections
import json
import os
import re
import secrets
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from support import (
    DELIVERY,
    Org,
    Service,
    backends,
    database_url_with,
    psql,
    raas_bin,
    run_cli,
    start_server,
)

ORG_A = ("0202239951", "Webhook Org A")
# Org A's credential of DeliveryService (getDelivery makes the delivery.downloaded event).
ORG_A_SOAP = Org(ORG_A[0], ORG_A[1], "webhook-a-ws", "webhook-a-secret-0001", {})
ORG_B = ("0403019261", "Webhook Org B")
ALLOW_PRIVATE = ("--webhook-allow-private", "true")
# How long a message due now may take to arrive (the dispatcher polls every second).
ARRIVAL_S = 10
# How long to look for something that must not come (a few polls of the dispatcher).
QUIET_S = 1.5
BODY_KEYS = {"type", "timestamp", "data"}
DATA_KEYS = {"deliveryId", "fileType", "organisation", "eventSequence"}


# --- the receiver ---------------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """An HTTP server on 127.0.0.1 recording each request; answers the scripted statuses in
    turn, then `default`. `delay` seconds are waited before each answer."""

    def __init__(self, statuses=(), default: int = 204, port: int = 0, delay: float = 0.0):
        self.statuses = collections.deque(statuses)
        self.default = default
        self.delay = delay
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.received.append(
                        Received(self.command, self.path, headers, body, time.monotonic())
                    )
                    status = receiver.statuses.popleft() if receiver.statuses else receiver.default
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_PUT = do_POST  # recorded too: only POST is expected

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def got(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def wait_for(self, count: int, timeout: float = ARRIVAL_S) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.got()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        got = self.got()
        assert len(got) >= count, f"{len(got)} request(s) received in {timeout} s, {count} expected"
        return got

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    """A port nothing listens on (just freed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def verify(secret: str, request: Received) -> dict:
    """The body, parsed, once `standardwebhooks` has verified the request with `secret`."""
    return Webhook(secret).verify(request.body, request.headers)


def signature_count(request: Received) -> int:
    return len(request.headers["webhook-signature"].split(" "))


def another_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def wait_until(what: str, predicate, timeout: float = ARRIVAL_S, env=None):
    """Polls `predicate` until it gives something true; fails (with the servers' logs)
    otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            logs = env.log_tails() if env is not None else ""
            pytest.fail(f"not within {timeout} s: {what}\n{logs}")
        time.sleep(0.1)


# --- a database and its servers -------------------------------------------------------------


@dataclass
class Env:
    backend: str
    database_url: str
    workdir: Path
    raas: Path
    servers: list = field(default_factory=list)
    receivers: list = field(default_factory=list)
    logs: list = field(default_factory=list)
    base_url: str | None = None

    @property
    def outbox(self) -> Path:
        return self.workdir / "outbox"

    def cli(self, *args: str, stdin: str | None = None) -> str:
        return run_cli(
            self.raas, self.database_url, "--outbox", str(self.outbox), *args, stdin=stdin
        )

    def receiver(self, *args, **kwargs) -> Receiver:
        receiver = Receiver(*args, **kwargs)
        self.receivers.append(receiver)
        return receiver

    def add_endpoint(self, cbe: str, url: str, events=()) -> tuple[int, str]:
        args = ["admin", "webhook", "add", "--cbe", cbe, "--url", url]
        for event in events:
            args += ["--event", event]
        printed = self.cli(*args)
        found = re.search(r"endpoint (\d+) added for (\d+)\nsecret: (whsec_\S+)", printed)
        assert found, printed
        assert found.group(2) == cbe
        return int(found.group(1)), found.group(3)

    def publish(self, cbe: str, subject: str | None = None) -> str:
        subject = subject or f"webhook-{uuid.uuid4().hex[:12]}"
        folder = self.workdir / "to-publish"
        folder.mkdir(exist_ok=True)
        path = folder / f"doc-{uuid.uuid4().hex[:12]}.txt"
        path.write_bytes(f"{subject}\n".encode())
        printed = self.cli(
            "admin",
            "publish",
            "--cbe",
            cbe,
            "--subject",
            subject,
            "--file",
            str(path),
            "--operator",
            "webhook-test",
        )
        assert "published to 1 mailbox(es)" in printed, printed
        return printed

    def messages(self, cbe: str) -> list[dict]:
        printed = self.cli("admin", "webhook", "messages", "--cbe", cbe)
        return [json.loads(line) for line in printed.splitlines() if line.strip()]

    def endpoints(self, cbe: str) -> list[dict]:
        printed = self.cli("admin", "webhook", "list", "--cbe", cbe)
        return [json.loads(line) for line in printed.splitlines() if line.strip()]

    def message(self, cbe: str, webhook_id: str) -> dict:
        (found,) = [m for m in self.messages(cbe) if m["id"] == webhook_id]
        return found

    def serve(self, *serve_args: str):
        log = self.workdir / f"serve-{len(self.logs)}.log"
        self.logs.append(log)
        proc, self.base_url = start_server(
            self.raas, self.database_url, log, outbox=self.outbox, serve_args=serve_args
        )
        self.servers.append(proc)
        return proc

    def mailbox(self, org: Org):
        """A zeep caller of DeliveryService on the last server started."""
        service = Service(
            self.backend, self.database_url, self.base_url, self.raas, self.logs[-1],
            outbox=self.outbox, workdir=self.workdir,
        )
        return service.caller(org, contract=DELIVERY)

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {log.name}:\n{log.read_text(errors='replace')[-3000:]}"
            for log in self.logs
            if log.exists()
        )


def make_env(backend: str, tmp_path: Path):
    raas = raas_bin()
    pg_admin_url = pg_name = None
    if backend == "sqlite":
        database_url = str(tmp_path / "raas.db")
    else:
        pg_admin_url = os.environ["TEST_DATABASE_URL"]
        pg_name = f"raas_webhook_{uuid.uuid4().hex[:16]}"
        psql(pg_admin_url, f'CREATE DATABASE "{pg_name}"')
        database_url = database_url_with(pg_admin_url, pg_name)
    env = Env(backend, database_url, tmp_path, raas)
    try:
        for cbe, name in (ORG_A, ORG_B):
            env.cli("admin", "org", "add", "--cbe", cbe, "--name", name)
        yield env
    finally:
        # Killed, not stopped: a graceful shutdown only costs time here.
        for proc in env.servers:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for receiver in env.receivers:
            receiver.close()
        if pg_name is not None:
            psql(pg_admin_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


@pytest.fixture(params=backends())
def env(request, tmp_path):
    yield from make_env(request.param, tmp_path)


@pytest.fixture
def pg_env(tmp_path):
    if not os.environ.get("TEST_DATABASE_URL", "").strip():
        pytest.skip("TEST_DATABASE_URL is not set")
    yield from make_env("postgres", tmp_path)


def assert_thin_body(body: dict, cbe: str, kind: str = "delivery.available") -> None:
    """Only the delivery named: no subject, file name, content or person."""
    assert set(body) == BODY_KEYS, body
    assert set(body["data"]) == DATA_KEYS, body
    assert body["type"] == kind
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["timestamp"]), body
    data = body["data"]
    assert data["organisation"] == cbe
    assert isinstance(data["deliveryId"], int) and data["deliveryId"] > 0
    assert isinstance(data["eventSequence"], int) and data["eventSequence"] > 0
    assert isinstance(data["fileType"], str) and data["fileType"]


# --- the tests ------------------------------------------------------------------------------


def test_a_broadcast_reaches_the_subscribed_endpoint_only(env):
    a, b = ORG_A[0], ORG_B[0]
    wanted = env.receiver()
    other_events = env.receiver()
    other_org = env.receiver()
    endpoint, secret = env.add_endpoint(a, wanted.url)
    _, other_events_secret = env.add_endpoint(
        a, other_events.url, events=["delivery.downloaded"]
    )
    _, other_org_secret = env.add_endpoint(b, other_org.url)
    listed = env.endpoints(a)
    assert [e["url"] for e in listed] == [wanted.url, other_events.url]
    assert listed[1]["events"] == ["delivery.downloaded"]
    env.serve(*ALLOW_PRIVATE)

    subject = f"Confidential subject {uuid.uuid4().hex[:8]}"
    env.publish(a, subject)
    (request,) = wanted.wait_for(1)
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.headers["content-type"].startswith("application/json")
    assert re.fullmatch(r"msg_\d+", request.webhook_id), request.headers
    assert re.fullmatch(r"\d+", request.headers["webhook-timestamp"])
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert signature_count(request) == 1
    body = verify(secret, request)
    assert body == request.json()
    assert_thin_body(body, a)
    assert subject.encode() not in request.body
    # Signed with this endpoint's secret, not another's.
    with pytest.raises(WebhookVerificationError):
        verify(other_org_secret, request)
    # A body changed on the way no longer verifies.
    tampered = Received(
        request.method, request.path, request.headers, request.body.replace(b"}", b" }", 1), 0
    )
    with pytest.raises(WebhookVerificationError):
        verify(secret, tampered)

    # The outbox: one message, for the subscribed endpoint, delivered at the first attempt.
    message = wait_until(
        "the message recorded as delivered",
        lambda: [m for m in env.messages(a) if m["deliveredAt"]],
        env=env,
    )
    assert len(env.messages(a)) == 1
    (message,) = message
    assert message["id"] == request.webhook_id
    assert message["endpoint"] == endpoint
    assert message["attempts"] == 1
    assert message["eventSequence"] == body["data"]["eventSequence"]
    assert message["lastError"] is None and message["gaveUpAt"] is None

    time.sleep(QUIET_S)
    assert len(wanted.got()) == 1
    assert other_events.got() == []
    assert other_org.got() == []
    assert env.messages(b) == []

    # The first download (SOAP getDelivery of the delivery the body names) is an event of
    # its own: for the endpoint of every event and the one of delivery.downloaded.
    env.cli(
        "admin", "credential", "add", "--cbe", a, "--username", ORG_A_SOAP.username,
        stdin=ORG_A_SOAP.password + "\n",
    )
    mailbox = env.mailbox(ORG_A_SOAP)
    delivery_id = body["data"]["deliveryId"]
    fetched = mailbox.call("getDelivery", id=delivery_id)
    assert fetched.content == f"{subject}\n".encode()
    (downloaded,) = other_events.wait_for(1)
    _, again = wanted.wait_for(2)
    assert again.webhook_id != request.webhook_id
    for got, key in ((downloaded, other_events_secret), (again, secret)):
        seen = verify(key, got)
        assert_thin_body(seen, a, "delivery.downloaded")
        assert seen["data"]["deliveryId"] == delivery_id
        assert seen["data"]["eventSequence"] > body["data"]["eventSequence"]
    assert verify(secret, again) == verify(other_events_secret, downloaded)
    # A second download is no new event.
    mailbox.call("getDelivery", id=delivery_id)
    wait_until(
        "the three messages recorded as delivered",
        lambda: len([m for m in env.messages(a) if m["deliveredAt"]]) == 3,
        env=env,
    )
    time.sleep(QUIET_S)
    assert (len(wanted.got()), len(other_events.got()), len(other_org.got())) == (2, 1, 0)
    assert len(env.messages(a)) == 3


def test_a_failed_attempt_is_retried_with_the_same_id_and_body(env):
    a = ORG_A[0]
    receiver = env.receiver(statuses=[500], default=204)
    _, secret = env.add_endpoint(a, receiver.url)
    env.serve(*ALLOW_PRIVATE)
    env.publish(a)

    first = receiver.wait_for(1)[0]
    failed = wait_until(
        "the failed attempt recorded",
        lambda: [m for m in env.messages(a) if m["attempts"] == 1],
        env=env,
    )[0]
    assert failed["id"] == first.webhook_id
    assert failed["deliveredAt"] is None and failed["gaveUpAt"] is None
    assert "500" in (failed["lastError"] or ""), failed

    # Retried after ~5 s (±10 %), polled every second.
    first, second = receiver.wait_for(2, timeout=15)
    assert second.webhook_id == first.webhook_id
    assert second.body == first.body
    assert second.at - first.at >= 4.0, second.at - first.at
    verify(secret, first)
    verify(secret, second)

    delivered = wait_until(
        "the retry recorded as delivered",
        lambda: [m for m in env.messages(a) if m["deliveredAt"]],
        env=env,
    )[0]
    assert delivered["id"] == first.webhook_id
    assert delivered["attempts"] == 2
    assert delivered["lastError"] is None
    assert len(receiver.got()) == 2


def test_nothing_is_lost_when_the_server_is_killed(env):
    a = ORG_A[0]
    port = closed_port()
    _, secret = env.add_endpoint(a, f"http://127.0.0.1:{port}/hook")
    proc = env.serve(*ALLOW_PRIVATE)
    env.publish(a)
    # The first attempt failed (nothing listens) and is recorded: nothing is claimed now.
    failed = wait_until(
        "the refused attempt recorded",
        lambda: [m for m in env.messages(a) if m["attempts"] == 1 and m["lastError"]],
        env=env,
    )[0]
    assert failed["deliveredAt"] is None
    proc.kill()
    proc.wait()

    receiver = env.receiver(port=port)
    env.serve(*ALLOW_PRIVATE)
    (request,) = receiver.wait_for(1, timeout=15)
    assert request.webhook_id == failed["id"]
    body = verify(secret, request)
    assert_thin_body(body, a)
    assert body["data"]["eventSequence"] == failed["eventSequence"]
    delivered = wait_until(
        "the message recorded as delivered",
        lambda: [m for m in env.messages(a) if m["deliveredAt"]],
        env=env,
    )[0]
    assert delivered["attempts"] == 2
    time.sleep(QUIET_S)
    assert len(receiver.got()) == 1


def test_rotation_remove_and_replay(env):
    a = ORG_A[0]
    receiver = env.receiver()
    endpoint, old_secret = env.add_endpoint(a, receiver.url)
    env.serve(*ALLOW_PRIVATE)

    env.publish(a)
    (before,) = receiver.wait_for(1)
    assert signature_count(before) == 1
    verify(old_secret, before)

    printed = env.cli("admin", "webhook", "rotate", "--cbe", a, "--id", str(endpoint))
    found = re.fullmatch(r"secret: (whsec_\S+)\n", printed)
    assert found, printed
    new_secret = found.group(1)
    assert new_secret != old_secret
    (listed,) = env.endpoints(a)
    assert listed["rotatedSecretValidUntil"] is not None

    env.publish(a)
    _, during = receiver.wait_for(2)
    assert during.webhook_id != before.webhook_id
    assert signature_count(during) == 2
    assert verify(new_secret, during) == verify(old_secret, during)
    with pytest.raises(WebhookVerificationError):
        verify(another_secret(), during)

    # A replay: the delivered message sent again, the same id and body.
    wait_until(
        "both messages recorded as delivered",
        lambda: len([m for m in env.messages(a) if m["deliveredAt"]]) == 2,
        env=env,
    )
    printed = env.cli("admin", "webhook", "replay", "--cbe", a, "--id", before.webhook_id)
    assert f"message {before.webhook_id} due again" in printed
    replayed = receiver.wait_for(3)[2]
    assert replayed.webhook_id == before.webhook_id
    assert replayed.body == before.body
    # Signed with the secrets of now.
    assert signature_count(replayed) == 2
    verify(new_secret, replayed)
    wait_until(
        "the replay recorded as delivered",
        lambda: env.message(a, before.webhook_id)["deliveredAt"],
        env=env,
    )

    # Removed: the endpoint is no longer listed and new events are not sent to it.
    printed = env.cli("admin", "webhook", "remove", "--cbe", a, "--id", str(endpoint))
    assert f"endpoint {endpoint} removed" in printed
    assert env.cli("admin", "webhook", "list", "--cbe", a).strip() == ""
    env.publish(a)
    time.sleep(QUIET_S)
    assert len(receiver.got()) == 3
    assert len(env.messages(a)) == 2


def test_the_pending_retries_of_a_removed_endpoint_are_not_sent(env):
    """`webhook remove`: "its pending messages are no longer sent" (the CLI's help, the
    store's doc comment, README)."""
    a = ORG_A[0]
    receiver = env.receiver(default=500)
    endpoint, _ = env.add_endpoint(a, receiver.url)
    env.serve(*ALLOW_PRIVATE)
    env.publish(a)
    (first,) = receiver.wait_for(1)
    wait_until(
        "the failed attempt recorded",
        lambda: [m for m in env.messages(a) if m["attempts"] == 1],
        env=env,
    )
    env.cli("admin", "webhook", "remove", "--cbe", a, "--id", str(endpoint))
    # The retry was due at most 5.5 s after the first attempt, polled every second.
    time.sleep(max(0.0, first.at + 7.5 - time.monotonic()))
    assert len(receiver.got()) == 1, "a removed endpoint's pending message was sent again"


def test_private_addresses_are_refused_unless_allowed(env):
    a = ORG_A[0]
    receiver = env.receiver()
    env.add_endpoint(a, receiver.url)
    env.add_endpoint(a, f"http://localhost:{receiver.port}/hook")
    env.serve()  # without --webhook-allow-private
    env.publish(a)
    refused = wait_until(
        "both attempts recorded as failed",
        lambda: (lambda ms: ms if len(ms) == 2 and all(m["lastError"] for m in ms) else None)(
            env.messages(a)
        ),
        env=env,
    )
    for message in refused:
        assert "private" in message["lastError"], message
        assert message["deliveredAt"] is None
        assert message["attempts"] == 1
    time.sleep(QUIET_S)
    assert receiver.got() == []


def test_two_servers_on_postgresql_send_each_message_once(pg_env):
    env = pg_env
    a = ORG_A[0]
    # A slow receiver: attempts of one server are under way while the other polls.
    receiver = env.receiver(delay=0.3)
    _, secret = env.add_endpoint(a, receiver.url)
    env.serve(*ALLOW_PRIVATE)
    env.serve(*ALLOW_PRIVATE)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: env.publish(a), range(20)))

    wait_until(
        "20 messages received",
        lambda: len({r.webhook_id for r in receiver.got()}) >= 20,
        timeout=30,
        env=env,
    )
    time.sleep(QUIET_S)
    got = receiver.got()
    counts = collections.Counter(r.webhook_id for r in got)
    assert len(counts) == 20
    twice = {i: n for i, n in counts.items() if n != 1}
    assert not twice, f"received more than once: {twice}"
    for request in got:
        verify(secret, request)
    messages = env.messages(a)
    assert len(messages) == 20
    assert {m["id"] for m in messages} == set(counts)
    assert all(m["deliveredAt"] and m["attempts"] == 1 for m in messages), messages
