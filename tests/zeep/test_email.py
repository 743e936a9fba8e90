"""E-mail notifications end to end on both backends: the organisations' contact addresses
(`raas admin contact …`), broadcasts (`raas admin publish`) filling the mailboxes, the daily
summaries (`raas admin mail summarise`), the notices of the mailboxes' sweep (`raas admin
sweep-mailboxes`), a webhook endpoint disabled, and the mailer of `raas serve` sending them
over SMTP to a server of the test's own: aiosmtpd on 127.0.0.1 in a thread, recording every
message it is given (accepted or not) and answering the replies it is scripted with. The
outbox is read with `raas admin mail list`.

Every test has a fresh database of its own (a file for SQLite, `CREATE DATABASE` on
TEST_DATABASE_URL for PostgreSQL, dropped at the end) and starts its own servers. The
schedules of serve's own sweeps and summaries are set to once a year, so that only the
test's CLI commands make e-mails (serve still sweeps once at start-up: each test starts it
before it puts anything in a mailbox)."""

from __future__ import annotations

import collections
import datetime
import functools
import ipaddress
import json
import os
import re
import socket
import sqlite3
import ssl
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from support import (
    CLI_TIMEOUT_S,
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

ORG_A = ("0202239951", "Mail Org A")
ORG_B = ("0403019261", "Mail Org B")
# An organisation without any contact address.
ORG_C = ("0456973433", "Mail Org C")
# Org A's credential of DeliveryService (a download keeps a delivery from being reminded of).
ORG_A_SOAP = Org(ORG_A[0], ORG_A[1], "mail-a-ws", "mail-a-secret-0001", {})
MAIL_FROM = "raas notifications <raas@notify.example.be>"
MAIL_FROM_ADDRESS = "raas@notify.example.be"
MAIL_DOMAIN = "notify.example.be"
# 1 January, 03:00: serve's own sweeps and summaries never fire during a test.
YEARLY = "0 0 3 1 1 *"
QUIET_SCHEDULES = ("--delivery-schedule", YEARLY, "--notification-schedule", YEARLY)
# How long an e-mail due now may take to arrive (the mailer polls every second).
ARRIVAL_S = 10
# How long a retry may take to come (5 s ± 10 % after the failed attempt, then a poll).
RETRY_S = 15
# How long to look for something that must not come (a few polls of the mailer).
QUIET_S = 1.5
# The headers a notification carries, and no other.
HEADERS = {"from", "to", "subject", "message-id", "date", "content-type",
           "content-transfer-encoding", "mime-version"}
# A person the published files and subjects name: none of it may reach an e-mail.
PERSON_NISS = "85073003328"
PERSON_NAME = "Van den Berghe"


# --- the SMTP server ------------------------------------------------------------------------


@dataclass
class Mail:
    """One message given to the SMTP server (DATA), accepted or refused."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool  # over STARTTLS
    accepted: bool
    at: float  # time.monotonic()

    @functools.cached_property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.content)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> list[str]:
        return [a.addr_spec for a in self.message["To"].addresses]

    @property
    def body(self) -> str:
        """The text, its lines ended by \\n."""
        return self.message.get_content().replace("\r\n", "\n")

    @property
    def header_names(self) -> set[str]:
        return {name.lower() for name in self.message.keys()}

    def text(self) -> str:
        """Every header decoded and the body decoded, with the raw message: what a reader
        could see in it."""
        headers = "\n".join(f"{k}: {v}" for k, v in self.message.items())
        return f"{headers}\n{self.body}\n{self.content.decode('utf-8', 'replace')}"


def free_port() -> int:
    """A port nothing listens on (just freed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """aiosmtpd on 127.0.0.1 (on `port`, or a free one) recording each message; answers
    DATA with the scripted `replies` in turn, then 250; refuses (550) the recipients in
    `unknown`. With `tls_context`, STARTTLS is offered (not required)."""

    def __init__(self, port: int | None = None, replies=(), tls_context=None, unknown=()):
        self.port = port or free_port()
        self.replies = collections.deque(replies)
        self.lock = threading.Lock()
        self.mails: list[Mail] = []
        server = self

        class Handler:
            async def handle_RCPT(self, smtp, session, envelope, address, options):  # noqa: N802
                if address in unknown:
                    return "550 5.1.1 no such mailbox"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, smtp, session, envelope):  # noqa: N802 (aiosmtpd's)
                with server.lock:
                    reply = server.replies.popleft() if server.replies else "250 OK"
                    server.mails.append(
                        Mail(
                            envelope.mail_from,
                            list(envelope.rcpt_tos),
                            envelope.original_content or envelope.content,
                            session.ssl is not None,
                            reply.startswith("250"),
                            time.monotonic(),
                        )
                    )
                return reply

        tls = {"tls_context": tls_context, "require_starttls": False} if tls_context else {}
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **tls)
        self.controller.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def got(self) -> list[Mail]:
        """Every message given, refused ones too."""
        with self.lock:
            return list(self.mails)

    def accepted(self) -> list[Mail]:
        return [m for m in self.got() if m.accepted]

    def wait_for(self, count: int, timeout: float = ARRIVAL_S, env=None) -> list[Mail]:
        """The accepted messages once there are `count` of them."""
        wait_until(
            f"{count} e-mail(s) accepted by the SMTP server",
            lambda: len(self.accepted()) >= count,
            timeout=timeout,
            env=env,
        )
        return self.accepted()

    def close(self) -> None:
        self.controller.stop()


