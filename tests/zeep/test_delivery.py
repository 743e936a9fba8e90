"""DeliveryService v1 (the mailboxes) through zeep in strict mode, from the served WSDL:
listDeliveries and getDelivery on operator broadcasts (`raas admin publish`) and on a daily
file (`raas batch run`, its voucher's signature checked with Python `cryptography`), the
proof of receipt, one organisation's mailbox closed to another, the filters and pages, and
the faults. Every answer is validated against xsd/Delivery.xsd with xmlschema (`Caller.call`).

The mailboxes belong to the shared seeded databases: each test publishes documents of its
own (unique subjects and file names) and looks only at them, or compares a mailbox with
itself, never assuming it empty."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import sqlite3
import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from lxml import etree

from support import (
    CLI_TIMEOUT_S,
    COMMON_NS,
    DELIVERY,
    DELIVERY_NS,
    ORG_A,
    ORG_B,
    ORG_C,
    REVOKED_PASSWORD,
    REVOKED_USER,
    SOAP_ENV_NS,
    XSD_DIR,
    Service,
    body_child,
    psql,
    schema_of,
    start_server,
    stop_server,
)

CLIENT = f"{{{SOAP_ENV_NS}}}Client"
VOUCHER_NS = "urn:be:raas:batch:Voucher:v1"
UTC = datetime.timezone.utc


# --- helpers --------------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def a_file(service, content: bytes, suffix: str = ".txt") -> Path:
    """A file of a unique name (letters, digits, '-', '.') holding `content`."""
    folder = service.workdir / "to-publish"
    folder.mkdir(exist_ok=True)
    path = folder / f"{unique('doc')}{suffix}"
    path.write_bytes(content)
    return path


def listing(caller, **filters) -> list:
    """Every delivery of the caller's mailbox the filters select, page by page."""
    found = []
    page = 1
    while True:
        answer = caller.call("listDeliveries", page=page, pageSize=100, **filters)
        found += list(answer.delivery)
        if not answer.delivery or len(found) >= answer.totalItems:
            assert len(found) == answer.totalItems
            return found
        page += 1


def by_subject(caller, subject: str, **filters) -> list:
    return [d for d in listing(caller, **filters) if d.subject == subject]


def the_delivery(caller, subject: str):
    (delivery,) = by_subject(caller, subject)
    return delivery


def assert_client_fault(fault, reason_code: str, information: dict[str, str] | None) -> None:
    """A client fault of `reason_code` naming `information` (None: not looked at)."""
    assert fault.reason_code == reason_code, fault.faultstring
    assert fault.faultcode == CLIENT
    assert fault.faultstring
    assert fault.detail.severity == "FATAL"
    assert fault.detail.authorCode == "raas"
    assert fault.detail.diagnostic
    if information is not None:
        assert fault.information == information
    ticket = fault.service_fault.ticket
    assert str(uuid.UUID(ticket)) == ticket, "the fault ticket is not a UUID"


def assert_server_info(answer) -> None:
    server = answer.informationServer
    assert str(uuid.UUID(server.ticket)) == server.ticket
    assert server.timestampReceive <= server.timestampReply
    now = datetime.datetime.now(UTC)
    assert abs(server.timestampReply - now) < datetime.timedelta(minutes=5)


def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def raw_post(service, caller, operation: str, edit=None, **kwargs) -> requests.Response:
    """POSTs the envelope zeep would send, after `edit(envelope)` (for the values zeep will
    not put in a request)."""
    kwargs.setdefault("informationCustomer", caller.customer())
    envelope = caller.client.create_message(caller.client.service, operation, **kwargs)
    if edit is not None:
        edit(envelope)
    return http().post(
        service.endpoint_of(DELIVERY),
        data=etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"urn:be:raas:intf:DeliveryService:v1:{operation}"',
        },
        timeout=30,
    )


def set_text(name: str, text: str):
    """An `edit` for `raw_post`: the text of the request's element `name`."""

    def edit(envelope):
        (element,) = envelope.iter(f"{{{DELIVERY_NS}}}{name}")
        element.text = text

    return edit


def raw_fault(response) -> tuple[str, dict[str, str]]:
    """The reason code and information of a raw fault answer, its serviceFault validated."""
    assert response.status_code == 500, response.text
    fault = body_child(etree.fromstring(response.content))
    assert fault.tag == f"{{{SOAP_ENV_NS}}}Fault"
    (service_fault,) = fault.findall(f"detail/{{{COMMON_NS}}}serviceFault")
    schema_of(DELIVERY.xsd).validate(etree.tostring(service_fault))
    ns = {"c": COMMON_NS}
    detail = service_fault.find("c:detail", namespaces=ns)
    information = {
        i.findtext("c:fieldName", namespaces=ns): i.findtext("c:fieldValue", namespaces=ns) or ""
        for i in detail.findall("c:information", namespaces=ns)
    }
    return detail.findtext("c:reasonCode", namespaces=ns), information


