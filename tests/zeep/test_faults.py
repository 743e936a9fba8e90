"""Refused requests: SOAP 1.1 faults whose detail zeep parses as common:serviceFault."""

from __future__ import annotations

import datetime
import uuid

import pytest

from support import (
    ORG_A,
    ORG_B,
    REVOKED_PASSWORD,
    REVOKED_USER,
    SOAP_ENV_NS,
    make_niss,
    new_ssin,
    with_check_digits,
)

D = datetime.date
CLIENT = f"{{{SOAP_ENV_NS}}}Client"


def assert_client_fault(fault, reason_code: str) -> None:
    assert fault.reason_code == reason_code, fault.faultstring
    assert fault.faultcode == CLIENT
    assert fault.faultstring
    detail = fault.detail
    assert detail.severity == "FATAL"
    assert detail.diagnostic
    assert detail.authorCode == "raas"
    ticket = fault.service_fault.ticket
    assert str(uuid.UUID(ticket)) == ticket, "the fault ticket is not a UUID"
    assert fault.service_fault.timestamp.tzinfo is not None


def register_args(ssin: str, dossier_type: str = "EMPLOYEE", begin=None, end=None):
    period = {"beginDate": begin or D(2020, 1, 1)}
    if end is not None:
        period["endDate"] = end
    return {"ssin": ssin, "dossierType": dossier_type, "period": period}


def assert_nothing_registered(caller, ssin: str) -> None:
    answer = caller.call("consultRegister", ssin=ssin)
    assert answer.status.value == "NO_DATA_FOUND"


@pytest.mark.parametrize(
    "ssin, why",
    [
        ("85073003329", "check digits"),
        (with_check_digits("851330033"), "month 13"),
        (with_check_digits("850230033"), "day 30"),
        (with_check_digits("850730000"), "serial 000"),
        (make_niss(datetime.date.today() + datetime.timedelta(days=400), 101), "future"),
        ("8507300332", "11 digits"),
    ],
    ids=["check digits", "month 13", "30 February", "serial 000", "born later", "ten digits"],
)
def test_invalid_ssin(org_a, ssin, why):
    fault = org_a.fault("registerPerson", **register_args(ssin))
    assert_client_fault(fault, "INVALID_SSIN")
    # Refused for the intended reason, not another one.
    assert why in fault.detail.diagnostic
    assert fault.information == {"ssin": ssin}


def test_invalid_ssin_in_consult(org_a):
    fault = org_a.fault("consultRegister", ssin="12345678901")
    assert_client_fault(fault, "INVALID_SSIN")
    assert fault.information == {"ssin": "12345678901"}


def test_unknown_dossier_type(org_a):
    ssin = new_ssin()
    fault = org_a.fault("registerPerson", **register_args(ssin, "NO_SUCH_TYPE"))
    assert_client_fault(fault, "UNKNOWN_DOSSIER_TYPE")
    assert fault.information == {"dossierType": "NO_SUCH_TYPE"}
    assert_nothing_registered(org_a, ssin)
    for operation in ["consultRegister", "unregisterPerson"]:
        fault = org_a.fault(operation, ssin=ssin, dossierType="NO_SUCH_TYPE")
        assert_client_fault(fault, "UNKNOWN_DOSSIER_TYPE")
        assert fault.information == {"dossierType": "NO_SUCH_TYPE"}


def test_retired_dossier_type_refuses_registration_only(org_a):
    ssin = new_ssin()
    fault = org_a.fault("registerPerson", **register_args(ssin, "OLD_SCHEME"))
    assert_client_fault(fault, "RETIRED_DOSSIER_TYPE")
    assert fault.information == {"dossierType": "OLD_SCHEME"}
    # Consulting and unregistering under a retired type still work.
    consulted = org_a.call("consultRegister", ssin=ssin, dossierType="OLD_SCHEME")
    assert consulted.status.value == "NO_DATA_FOUND"
    unregistered = org_a.call("unregisterPerson", ssin=ssin, dossierType="OLD_SCHEME")
    assert unregistered.status.value == "NO_RESULT"