def wait_until(what: str, predicate, timeout: float = ARRIVAL_S, env=None):
    """Polls `predicate` until it gives something true; fails (with the outbox and the
    servers' logs) otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"not within {timeout} s: {what}\n{env.report() if env else ''}")
        time.sleep(0.1)


def self_signed_context(workdir: Path) -> ssl.SSLContext:
    """A server TLS context with a new self-signed certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = workdir / "smtp-cert.pem", workdir / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


# --- a database, its servers and its outbox -------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """One line of `raas admin mail list`."""

    id: int
    kind: str
    state: str  # "sent …", "pending, next …", "given up …"
    attempts: int
    recipient: str
    subject: str
    last_error: str

    @property
    def sent(self) -> bool:
        return self.state.startswith("sent ")

    @property
    def pending(self) -> bool:
        return self.state.startswith("pending")

    @property
    def message_id(self) -> str:
        return f"<raas.email.{self.id}@{MAIL_DOMAIN}>"

    @staticmethod
    def parse(line: str) -> "Listed":
        fields = line.split("\t", 6)
        assert len(fields) == 7, f"not a line of mail list: {line!r}"
        id_, kind, state, attempts, recipient, subject, last_error = fields
        found = re.fullmatch(r"(\d+) attempt\(s\)", attempts)
        assert found, line
        return Listed(int(id_), kind, state, int(found.group(1)), recipient, subject, last_error)


@dataclass
class Published:
    document: int
    subject: str
    content: bytes
    file_name: str