def ledger(service, cbe: str) -> dict[int, dict]:
    """The sender's view of a mailbox (`raas admin deliveries --json`), by delivery id."""
    out = service.cli("admin", "deliveries", "--cbe", cbe, "--limit", "100000", "--json")
    return {line["id"]: line for line in map(json.loads, out.splitlines())}


def audit_entries(service, limit: int = 200) -> list[dict]:
    out = service.cli("admin", "audit", "--limit", str(limit))
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def expire_now(service, delivery_id: int) -> None:
    """Makes the document of a delivery due (its expiry in the past), straight in the
    database, then runs the expiry sweep as an operator would."""
    sql = (
        "UPDATE documents SET expires_at = '2000-01-01 00:00:00' WHERE id = "
        f"(SELECT document_id FROM deliveries WHERE id = {int(delivery_id)})"
    )
    if service.backend == "sqlite":
        with sqlite3.connect(service.database_url) as conn:
            assert conn.execute(sql).rowcount == 1
    else:
        psql(service.database_url, sql)
    out = service.cli("admin", "expire-deliveries")
    assert "document(s) expired" in out, out


# --- the served contract --------------------------------------------------------------------


def test_the_wsdl_and_schema_are_served(service):
    session = http()
    wsdl_url = f"{service.endpoint_of(DELIVERY)}?wsdl"
    answer = session.get(wsdl_url, timeout=30)
    assert answer.status_code == 200
    wsdl = etree.fromstring(answer.content)
    ns = {
        "wsdl": "http://schemas.xmlsoap.org/wsdl/",
        "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
        "xs": "http://www.w3.org/2001/XMLSchema",
    }
    (address,) = wsdl.findall("wsdl:service/wsdl:port/soap:address", ns)
    assert address.get("location") == service.endpoint_of(DELIVERY)
    for imported in wsdl.findall("wsdl:types/xs:schema/xs:import", ns):
        url = urljoin(wsdl_url, imported.get("schemaLocation"))
        served = session.get(url, timeout=30)
        assert served.status_code == 200, url
        assert served.content == (XSD_DIR / Path(url).name).read_bytes(), url
    served = session.get(f"{service.base_url}/xsd/Delivery.xsd", timeout=30)
    assert served.content == (XSD_DIR / "Delivery.xsd").read_bytes()


# --- broadcasts: list, fetch, the proof of receipt ------------------------------------------


def test_a_broadcast_is_listed_fetched_and_its_receipt_recorded(service, mailbox_a):
    content = "Avis aux secrétariats: maintenance le 12 décembre.\n".encode() + bytes(range(256))
    file = a_file(service, content, ".bin")
    # Text beyond ASCII and XML's special characters come back as they were published.
    subject = unique("Entretien du 12 décembre — <R&D> \"avis\" l'équipe")
    before = datetime.datetime.now(UTC) - datetime.timedelta(seconds=5)
    printed = service.publish(file, subject, cbes=[ORG_A.cbe], registered=True)
    assert "published to 1 mailbox(es)" in printed
    sha256 = hashlib.sha256(content).hexdigest()
    assert f"sha256 {sha256}" in printed

    listed = the_delivery(mailbox_a, subject)
    assert listed.fileType == "BROADCAST"
    assert listed.fileName == file.name
    assert listed.subject == subject
    assert listed.size == len(content)
    assert listed.sha256 == sha256
    assert listed.registered is True
    assert listed.state == "AVAILABLE"
    assert listed.firstDownload is None
    assert (listed.referenceDate, listed.sequenceNumber, listed.recordCount) == (None, None, None)
    assert listed.publishedAt.tzinfo is not None
    assert before <= listed.publishedAt <= datetime.datetime.now(UTC)
    # Broadcasts stay 90 days by default.
    assert listed.expiresAt - listed.publishedAt == datetime.timedelta(days=90)

    customer = mailbox_a.customer(ticket=unique("get"))
    fetched = mailbox_a.call("getDelivery", informationCustomer=customer, id=listed.id)
    assert fetched.informationCustomer.ticket == customer["ticket"]
    assert fetched.informationCustomer.customerIdentification.cbeNumber == ORG_A.cbe
    assert_server_info(fetched)
    assert (fetched.status.value, fetched.status.code) == ("DATA_FOUND", "MSG00000")
    assert fetched.content == content
    assert hashlib.sha256(fetched.content).hexdigest() == listed.sha256
    assert fetched.voucher is None and fetched.signature is None
    # The delivery as it is after the call: its receipt recorded.
    got = fetched.delivery
    assert got.id == listed.id
    assert got.state == "DOWNLOADED"
    assert got.firstDownload.by == ORG_A.username
    at = got.firstDownload.at
    assert at.tzinfo is not None
    assert fetched.informationServer.timestampReceive - datetime.timedelta(seconds=1) <= at
    assert at <= fetched.informationServer.timestampReply + datetime.timedelta(seconds=1)
    for name in ("fileType", "fileName", "subject", "size", "sha256", "registered"):
        assert getattr(got, name) == getattr(listed, name), name
    assert (got.publishedAt, got.expiresAt) == (listed.publishedAt, listed.expiresAt)

    # A later list shows the receipt; a second fetch keeps the first receipt.
    relisted = the_delivery(mailbox_a, subject)
    assert relisted.state == "DOWNLOADED"
    assert (relisted.firstDownload.at, relisted.firstDownload.by) == (at, ORG_A.username)
    again = mailbox_a.call("getDelivery", id=listed.id)
    assert again.content == content
    assert (again.delivery.firstDownload.at, again.delivery.firstDownload.by) == (
        at,
        ORG_A.username,
    )

    # The sender's view tells the same receipt.
    seen = ledger(service, ORG_A.cbe)[listed.id]
    assert (seen["state"], seen["sha256"], seen["subject"]) == ("DOWNLOADED", sha256, subject)
    assert seen["firstDownload"]["by"] == ORG_A.username

    # The first fetch is audited, naming the delivery.
    (entry,) = [e for e in audit_entries(service) if e.get("clientTicket") == customer["ticket"]]
    assert entry["target"] == f"delivery:{listed.id}"
    assert entry["username"] == ORG_A.username
    assert (entry["service"], entry["operation"]) == ("DeliveryService", "getDelivery")
    assert entry["outcome"] == "OK"
    assert entry["serverTicket"] == fetched.informationServer.ticket


