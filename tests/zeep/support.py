"""Helpers of the zeep interoperability tests: the service under test and a zeep caller.

Each backend (SQLite always; PostgreSQL too when TEST_DATABASE_URL is set) gets one fresh
database, filled through the admin CLI, and one running `raas serve` on a free port for the
whole session. Tests keep out of each other's way by using NISS numbers of their own
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
COMMON_NS = "urn:be:raas:types:common:v1"

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


def new_ssin() -> str:
    """A valid NISS no other test uses (born 1950–1952, far from the documented examples)."""
    i = next(_ssin_counter)
    return make_niss(datetime.date(1950, 1, 1) + datetime.timedelta(days=i), 101 + i % 800)


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


@dataclass
class Service:
    backend: str
    database_url: str
    base_url: str
    raas: Path
    log: Path

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/soap/PersonRegisterService"

    @property
    def wsdl_url(self) -> str:
        return f"{self.endpoint}?wsdl"

    def caller(self, org: Org, username: str | None = None, password: str | None = None):
        return Caller(self, org, username or org.username, password or org.password)


def start_server(raas: Path, database_url: str, log: Path) -> tuple[subprocess.Popen, str]:
    log_file = log.open("wb")
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
    proc = subprocess.Popen(
        [str(raas), "--database-url", database_url, "serve", "--listen", "127.0.0.1:0"],
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
def repo_schema() -> xmlschema.XMLSchema:
    """Our XSD (PersonRegister.xsd and the Common.xsd it imports), read by xmlschema."""
    return xmlschema.XMLSchema(str(XSD_DIR / "PersonRegister.xsd"))


def assert_valid(element: etree._Element) -> None:
    """Validates an answer's element against our XSD with xmlschema, independently of zeep."""
    repo_schema().validate(etree.tostring(element))


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
    """One zeep client (strict, from the served WSDL) with one credential."""

    service: Service
    org: Org
    username: str
    password: str
    history: HistoryPlugin = field(init=False)
    client: zeep.Client = field(init=False)

    def __post_init__(self):
        session = requests.Session()
        # REQUESTS_CA_BUNDLE (and proxies) from the environment must not apply here.
        session.trust_env = False
        self.history = HistoryPlugin(maxlen=1)
        self.client = zeep.Client(
            self.service.wsdl_url,
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
        assert response.tag == f"{{{REG_NS}}}{operation}Response"
        assert_valid(response)
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
        assert_valid(service_fault_node)
        parsed = self.client.get_element(f"{{{COMMON_NS}}}serviceFault").parse(
            service_fault_node, self.client.wsdl.types
        )
        return FaultInfo(faultcode, fault.message, parsed, envelope)
