"""searchPersonByPhoneticCriteria through zeep (strict, from the served WSDL): complete and
incomplete birth dates, particles, a replaced number, NO_RESULT, and the faults (reason code
and field). Every answer zeep reads is also validated against the XSD by xmlschema
(`Caller.call`). The persons are this module's own (born in the 1930s, which no other test
seeds), applied with `raas import nr-mutations`; org A is granted the search for the module."""

from __future__ import annotations

import datetime

import pytest

from support import (
    ORG_A,
    SourcePerson,
    feed_xml,
    make_niss,
    run_cli,
    with_check_digits,
)
from test_identification import LEGAL, assert_fault, fault_of, raw_post

OPERATION = "searchPersonByPhoneticCriteria"
D = datetime.date

HENDRIK = SourcePerson.from_number(make_niss(D(1933, 4, 5), 101), "Goossens", ["Hendrik"])
# The same name, born in September 1933 (day unknown).
HENDRIK_SEPTEMBER = SourcePerson.from_number(
    with_check_digits("330900103"), "Goossens", ["Hendrik", "Jozef"]
)
MARIA = SourcePerson.from_number(make_niss(D(1934, 6, 7), 102), "Vandenbossche", ["Maria"])
# A BIS +40 number replaced by a national register number: only the latter is a candidate.
LUCIE_BIS = SourcePerson.from_number(with_check_digits("354203104"), "Verstraete", ["Lucie"])
LUCIE = SourcePerson.from_number(make_niss(D(1935, 2, 3), 106), "Verstraete", ["Lucie"])
PERSONS = (HENDRIK, HENDRIK_SEPTEMBER, MARIA, LUCIE_BIS, LUCIE)


@pytest.fixture(scope="module", autouse=True)
def search_persons(service, tmp_path_factory):
    """The persons above in the source, and org A granted the search (withdrawn after, when
    this fixture gave it)."""
    feed = tmp_path_factory.mktemp("phonetic") / "feed.xml"
    feed.write_text(
        feed_xml(f"zeep-phonetic-{service.backend}", PERSONS, [(LUCIE_BIS.ssin, LUCIE.ssin)]),
        encoding="utf-8",
    )
    run_cli(service.raas, service.database_url, "import", "nr-mutations", str(feed))
    granted = run_cli(service.raas, service.database_url, "admin", "grants", "--cbe", ORG_A.cbe)
    grant = ("admin", "grant", "--cbe", ORG_A.cbe, "--operation", OPERATION)
    if OPERATION in granted.split():
        yield
        return
    run_cli(service.raas, service.database_url, *grant)
    yield
    run_cli(service.raas, service.database_url, *grant, "--revoke")


def search(caller, **criteria):
    return caller.call(OPERATION, legalContext=LEGAL, criteria=criteria)


def found(answer) -> list[str]:
    return [c.person.ssin for c in answer.candidate]


def test_a_complete_date_finds_the_person_first(ident_a):
    answer = search(ident_a, lastName="Goosens", firstName="Hendrik", birthDate="1933-04-05")
    assert (answer.status.value, answer.status.code) == ("DATA_FOUND", "MSG00000")
    best = answer.candidate[0]
    assert best.person.ssin == HENDRIK.ssin
    assert 0 <= best.score <= 100
    scores = [c.score for c in answer.candidate]
    assert scores == sorted(scores, reverse=True)
    person = best.person
    assert (person.status, person.lastName, list(person.firstName)) == (
        "ACTIVE",
        "Goossens",
        ["Hendrik"],
    )
    assert (person.birthDate, person.gender, person.register) == ("1933-04-05", "M", "RN")


def test_particles_joined_or_split(ident_a):
    answer = search(ident_a, lastName="Van den Bossche", firstName="M", birthDate="1934-06-07")
    assert found(answer)[0] == MARIA.ssin


def test_accents_and_other_scripts(ident_a):
    # UTF-8 both ways: an accent the source does not have, then a name in another script.
    answer = search(ident_a, lastName="Góossèns", firstName="Héndrik", birthDate="1933-04-05")
    assert found(answer)[0] == HENDRIK.ssin
    answer = search(ident_a, lastName="Гоосенс", birthDate="1933-04-05")
    assert answer.status.value in ("DATA_FOUND", "NO_RESULT")


