"""PersonIdentificationService v1 through zeep (strict, from the served WSDL): identifyPerson,
updateBisIdentity, their faults, and the raw answers validated against the XSD by xmlschema
and xmllint. The persons are seeded by support.seed_persons, the grants by support.GRANTS."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
import xmlschema
from lxml import etree
from xmlschema.extras.wsdl import Wsdl11Document

from support import (
    COMMON_NS,
    IDENT_BIS_20,
    IDENT_BIS_40,
    IDENT_BIS_40_UPDATED,
    IDENT_BIS_SCRATCH,
    IDENT_CHAIN,
    IDENT_FULL,
    IDENT_MONTH_ONLY,
    IDENT_NS,
    IDENTIFICATION,
    ORG_B,
    ORG_C,
    PERSON_NS,
    SOAP_ENV_NS,
    XSD_DIR,
    body_child,
    make_niss,
    run_cli,
    schema_of,
    with_check_digits,
)

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XS_NS = "http://www.w3.org/2001/XMLSchema"
CLIENT = f"{{{SOAP_ENV_NS}}}Client"
OPERATIONS = ["identifyPerson", "updateBisIdentity", "searchPersonByPhoneticCriteria", "createBisNumber"]
LEGAL = "PCSA:SOCIAL_INQUIRY"
# Valid numbers the source does not know (no test seeds 1939): RN, and BIS +20.
UNKNOWN = make_niss(datetime.date(1939, 5, 6), 555)
UNKNOWN_BIS = with_check_digits("392506557")


def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def identify(caller, ssin: str, **kwargs):
    return caller.call("identifyPerson", legalContext=LEGAL, ssin=ssin, **kwargs)


def update(caller, ssin: str, changes: dict, **kwargs):
    return caller.call(
        "updateBisIdentity", legalContext=LEGAL, ssin=ssin, changes=changes, **kwargs
    )


def person_of(answer) -> dict:
    """The answer's person as a dict of the fields present (address flattened)."""
    p = answer.person
    shown = {
        "ssin": p.ssin,
        "status": p.status,
        "replacedBy": p.replacedBy,
        "lastName": p.lastName,
        "firstName": list(p.firstName),
        "birthDate": p.birthDate,
        "gender": p.gender,
        "nationality": p.nationality,
        "birthPlace": p.birthPlace,
        "deceaseDate": p.deceaseDate,
        "register": p.register,
    }
    if p.address is not None:
        a = p.address
        shown["address"] = (a.street, a.houseNumber, a.box, a.postalCode, a.municipality, a.country)
    return {k: v for k, v in shown.items() if v is not None}


def assert_fault(fault, reason_code: str, information: dict[str, str]) -> None:
    assert fault.reason_code == reason_code, fault.faultstring
    assert fault.faultcode == CLIENT
    assert fault.detail.severity == "FATAL"
    assert fault.detail.diagnostic
    # zeep reads an empty fieldValue as None.
    assert {name: value or "" for name, value in fault.information.items()} == information
    ticket = fault.service_fault.ticket
    assert str(uuid.UUID(ticket)) == ticket


# --- the contract ---------------------------------------------------------------------------


