"""Every operation of PersonRegisterService v1 called through zeep in strict mode."""

from __future__ import annotations

import datetime
import uuid

from support import ORG_A, ORG_B, new_ssin

D = datetime.date


def lines(answer) -> list[tuple[str, datetime.date, datetime.date | None]]:
    return [(r.dossierType, r.period.beginDate, r.period.endDate) for r in answer.relation]


def period(begin: datetime.date, end: datetime.date | None = None) -> dict:
    return {"beginDate": begin, "endDate": end} if end else {"beginDate": begin}


def assert_status(answer, value: str, code: str) -> None:
    assert (answer.status.value, answer.status.code) == (value, code)


def assert_server_info(answer) -> None:
    server = answer.informationServer
    assert str(uuid.UUID(server.ticket)) == server.ticket, "the server ticket is not a UUID"
    now = datetime.datetime.now(datetime.timezone.utc)
    assert server.timestampReceive.tzinfo is not None
    assert server.timestampReceive <= server.timestampReply
    assert abs(server.timestampReply - now) < datetime.timedelta(minutes=5)


# --- registerPerson -------------------------------------------------------------------------


def test_register_answers_with_echo_server_info_and_the_line(org_a):
    ssin = new_ssin()
    customer = org_a.customer(ticket="my-ref-0001")
    answer = org_a.call(
        "registerPerson",
        informationCustomer=customer,
        legalContext="PCSA:SOCIAL_INQUIRY",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period(D(2024, 1, 1), D(2024, 12, 31)),
    )
    echoed = answer.informationCustomer
    assert echoed.ticket == "my-ref-0001"
    assert echoed.timestampSent == customer["timestampSent"]
    assert echoed.customerIdentification.cbeNumber == ORG_A.cbe
    assert_server_info(answer)
    assert_status(answer, "OK", "MSG00000")
    assert answer.ssin == ssin
    assert lines(answer) == [("EMPLOYEE", D(2024, 1, 1), D(2024, 12, 31))]


def test_every_answer_gets_its_own_server_ticket(org_a):
    first = org_a.call("listDossierTypes")
    second = org_a.call("listDossierTypes")
    assert first.informationServer.ticket != second.informationServer.ticket


def test_register_merges_overlapping_and_contiguous_periods(org_a):
    ssin = new_ssin()

    def register(begin, end=None):
        return org_a.call(
            "registerPerson", ssin=ssin, dossierType="EMPLOYEE", period=period(begin, end)
        )

    register(D(2020, 1, 1), D(2020, 6, 30))
    overlapping = register(D(2020, 6, 1), D(2020, 12, 31))
    assert_status(overlapping, "OK", "MSG00000")
    assert lines(overlapping) == [("EMPLOYEE", D(2020, 1, 1), D(2020, 12, 31))]

    contiguous = register(D(2021, 1, 1), D(2021, 3, 31))
    assert lines(contiguous) == [("EMPLOYEE", D(2020, 1, 1), D(2021, 3, 31))]

    apart = register(D(2022, 1, 1))
    assert lines(apart) == [
        ("EMPLOYEE", D(2020, 1, 1), D(2021, 3, 31)),
        ("EMPLOYEE", D(2022, 1, 1), None),
    ]

    # A period covering both lines and the gap joins them into one open line.
    bridged = register(D(2021, 2, 1), D(2022, 6, 30))
    assert lines(bridged) == [("EMPLOYEE", D(2020, 1, 1), None)]

    # Registering what is already there changes nothing.
    again = register(D(2020, 3, 1), D(2020, 3, 31))
    assert_status(again, "OK", "MSG00000")
    assert lines(again) == [("EMPLOYEE", D(2020, 1, 1), None)]


def test_register_merges_a_period_ending_the_day_before_a_line(org_a):
    ssin = new_ssin()
    org_a.call("registerPerson", ssin=ssin, dossierType="EMPLOYEE", period=period(D(2020, 2, 1)))
    answer = org_a.call(
        "registerPerson",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period(D(2020, 1, 1), D(2020, 1, 31)),
    )
    assert lines(answer) == [("EMPLOYEE", D(2020, 1, 1), None)]