@dataclass
class Env:
    backend: str
    database_url: str
    workdir: Path
    raas: Path
    servers: list = field(default_factory=list)
    smtp_servers: list = field(default_factory=list)
    logs: list = field(default_factory=list)
    base_url: str | None = None

    @property
    def outbox(self) -> Path:
        return self.workdir / "outbox"

    def cli(self, *args: str, config=(), stdin: str | None = None) -> str:
        """`raas --database-url … --outbox … CONFIG… ARGS…`; fails the test if it fails."""
        return run_cli(
            self.raas, self.database_url, "--outbox", str(self.outbox), *config, *args,
            stdin=stdin,
        )

    def cli_refused(self, *args: str) -> subprocess.CompletedProcess:
        """A command that must fail: its outcome (the test fails if it succeeds)."""
        result = subprocess.run(
            [str(self.raas), "--database-url", self.database_url, "--outbox",
             str(self.outbox), *args],
            capture_output=True, text=True, timeout=CLI_TIMEOUT_S, stdin=subprocess.DEVNULL,
        )
        assert result.returncode != 0, (
            f"raas {args!r} was accepted:\n{result.stdout}\n{result.stderr}"
        )
        return result

    def smtp(self, *args, **kwargs) -> SmtpServer:
        server = SmtpServer(*args, **kwargs)
        self.smtp_servers.append(server)
        return server

    def serve(self, smtp_url: str | None, *serve_args: str, config=()):
        """`raas serve` with the e-mail settings of the tests (and `config`, global keys
        also given to the CLI commands of the test)."""
        log = self.workdir / f"serve-{len(self.logs)}.log"
        self.logs.append(log)
        mail = ["--smtp-url", smtp_url, "--mail-from", MAIL_FROM] if smtp_url else []
        proc, self.base_url = start_server(
            self.raas, self.database_url, log, outbox=self.outbox,
            serve_args=[*mail, *QUIET_SCHEDULES, *config, *serve_args],
        )
        self.servers.append(proc)
        return proc

    def add_contact(self, cbe: str, address: str) -> None:
        printed = self.cli("admin", "contact", "add", "--cbe", cbe, "--email", address)
        assert printed == f"contact {address} added to {cbe}\n", printed

    def contacts(self, cbe: str) -> list[str]:
        return self.cli("admin", "contact", "list", "--cbe", cbe).splitlines()

    def emails(self, cbe: str) -> list[Listed]:
        """The outbox of an organisation, newest first."""
        printed = self.cli("admin", "mail", "list", "--cbe", cbe)
        return [Listed.parse(line) for line in printed.splitlines() if line.strip()]

    def summarise(self) -> int:
        printed = self.cli("admin", "mail", "summarise")
        found = re.fullmatch(r"(\d+) daily summary e-mail\(s\) enqueued\n", printed)
        assert found, printed
        return int(found.group(1))

    def sweep(self, config=()) -> tuple[int, int, int]:
        """`admin sweep-mailboxes`: (reminders, alerts, e-mails enqueued)."""
        printed = self.cli("admin", "sweep-mailboxes", config=config)
        found = re.search(
            r"(\d+) unread reminder\(s\), (\d+) expiry alert\(s\), (\d+) e-mail\(s\) enqueued",
            printed,
        )
        assert found, printed
        return tuple(int(n) for n in found.groups())

    def publish(self, *cbes: str, subject: str | None = None, config=()) -> Published:
        """A broadcast to `cbes` of a file naming a person, under a subject naming them too."""
        tag = uuid.uuid4().hex[:12]
        subject = subject or f"Dossier {PERSON_NAME} {PERSON_NISS} {tag}"
        folder = self.workdir / "to-publish"
        folder.mkdir(exist_ok=True)
        path = folder / f"doc-{tag}.txt"
        content = f"Confidential {tag}: {PERSON_NAME}, NISS {PERSON_NISS}\n".encode()
        path.write_bytes(content)
        recipients = [a for cbe in cbes for a in ("--cbe", cbe)]
        printed = self.cli(
            "admin", "publish", *recipients, "--subject", subject, "--file", str(path),
            "--operator", "mail-test", config=config,
        )
        found = re.match(r"document (\d+) published to (\d+) mailbox\(es\)", printed)
        assert found and int(found.group(2)) == len(cbes), printed
        return Published(int(found.group(1)), subject, content, path.name)

    def delivery_ids(self, cbe: str) -> list[int]:
        printed = self.cli("admin", "deliveries", "--cbe", cbe, "--json")
        return sorted(json.loads(line)["id"] for line in printed.splitlines() if line.strip())

    # The data shaped where the configuration cannot say it (days gone by).

    def backdate(self, table: str, column: str, row_id: int, days: int) -> None:
        """Moves `column` of row `row_id` of `table` `days` days back."""
        if self.backend == "postgres":
            psql(
                self.database_url,
                f"UPDATE {table} SET {column} = {column} - interval '{days} days' "
                f"WHERE id = {row_id}",
            )
            return
        with sqlite3.connect(self.database_url, timeout=30) as db:
            query = f"SELECT {column} FROM {table} WHERE id = ?"
            (value,) = db.execute(query, (row_id,)).fetchone()
            moved = datetime.datetime.fromisoformat(value) - datetime.timedelta(days=days)
            db.execute(
                f"UPDATE {table} SET {column} = ? WHERE id = ?",
                (moved.strftime("%Y-%m-%d %H:%M:%S.%f"), row_id),
            )
        db.close()

    def set_time(self, table: str, column: str, row_id: int, at: datetime.datetime) -> None:
        """Sets `column` of row `row_id` to the UTC time `at` (as the store keeps it)."""
        text = at.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        if self.backend == "postgres":
            psql(self.database_url, f"UPDATE {table} SET {column} = '{text}' WHERE id = {row_id}")
            return
        with sqlite3.connect(self.database_url, timeout=30) as db:
            db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (text, row_id))
        db.close()

    def mailbox(self, org: Org):
        """A zeep caller of DeliveryService on the last server started."""
        service = Service(
            self.backend, self.database_url, self.base_url, self.raas, self.logs[-1],
            outbox=self.outbox, workdir=self.workdir,
        )
        return service.caller(org, contract=DELIVERY)

    def report(self) -> str:
        """The outboxes and the servers' logs, for a failure's message."""
        outboxes = "\n".join(
            f"--- mail list {cbe}:\n{self.cli('admin', 'mail', 'list', '--cbe', cbe)}"
            for cbe, _ in (ORG_A, ORG_B, ORG_C)
        )
        logs = "\n".join(
            f"--- {log.name}:\n{log.read_text(errors='replace')[-3000:]}"
            for log in self.logs
            if log.exists()
        )
        return f"{outboxes}\n{logs}"

    def wait_sent(self, cbe: str, count: int, timeout: float = ARRIVAL_S) -> list[Listed]:
        """The outbox of `cbe` once `count` of its e-mails are recorded as sent."""
        return wait_until(
            f"{count} e-mail(s) of {cbe} recorded as sent",
            lambda: (lambda ms: ms if len([m for m in ms if m.sent]) >= count else None)(
                self.emails(cbe)
            ),
            timeout=timeout,
            env=self,
        )