def test_served_wsdl_and_its_schemas(service, tmp_path):
    """The WSDL names the real endpoint, its imports are served and equal to the repository's
    files, and xmlschema reads the WSDL, with its schemas, as valid."""
    session = http()
    wsdl_url = f"{service.endpoint_of(IDENTIFICATION)}?wsdl"
    answer = session.get(wsdl_url, timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/xml")
    wsdl = etree.fromstring(answer.content)
    address = wsdl.find(f"{{{WSDL_NS}}}service/{{{WSDL_NS}}}port/{{{WSDL_SOAP_NS}}}address")
    assert address.get("location") == service.endpoint_of(IDENTIFICATION)

    (soap_dir := tmp_path / "soap").mkdir()
    (soap_dir / "PersonIdentificationService.wsdl").write_bytes(answer.content)
    (xsd_dir := tmp_path / "xsd").mkdir()
    imports = wsdl.findall(f"{{{WSDL_NS}}}types/{{{XS_NS}}}schema/{{{XS_NS}}}import")
    assert {i.get("namespace") for i in imports} == {IDENT_NS, PERSON_NS, COMMON_NS}
    # The schemas the WSDL imports, and those they import in turn, are served as they are.
    pending = [urljoin(wsdl_url, i.get("schemaLocation")) for i in imports]
    fetched = set()
    while pending:
        url = pending.pop()
        name = Path(url).name
        if name in fetched:
            continue
        fetched.add(name)
        served = session.get(url, timeout=30)
        assert served.status_code == 200, url
        assert served.content == (XSD_DIR / name).read_bytes(), f"served {name} differs"
        (xsd_dir / name).write_bytes(served.content)
        for nested in etree.fromstring(served.content).findall(f"{{{XS_NS}}}import"):
            pending.append(urljoin(url, nested.get("schemaLocation")))
    assert fetched == {"PersonIdentification.xsd", "Person.xsd", "Common.xsd"}
    for xsd in xsd_dir.iterdir():
        # Reading a schema first builds the meta-schema, which then checks the file itself.
        assert xmlschema.XMLSchema(str(xsd)).validity == "valid", xsd.name
        xmlschema.XMLSchema.meta_schema.validate(str(xsd))

    document = Wsdl11Document(str(soap_dir / "PersonIdentificationService.wsdl"))
    (binding,) = document.bindings.values()
    operations = {name: op for (name, _, _), op in binding.operations.items()}
    assert sorted(operations) == sorted(OPERATIONS)
    for name, op in operations.items():
        assert op.soap_style == "document"
        assert op.soap_action == f"urn:be:raas:intf:PersonIdentificationService:v1:{name}"
        assert op.input.message.parts["body"].name == f"{{{IDENT_NS}}}{name}Request"
        assert op.output.message.parts["body"].name == f"{{{IDENT_NS}}}{name}Response"
        (fault,) = op.faults.values()
        assert fault.message.parts["fault"].name == f"{{{COMMON_NS}}}serviceFault"
    assert document.schema.validity == "valid"


# --- identifyPerson -------------------------------------------------------------------------


def test_identify_answers_every_field(ident_a):
    customer = ident_a.customer(ticket="my-ident-0001")
    answer = identify(ident_a, IDENT_FULL.ssin, informationCustomer=customer)
    assert answer.informationCustomer.ticket == "my-ident-0001"
    assert answer.informationCustomer.customerIdentification.cbeNumber == ident_a.org.cbe
    server = answer.informationServer
    assert str(uuid.UUID(server.ticket)) == server.ticket
    assert (answer.status.value, answer.status.code) == ("DATA_FOUND", "MSG00000")
    assert person_of(answer) == {
        "ssin": IDENT_FULL.ssin,
        "status": "ACTIVE",
        "lastName": "D'Hondt",
        "firstName": ["Jean-Pierre", "Émile"],
        "birthDate": "1941-02-03",
        "gender": "M",
        "nationality": "BE",
        "birthPlace": "Liège",
        "address": ("Rue de l'Église", "12", "3", "4000", "Liège", "BE"),
        "deceaseDate": "2024-05-00",
        "register": "RN",
    }


def test_identify_incomplete_birth_date_and_bis_numbers(ident_a):
    month_only = person_of(identify(ident_a, IDENT_MONTH_ONLY.ssin))
    assert month_only["birthDate"] == "1942-07-00"
    assert (month_only["gender"], month_only["register"]) == ("F", "RN")
    # A BIS +20 number attributed without gender.
    bis = person_of(identify(ident_a, IDENT_BIS_20.ssin))
    assert bis == {
        "ssin": IDENT_BIS_20.ssin,
        "status": "ACTIVE",
        "lastName": "Nowak",
        "firstName": ["Ewa"],
        "birthDate": "1943-04-05",
        "register": "BIS",
    }
    ter = person_of(identify(ident_a, IDENT_BIS_40.ssin))
    assert (ter["gender"], ter["register"]) == ("M", "BIS")


def test_identify_a_replaced_number_names_the_final_number(ident_a):
    a, b, c = (p.ssin for p in IDENT_CHAIN)
    for replaced in (a, b):
        shown = person_of(identify(ident_a, replaced))
        assert (shown["ssin"], shown["status"], shown["replacedBy"]) == (replaced, "CANCELED", c)
        assert shown["register"] == "BIS"
    last = person_of(identify(ident_a, c))
    assert (last["status"], last["register"]) == ("ACTIVE", "RN")
    assert "replacedBy" not in last


def test_identify_faults(ident_a, ident_b, ident_c):
    assert_fault(
        ident_a.fault("identifyPerson", legalContext=LEGAL, ssin=UNKNOWN),
        "SSIN_UNKNOWN",
        {"ssin": UNKNOWN},
    )
    assert_fault(
        ident_a.fault("identifyPerson", legalContext=LEGAL, ssin="85073003329"),
        "INVALID_SSIN",
        {"ssin": "85073003329"},
    )
    assert_fault(
        ident_c.fault("identifyPerson", legalContext=LEGAL, ssin=IDENT_FULL.ssin),
        "OPERATION_NOT_GRANTED",
        {"operation": "identifyPerson"},
    )
    as_b = ident_a.customer(cbe=ORG_B.cbe)
    fault = ident_a.fault(
        "identifyPerson", informationCustomer=as_b, legalContext=LEGAL, ssin=IDENT_FULL.ssin
    )
    assert_fault(fault, "NOT_ALLOWED", {})
    # Org B is granted identifyPerson.
    assert identify(ident_b, IDENT_FULL.ssin).status.value == "DATA_FOUND"


def test_a_grant_given_and_withdrawn_by_the_cli(service, ident_c):
    def grant(*extra: str) -> str:
        return run_cli(
            service.raas,
            service.database_url,
            "admin",
            "grant",
            "--cbe",
            ORG_C.cbe,
            "--operation",
            "identifyPerson",
            *extra,
        )

    assert grant() == f"identifyPerson granted to {ORG_C.cbe}\n"
    try:
        assert identify(ident_c, IDENT_FULL.ssin).status.value == "DATA_FOUND"
        listed = run_cli(service.raas, service.database_url, "admin", "grants", "--cbe", ORG_C.cbe)
        assert listed == "identifyPerson\n"
    finally:
        grant("--revoke")
    fault = ident_c.fault("identifyPerson", legalContext=LEGAL, ssin=IDENT_FULL.ssin)
    assert_fault(fault, "OPERATION_NOT_GRANTED", {"operation": "identifyPerson"})


def raw_post(service, caller, operation: str, drop: str | None = None, **kwargs):
    """POSTs the envelope zeep would send, optionally without the element `drop`."""
    kwargs.setdefault("informationCustomer", caller.customer())
    envelope = caller.client.create_message(caller.client.service, operation, **kwargs)
    if drop is not None:
        (element,) = envelope.iter(f"{{{IDENT_NS}}}{drop}")
        element.getparent().remove(element)
    return http().post(
        service.endpoint_of(IDENTIFICATION),
        data=etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"urn:be:raas:intf:PersonIdentificationService:v1:{operation}"',
        },
        timeout=30,
    )