def test_register_keeps_dossier_types_apart(org_a):
    ssin = new_ssin()
    org_a.call("registerPerson", ssin=ssin, dossierType="EMPLOYEE", period=period(D(2020, 1, 1)))
    answer = org_a.call(
        "registerPerson",
        ssin=ssin,
        dossierType="BENEFICIARY",
        period=period(D(2020, 1, 1), D(2020, 1, 31)),
    )
    # The answer lists the lines of that NISS and dossier type only.
    assert lines(answer) == [("BENEFICIARY", D(2020, 1, 1), D(2020, 1, 31))]


def test_documented_example_numbers_are_accepted(org_a):
    # RN (19xx and 20xx), BIS (month + 20) and TER (month + 40) numbers.
    for ssin in ["85073003328", "17073003384", "75060898009", "98472899765", "75260898052"]:
        answer = org_a.call(
            "registerPerson",
            ssin=ssin,
            dossierType="PROVISIONAL",
            period=period(D(2023, 5, 1), D(2023, 5, 31)),
        )
        assert answer.ssin == ssin
        assert lines(answer) == [("PROVISIONAL", D(2023, 5, 1), D(2023, 5, 31))]


# --- unregisterPerson -----------------------------------------------------------------------


def test_unregister_middle_of_a_line_leaves_two_lines(org_a):
    ssin = new_ssin()
    org_a.call(
        "registerPerson",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period(D(2020, 1, 1), D(2020, 12, 31)),
    )
    customer = org_a.customer(ticket="unregister-1")
    answer = org_a.call(
        "unregisterPerson",
        informationCustomer=customer,
        legalContext="PCSA:SOCIAL_INQUIRY",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period(D(2020, 4, 1), D(2020, 4, 30)),
    )
    assert answer.informationCustomer.ticket == "unregister-1"
    assert_server_info(answer)
    assert_status(answer, "OK", "MSG00000")
    assert answer.ssin == ssin
    assert lines(answer) == [
        ("EMPLOYEE", D(2020, 1, 1), D(2020, 3, 31)),
        ("EMPLOYEE", D(2020, 5, 1), D(2020, 12, 31)),
    ]


def test_unregister_with_nothing_overlapping_is_no_result(org_a):
    ssin = new_ssin()
    org_a.call(
        "registerPerson",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period(D(2020, 1, 1), D(2020, 12, 31)),
    )
    answer = org_a.call(
        "unregisterPerson",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period(D(2019, 1, 1), D(2019, 12, 31)),
    )
    assert_status(answer, "NO_RESULT", "MSG00002")
    assert lines(answer) == [("EMPLOYEE", D(2020, 1, 1), D(2020, 12, 31))]

    # Another dossier type of the same NISS has nothing either.
    other_type = org_a.call("unregisterPerson", ssin=ssin, dossierType="BENEFICIARY")
    assert_status(other_type, "NO_RESULT", "MSG00002")
    assert lines(other_type) == []


def test_unregister_without_period_removes_every_line_of_the_type(org_a):
    ssin = new_ssin()
    for begin, end in [(D(2018, 1, 1), D(2018, 6, 30)), (D(2020, 1, 1), None)]:
        org_a.call("registerPerson", ssin=ssin, dossierType="EMPLOYEE", period=period(begin, end))
    org_a.call("registerPerson", ssin=ssin, dossierType="BENEFICIARY", period=period(D(2019, 1, 1)))

    answer = org_a.call("unregisterPerson", ssin=ssin, dossierType="EMPLOYEE")
    assert_status(answer, "OK", "MSG00000")
    assert lines(answer) == []

    remaining = org_a.call("consultRegister", ssin=ssin)
    assert lines(remaining) == [("BENEFICIARY", D(2019, 1, 1), None)]

    again = org_a.call("unregisterPerson", ssin=ssin, dossierType="EMPLOYEE")
    assert_status(again, "NO_RESULT", "MSG00002")