def make_env(backend: str, tmp_path: Path):
    raas = raas_bin()
    pg_admin_url = pg_name = None
    if backend == "sqlite":
        database_url = str(tmp_path / "raas.db")
    else:
        pg_admin_url = os.environ["TEST_DATABASE_URL"]
        pg_name = f"raas_email_{uuid.uuid4().hex[:16]}"
        psql(pg_admin_url, f'CREATE DATABASE "{pg_name}"')
        database_url = database_url_with(pg_admin_url, pg_name)
    env = Env(backend, database_url, tmp_path, raas)
    try:
        for cbe, name in (ORG_A, ORG_B, ORG_C):
            env.cli("admin", "org", "add", "--cbe", cbe, "--name", name)
        yield env
    finally:
        # Killed, not stopped: a graceful shutdown only costs time here.
        for proc in env.servers:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for server in env.smtp_servers:
            server.close()
        if pg_name is not None:
            psql(pg_admin_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


@pytest.fixture(params=backends())
def env(request, tmp_path):
    yield from make_env(request.param, tmp_path)


def assert_no_secret(mail: Mail, *published: Published) -> None:
    """Nothing of the documents (subject, file name, content) nor the person they name."""
    seen = mail.text()
    for document in published:
        assert document.subject not in seen, seen
        assert document.file_name not in seen, seen
        assert document.content.decode().strip() not in seen, seen
    assert PERSON_NISS not in seen, seen
    assert PERSON_NAME not in seen, seen


def assert_headers(mail: Mail, listed: Listed, recipient: str) -> None:
    """The e-mail as the outbox lists it: its Message-ID, subject and its one recipient
    (each contact gets an e-mail of its own)."""
    assert mail.header_names <= HEADERS, mail.header_names
    assert mail.message_id == listed.message_id, (mail.message_id, listed)
    assert mail.subject == listed.subject
    assert str(mail.message["From"]) == MAIL_FROM
    assert mail.mail_from == MAIL_FROM_ADDRESS
    assert mail.to == [recipient]
    assert mail.rcpt_tos == [recipient]
    assert listed.recipient == recipient


# --- the tests ------------------------------------------------------------------------------


def test_the_daily_summary_reaches_every_contact_with_counts_only(env):
    a = ORG_A[0]
    contacts = ["ops@institution.example.be", "it-desk@institution.example.be"]
    for address in contacts:
        env.add_contact(a, address)
    assert env.contacts(a) == contacts
    smtp = env.smtp()
    env.serve(smtp.url)

    first = env.publish(a)
    second = env.publish(a)
    assert env.emails(a) == []
    # One e-mail to each contact, the same text.
    assert env.summarise() == 2
    mails = smtp.wait_for(2, env=env)
    listed = env.wait_sent(a, 2)
    assert sorted(m.recipient for m in listed) == sorted(contacts)
    by_id = {m.message_id: m for m in mails}
    assert set(by_id) == {m.message_id for m in listed}
    for sent in listed:
        mail = by_id[sent.message_id]
        assert sent.kind == "daily-summary"
        assert sent.attempts == 1 and sent.last_error == ""
        assert_headers(mail, sent, sent.recipient)
        assert a in mail.subject and "2 new delivery(ies)" in mail.subject, mail.subject
        assert "2 new delivery(ies) arrived in the mailbox of " + a in mail.body, mail.body
        assert re.search(r"^\s*BROADCAST: 2$", mail.body, re.M), mail.body
        assert_no_secret(mail, first, second)
    assert mails[0].body == mails[1].body

    # Summarised again: nothing new arrived, nothing is enqueued (nor sent: counted below).
    assert env.summarise() == 0
    assert len(env.emails(a)) == 2

    # The next one counts what arrived since, and says since when.
    third = env.publish(a)
    assert env.summarise() == 2
    later = smtp.wait_for(4, env=env)[2:]
    newest = env.wait_sent(a, 4)[:2]
    assert {m.message_id for m in later} == {m.message_id for m in newest}
    for mail in later:
        assert mail.message_id not in by_id
        assert "1 new delivery(ies) arrived" in mail.body
        assert "since the last summary" in mail.body
        assert re.search(r"^\s*BROADCAST: 1$", mail.body, re.M), mail.body
        assert_no_secret(mail, first, second, third)
    time.sleep(QUIET_S)
    assert len(smtp.got()) == 4


def test_an_unread_delivery_is_reminded_of_once(env):
    a = ORG_A[0]
    contact = "ops@institution.example.be"
    env.add_contact(a, contact)
    env.cli(
        "admin", "credential", "add", "--cbe", a, "--username", ORG_A_SOAP.username,
        stdin=ORG_A_SOAP.password + "\n",
    )
    smtp = env.smtp()
    one_day = ("--delivery-unread-reminder-days", "1")
    env.serve(smtp.url, config=one_day)
    unread = env.publish(a)
    downloaded = env.publish(a)
    unread_id, downloaded_id = env.delivery_ids(a)
    # A downloaded delivery is never reminded of.
    env.mailbox(ORG_A_SOAP).call("getDelivery", id=downloaded_id)
    # Both published two days ago (the configuration counts whole days from 1).
    env.backdate("documents", "published_at", unread.document, 2)
    env.backdate("documents", "published_at", downloaded.document, 2)

    # 15 days by default: none due yet.
    assert env.sweep() == (0, 0, 0)
    assert env.sweep(config=one_day) == (1, 0, 1)
    (mail,) = smtp.wait_for(1, env=env)
    (listed,) = env.wait_sent(a, 1)
    assert listed.kind == "unread-reminder"
    assert_headers(mail, listed, contact)
    assert mail.subject == f"raas: 1 delivery(ies) not downloaded in the mailbox of {a}"
    assert "not been downloaded 1 days after" in mail.body, mail.body
    listed_ids = [int(n) for n in re.findall(r"^\s*delivery (\d+) ", mail.body, re.M)]
    assert listed_ids == [unread_id], mail.body
    assert_no_secret(mail, unread, downloaded)

    # Once per delivery, however often it is swept.
    assert env.sweep(config=one_day) == (0, 0, 0)
    assert env.sweep(config=one_day) == (0, 0, 0)
    time.sleep(QUIET_S)
    assert len(smtp.got()) == 1
    assert len(env.emails(a)) == 1


def test_a_delivery_expiring_soon_is_alerted_of_once(env):
    a = ORG_A[0]
    contact = "ops@institution.example.be"
    env.add_contact(a, contact)
    smtp = env.smtp()
    # Broadcasts stay 3 days: published now, they expire within the 7 days of the alert.
    short = ("--delivery-retention", "BROADCAST=3")
    env.serve(smtp.url, config=short)
    # Published with the default retention (90 days): not alerted of.
    kept = env.publish(a)
    expiring = env.publish(a, config=short)
    kept_id, expiring_id = env.delivery_ids(a)

    assert env.sweep(config=short) == (0, 1, 1)
    (mail,) = smtp.wait_for(1, env=env)
    (listed,) = env.wait_sent(a, 1)
    assert listed.kind == "expiry-alert"
    assert_headers(mail, listed, contact)
    assert mail.subject == f"raas: 1 delivery(ies) expiring soon in the mailbox of {a}"
    assert "expire within 7 days" in mail.body, mail.body
    listed_ids = [int(n) for n in re.findall(r"^\s*delivery (\d+) ", mail.body, re.M)]
    assert listed_ids == [expiring_id], mail.body
    assert kept_id != expiring_id
    assert_no_secret(mail, kept, expiring)

    assert env.sweep(config=short) == (0, 0, 0)
    assert env.sweep() == (0, 0, 0)
    time.sleep(QUIET_S)
    assert len(smtp.got()) == 1
    assert len(env.emails(a)) == 1


def test_a_webhook_endpoint_disabled_is_emailed_once(env):
    """An endpoint failing for 5 days is disabled at its next failed attempt. The five days
    are shaped: the endpoint's `failing_since` set 6 days back before its first attempt."""
    a = ORG_A[0]
    contact = "ops@institution.example.be"
    env.add_contact(a, contact)
    hook_url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    printed = env.cli("admin", "webhook", "add", "--cbe", a, "--url", hook_url)
    found = re.search(r"endpoint (\d+) added for \d+\nsecret: (whsec_\S+)", printed)
    assert found, printed
    endpoint, secret = int(found.group(1)), found.group(2)
    env.set_time(
        "webhook_endpoints", "failing_since", endpoint,
        datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=6),
    )
    smtp = env.smtp()
    env.serve(smtp.url, "--webhook-allow-private", "true")
    published = env.publish(a)

    (mail,) = smtp.wait_for(1, env=env)
    (listed,) = env.wait_sent(a, 1)
    assert listed.kind == "webhook-endpoint-disabled"
    assert_headers(mail, listed, contact)
    assert mail.subject == f"raas: webhook endpoint {endpoint} of {a} disabled"
    assert hook_url in mail.body and "disabled" in mail.body, mail.body
    assert secret not in mail.text()
    assert_no_secret(mail, published)
    (listed_endpoint,) = [
        json.loads(line)
        for line in env.cli("admin", "webhook", "list", "--cbe", a).splitlines()
        if line.strip()
    ]
    assert listed_endpoint["disabledAt"], listed_endpoint

    # Disabled once, told once.
    env.publish(a)
    time.sleep(QUIET_S)
    assert len(smtp.got()) == 1
    assert len(env.emails(a)) == 1