def fault_of(response) -> tuple[str, dict[str, str]]:
    assert response.status_code == 500, response.text
    fault = body_child(etree.fromstring(response.content))
    detail = fault.find(f"detail/{{{COMMON_NS}}}serviceFault/{{{COMMON_NS}}}detail")
    ns = {"c": COMMON_NS}
    information = {
        i.findtext("c:fieldName", namespaces=ns): i.findtext("c:fieldValue", namespaces=ns) or ""
        for i in detail.findall("c:information", namespaces=ns)
    }
    return detail.findtext("c:reasonCode", namespaces=ns), information


def test_a_missing_legal_context_is_refused(service, ident_a):
    # zeep (strict) will not send a request without its required legalContext: raw POSTs.
    response = raw_post(
        service,
        ident_a,
        "identifyPerson",
        drop="legalContext",
        legalContext=LEGAL,
        ssin=IDENT_FULL.ssin,
    )
    assert fault_of(response) == ("MALFORMED_REQUEST", {"legalContext": ""})
    response = raw_post(
        service,
        ident_a,
        "updateBisIdentity",
        drop="changes",
        legalContext=LEGAL,
        ssin=IDENT_BIS_40.ssin,
        changes={"lastName": "Nowak"},
    )
    assert fault_of(response) == ("MALFORMED_REQUEST", {"changes": ""})