def test_unregister_the_end_of_an_open_line_closes_it(org_a):
    ssin = new_ssin()
    org_a.call("registerPerson", ssin=ssin, dossierType="EMPLOYEE", period=period(D(2020, 1, 1)))
    answer = org_a.call(
        "unregisterPerson", ssin=ssin, dossierType="EMPLOYEE", period=period(D(2021, 7, 1))
    )
    assert_status(answer, "OK", "MSG00000")
    assert lines(answer) == [("EMPLOYEE", D(2020, 1, 1), D(2021, 6, 30))]


def test_unregister_a_single_day_line(org_a):
    ssin = new_ssin()
    day = period(D(2020, 5, 5), D(2020, 5, 5))
    registered = org_a.call("registerPerson", ssin=ssin, dossierType="EMPLOYEE", period=day)
    assert lines(registered) == [("EMPLOYEE", D(2020, 5, 5), D(2020, 5, 5))]
    answer = org_a.call("unregisterPerson", ssin=ssin, dossierType="EMPLOYEE", period=day)
    assert_status(answer, "OK", "MSG00000")
    assert lines(answer) == []


# --- consultRegister ------------------------------------------------------------------------


def test_consult_with_and_without_filters(org_a):
    ssin = new_ssin()
    org_a.call(
        "registerPerson",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period(D(2020, 1, 1), D(2020, 12, 31)),
    )
    org_a.call("registerPerson", ssin=ssin, dossierType="BENEFICIARY", period=period(D(2022, 1, 1)))
    org_a.call(
        "registerPerson",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period(D(2023, 1, 1), D(2023, 1, 31)),
    )

    everything = org_a.call("consultRegister", legalContext="PCSA:SOCIAL_INQUIRY", ssin=ssin)
    assert_server_info(everything)
    assert_status(everything, "DATA_FOUND", "MSG00000")
    assert everything.ssin == ssin
    # By dossier type, then begin date.
    assert lines(everything) == [
        ("BENEFICIARY", D(2022, 1, 1), None),
        ("EMPLOYEE", D(2020, 1, 1), D(2020, 12, 31)),
        ("EMPLOYEE", D(2023, 1, 1), D(2023, 1, 31)),
    ]

    one_type = org_a.call("consultRegister", ssin=ssin, dossierType="EMPLOYEE")
    assert_status(one_type, "DATA_FOUND", "MSG00000")
    assert lines(one_type) == [
        ("EMPLOYEE", D(2020, 1, 1), D(2020, 12, 31)),
        ("EMPLOYEE", D(2023, 1, 1), D(2023, 1, 31)),
    ]

    overlapping_2023 = org_a.call(
        "consultRegister", ssin=ssin, period=period(D(2023, 1, 15), D(2023, 6, 30))
    )
    assert lines(overlapping_2023) == [
        ("BENEFICIARY", D(2022, 1, 1), None),
        ("EMPLOYEE", D(2023, 1, 1), D(2023, 1, 31)),
    ]

    # An open period overlaps everything from its begin date on.
    from_2021 = org_a.call("consultRegister", ssin=ssin, period=period(D(2021, 1, 1)))
    assert [line[0:2] for line in lines(from_2021)] == [
        ("BENEFICIARY", D(2022, 1, 1)),
        ("EMPLOYEE", D(2023, 1, 1)),
    ]

    # The end date is inclusive.
    last_day = org_a.call(
        "consultRegister",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period(D(2020, 12, 31), D(2020, 12, 31)),
    )
    assert lines(last_day) == [("EMPLOYEE", D(2020, 1, 1), D(2020, 12, 31))]

    both_filters_none = org_a.call(
        "consultRegister",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period(D(2021, 1, 1), D(2022, 12, 31)),
    )
    assert_status(both_filters_none, "NO_DATA_FOUND", "MSG00001")
    assert lines(both_filters_none) == []


