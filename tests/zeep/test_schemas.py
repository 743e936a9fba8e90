"""The served contract and raw answers, checked by validators independent of zeep and raas:
xmlschema (Python) and xmllint (libxml2)."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
import xmlschema
from lxml import etree
from xmlschema.extras.wsdl import Wsdl11Document

from support import (
    COMMON_NS,
    ORG_A,
    REG_NS,
    SOAP_ENV_NS,
    XSD_DIR,
    body_child,
    new_ssin,
    repo_schema,
)

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XS_NS = "http://www.w3.org/2001/XMLSchema"
OPERATIONS = ["registerPerson", "unregisterPerson", "consultRegister", "listDossierTypes"]


def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def test_served_wsdl_and_its_schemas(service, tmp_path):
    """The WSDL names the real endpoint, its imports are served and equal to the repository's
    XSD files, and xmlschema reads the WSDL, with its schemas, as valid."""
    session = http()
    answer = session.get(service.wsdl_url, timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/xml")
    wsdl = etree.fromstring(answer.content)

    address = wsdl.find(f"{{{WSDL_NS}}}service/{{{WSDL_NS}}}port/{{{WSDL_SOAP_NS}}}address")
    assert address.get("location") == service.endpoint

    (soap_dir := tmp_path / "soap").mkdir()
    (soap_dir / "PersonRegisterService.wsdl").write_bytes(answer.content)
    imports = wsdl.findall(f"{{{WSDL_NS}}}types/{{{XS_NS}}}schema/{{{XS_NS}}}import")
    assert {i.get("namespace") for i in imports} == {REG_NS, COMMON_NS}
    # The imports, and the imports of the imported schemas, each fetched once.
    pending = [urljoin(service.wsdl_url, i.get("schemaLocation")) for i in imports]
    fetched = set()
    while pending:
        url = pending.pop()
        if url in fetched:
            continue
        fetched.add(url)
        served = session.get(url, timeout=30)
        assert served.status_code == 200, url
        name = Path(url).name
        assert served.content == (XSD_DIR / name).read_bytes(), f"served {name} differs"
        (tmp_path / "xsd").mkdir(exist_ok=True)
        (tmp_path / "xsd" / name).write_bytes(served.content)
        nested = etree.fromstring(served.content).findall(f"{{{XS_NS}}}import")
        pending += [urljoin(url, n.get("schemaLocation")) for n in nested]
    assert {Path(u).name for u in fetched} == {"PersonRegister.xsd", "Common.xsd", "Person.xsd"}

    # Every served schema is a valid XSD on its own (checked against the meta-schema).
    for xsd in (tmp_path / "xsd").iterdir():
        xmlschema.XMLSchema.meta_schema.validate(str(xsd))
        assert xmlschema.XMLSchema(str(xsd)).validity == "valid", xsd.name

    # xmlschema's WSDL 1.1 reader: the WSDL is valid and every message resolves to an element
    # of the served schemas.
    document = Wsdl11Document(str(soap_dir / "PersonRegisterService.wsdl"))
    (binding,) = document.bindings.values()
    operations = {name: op for (name, _, _), op in binding.operations.items()}
    assert sorted(operations) == sorted(OPERATIONS)
    for name, op in operations.items():
        assert op.soap_style == "document"
        assert op.soap_action == f"urn:be:raas:intf:PersonRegisterService:v1:{name}"
        assert op.input.message.parts["body"].name == f"{{{REG_NS}}}{name}Request"
        assert op.output.message.parts["body"].name == f"{{{REG_NS}}}{name}Response"
        (fault,) = op.faults.values()
        assert fault.message.parts["fault"].name == f"{{{COMMON_NS}}}serviceFault"
    assert document.schema.validity == "valid"


def raw_post(service, caller, operation: str, **kwargs) -> requests.Response:
    """POSTs the envelope zeep would send (WS-Security header included) with requests."""
    kwargs.setdefault("informationCustomer", caller.customer())
    envelope = caller.client.create_message(caller.client.service, operation, **kwargs)
    return http().post(
        service.endpoint,
        data=etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"urn:be:raas:intf:PersonRegisterService:v1:{operation}"',
        },
        timeout=30,
    )


def captured_answers(service, org_a) -> dict[str, etree._Element]:
    """One raw answer of every operation and one fault (its serviceFault), as elements."""
    ssin = new_ssin()
    period = {"beginDate": datetime.date(2020, 1, 1), "endDate": datetime.date(2020, 12, 31)}
    calls = [
        ("registerPerson", {"ssin": ssin, "dossierType": "EMPLOYEE", "period": period}),
        (
            "registerPerson",
            {
                "ssin": ssin,
                "dossierType": "BENEFICIARY",
                "period": {"beginDate": period["beginDate"]},
            },
        ),
        ("consultRegister", {"ssin": ssin, "legalContext": "PCSA:SOCIAL_INQUIRY"}),
        ("unregisterPerson", {"ssin": ssin, "dossierType": "EMPLOYEE"}),
        ("listDossierTypes", {}),
    ]
    answers = {}
    for operation, args in calls:
        response = raw_post(service, org_a, operation, **args)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/xml")
        element = body_child(etree.fromstring(response.content))
        assert element.tag == f"{{{REG_NS}}}{operation}Response"
        answers[operation] = element

    refused = raw_post(service, org_a, "consultRegister", ssin="85073003329")
    # SOAP 1.1: a fault goes out with HTTP 500 and text/xml.
    assert refused.status_code == 500
    assert refused.headers["Content-Type"].startswith("text/xml")
    fault = body_child(etree.fromstring(refused.content))
    assert fault.tag == f"{{{SOAP_ENV_NS}}}Fault"
    answers["serviceFault"] = fault.find(f"detail/{{{COMMON_NS}}}serviceFault")
    assert answers["serviceFault"] is not None
    return answers


def tampered(element: etree._Element) -> etree._Element:
    """A copy whose status/value (or fault severity) is not in the enumeration."""
    copy = etree.fromstring(etree.tostring(element))
    value = copy.find(f".//{{{COMMON_NS}}}value")
    if value is None:
        value = copy.find(f".//{{{COMMON_NS}}}severity")
    value.text = "SOMETHING_ELSE"
    return copy


def test_raw_answers_validate_with_xmlschema(service, org_a):
    schema = repo_schema()
    for name, element in captured_answers(service, org_a).items():
        errors = list(schema.iter_errors(etree.tostring(element)))
        assert errors == [], f"{name}: {errors[0]}"
        # The validator does check: the same answer altered is refused.
        assert not schema.is_valid(etree.tostring(tampered(element))), name


def xmllint() -> str:
    path = shutil.which("xmllint")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("xmllint is not installed (Debian package libxml2-utils)")
        pytest.skip("xmllint is not installed (Debian package libxml2-utils)")
    return path


def run_xmllint(files: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [xmllint(), "--noout", "--schema", str(XSD_DIR / "PersonRegister.xsd"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_raw_answers_validate_with_xmllint(service, org_a, tmp_path):
    answers = captured_answers(service, org_a)
    files = []
    for name, element in answers.items():
        path = tmp_path / f"{name}.xml"
        path.write_bytes(etree.tostring(element, xml_declaration=True, encoding="utf-8"))
        files.append(path)
    result = run_xmllint(files)
    assert result.returncode == 0, result.stderr
    for path in files:
        assert f"{path} validates" in result.stderr

    # The validator does check: an altered answer is refused.
    bad = tmp_path / "tampered.xml"
    bad.write_bytes(etree.tostring(tampered(answers["consultRegister"])))
    result = run_xmllint([bad])
    assert result.returncode != 0
    assert "fails to validate" in result.stderr


def test_zeep_and_raw_post_agree(service, org_a):
    """The answer zeep parsed and the raw answer of the same request say the same."""
    ssin = new_ssin()
    period = {"beginDate": datetime.date(2021, 3, 1)}
    org_a.call("registerPerson", ssin=ssin, dossierType="EMPLOYEE", period=period)
    parsed = org_a.call("consultRegister", ssin=ssin)
    raw = body_child(
        etree.fromstring(raw_post(service, org_a, "consultRegister", ssin=ssin).content)
    )
    ns = {"reg": REG_NS, "c": COMMON_NS}
    assert raw.findtext("reg:status/c:value", namespaces=ns) == parsed.status.value
    assert raw.findtext("reg:ssin", namespaces=ns) == parsed.ssin
    assert raw.findtext("reg:relation/reg:period/reg:beginDate", namespaces=ns) == "2021-03-01"
    assert raw.find("reg:relation/reg:period/reg:endDate", namespaces=ns) is None
    assert parsed.relation[0].period.endDate is None
    assert (
        raw.findtext("reg:informationCustomer/c:customerIdentification/c:cbeNumber", namespaces=ns)
        == ORG_A.cbe
    )


EXAMPLES = sorted((Path(__file__).parent / "examples").glob("*/*.xml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_examples_validate_with_xmlschema(example):
    """The hand-written examples (.ci/run also gives them to xmllint) fit our XSD."""
    xmlschema.XMLSchema(str(XSD_DIR / f"{example.parent.name}.xsd")).validate(str(example))
