"""Helpers of the zeep interoperability tests: the service under test and a zeep caller.

Each backend (SQLite always; PostgreSQL too when TEST_DATABASE_URL is set) gets one fresh
database, filled through the admin CLI (organisations, credentials, dossier types, grants) and
one authentic-source feed (`raas import nr-mutations`: the persons every test number belongs
to), and one running `raas serve` on a free port for the whole session. Tests keep out of each other's way by using NISS numbers of their own
(`new_ssin`); the organisations and dossier types below are shared and never changed.

Environment:
- RAAS_BIN: the binary (default: target/debug/raas; build it first, `.ci/run` does).
- TEST_DATABASE_URL: a PostgreSQL URL whose user may CREATE DATABASE, e.g.
  postgres://postgres@127.0.0.1:5432/postgres. Needs `psql` on the PATH.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import os
import shutil
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape as xml_escape

import pytest
import requests
import xmlschema
import zeep
from lxml import etree
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

REPO_ROOT = Path(__file__).resolve().parents[2]
XSD_DIR = REPO_ROOT / "xsd"

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
REG_NS = "urn:be:raas:types:PersonRegister:v1"
IDENT_NS = "urn:be:raas:types:PersonIdentification:v1"
PERSON_NS = "urn:be:raas:types:Person:v1"
FEED_NS = "urn:be:raas:types:NrMutations:v1"
COMMON_NS = "urn:be:raas:types:common:v1"
DELIVERY_NS = "urn:be:raas:types:Delivery:v1"

STARTUP_TIMEOUT_S = 60
CLI_TIMEOUT_S = 120


@dataclass(frozen=True)
class Org:
    cbe: str
    name: str
    username: str
    password: str
    # code -> description (None: defined without one)
    dossier_types: dict[str, str | None]


ORG_A = Org(
    cbe="0202239951",
    name="Org A Social Secretariat",
    username="org-a-ws",
    password="org-a-secret-0001",
    dossier_types={
        "EMPLOYEE": "Employees",
        "BENEFICIARY": "Beneficiaries",
        "PROVISIONAL": None,
    },
)
ORG_B = Org(
    cbe="0403019261",
    name="Org B Integrator",
    username="org-b-ws",
    password="org-b-secret-0002",
    dossier_types={"EMPLOYEE": "Staff of B", "STUDENT": "Students"},
)
# An organisation with a credential but no dossier type at all.
ORG_C = Org(
    cbe="0456973433",
    name="Org C Without Types",
    username="org-c-ws",
    password="org-c-secret-0003",
    dossier_types={},
)
ORGS = (ORG_A, ORG_B, ORG_C)
# The operations of PersonIdentificationService each organisation is granted.
GRANTS = {
    ORG_A.cbe: ("identifyPerson", "updateBisIdentity"),
    ORG_B.cbe: ("identifyPerson",),
    ORG_C.cbe: (),
}
# Org A also has a dossier type that is retired, and a credential that is revoked.
RETIRED_TYPE = "OLD_SCHEME"
REVOKED_USER = "org-a-revoked"
REVOKED_PASSWORD = "org-a-revoked-secret"


# --- NISS numbers ---------------------------------------------------------------------------

_ssin_counter = itertools.count()


def with_check_digits(body: str, born_2000s: bool = False) -> str:
    """The 9 digits YYMMDDSSS followed by their check digits."""
    number = int("2" + body) if born_2000s else int(body)
    return f"{body}{97 - number % 97:02d}"


def make_niss(birth: datetime.date, serial: int) -> str:
    """A valid national register number (YYMMDD SSS CC) for a birth date and serial."""
    return with_check_digits(f"{birth:%y%m%d}{serial:03d}", birth.year >= 2000)


def nth_ssin(i: int) -> str:
    """The i-th number `new_ssin` hands out (born from 1950 on, far from the documented
    examples)."""
    return make_niss(datetime.date(1950, 1, 1) + datetime.timedelta(days=i), 101 + i % 800)


def new_ssin() -> str:
    """A valid NISS no other test uses, known to the source (see `seed_persons`)."""
    i = next(_ssin_counter)
    if i >= SEEDED_SSINS:
        pytest.fail(f"new_ssin: only {SEEDED_SSINS} numbers are seeded: raise SEEDED_SSINS")
    return nth_ssin(i)


# How many `new_ssin` numbers the source knows (the counter runs on across both backends).
SEEDED_SSINS = 1500

# The documented example numbers (DOMAIN.md §2) with a name each.
EXAMPLE_PERSONS = {
    "85073003328": ("Van den Berghe", ["Jan", "Pieter"]),
    "17073003384": ("Peeters", ["Lucas"]),
    "75060898009": ("Lefèvre", ["Marie-Claire", "Anne"]),
    "98472899765": ("Kowalski", ["Piotr"]),
    "75260898052": ("Nowak", ["Ewa"]),
}


@dataclass(frozen=True)
class SourcePerson:
    """A person of the authentic source as a feed's newPerson gives it (Person.xsd)."""

    ssin: str
    last_name: str
    first_names: tuple[str, ...]
    birth_date: str  # yyyy-mm-dd, 00 for unknown
    gender: str | None = None
    nationality: str | None = None
    birth_place: str | None = None
    # (street, houseNumber, box or None, postalCode, municipality, country)
    address: tuple[str, str, str | None, str, str, str] | None = None
    decease_date: str | None = None

    @staticmethod
    def from_number(ssin: str, last_name: str, first_names) -> "SourcePerson":
        """A person with the birth date and gender the number encodes (none for BIS +20)."""
        month = int(ssin[2:4])
        born_2000s = int(ssin[:9]) % 97 != (97 - int(ssin[9:])) % 97
        century = "20" if born_2000s else "19"
        gender = None if 20 <= month <= 32 else ("M" if int(ssin[6:9]) % 2 else "F")
        birth = f"{century}{ssin[:2]}-{month % 20:02d}-{ssin[4:6]}"
        return SourcePerson(ssin, last_name, tuple(first_names), birth, gender)

    def xml(self) -> str:
        def leaf(name: str, value: str | None) -> str:
            return "" if value is None else f"<p:{name}>{xml_escape(value)}</p:{name}>"

        names = "".join(leaf("firstName", n) for n in self.first_names)
        address = ""
        if self.address is not None:
            street, number, box, postal_code, municipality, country = self.address
            address = (
                f"<p:address>{leaf('street', street)}{leaf('houseNumber', number)}"
                f"{leaf('box', box)}{leaf('postalCode', postal_code)}"
                f"{leaf('municipality', municipality)}{leaf('country', country)}</p:address>"
            )
        return (
            f"{leaf('ssin', self.ssin)}{leaf('lastName', self.last_name)}{names}"
            f"{leaf('birthDate', self.birth_date)}{leaf('gender', self.gender)}"
            f"{leaf('nationality', self.nationality)}{leaf('birthPlace', self.birth_place)}"
            f"{address}{leaf('deceaseDate', self.decease_date)}"
        )