def test_an_email_waits_for_the_smtp_server_under_its_message_id(env):
    a = ORG_A[0]
    contact = "ops@institution.example.be"
    env.add_contact(a, contact)
    port = free_port()  # the SMTP server is started later
    env.serve(f"smtp://127.0.0.1:{port}")
    env.publish(a)
    assert env.summarise() == 1

    (failed,) = wait_until(
        "the refused attempt recorded",
        lambda: [m for m in env.emails(a) if m.attempts == 1 and m.last_error],
        env=env,
    )
    assert failed.pending, failed
    assert failed.kind == "daily-summary"
    # The serve log names the e-mail that failed.
    log = env.logs[-1].read_text(errors="replace")
    logged = re.findall(r"e-mail: an attempt failed.*?email=(\d+)", log)
    assert set(logged) <= {str(failed.id)}, log
    if os.environ.get("RUST_LOG", "info") in ("info", "debug", "trace"):
        assert logged == [str(failed.id)], log

    smtp = env.smtp(port=port)
    (mail,) = smtp.wait_for(1, timeout=RETRY_S, env=env)
    (sent,) = env.wait_sent(a, 1)
    assert sent.id == failed.id
    assert sent.attempts == 2 and sent.last_error == "", sent
    assert_headers(mail, sent, contact)
    assert mail.message_id == f"<raas.email.{failed.id}@{MAIL_DOMAIN}>"
    # Recorded as sent: not sent again.
    assert len(smtp.got()) == 1