def test_the_first_of_concurrent_downloads_is_the_one_receipt(service, mailbox_a):
    """Eight clients fetch a new delivery at once: one first download wins, every answer
    tells that one, and every call has exactly one audit entry."""
    content = b"raced\n" * 100
    subject = unique("Raced")
    service.publish(a_file(service, content), subject, cbes=[ORG_A.cbe], registered=True)
    delivery = the_delivery(mailbox_a, subject)
    callers = [service.caller(ORG_A, contract=DELIVERY) for _ in range(8)]
    tickets = [unique("race") for _ in callers]
    barrier = threading.Barrier(len(callers))

    def fetch(caller, ticket):
        customer = caller.customer(ticket=ticket)
        barrier.wait(timeout=30)
        return caller.call("getDelivery", informationCustomer=customer, id=delivery.id)

    with ThreadPoolExecutor(len(callers)) as pool:
        answers = list(pool.map(fetch, callers, tickets))
    assert all(a.content == content for a in answers)
    receipts = {(a.delivery.firstDownload.at, a.delivery.firstDownload.by) for a in answers}
    assert len(receipts) == 1, receipts
    ((at, by),) = receipts
    assert by == ORG_A.username
    listed = the_delivery(mailbox_a, subject)
    assert (listed.firstDownload.at, listed.firstDownload.by) == (at, by)
    entries = [e for e in audit_entries(service, 500) if e.get("clientTicket") in tickets]
    assert sorted(e["clientTicket"] for e in entries) == sorted(tickets)
    assert {(e["target"], e["outcome"]) for e in entries} == {(f"delivery:{delivery.id}", "OK")}


def test_an_unregistered_empty_broadcast(service, mailbox_a):
    file = a_file(service, b"")
    subject = unique("Empty notice")
    service.publish(file, subject, cbes=[ORG_A.cbe])
    listed = the_delivery(mailbox_a, subject)
    assert listed.registered is False
    assert listed.size == 0
    assert listed.sha256 == hashlib.sha256(b"").hexdigest()
    fetched = mailbox_a.call("getDelivery", id=listed.id)
    # An empty xs:base64Binary: the element is there (valid, `Caller.call` checked it),
    # empty; zeep reads an empty element as None.
    assert fetched.content in (None, b"")
    (content,) = mailbox_a.last_response_body().findall(f"{{{DELIVERY_NS}}}content")
    assert not (content.text or "").strip()