# The persons of the PersonIdentificationService tests: numbers no other test uses.
IDENT_FULL = SourcePerson(
    make_niss(datetime.date(1941, 2, 3), 101),
    "D'Hondt",
    ("Jean-Pierre", "Émile"),
    "1941-02-03",
    "M",
    "BE",
    "Liège",
    ("Rue de l'Église", "12", "3", "4000", "Liège", "BE"),
    "2024-05-00",
)
IDENT_MONTH_ONLY = SourcePerson.from_number(with_check_digits("420700102"), "Peeters", ["Marie"])
IDENT_BIS_20 = SourcePerson.from_number(with_check_digits("432405104"), "Nowak", ["Ewa"])
IDENT_BIS_40 = SourcePerson.from_number(with_check_digits("444102105"), "Kowalski", ["Piotr"])
# A BIS +40 number for the update tests that change it.
IDENT_BIS_40_UPDATED = SourcePerson.from_number(
    with_check_digits("454102107"), "Wiśniewski", ["Tomasz"]
)
# A BIS +40 number any test may change (its identity is not asserted).
IDENT_BIS_SCRATCH = SourcePerson.from_number(with_check_digits("474102109"), "Zieliński", ["Adam"])
# A chain: A (BIS +40) replaced by B (BIS +20), itself replaced by C (RN).
IDENT_CHAIN = tuple(
    SourcePerson.from_number(with_check_digits(body), "Lewandowska", ["Anna"])
    for body in ("464304106", "462304108", "460304110")
)
IDENT_PERSONS = (
    IDENT_FULL,
    IDENT_MONTH_ONLY,
    IDENT_BIS_20,
    IDENT_BIS_40,
    IDENT_BIS_40_UPDATED,
    IDENT_BIS_SCRATCH,
    *IDENT_CHAIN,
)


