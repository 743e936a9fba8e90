"""registerPerson with personData, through zeep: the identity is checked against the
authentic source, which the test feeds with `raas import nr-mutations`."""

from __future__ import annotations

import datetime
import itertools
import uuid
from xml.sax.saxutils import escape

from support import make_niss, run_cli

D = datetime.date
FEED_NS = "urn:be:raas:types:NrMutations:v1"
PERSON_NS = "urn:be:raas:types:Person:v1"

_serial = itertools.count(301)


def person_in_source(service, last_name: str, first_names: list[str], birth: D, tmp_path) -> str:
    """A new active person known to the source, with the gender of an odd serial (M)."""
    ssin = make_niss(birth, 2 * next(_serial) + 1)
    names = "".join(f"<p:firstName>{escape(n)}</p:firstName>" for n in first_names)
    feed = (
        f'<nrMutations xmlns="{FEED_NS}" xmlns:p="{PERSON_NS}" fileId="zeep-{uuid.uuid4().hex}"'
        f' createdAt="2026-11-21T06:00:00Z"><newPerson id="r1"><person>'
        f"<p:ssin>{ssin}</p:ssin><p:lastName>{escape(last_name)}</p:lastName>{names}"
        f"<p:birthDate>{birth.isoformat()}</p:birthDate><p:gender>M</p:gender>"
        f"</person></newPerson></nrMutations>"
    )
    path = tmp_path / f"feed-{ssin}.xml"
    path.write_text(feed, encoding="utf-8")
    run_cli(service.raas, service.database_url, "import", "nr-mutations", str(path))
    return ssin


def register(org, ssin: str, person_data: dict, begin: D = D(2024, 1, 1), end: D | None = None):
    period = {"beginDate": begin} if end is None else {"beginDate": begin, "endDate": end}
    return org.call(
        "registerPerson",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period,
        personData=person_data,
    )


def lines(answer) -> list[tuple]:
    return [(r.dossierType, r.period.beginDate, r.period.endDate) for r in answer.relation]


def information(fault) -> list[tuple[str, str]]:
    """The fault's (fieldName, fieldValue) pairs, in order, duplicates kept."""
    return [(i.fieldName, i.fieldValue) for i in fault.detail.information]


def assert_ok(answer) -> None:
    assert (answer.status.value, answer.status.code) == ("OK", "MSG00000")


def refused(org, ssin: str, person_data: dict):
    return org.fault(
        "registerPerson",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period={"beginDate": D(2024, 1, 1)},
        personData=person_data,
    )


def test_a_matching_identity_registers(service, org_a, tmp_path):
    ssin = person_in_source(service, "Van den Berghe", ["Jan", "Pieter"], D(1963, 4, 9), tmp_path)
    expected = []
    for data in [
        {"lastName": "Van den Berghe", "firstName": "Jan", "birthDate": "1963-04-09", "gender": "M"},
        {"lastName": "VANDENBERGHE", "firstName": "Pieter", "birthDate": "1963-04-00"},
        {"lastName": "van den berghe", "birthDate": "1963-00-00"},
    ]:
        # Each accepted claim registers a half year of its own (no two lines touch).
        year = 2001 + len(expected)
        begin, end = D(year, 1, 1), D(year, 6, 30)
        answer = register(org_a, ssin, data, begin, end)
        assert_ok(answer)
        expected.append(("EMPLOYEE", begin, end))
        assert lines(answer) == expected, data
    consulted = org_a.call("consultRegister", ssin=ssin)
    assert consulted.status.value == "DATA_FOUND"
    assert lines(consulted) == expected


def test_accents_and_hyphens_are_not_differences(service, org_a, tmp_path):
    ssin = person_in_source(service, "Lefèvre", ["Jean-Pierre"], D(1958, 11, 2), tmp_path)
    answer = register(
        org_a, ssin, {"lastName": "LEFEVRE", "firstName": "Jean Pierre", "birthDate": "1958-11-02"}
    )
    assert_ok(answer)
    assert lines(answer) == [("EMPLOYEE", D(2024, 1, 1), None)]
    assert lines(org_a.call("consultRegister", ssin=ssin)) == lines(answer)


def test_another_person_is_refused_with_the_differing_fields(service, org_a, tmp_path):
    ssin = person_in_source(service, "Peeters", ["Lucas"], D(1971, 2, 17), tmp_path)
    fault = refused(
        org_a,
        ssin,
        {"lastName": "Van Damme", "firstName": "Lucas", "birthDate": "1972-02-17", "gender": "F"},
    )
    assert fault.reason_code == "IDENTITY_MISMATCH"
    assert fault.faultcode == "{http://schemas.xmlsoap.org/soap/envelope/}Client"
    assert information(fault) == [
        ("personData/lastName", "Van Damme"),
        ("personData/birthDate", "1972-02-17"),
        ("personData/gender", "F"),
    ]
    consulted = org_a.call("consultRegister", ssin=ssin)
    assert consulted.status.value == "NO_DATA_FOUND"


def test_an_unknown_number_is_refused(org_a):
    ssin = make_niss(D(1944, 5, 5), 777)
    fault = refused(org_a, ssin, {"lastName": "Nobody", "birthDate": "1944-05-05"})
    assert fault.reason_code == "SSIN_UNKNOWN"
    assert information(fault) == [("ssin", ssin)]