def test_a_refused_email_is_sent_again_the_same(env):
    a = ORG_A[0]
    contact = "ops@institution.example.be"
    env.add_contact(a, contact)
    smtp = env.smtp(replies=["451 4.3.0 Try again later"])
    env.serve(smtp.url)
    env.publish(a)
    assert env.summarise() == 1

    wait_until("the refused attempt", lambda: smtp.got(), env=env)
    (failed,) = wait_until(
        "the refused attempt recorded",
        lambda: [m for m in env.emails(a) if m.attempts == 1 and m.last_error],
        env=env,
    )
    assert failed.pending and "451" in failed.last_error, failed
    refused, accepted = smtp.got()[0], smtp.wait_for(1, timeout=RETRY_S, env=env)[0]
    assert not refused.accepted
    assert accepted.message_id == refused.message_id == failed.message_id
    assert accepted.content == refused.content
    assert accepted.at - refused.at >= 4.0, accepted.at - refused.at
    (sent,) = env.wait_sent(a, 1)
    assert sent.attempts == 2 and sent.last_error == "", sent
    assert len(smtp.got()) == 2


# Refused by `admin contact add`, each naming the flag.
HOSTILE_ADDRESSES = [
    "a@b.be\r\nBcc: x@evil.example.be",
    "a@b.be\nBcc: x@evil.example.be",
    "a@b.be\rBcc: x@evil.example.be",
    "a@b.be\r\n\r\nbody",
    "ops\r\n@example.be",
    "ops\x01@example.be",
    "ops\x1b@example.be",
    "ops\x7f@example.be",
    "ops\x85@example.be",
    "ops\u2028@example.be",
    "ops\t@example.be",
    "ops",
    "ops@",
    "@example.be",
    "ops@localhost",
    "Ops <ops@example.be>",
    "<ops@example.be>",
    "ops@example.be, x@evil.example.be",
    "ops@example.be,x@evil.example.be",
    "ops@example.be;x@evil.example.be",
    "a" * 65 + "@example.be",
    "a" * 64 + "@" + ("b" * 63 + ".") * 3 + "be",  # 259 characters
    "",
]