# --- updateBisIdentity ----------------------------------------------------------------------


def changed_fields(answer) -> list[str]:
    return list(answer.changedField)


def test_update_changes_a_bis_identity_once(ident_a):
    ssin = IDENT_BIS_40_UPDATED.ssin
    changes = {
        "lastName": "Wiśniewska-Nowak",
        "firstName": ["Tomasz", "Jan"],
        "nationality": "PL",
        "address": {
            "street": "Rue Haute",
            "houseNumber": "5",
            "postalCode": "1000",
            "municipality": "Bruxelles",
            "country": "BE",
        },
    }
    answer = update(ident_a, ssin, changes)
    assert (answer.status.value, answer.status.code) == ("OK", "MSG00000")
    assert changed_fields(answer) == ["lastName", "firstName", "nationality", "address"]
    expected = {
        "ssin": ssin,
        "status": "ACTIVE",
        "lastName": "Wiśniewska-Nowak",
        "firstName": ["Tomasz", "Jan"],
        "birthDate": "1945-01-02",
        "gender": "M",
        "nationality": "PL",
        "address": ("Rue Haute", "5", None, "1000", "Bruxelles", "BE"),
        "register": "BIS",
    }
    assert person_of(answer) == expected
    assert person_of(identify(ident_a, ssin)) == expected
    # The same changes again: nothing changes.
    again = update(ident_a, ssin, changes)
    assert again.status.value == "OK"
    assert changed_fields(again) == []
    assert person_of(again) == expected


@pytest.mark.parametrize(
    "ssin, changes, reason, information",
    [
        (IDENT_FULL.ssin, {"lastName": "X"}, "NOT_A_BIS_NUMBER", {"ssin": IDENT_FULL.ssin}),
        (UNKNOWN_BIS, {"lastName": "Nowak"}, "SSIN_UNKNOWN", {"ssin": UNKNOWN_BIS}),
        (
            IDENT_CHAIN[0].ssin,
            {"lastName": "Nowak"},
            "SSIN_REPLACED",
            {"ssin": IDENT_CHAIN[0].ssin, "replacedBy": IDENT_CHAIN[2].ssin},
        ),
        (
            IDENT_BIS_40.ssin,
            {"gender": "F"},
            "IDENTITY_MISMATCH",
            {"changes/gender": "F"},
        ),
        (
            IDENT_BIS_40.ssin,
            {"birthDate": "1944-02-01"},
            "IDENTITY_MISMATCH",
            {"changes/birthDate": "1944-02-01"},
        ),
        (IDENT_BIS_40.ssin, {}, "INVALID_FIELD", {"changes": ""}),
        (
            IDENT_BIS_40.ssin,
            {"lastName": "Nowak3"},
            "INVALID_FIELD",
            {"changes/lastName": "Nowak3"},
        ),
        (
            IDENT_BIS_40.ssin,
            {
                "address": {
                    "street": "Kerkstraat",
                    "houseNumber": "1",
                    "postalCode": "9000",
                    "municipality": "Gent",
                    "country": "Belgium",
                }
            },
            "INVALID_FIELD",
            {"changes/address/country": "Belgium"},
        ),
    ],
    ids=[
        "RN number",
        "unknown number",
        "replaced number",
        "gender of a +40 number",
        "birth date of a +40 number",
        "no change",
        "digit in a name",
        "country not a code",
    ],
)
def test_update_faults(ident_a, ssin, changes, reason, information):
    fault = ident_a.fault("updateBisIdentity", legalContext=LEGAL, ssin=ssin, changes=changes)
    assert_fault(fault, reason, information)