def test_incomplete_dates_with_a_tolerance(ident_a):
    year = search(ident_a, lastName="Goossens", birthDate="1933-00-00", tolerance=0)
    assert {HENDRIK.ssin, HENDRIK_SEPTEMBER.ssin} <= set(found(year))
    month = search(ident_a, lastName="Goossens", birthDate="1933-08-00", tolerance=1, maximum=80)
    assert HENDRIK_SEPTEMBER.ssin in found(month)
    assert HENDRIK.ssin not in found(month)
    # A tolerance in days around a complete date.
    days = search(ident_a, lastName="Goossens", birthDate="1933-04-09", tolerance=4, gender="M")
    assert found(days)[0] == HENDRIK.ssin


def test_a_replaced_number_is_never_a_candidate(ident_a):
    answer = search(ident_a, lastName="Verstraete", firstName="Lucie", birthDate="1935-02-03")
    assert found(answer) == [LUCIE.ssin]
    assert answer.candidate[0].person.register == "RN"


def test_the_maximum(ident_a):
    answer = search(ident_a, lastName="Goossens", birthDate="1933-00-00", tolerance=1, maximum=1)
    assert len(answer.candidate) == 1


def test_nobody_close_is_no_result(ident_a):
    answer = search(ident_a, lastName="Xylophonidis", birthDate="1931-01-01")
    assert (answer.status.value, answer.status.code) == ("NO_RESULT", "MSG00002")
    assert list(answer.candidate) == []


@pytest.mark.parametrize(
    "criteria, reason, information",
    [
        (
            {"lastName": "Goossens", "birthDate": "1933-13-05"},
            "INVALID_DATE",
            {"criteria/birthDate": "1933-13-05"},
        ),
        (
            {"lastName": "Goossens", "birthDate": "1933-04-00"},
            "INVALID_FIELD",
            {"criteria/tolerance": ""},
        ),
        (
            {"lastName": "Goossens", "birthDate": "1933-04-05", "tolerance": 31},
            "INVALID_FIELD",
            {"criteria/tolerance": "31"},
        ),
        (
            {"lastName": "Goossens", "birthDate": "1933-04-05", "maximum": 0},
            "INVALID_FIELD",
            {"criteria/maximum": "0"},
        ),
        (
            {"lastName": "Goossens", "birthDate": "1933-04-05", "maximum": 81},
            "INVALID_FIELD",
            {"criteria/maximum": "81"},
        ),
        (
            {"lastName": "Goossens", "birthDate": "1933-04-05", "gender": "X"},
            "INVALID_FIELD",
            {"criteria/gender": "X"},
        ),
        (
            {"lastName": "Goo55ens", "birthDate": "1933-04-05"},
            "INVALID_FIELD",
            {"criteria/lastName": "Goo55ens"},
        ),
        (
            {"lastName": "Goossens", "firstName": "H3ndrik", "birthDate": "1933-04-05"},
            "INVALID_FIELD",
            {"criteria/firstName": "H3ndrik"},
        ),
        (
            {"lastName": "Goossens😀", "birthDate": "1933-04-05"},
            "INVALID_FIELD",
            {"criteria/lastName": "Goossens😀"},
        ),
    ],
    ids=[
        "month 13",
        "incomplete date without tolerance",
        "tolerance 31",
        "maximum 0",
        "maximum 81",
        "gender X",
        "digits in lastName",
        "digit in firstName",
        "emoji in lastName",
    ],
)
def test_faults(ident_a, criteria, reason, information):
    fault = ident_a.fault(OPERATION, legalContext=LEGAL, criteria=criteria)
    assert_fault(fault, reason, information)


def test_not_granted(ident_b):
    fault = ident_b.fault(
        OPERATION, legalContext=LEGAL, criteria={"lastName": "Goossens", "birthDate": "1933-04-05"}
    )
    assert_fault(fault, "OPERATION_NOT_GRANTED", {"operation": OPERATION})


@pytest.mark.parametrize("drop", ["legalContext", "criteria", "lastName", "birthDate"])
def test_a_missing_element_is_refused(service, ident_a, drop):
    # zeep (strict) will not send a request without a required element: raw POSTs.
    response = raw_post(
        service,
        ident_a,
        OPERATION,
        drop=drop,
        legalContext=LEGAL,
        criteria={"lastName": "Goossens", "birthDate": "1933-04-05"},
    )
    field = drop if drop in ("legalContext", "criteria") else f"criteria/{drop}"
    assert fault_of(response) == ("MALFORMED_REQUEST", {field: ""})