def test_hostile_addresses_are_refused_and_nothing_is_stored(env):
    """(A NUL cannot be given: no argument of a process holds one.)"""
    a = ORG_A[0]
    for address in HOSTILE_ADDRESSES:
        refused = env.cli_refused("admin", "contact", "add", "--cbe", a, "--email", address)
        assert "--email" in refused.stderr, (address, refused.stderr)
        assert refused.stdout == "", (address, refused.stdout)
    assert env.contacts(a) == []
    # Surrounding blanks (a trailing CR LF too) are trimmed: the address stored is clean.
    env.cli("admin", "contact", "add", "--cbe", a, "--email", " ops@example.be\r\n")
    assert env.contacts(a) == ["ops@example.be"]
    env.cli("admin", "contact", "remove", "--cbe", a, "--email", "ops@example.be")
    assert env.contacts(a) == []
    # Nobody to e-mail: a delivery makes no summary.
    env.publish(a)
    assert env.summarise() == 0
    assert env.emails(a) == []


def test_a_broadcast_subject_never_reaches_a_header(env):
    a = ORG_A[0]
    contact = "ops@institution.example.be"
    env.add_contact(a, contact)
    smtp = env.smtp()
    env.serve(smtp.url)
    (env.workdir / "notice.txt").write_bytes(b"notice\n")
    for subject in ("Notice\r\nBcc: x@evil.example.be", "Notice\nTo: x@evil.example.be"):
        refused = env.cli_refused(
            "admin", "publish", "--cbe", a, "--subject", subject, "--file",
            str(env.workdir / "notice.txt"), "--operator", "mail-test",
        )
        assert "subject" in refused.stderr, refused.stderr
    assert env.delivery_ids(a) == []
    assert env.summarise() == 0

    # Header-like text without a line break is a subject like any other, and stays out.
    published = [
        env.publish(a, subject="Notice Bcc: x@evil.example.be To: y@evil.example.be"),
        env.publish(a, subject="Notice\u2028Bcc: z@evil.example.be"),
    ]
    assert env.summarise() == 1
    (mail,) = smtp.wait_for(1, env=env)
    (listed,) = env.wait_sent(a, 1)
    assert_headers(mail, listed, contact)
    assert "evil" not in mail.text()
    assert_no_secret(mail, *published)


