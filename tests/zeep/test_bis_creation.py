"""createBisNumber of PersonIdentificationService v1 through zeep (strict, from the served
WSDL): a new person (newPerson, its number +40 or +20 with the check digits of its century),
likely existing persons answered instead (existingPersons), force (and its audit entry), and
the faults with their reason codes. Every answer is validated against the XSD by `Caller.call`."""

from __future__ import annotations

import datetime
import json

import pytest

from support import IDENT_BIS_40, ORG_A, run_cli, with_check_digits
from test_identification import LEGAL, assert_fault


@pytest.fixture
def creator(service, ident_a):
    """Org A, granted createBisNumber (on top of support.GRANTS) for these tests."""
    run_cli(
        service.raas,
        service.database_url,
        "admin",
        "grant",
        "--cbe",
        ORG_A.cbe,
        "--operation",
        "createBisNumber",
    )
    return ident_a


def create(caller, person: dict, **kwargs):
    return caller.call("createBisNumber", legalContext=LEGAL, person=person, **kwargs)


def audit_outcomes(service, ssin: str) -> list[str]:
    """The outcomes of the createBisNumber entries about `ssin` (raas admin audit)."""
    lines = run_cli(service.raas, service.database_url, "admin", "audit", "--ssin", ssin)
    entries = [json.loads(line) for line in lines.splitlines()]
    return [e["outcome"] for e in entries if e["operation"] == "createBisNumber"]


def test_a_new_person_gets_a_number_of_its_birth_date_and_gender(creator):
    answer = create(
        creator,
        {
            "lastName": "Adeyemi-Claes",
            "firstName": ["Folake", "Ine"],
            "birthDate": "2004-10-21",
            "gender": "F",
            "nationality": "NG",
        },
    )
    assert answer.status.value == "OK"
    assert answer.existingPersons is None
    person = answer.newPerson
    assert person.register == "BIS"
    assert person.status == "ACTIVE"
    assert (person.lastName, list(person.firstName)) == ("Adeyemi-Claes", ["Folake", "Ine"])
    number = person.ssin
    # +40 (gender known), an even serial (a woman), the check digits of a birth in 2004.
    assert number[:6] == "045021"
    assert int(number[6:9]) % 2 == 0
    assert number == with_check_digits(number[:9], born_2000s=True)
    # Without gender: +20.
    unknown = create(
        creator,
        {"lastName": "Oyelaran", "firstName": ["Tunde"], "birthDate": "1958-04-00"},
    ).newPerson
    assert unknown.ssin[:6] == "582400"
    assert unknown.gender is None
    assert unknown.ssin == with_check_digits(unknown.ssin[:9])
    # The next identification finds both.
    for ssin in (number, unknown.ssin):
        found = creator.call("identifyPerson", legalContext=LEGAL, ssin=ssin)
        assert found.status.value == "DATA_FOUND"
        assert found.person.ssin == ssin


def test_likely_existing_persons_are_answered_and_force_creates(service, creator):
    kowalski = {
        "lastName": IDENT_BIS_40.last_name,
        "firstName": list(IDENT_BIS_40.first_names),
        "birthDate": IDENT_BIS_40.birth_date,
        "gender": IDENT_BIS_40.gender,
    }
    answer = create(creator, kowalski)
    assert answer.status.value == "DATA_FOUND"
    assert answer.newPerson is None
    candidates = answer.existingPersons.candidate
    assert IDENT_BIS_40.ssin in [c.person.ssin for c in candidates]
    assert all(0 <= c.score <= 100 for c in candidates)

    forced = create(creator, kowalski, force=True)
    assert forced.status.value == "OK"
    number = forced.newPerson.ssin
    assert number != IDENT_BIS_40.ssin
    assert number[:6] == IDENT_BIS_40.ssin[:6]
    assert audit_outcomes(service, number) == ["FORCED"]
    # The forced person is now one of the likely existing ones.
    again = create(creator, kowalski, force=False)
    assert number in [c.person.ssin for c in again.existingPersons.candidate]


def test_faults_carry_their_reason_code_and_field(creator, ident_c):
    person = {"lastName": "Vanhaecke", "firstName": ["Wim"], "birthDate": "1850-02-03"}
    assert_fault(
        creator.fault("createBisNumber", legalContext=LEGAL, person=person),
        "INVALID_DATE",
        {"person/birthDate": "1850-02-03"},
    )
    tomorrow_next_year = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()
    person["birthDate"] = tomorrow_next_year
    assert_fault(
        creator.fault("createBisNumber", legalContext=LEGAL, person=person),
        "INVALID_DATE",
        {"person/birthDate": tomorrow_next_year},
    )
    person["birthDate"] = "1973-02-03"
    assert_fault(
        ident_c.fault("createBisNumber", legalContext=LEGAL, person=person),
        "OPERATION_NOT_GRANTED",
        {"operation": "createBisNumber"},
    )