def test_end_before_begin(org_a):
    ssin = new_ssin()
    fault = org_a.fault(
        "registerPerson", **register_args(ssin, begin=D(2021, 1, 1), end=D(2020, 12, 31))
    )
    assert_client_fault(fault, "END_BEFORE_BEGIN")
    assert_nothing_registered(org_a, ssin)


def test_end_before_begin_in_consult_and_unregister(org_a):
    reversed_period = {"beginDate": D(2021, 1, 1), "endDate": D(2020, 12, 31)}
    ssin = new_ssin()
    for operation, extra in [
        ("consultRegister", {}),
        ("unregisterPerson", {"dossierType": "EMPLOYEE"}),
    ]:
        fault = org_a.fault(operation, ssin=ssin, period=reversed_period, **extra)
        assert_client_fault(fault, "END_BEFORE_BEGIN")


@pytest.mark.parametrize(
    "username, password",
    [
        (ORG_A.username, "not-the-right-secret"),
        ("nobody-at-all", ORG_A.password),
        (REVOKED_USER, REVOKED_PASSWORD),
    ],
    ids=["wrong password", "unknown username", "revoked credential"],
)
def test_not_authenticated(service, org_a, username, password):
    intruder = service.caller(ORG_A, username, password)
    ssin = new_ssin()
    for operation, args in [
        ("registerPerson", register_args(ssin)),
        ("unregisterPerson", {"ssin": ssin, "dossierType": "EMPLOYEE"}),
        ("consultRegister", {"ssin": ssin}),
        ("listDossierTypes", {}),
    ]:
        fault = intruder.fault(operation, **args)
        assert_client_fault(fault, "NOT_AUTHENTICATED")
    assert_nothing_registered(org_a, ssin)


def test_not_allowed_to_act_for_another_organisation(org_a, org_b):
    ssin = new_ssin()
    as_b = org_a.customer(cbe=ORG_B.cbe)
    fault = org_a.fault("registerPerson", informationCustomer=as_b, **register_args(ssin))
    assert_client_fault(fault, "NOT_ALLOWED")
    assert_nothing_registered(org_b, ssin)

    for operation, args in [
        ("consultRegister", {"ssin": ssin}),
        ("unregisterPerson", {"ssin": ssin, "dossierType": "EMPLOYEE"}),
        ("listDossierTypes", {}),
    ]:
        fault = org_a.fault(operation, informationCustomer=org_a.customer(cbe=ORG_B.cbe), **args)
        assert_client_fault(fault, "NOT_ALLOWED")


def test_invalid_cbe_number(org_a):
    # 0202239952: the check digits of 0202239951 altered.
    customer = org_a.customer(cbe="0202239952")
    fault = org_a.fault("listDossierTypes", informationCustomer=customer)
    assert_client_fault(fault, "INVALID_CBE_NUMBER")
    assert fault.information == {
        "informationCustomer/customerIdentification/cbeNumber": "0202239952"
    }


def test_ticket_longer_than_36_characters(org_a):
    customer = org_a.customer(ticket="t" * 37)
    fault = org_a.fault("listDossierTypes", informationCustomer=customer)
    assert_client_fault(fault, "INVALID_FIELD")
    assert fault.information == {"informationCustomer/ticket": "t" * 37}


def test_legal_context_longer_than_64_characters(org_a):
    ssin = new_ssin()
    fault = org_a.fault("registerPerson", legalContext="x" * 65, **register_args(ssin))
    assert_client_fault(fault, "INVALID_FIELD")
    assert fault.information == {"legalContext": "x" * 65}
    assert_nothing_registered(org_a, ssin)


def test_impossible_dossier_type_code(org_a):
    fault = org_a.fault("registerPerson", **register_args(new_ssin(), "EMP LOYEE"))
    assert_client_fault(fault, "INVALID_DOSSIER_TYPE")
    assert fault.information == {"dossierType": "EMP LOYEE"}