def feed_xml(file_id: str, persons, replacements=()) -> str:
    """An NrMutations feed: newPerson records, then replacement records (old, new)."""
    records = [
        f'<newPerson id="p{i}"><person>{person.xml()}</person></newPerson>'
        for i, person in enumerate(persons)
    ]
    records += [
        f'<replacement id="r{i}"><oldSsin>{old}</oldSsin><newSsin>{new}</newSsin></replacement>'
        for i, (old, new) in enumerate(replacements)
    ]
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<nrMutations xmlns="{FEED_NS}" '
        f'xmlns:p="{PERSON_NS}" fileId="{file_id}" createdAt="2026-11-21T06:00:00Z">'
        f'{"".join(records)}</nrMutations>\n'
    )


# --- the binary and the databases -----------------------------------------------------------


def raas_bin() -> Path:
    path = Path(os.environ.get("RAAS_BIN", REPO_ROOT / "target" / "debug" / "raas"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.is_file():
        pytest.fail(f"raas binary not found at {path}: run `cargo build` first or set RAAS_BIN")
    return path


def backends() -> list[str]:
    return ["sqlite", "postgres"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


def psql(admin_url: str, sql: str) -> None:
    psql_bin = shutil.which("psql")
    if psql_bin is None:
        pytest.fail("TEST_DATABASE_URL is set but psql is not installed")
    result = subprocess.run(
        [psql_bin, admin_url, "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        pytest.fail(f"psql {sql!r} failed: {result.stderr.strip()}")


def database_url_with(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def run_cli(raas: Path, database_url: str, *args: str, stdin: str | None = None) -> str:
    """Runs `raas --database-url URL ARGS…`; fails the test with its output when it fails."""
    result = subprocess.run(
        [str(raas), "--database-url", database_url, *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    if result.returncode != 0:
        pytest.fail(
            f"raas {' '.join(args)} exited with {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def seed_persons(raas: Path, database_url: str, workdir: Path) -> None:
    """The source knows every number `new_ssin` hands out, the documented examples and the
    identification tests' persons (one feed, applied with `raas import nr-mutations`)."""
    persons = [
        SourcePerson.from_number(nth_ssin(i), "Janssens", ["Jan"]) for i in range(SEEDED_SSINS)
    ]
    persons += [SourcePerson.from_number(n, *names) for n, names in EXAMPLE_PERSONS.items()]
    persons += IDENT_PERSONS
    chain = [p.ssin for p in IDENT_CHAIN]
    feed = workdir / "seed-feed.xml"
    feed.write_text(
        feed_xml("zeep-seed", persons, [(chain[0], chain[1]), (chain[1], chain[2])]),
        encoding="utf-8",
    )
    run_cli(raas, database_url, "import", "nr-mutations", str(feed))


def seed_grants(raas: Path, database_url: str) -> None:
    for cbe, operations in GRANTS.items():
        for operation in operations:
            run_cli(raas, database_url, "admin", "grant", "--cbe", cbe, "--operation", operation)


def seed(raas: Path, database_url: str) -> None:
    for org in ORGS:
        run_cli(raas, database_url, "admin", "org", "add", "--cbe", org.cbe, "--name", org.name)
        run_cli(
            raas,
            database_url,
            "admin",
            "credential",
            "add",
            "--cbe",
            org.cbe,
            "--username",
            org.username,
            stdin=org.password + "\n",
        )
        for code, description in org.dossier_types.items():
            args = ["admin", "dossier-type", "add", "--cbe", org.cbe, "--code", code]
            if description is not None:
                args += ["--description", description]
            run_cli(raas, database_url, *args)
    a = ORG_A.cbe
    run_cli(raas, database_url, "admin", "dossier-type", "add", "--cbe", a, "--code", RETIRED_TYPE)
    run_cli(
        raas, database_url, "admin", "dossier-type", "retire", "--cbe", a, "--code", RETIRED_TYPE
    )
    run_cli(
        raas,
        database_url,
        "admin",
        "credential",
        "add",
        "--cbe",
        a,
        "--username",
        REVOKED_USER,
        stdin=REVOKED_PASSWORD + "\n",
    )
    run_cli(
        raas, database_url, "admin", "credential", "revoke", "--cbe", a, "--username", REVOKED_USER
    )


# --- the running service --------------------------------------------------------------------


@dataclass(frozen=True)
class Contract:
    """One SOAP service of raas: its name (endpoint `/soap/NAME`), the namespace of its
    messages and the schema (in xsd/) its answers are validated against."""

    name: str
    types_ns: str
    xsd: str


REGISTER = Contract("PersonRegisterService", REG_NS, "PersonRegister.xsd")
IDENTIFICATION = Contract("PersonIdentificationService", IDENT_NS, "PersonIdentification.xsd")
DELIVERY = Contract("DeliveryService", DELIVERY_NS, "Delivery.xsd")


@dataclass
class Service:
    backend: str
    database_url: str
    base_url: str
    raas: Path
    log: Path
    # The folder `raas serve` keeps its daily files and broadcasts in (`--outbox`): the CLI
    # commands that publish into the mailboxes must be given the same one.
    outbox: Path | None = None
    # A folder of the session's own for this backend (keys, files to publish).
    workdir: Path | None = None

    @property
    def endpoint(self) -> str:
        return self.endpoint_of(REGISTER)

    @property
    def wsdl_url(self) -> str:
        return f"{self.endpoint}?wsdl"

    def endpoint_of(self, contract: Contract) -> str:
        return f"{self.base_url}/soap/{contract.name}"

    def caller(
        self,
        org: Org,
        username: str | None = None,
        password: str | None = None,
        contract: Contract = REGISTER,
    ):
        return Caller(self, org, username or org.username, password or org.password, contract)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Runs `raas --database-url URL [--outbox OUTBOX] ARGS…` on this service's database
        (and outbox, the server's)."""
        outbox = ["--outbox", str(self.outbox)] if self.outbox is not None else []
        return run_cli(self.raas, self.database_url, *outbox, *args, stdin=stdin)

    def publish(
        self,
        file: Path,
        subject: str,
        cbes=(),
        registered: bool = False,
        operator: str = "zeep-operator",
    ) -> str:
        """Broadcasts `file` (`raas admin publish`) to the organisations `cbes`, or to all of
        them when none is named; returns what the command printed."""
        recipients = ["--to", "all"] if not cbes else [a for c in cbes for a in ("--cbe", c)]
        args = ["admin", "publish", *recipients, "--subject", subject, "--file", str(file)]
        if registered:
            args.append("--registered")
        return self.cli(*args, "--operator", operator)


def start_server(
    raas: Path,
    database_url: str,
    log: Path,
    outbox: Path | None = None,
    serve_args=(),
) -> tuple[subprocess.Popen, str]:
    """Starts `raas serve` on a free port (with `--outbox OUTBOX` when given, and the flags
    `serve_args` of serve), and returns the process and its base URL."""
    log_file = log.open("wb")
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
    global_args = ["--outbox", str(outbox)] if outbox is not None else []
    proc = subprocess.Popen(
        [
            str(raas),
            "--database-url",
            database_url,
            *global_args,
            "serve",
            "--listen",
            "127.0.0.1:0",
            *serve_args,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log_file,
        env=env,
    )
    log_file.close()
    first_line: list[bytes] = []
    reader = threading.Thread(target=lambda: first_line.append(proc.stdout.readline()))
    reader.daemon = True
    reader.start()
    reader.join(STARTUP_TIMEOUT_S)
    line = first_line[0].decode().strip() if first_line else ""
    prefix = "raas listening on "
    if not line.startswith(prefix):
        proc.kill()
        proc.wait()
        pytest.fail(
            f"raas serve did not announce its address (got {line!r});\n"
            f"log:\n{log.read_text(errors='replace')[-4000:]}"
        )
    # The rest of stdout (the WSDL line) is drained so the pipe never fills.
    drain = threading.Thread(target=proc.stdout.read, daemon=True)
    drain.start()
    return proc, line[len(prefix) :]


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- calling the service through zeep -------------------------------------------------------


@functools.cache
def schema_of(xsd: str) -> xmlschema.XMLSchema:
    """One of our XSD files (with the schemas it imports), read by xmlschema."""
    return xmlschema.XMLSchema(str(XSD_DIR / xsd))


def repo_schema() -> xmlschema.XMLSchema:
    """PersonRegister.xsd and the Common.xsd it imports."""
    return schema_of(REGISTER.xsd)


def assert_valid(element: etree._Element, xsd: str = REGISTER.xsd) -> None:
    """Validates an answer's element against our XSD with xmlschema, independently of zeep."""
    schema_of(xsd).validate(etree.tostring(element))


def body_child(envelope: etree._Element) -> etree._Element:
    """The one element inside soapenv:Body."""
    body = envelope.find(f"{{{SOAP_ENV_NS}}}Body")
    assert body is not None, "the answer has no soapenv:Body"
    children = [c for c in body if isinstance(c.tag, str)]
    assert len(children) == 1, f"soapenv:Body holds {len(children)} elements"
    return children[0]


@dataclass
class FaultInfo:
    """A SOAP fault as received, its detail parsed by zeep against the schema."""

    faultcode: str  # {namespace}localname, the QName resolved
    faultstring: str
    service_fault: object  # zeep object of common:serviceFault
    envelope: etree._Element

    @property
    def detail(self):
        (detail,) = self.service_fault.detail
        return detail

    @property
    def reason_code(self) -> str:
        return self.detail.reasonCode

    @property
    def information(self) -> dict[str, str]:
        return {i.fieldName: i.fieldValue for i in self.detail.information}


@dataclass
class Caller:
    """One zeep client (strict, from the served WSDL of its contract) with one credential."""

    service: Service
    org: Org
    username: str
    password: str
    contract: Contract = REGISTER
    history: HistoryPlugin = field(init=False)
    client: zeep.Client = field(init=False)

    def __post_init__(self):
        session = requests.Session()
        # REQUESTS_CA_BUNDLE (and proxies) from the environment must not apply here.
        session.trust_env = False
        self.history = HistoryPlugin(maxlen=1)
        self.client = zeep.Client(
            f"{self.service.endpoint_of(self.contract)}?wsdl",
            transport=Transport(session=session, timeout=30, operation_timeout=30),
            settings=zeep.Settings(strict=True),
            wsse=UsernameToken(self.username, self.password),
            plugins=[self.history],
        )

    def customer(self, ticket: str | None = None, cbe: str | None = None) -> dict:
        return {
            "ticket": ticket or f"zeep-{uuid.uuid4().hex[:20]}",
            "timestampSent": datetime.datetime.now(datetime.timezone.utc),
            "customerIdentification": {"cbeNumber": cbe or self.org.cbe},
        }

    def call(self, operation: str, **kwargs):
        """Calls an operation (informationCustomer filled in unless given)."""
        kwargs.setdefault("informationCustomer", self.customer())
        answer = getattr(self.client.service, operation)(**kwargs)
        response = self.last_response_body()
        assert response.tag == f"{{{self.contract.types_ns}}}{operation}Response"
        assert_valid(response, self.contract.xsd)
        return answer

    def last_response_body(self) -> etree._Element:
        return body_child(self.history.last_received["envelope"])

    def fault(self, operation: str, **kwargs) -> FaultInfo:
        """Calls an operation that must be refused, and returns the fault."""
        with pytest.raises(zeep.exceptions.Fault) as caught:
            self.call(operation, **kwargs)
        fault = caught.value
        envelope = self.history.last_received["envelope"]
        fault_node = body_child(envelope)
        assert fault_node.tag == f"{{{SOAP_ENV_NS}}}Fault"
        code_node = fault_node.find("faultcode")
        prefix, _, local = code_node.text.strip().rpartition(":")
        faultcode = f"{{{code_node.nsmap.get(prefix or None)}}}{local}"
        assert fault.detail is not None, "the fault has no detail"
        (service_fault_node,) = fault.detail.findall(f"{{{COMMON_NS}}}serviceFault")
        assert_valid(service_fault_node, self.contract.xsd)
        parsed = self.client.get_element(f"{{{COMMON_NS}}}serviceFault").parse(
            service_fault_node, self.client.wsdl.types
        )
        return FaultInfo(faultcode, fault.message, parsed, envelope)