def test_consult_unknown_person_is_no_data_found(org_a):
    ssin = new_ssin()
    customer = org_a.customer(ticket="consult-nothing")
    answer = org_a.call("consultRegister", informationCustomer=customer, ssin=ssin)
    assert answer.informationCustomer.ticket == "consult-nothing"
    assert_server_info(answer)
    assert_status(answer, "NO_DATA_FOUND", "MSG00001")
    assert answer.ssin == ssin
    assert answer.relation == []


# --- listDossierTypes -----------------------------------------------------------------------


def test_list_dossier_types_gives_the_active_types(org_a, org_b):
    answer = org_a.call("listDossierTypes", legalContext="PCSA:SOCIAL_INQUIRY")
    assert_server_info(answer)
    assert_status(answer, "DATA_FOUND", "MSG00000")
    assert answer.informationCustomer.customerIdentification.cbeNumber == ORG_A.cbe
    # The retired type is not listed; a type without description has none.
    assert {t.code: t.description for t in answer.dossierType} == ORG_A.dossier_types

    answer_b = org_b.call("listDossierTypes")
    assert {t.code: t.description for t in answer_b.dossierType} == ORG_B.dossier_types


def test_list_dossier_types_without_any_is_no_data_found(org_c):
    answer = org_c.call("listDossierTypes")
    assert_status(answer, "NO_DATA_FOUND", "MSG00001")
    assert answer.dossierType == []


# --- isolation between organisations --------------------------------------------------------


def test_organisations_see_and_change_only_their_own_lines(org_a, org_b):
    ssin = new_ssin()
    org_a.call(
        "registerPerson",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period(D(2020, 1, 1), D(2020, 12, 31)),
    )

    seen_by_b = org_b.call("consultRegister", ssin=ssin)
    assert_status(seen_by_b, "NO_DATA_FOUND", "MSG00001")
    assert lines(seen_by_b) == []

    # B's overlapping period under its own EMPLOYEE type does not merge with A's line.
    registered_by_b = org_b.call(
        "registerPerson",
        ssin=ssin,
        dossierType="EMPLOYEE",
        period=period(D(2020, 6, 1), D(2021, 6, 30)),
    )
    assert lines(registered_by_b) == [("EMPLOYEE", D(2020, 6, 1), D(2021, 6, 30))]

    seen_by_a = org_a.call("consultRegister", ssin=ssin)
    assert lines(seen_by_a) == [("EMPLOYEE", D(2020, 1, 1), D(2020, 12, 31))]

    removed_by_b = org_b.call("unregisterPerson", ssin=ssin, dossierType="EMPLOYEE")
    assert_status(removed_by_b, "OK", "MSG00000")
    assert lines(removed_by_b) == []

    still_with_a = org_a.call("consultRegister", ssin=ssin, dossierType="EMPLOYEE")
    assert lines(still_with_a) == [("EMPLOYEE", D(2020, 1, 1), D(2020, 12, 31))]

    nothing_left_for_b = org_b.call("unregisterPerson", ssin=ssin, dossierType="EMPLOYEE")
    assert_status(nothing_left_for_b, "NO_RESULT", "MSG00002")


def test_another_organisations_dossier_type_is_unknown(org_a, org_b):
    # STUDENT is B's type, not A's.
    ssin = new_ssin()
    fault = org_a.fault(
        "registerPerson", ssin=ssin, dossierType="STUDENT", period=period(D(2020, 1, 1))
    )
    assert fault.reason_code == "UNKNOWN_DOSSIER_TYPE"
    assert fault.information == {"dossierType": "STUDENT"}
    answer = org_b.call(
        "registerPerson", ssin=ssin, dossierType="STUDENT", period=period(D(2020, 1, 1))
    )
    assert lines(answer) == [("STUDENT", D(2020, 1, 1), None)]