def test_a_broadcast_to_all_reaches_every_mailbox_with_one_file(
    service, mailbox_a, mailbox_b, mailbox_c
):
    content = b"to everyone\n"
    file = a_file(service, content)
    subject = unique("To all")
    printed = service.publish(file, subject)
    assert "published to 3 mailbox(es)" in printed
    found = [the_delivery(m, subject) for m in (mailbox_a, mailbox_b, mailbox_c)]
    assert len({d.id for d in found}) == 3, "one delivery per mailbox"
    for delivery in found:
        assert delivery.size == len(content)
        assert delivery.sha256 == hashlib.sha256(content).hexdigest()
    # Stored once, in the server's outbox.
    stored = list((service.outbox / "broadcasts").glob(f"*/{file.name}"))
    assert len(stored) == 1 and stored[0].read_bytes() == content
    # B's download is B's receipt only.
    fetched = mailbox_b.call("getDelivery", id=found[1].id)
    assert fetched.content == content
    assert fetched.delivery.firstDownload.by == ORG_B.username
    assert the_delivery(mailbox_a, subject).state == "AVAILABLE"
    assert the_delivery(mailbox_c, subject).state == "AVAILABLE"


def test_a_broadcast_naming_an_unknown_organisation_is_refused_whole(service, mailbox_a):
    file = a_file(service, b"never delivered\n")
    subject = unique("Refused")
    broadcasts = service.outbox / "broadcasts"
    folders_before = set(broadcasts.iterdir()) if broadcasts.exists() else set()
    refused = subprocess.run(
        [
            str(service.raas),
            "--database-url",
            service.database_url,
            "--outbox",
            str(service.outbox),
            "admin",
            "publish",
            "--cbe",
            ORG_A.cbe,
            "--cbe",
            "0897564534",  # valid check digits, no such organisation
            "--subject",
            subject,
            "--file",
            str(file),
            "--operator",
            "zeep-operator",
        ],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    assert refused.returncode != 0, refused.stdout
    assert by_subject(mailbox_a, subject) == []
    assert not list(broadcasts.glob(f"*/{file.name}"))
    # No folder, no partial copy left behind.
    folders_after = set(broadcasts.iterdir()) if broadcasts.exists() else set()
    assert folders_after == folders_before


# --- isolation ------------------------------------------------------------------------------


def test_another_organisation_never_sees_a_delivery(service, mailbox_a, mailbox_b):
    content = b"for A only\n"
    subject = unique("For A only")
    service.publish(a_file(service, content), subject, cbes=[ORG_A.cbe])
    delivery = the_delivery(mailbox_a, subject)

    assert by_subject(mailbox_b, subject) == []
    assert delivery.id not in {d.id for d in listing(mailbox_b)}
    assert delivery.id not in {d.id for d in listing(mailbox_b, fileType="BROADCAST")}
    customer = mailbox_b.customer(ticket=unique("peek"))
    fault = mailbox_b.fault("getDelivery", informationCustomer=customer, id=delivery.id)
    assert_client_fault(fault, "DELIVERY_UNKNOWN", {"id": str(delivery.id)})
    # The attempt is audited as B's, naming the delivery.
    (entry,) = [e for e in audit_entries(service) if e.get("clientTicket") == customer["ticket"]]
    assert (entry["username"], entry["claimedCbeNumber"]) == (ORG_B.username, ORG_B.cbe)
    assert (entry["target"], entry["outcome"]) == (f"delivery:{delivery.id}", "DELIVERY_UNKNOWN")
    # Told apart from a delivery that does not exist by nothing but the id.
    unknown = mailbox_b.fault("getDelivery", id=9_000_000_000_000)
    assert_client_fault(unknown, "DELIVERY_UNKNOWN", {"id": "9000000000000"})
    assert fault.detail.diagnostic == unknown.detail.diagnostic.replace(
        "9000000000000", str(delivery.id)
    )

    # B's attempt recorded no receipt: A still finds it never downloaded.
    assert the_delivery(mailbox_a, subject).state == "AVAILABLE"
    assert mailbox_a.call("getDelivery", id=delivery.id).content == content


def test_a_caller_may_not_open_another_organisations_mailbox(service, mailbox_a):
    subject = unique("For B")
    service.publish(a_file(service, b"b\n"), subject, cbes=[ORG_B.cbe])
    as_b = mailbox_a.customer(cbe=ORG_B.cbe)
    fault = mailbox_a.fault("listDeliveries", informationCustomer=as_b)
    assert_client_fault(fault, "NOT_ALLOWED", None)
    b_delivery = the_delivery(service.caller(ORG_B, contract=DELIVERY), subject)
    fault = mailbox_a.fault(
        "getDelivery", informationCustomer=mailbox_a.customer(cbe=ORG_B.cbe), id=b_delivery.id
    )
    assert_client_fault(fault, "NOT_ALLOWED", None)


@pytest.mark.parametrize(
    "username, password",
    [
        (ORG_A.username, "not-the-right-secret"),
        ("nobody-at-all", ORG_A.password),
        (REVOKED_USER, REVOKED_PASSWORD),
    ],
    ids=["wrong password", "unknown username", "revoked credential"],
)
def test_not_authenticated(service, mailbox_a, username, password):
    subject = unique("Authenticated only")
    service.publish(a_file(service, b"secret\n"), subject, cbes=[ORG_A.cbe])
    delivery = the_delivery(mailbox_a, subject)
    intruder = service.caller(ORG_A, username, password, contract=DELIVERY)
    assert_client_fault(intruder.fault("listDeliveries"), "NOT_AUTHENTICATED", {})
    fault = intruder.fault("getDelivery", id=delivery.id)
    assert_client_fault(fault, "NOT_AUTHENTICATED", {})
    assert the_delivery(mailbox_a, subject).state == "AVAILABLE"


# --- filters and pages ----------------------------------------------------------------------


def test_pages_follow_the_mailbox_oldest_first(service, mailbox_c):
    subjects = [unique(f"Page {i}") for i in range(3)]
    for subject in subjects:
        service.publish(a_file(service, subject.encode()), subject, cbes=[ORG_C.cbe])
    everything = listing(mailbox_c)
    ids = [d.id for d in everything]
    assert ids == sorted(ids), "oldest first"
    mine = [d.id for d in everything if d.subject in subjects]
    assert mine == [the_delivery(mailbox_c, s).id for s in subjects]
    total = len(everything)
    assert total >= 3

    second = mailbox_c.call("listDeliveries", page=2, pageSize=1)
    assert (second.status.value, second.totalItems, second.page, second.pageSize) == (
        "DATA_FOUND",
        total,
        2,
        1,
    )
    assert [d.id for d in second.delivery] == [ids[1]]
    # Every page of 2 is the matching slice of the whole mailbox.
    for page in range(1, (total + 1) // 2 + 1):
        answer = mailbox_c.call("listDeliveries", page=page, pageSize=2)
        assert [d.id for d in answer.delivery] == ids[(page - 1) * 2 : page * 2]
        assert answer.totalItems == total
    # The last of my three, alone on its page when the page size is the total.
    last = mailbox_c.call("listDeliveries", page=total, pageSize=1)
    assert [d.id for d in last.delivery] == [mine[-1]]

    # Past the end: NO_RESULT, the total still told.
    beyond = mailbox_c.call("listDeliveries", page=total + 1, pageSize=1)
    assert (beyond.status.value, beyond.status.code) == ("NO_RESULT", "MSG00002")
    assert (beyond.totalItems, beyond.page, beyond.pageSize) == (total, total + 1, 1)
    assert list(beyond.delivery) == []

    # Defaults: page 1 of 20.
    first = mailbox_c.call("listDeliveries")
    assert (first.page, first.pageSize, first.totalItems) == (1, 20, total)
    assert [d.id for d in first.delivery] == ids[:20]
    # The largest page: 100.
    largest = mailbox_c.call("listDeliveries", pageSize=100)
    assert [d.id for d in largest.delivery] == ids[:100]


def test_filters(service, mailbox_c):
    first_subject, second_subject = unique("Filter first"), unique("Filter second")
    service.publish(a_file(service, b"1\n"), first_subject, cbes=[ORG_C.cbe])
    first = the_delivery(mailbox_c, first_subject)
    service.publish(a_file(service, b"2\n"), second_subject, cbes=[ORG_C.cbe])
    second = the_delivery(mailbox_c, second_subject)
    assert second.publishedAt >= first.publishedAt

    # receivedAfter: strictly after; a publishedAt given back selects what came later.
    after_first = listing(mailbox_c, receivedAfter=first.publishedAt)
    assert first.id not in {d.id for d in after_first}
    if second.publishedAt > first.publishedAt:
        assert second.id in {d.id for d in after_first}
    assert all(d.publishedAt > first.publishedAt for d in after_first)
    assert second.id not in {d.id for d in listing(mailbox_c, receivedAfter=second.publishedAt)}
    # A time with another zone is converted: the same instant, one hour ahead in +01:00.
    plus_one = second.publishedAt.astimezone(datetime.timezone(datetime.timedelta(hours=1)))
    assert second.id not in {d.id for d in listing(mailbox_c, receivedAfter=plus_one)}
    # A time without a zone is taken as UTC.
    naive = second.publishedAt.astimezone(UTC).replace(tzinfo=None)
    assert second.id not in {d.id for d in listing(mailbox_c, receivedAfter=naive)}
    earlier = first.publishedAt - datetime.timedelta(microseconds=1)
    assert {first.id, second.id} <= {d.id for d in listing(mailbox_c, receivedAfter=earlier)}

    # downloaded: after fetching the first, it is among the downloaded only.
    mailbox_c.call("getDelivery", id=first.id)
    downloaded = {d.id for d in listing(mailbox_c, downloaded=True)}
    not_downloaded = {d.id for d in listing(mailbox_c, downloaded=False)}
    assert first.id in downloaded and first.id not in not_downloaded
    assert second.id in not_downloaded and second.id not in downloaded
    everything = listing(mailbox_c)
    assert downloaded | not_downloaded == {d.id for d in everything}
    assert all(d.state == "DOWNLOADED" for d in listing(mailbox_c, downloaded=True))
    assert all(d.state == "AVAILABLE" for d in listing(mailbox_c, downloaded=False))

    # fileType: broadcasts only; no daily file was made for C.
    broadcasts = listing(mailbox_c, fileType="BROADCAST")
    assert {first.id, second.id} <= {d.id for d in broadcasts}
    assert all(d.fileType == "BROADCAST" for d in broadcasts)
    assert listing(mailbox_c, fileType="PERSON_MUTATIONS") == []
    # afterSequence selects daily files only (broadcasts have no sequence number).
    assert listing(mailbox_c, afterSequence=0) == []


# --- expiry and size ------------------------------------------------------------------------


def test_an_expired_delivery_leaves_the_mailbox(service, mailbox_a):
    content = b"short-lived\n"
    subject = unique("Expiring")
    file = a_file(service, content)
    service.publish(file, subject, cbes=[ORG_A.cbe], registered=True)
    delivery = the_delivery(mailbox_a, subject)
    mailbox_a.call("getDelivery", id=delivery.id)
    (stored,) = (service.outbox / "broadcasts").glob(f"*/{file.name}")

    expire_now(service, delivery.id)
    assert by_subject(mailbox_a, subject) == []
    fault = mailbox_a.fault("getDelivery", id=delivery.id)
    assert_client_fault(fault, "DELIVERY_EXPIRED", {"id": str(delivery.id)})
    assert not stored.exists(), "the expired file is still in the outbox"
    # The sender's view keeps it, with its receipt.
    seen = ledger(service, ORG_A.cbe)[delivery.id]
    assert seen["state"] == "EXPIRED"
    assert seen["firstDownload"]["by"] == ORG_A.username
    assert seen["sha256"] == hashlib.sha256(content).hexdigest()


@pytest.fixture(scope="module")
def small_server(service):
    """A second `raas serve` on the same database and outbox whose SOAP answers carry files
    of at most 100 bytes."""
    log = service.workdir / "serve-small.log"
    proc, base_url = start_server(
        service.raas,
        service.database_url,
        log,
        outbox=service.outbox,
        serve_args=["--delivery-soap-max-bytes", "100"],
    )
    try:
        yield base_url
    finally:
        stop_server(proc)


def test_a_file_over_the_soap_limit_is_too_large(service, small_server, mailbox_a):
    small = Service(
        service.backend,
        service.database_url,
        small_server,
        service.raas,
        service.log,
        outbox=service.outbox,
        workdir=service.workdir,
    )
    on_small = small.caller(ORG_A, contract=DELIVERY)
    at_limit, over = unique("At the limit"), unique("Over the limit")
    service.publish(a_file(service, b"x" * 100), at_limit, cbes=[ORG_A.cbe])
    service.publish(a_file(service, b"x" * 101), over, cbes=[ORG_A.cbe])
    big = the_delivery(on_small, over)
    assert big.size == 101

    fault = on_small.fault("getDelivery", id=big.id)
    assert_client_fault(fault, "DELIVERY_TOO_LARGE", {"id": str(big.id)})
    # Refused before any receipt; the ordinary server still gives it.
    assert the_delivery(mailbox_a, over).state == "AVAILABLE"
    assert on_small.call("getDelivery", id=the_delivery(on_small, at_limit).id).content == (
        b"x" * 100
    )
    assert mailbox_a.call("getDelivery", id=big.id).content == b"x" * 101


# --- faults ---------------------------------------------------------------------------------


def test_unknown_delivery(mailbox_a):
    for id in (9_100_000_000_000, 0, -1):
        fault = mailbox_a.fault("getDelivery", id=id)
        assert_client_fault(fault, "DELIVERY_UNKNOWN", {"id": str(id)})


@pytest.mark.parametrize(
    "field, value",
    [("pageSize", 0), ("pageSize", 101), ("page", 0), ("page", 1_000_001)],
)
def test_pages_out_of_range(mailbox_a, field, value):
    fault = mailbox_a.fault("listDeliveries", **{field: value})
    assert_client_fault(fault, "INVALID_FIELD", {field: str(value)})


def test_a_legal_context_longer_than_64_characters(mailbox_a):
    fault = mailbox_a.fault("listDeliveries", legalContext="x" * 65)
    assert_client_fault(fault, "INVALID_FIELD", {"legalContext": "x" * 65})
    fault = mailbox_a.fault("getDelivery", legalContext="x" * 65, id=1)
    assert_client_fault(fault, "INVALID_FIELD", {"legalContext": "x" * 65})
    # Up to 64 is accepted.
    answer = mailbox_a.call("listDeliveries", legalContext="x" * 64, pageSize=1)
    assert answer.pageSize == 1


@pytest.mark.parametrize(
    "field, text",
    [("page", "99999999999"), ("pageSize", "99999999999"), ("pageSize", "+0"), ("page", "000")],
)
def test_a_page_out_of_range_is_named_as_sent(service, mailbox_a, field, text):
    # Past 32 bits, or written with a sign or leading zeros: the fault names the text sent.
    edit = set_text(field, text)
    response = raw_post(service, mailbox_a, "listDeliveries", edit=edit, **{field: 1})
    assert raw_fault(response) == ("INVALID_FIELD", {field: text})


@pytest.mark.parametrize(
    "operation, kwargs, field, text",
    [
        ("getDelivery", {"id": 1}, "id", "one"),
        ("getDelivery", {"id": 1}, "id", "9223372036854775808"),
        ("getDelivery", {"id": 1}, "id", "1.5"),
        ("listDeliveries", {"fileType": "BROADCAST"}, "fileType", "LETTER"),
        ("listDeliveries", {"pageSize": 1}, "pageSize", "-1"),
        ("listDeliveries", {"pageSize": 1}, "pageSize", "ten"),
        ("listDeliveries", {"downloaded": True}, "downloaded", "yes"),
        ("listDeliveries", {"afterSequence": 1}, "afterSequence", "x"),
        (
            "listDeliveries",
            {"receivedAfter": datetime.datetime(2026, 1, 1, tzinfo=UTC)},
            "receivedAfter",
            "yesterday",
        ),
    ],
    ids=[
        "id not a number",
        "id past xs:long",
        "id a decimal",
        "unknown file type",
        "negative page size",
        "page size not a number",
        "downloaded not a boolean",
        "afterSequence not a number",
        "receivedAfter not a time",
    ],
)
def test_invalid_fields_sent_raw(service, mailbox_a, operation, kwargs, field, text):
    # Values zeep would refuse to send: the envelope zeep builds, one text replaced.
    response = raw_post(service, mailbox_a, operation, edit=set_text(field, text), **kwargs)
    assert raw_fault(response) == ("INVALID_FIELD", {field: text})


def test_the_lexical_forms_the_schema_allows(service, mailbox_a):
    """xs:positiveInteger, xs:long and xs:boolean as a conformant client may write them
    (sign, leading zeros, 1/0, white space) are read as the values they are."""
    subject = unique("Lexical")
    service.publish(a_file(service, b"lexical\n"), subject, cbes=[ORG_A.cbe])
    delivery = the_delivery(mailbox_a, subject)
    ns = {"d": DELIVERY_NS, "c": COMMON_NS}

    def answer(operation, edits, **kwargs):
        def edit(envelope):
            for name, text in edits.items():
                set_text(name, text)(envelope)

        response = raw_post(service, mailbox_a, operation, edit=edit, **kwargs)
        assert response.status_code == 200, response.text
        element = body_child(etree.fromstring(response.content))
        schema_of(DELIVERY.xsd).validate(etree.tostring(element))
        return element

    for text in ("+2", "002", " 2\n"):
        page = answer("listDeliveries", {"pageSize": text}, pageSize=1)
        assert page.findtext("d:pageSize", namespaces=ns) == "2"
    for text, state in (("0", "AVAILABLE"), ("false", "AVAILABLE")):
        page = answer("listDeliveries", {"downloaded": text}, downloaded=True, pageSize=100)
        states = {e.text for e in page.iterfind("d:delivery/d:state", namespaces=ns)}
        assert states <= {state}
    ticket = unique("lexical")
    got = answer(
        "getDelivery",
        {"id": f"+00{delivery.id}"},
        informationCustomer=mailbox_a.customer(ticket=ticket),
        id=1,
    )
    assert got.findtext("d:delivery/d:id", namespaces=ns) == str(delivery.id)
    # Audited under the delivery it reads as.
    (entry,) = [e for e in audit_entries(service) if e.get("clientTicket") == ticket]
    assert (entry["target"], entry["outcome"]) == (f"delivery:{delivery.id}", "OK")
    for text in ("1", "true"):
        page = answer("listDeliveries", {"downloaded": text}, downloaded=False, pageSize=100)
        states = {e.text for e in page.iterfind("d:delivery/d:state", namespaces=ns)}
        assert states == {"DOWNLOADED"}


def test_a_page_size_of_zero_sent_raw(service, mailbox_a):
    # zeep sends pageSize 0 itself (test_pages_out_of_range); the raw request checks that
    # the refusal does not depend on how zeep writes it.
    edit = set_text("pageSize", "0")
    response = raw_post(service, mailbox_a, "listDeliveries", edit=edit, pageSize=1)
    assert raw_fault(response) == ("INVALID_FIELD", {"pageSize": "0"})


# --- a daily file ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def daily_file(service):
    """Org A subscribed to PERSON_MUTATIONS (from today, in the configured zone) and the daily
    run of today made (`raas batch run --date TODAY`, signed by a key of its own) on the
    shared database, into the server's outbox. Returns the public key and the reference date."""
    folder = service.workdir / "daily"
    folder.mkdir()
    key = folder / "signing-key.pem"
    service.cli("batch", "keygen", "-o", str(key))
    printed = service.cli("--signing-key", str(key), "batch", "public-key")
    public = serialization.load_pem_public_key(printed.encode())
    assert isinstance(public, Ed25519PublicKey)
    subscription = service.cli(
        "admin", "subscription", "add", "--cbe", ORG_A.cbe, "--type", "PERSON_MUTATIONS"
    ).strip()
    listed = service.cli("admin", "subscription", "list", "--cbe", ORG_A.cbe)
    (line,) = [s for s in map(json.loads, listed.splitlines()) if str(s.get("id")) == subscription]
    day = line["starts_on"]
    service.cli("--signing-key", str(key), "batch", "run", "--date", day, "--quiet")
    return public, datetime.date.fromisoformat(day)


def test_a_daily_file_comes_with_its_voucher_and_signature(
    service, daily_file, mailbox_a, mailbox_b
):
    public, day = daily_file
    dailies = listing(mailbox_a, fileType="PERSON_MUTATIONS")
    (listed,) = [d for d in dailies if d.referenceDate == day]
    assert listed.fileType == "PERSON_MUTATIONS"
    assert listed.subject is None
    assert listed.registered is False
    assert listed.sequenceNumber == 1
    assert listed.recordCount is not None and listed.recordCount >= 0
    assert listed.fileName == f"PERSON_MUTATIONS_{ORG_A.cbe}_{day:%Y%m%d}_000001.xml"
    assert listed.expiresAt - listed.publishedAt == datetime.timedelta(days=60)
    assert listed.state == "AVAILABLE"
    # afterSequence: the file has sequence 1.
    assert listed.id in {d.id for d in listing(mailbox_a, afterSequence=0)}
    assert listed.id not in {d.id for d in listing(mailbox_a, afterSequence=1)}

    fetched = mailbox_a.call("getDelivery", id=listed.id)
    data = service.outbox / ORG_A.cbe / listed.fileName
    assert fetched.content == data.read_bytes()
    assert len(fetched.content) == listed.size
    assert hashlib.sha256(fetched.content).hexdigest() == listed.sha256
    assert fetched.delivery.state == "DOWNLOADED"
    assert fetched.delivery.firstDownload.by == ORG_A.username

    # The voucher is the voucher file, byte for byte; the signature its raw Ed25519
    # signature, as the .voucher.sig file holds it in base64.
    voucher_file = data.with_name(data.name + ".voucher.xml")
    assert fetched.voucher == voucher_file.read_bytes()
    signature_file = data.with_name(data.name + ".voucher.sig")
    assert fetched.signature == base64.b64decode(signature_file.read_text().strip())
    assert len(fetched.signature) == 64
    public.verify(fetched.signature, fetched.voucher)  # raises InvalidSignature if not

    # The voucher tells the file as the delivery does.
    schema_of("Voucher.xsd").validate(fetched.voucher.decode())
    voucher = etree.fromstring(fetched.voucher)

    def field(name: str) -> str:
        return voucher.findtext(f"{{{VOUCHER_NS}}}{name}")

    assert field("receiver") == ORG_A.cbe
    assert field("fileName") == listed.fileName
    assert field("fileType") == "PERSON_MUTATIONS"
    assert int(field("fileSize")) == listed.size
    assert field("sha256") == listed.sha256
    assert int(field("recordCount")) == listed.recordCount
    assert int(field("fileSequenceNumber")) == listed.sequenceNumber
    assert field("referenceDate") == day.isoformat()

    # The run of the same date again: nothing new in the mailbox, the receipt kept.
    key = service.workdir / "daily" / "signing-key.pem"
    service.cli("--signing-key", str(key), "batch", "run", "--date", day.isoformat(), "--quiet")
    again = [d for d in listing(mailbox_a, fileType="PERSON_MUTATIONS") if d.referenceDate == day]
    assert [(d.id, d.state, d.sha256) for d in again] == [(listed.id, "DOWNLOADED", listed.sha256)]

    # Another organisation can neither list nor fetch it.
    assert listed.id not in {d.id for d in listing(mailbox_b)}
    fault = mailbox_b.fault("getDelivery", id=listed.id)
    assert_client_fault(fault, "DELIVERY_UNKNOWN", {"id": str(listed.id)})