def test_update_without_grant(ident_a, ident_b):
    fault = ident_b.fault(
        "updateBisIdentity",
        legalContext=LEGAL,
        ssin=IDENT_BIS_40.ssin,
        changes={"lastName": "Nowak"},
    )
    assert_fault(fault, "OPERATION_NOT_GRANTED", {"operation": "updateBisIdentity"})
    # Nothing changed by any refused update.
    assert person_of(identify(ident_a, IDENT_BIS_40.ssin)) == {
        "ssin": IDENT_BIS_40.ssin,
        "status": "ACTIVE",
        "lastName": "Kowalski",
        "firstName": ["Piotr"],
        "birthDate": "1944-01-02",
        "gender": "M",
        "register": "BIS",
    }


# --- raw answers against the XSD ------------------------------------------------------------


def captured_answers(service, ident_a) -> dict[str, etree._Element]:
    answers = {}
    for name, operation, args in [
        ("identifyPerson", "identifyPerson", {"ssin": IDENT_FULL.ssin}),
        ("identifyPerson-canceled", "identifyPerson", {"ssin": IDENT_CHAIN[0].ssin}),
        ("identifyPerson-bis", "identifyPerson", {"ssin": IDENT_BIS_20.ssin}),
        (
            "updateBisIdentity",
            "updateBisIdentity",
            {"ssin": IDENT_BIS_SCRATCH.ssin, "changes": {"birthPlace": "Kraków"}},
        ),
    ]:
        response = raw_post(service, ident_a, operation, legalContext=LEGAL, **args)
        assert response.status_code == 200, response.text
        element = body_child(etree.fromstring(response.content))
        assert element.tag == f"{{{IDENT_NS}}}{operation}Response"
        answers[name] = element
    refused = raw_post(service, ident_a, "identifyPerson", legalContext=LEGAL, ssin=UNKNOWN)
    assert refused.status_code == 500
    fault = body_child(etree.fromstring(refused.content))
    answers["serviceFault"] = fault.find(f"detail/{{{COMMON_NS}}}serviceFault")
    return answers


def tampered(element: etree._Element) -> etree._Element:
    """A copy whose register (or fault severity) is not in the enumeration."""
    copy = etree.fromstring(etree.tostring(element))
    value = copy.find(f".//{{{IDENT_NS}}}register")
    if value is None:
        value = copy.find(f".//{{{COMMON_NS}}}severity")
    value.text = "SOMETHING_ELSE"
    return copy


def test_raw_answers_validate_with_xmlschema(service, ident_a):
    schema = schema_of(IDENTIFICATION.xsd)
    for name, element in captured_answers(service, ident_a).items():
        errors = list(schema.iter_errors(etree.tostring(element)))
        assert errors == [], f"{name}: {errors[0]}"
        assert not schema.is_valid(etree.tostring(tampered(element))), name


def test_raw_answers_validate_with_xmllint(service, ident_a, tmp_path):
    xmllint = shutil.which("xmllint")
    if xmllint is None:
        if os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("xmllint is not installed (Debian package libxml2-utils)")
        pytest.skip("xmllint is not installed (Debian package libxml2-utils)")
    answers = captured_answers(service, ident_a)
    files = []
    for name, element in answers.items():
        path = tmp_path / f"{name}.xml"
        path.write_bytes(etree.tostring(element, xml_declaration=True, encoding="utf-8"))
        files.append(path)
    bad = tmp_path / "tampered.xml"
    bad.write_bytes(etree.tostring(tampered(answers["identifyPerson"])))

    def lint(paths):
        return subprocess.run(
            [xmllint, "--noout", "--schema", str(XSD_DIR / IDENTIFICATION.xsd), *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    result = lint(files)
    assert result.returncode == 0, result.stderr
    result = lint([bad])
    assert result.returncode != 0
    assert "fails to validate" in result.stderr