def test_an_organisation_is_told_of_its_own_deliveries_only(env):
    a, b, c = ORG_A[0], ORG_B[0], ORG_C[0]
    a_contacts = ["ops@a.example.be", "desk@a.example.be"]
    b_contacts = ["ops@b.example.be"]
    for address in a_contacts:
        env.add_contact(a, address)
    for address in b_contacts:
        env.add_contact(b, address)
    smtp = env.smtp()
    env.serve(smtp.url, config=("--delivery-unread-reminder-days", "1"))
    to_a = env.publish(a)
    to_b = [env.publish(b), env.publish(b)]
    to_both = env.publish(a, b)
    to_c = env.publish(c)

    assert env.summarise() == 3
    mails = smtp.wait_for(3, env=env)
    by_recipient = {m.rcpt_tos[0]: m for m in mails}
    assert sorted(by_recipient) == sorted(a_contacts + b_contacts)
    listed = env.wait_sent(a, 2) + env.wait_sent(b, 1)
    for sent in listed:
        mail = by_recipient[sent.recipient]
        assert_headers(mail, sent, sent.recipient)
        assert_no_secret(mail, to_a, *to_b, to_both, to_c)
        if sent.recipient in a_contacts:
            assert "2 new delivery(ies)" in mail.subject and a in mail.subject
            assert b not in mail.text() and c not in mail.text()
        else:
            assert "3 new delivery(ies)" in mail.subject and b in mail.subject
            assert a not in mail.text() and c not in mail.text()
    assert env.emails(c) == []

    # A reminder of B's first delivery goes to B only and names that delivery only.
    env.backdate("documents", "published_at", to_b[0].document, 2)
    b_first = env.delivery_ids(b)[0]
    assert env.sweep(config=("--delivery-unread-reminder-days", "1")) == (1, 0, 1)
    reminder = smtp.wait_for(4, env=env)[3]
    assert sorted(reminder.rcpt_tos) == sorted(b_contacts)
    assert re.findall(r"^\s*delivery (\d+) ", reminder.body, re.M) == [str(b_first)]
    assert a not in reminder.text()
    time.sleep(QUIET_S)
    assert len(smtp.got()) == 4
    assert len(env.emails(a)) == 2 and len(env.emails(b)) == 2 and env.emails(c) == []


def test_a_contact_the_smtp_server_refuses_holds_back_no_other(env):
    """Each contact gets an e-mail of its own: one the SMTP server does not know (550 at
    RCPT) is retried on its own, the others are sent. An address no list of addresses can
    carry (a quoted part with a comma) is refused at `contact add`."""
    a = ORG_A[0]
    good, gone = "ops@institution.example.be", "gone@institution.example.be"
    env.add_contact(a, good)
    env.add_contact(a, gone)
    quoted = '"ops,team"@institution.example.be'
    added = subprocess.run(
        [str(env.raas), "--database-url", env.database_url, "admin", "contact", "add",
         "--cbe", a, "--email", quoted],
        capture_output=True, text=True, timeout=CLI_TIMEOUT_S, stdin=subprocess.DEVNULL,
    )
    assert added.returncode != 0 and "--email" in added.stderr, added
    assert env.contacts(a) == [good, gone]
    smtp = env.smtp(unknown={gone})
    env.serve(smtp.url)
    env.publish(a)
    assert env.summarise() == 2
    (mail,) = smtp.wait_for(1, env=env)
    assert mail.rcpt_tos == [good]
    failed = wait_until(
        f"the e-mail to {gone} failed once",
        lambda: [m for m in env.emails(a) if m.recipient == gone and m.attempts >= 1],
        env=env,
    )[0]
    assert failed.pending and "550" in failed.last_error, failed
    (sent,) = [m for m in env.emails(a) if m.recipient == good]
    assert sent.sent and sent.attempts == 1, sent


def test_a_plain_smtp_url_uses_starttls_when_offered(env):
    """README: `smtp://host:25` (STARTTLS when offered). The SMTP server offers STARTTLS
    with a certificate raas cannot trust: the e-mail must then not go in clear (a failed
    attempt is right)."""
    a = ORG_A[0]
    contact = "ops@institution.example.be"
    env.add_contact(a, contact)
    smtp = env.smtp(tls_context=self_signed_context(env.workdir))
    env.serve(smtp.url)
    env.publish(a)
    assert env.summarise() == 1
    wait_until(
        "an attempt made",
        lambda: smtp.got() or [m for m in env.emails(a) if m.attempts],
        env=env,
    )
    clear = [m for m in smtp.got() if not m.tls]
    assert not clear, (
        "STARTTLS was offered, yet the e-mail was sent in clear over " + smtp.url
        + f": {env.emails(a)}"
    )
