//! Fields the service must refuse: each gets HTTP 500 with a SOAP fault carrying its stable
//! reason code and naming the field and the value received, leaves exactly one audit entry,
//! and writes nothing.

#[macro_use]
mod common;

use common::refusal::{check, field_case, replaced, valid, without};
use common::{niss, Backend, Request, TestApp};

fn refuses_bad_fields(backend: Backend) {
    let app = TestApp::start(backend);
    let xml = valid().to_xml();
    let with_ssin = |ssin: &str| valid().ssin(ssin).to_xml();
    let with_period = |period: &str| valid().period(period).to_xml();
    let invalid_ssin = |what, ssin: &'static str| {
        field_case(what, with_ssin(ssin), "INVALID_SSIN", &[("ssin", ssin)])
    };
    let cbe_path = "informationCustomer/customerIdentification/cbeNumber";
    let long_ticket = "t".repeat(37);
    let long_context = "c".repeat(65);
    let missing = "MALFORMED_REQUEST";
    let long_ssin = "8".repeat(1000);
    let serial_000 = niss("850730", 0, false);
    assert_eq!(serial_000, "85073000061");
    let born_2099 = niss("991231", 1, true);
    assert_eq!(born_2099, "99123100197");

    check(
        &app,
        vec![
            invalid_ssin("NISS check digits", "85073003329"),
            invalid_ssin("NISS month 13", "85133000105"),
            invalid_ssin("NISS BIS month 53", "85533000191"),
            invalid_ssin("NISS serial 000", "85073000061"),
            invalid_ssin("NISS born in the future", "99123100197"),
            invalid_ssin("NISS with a letter", "8507300332A"),
            invalid_ssin("NISS too long", "850730033280"),
            // A hostile value does not make the fault large.
            field_case(
                "NISS of 1000 digits",
                with_ssin(&long_ssin),
                "INVALID_SSIN",
                &[("ssin", &long_ssin[..256])],
            ),
            field_case(
                "missing ssin",
                Request {
                    ssin: None,
                    ..valid()
                }
                .to_xml(),
                missing,
                &[("ssin", "")],
            ),
            field_case(
                "unqualified ssin",
                replaced(&xml, "<reg:ssin>", r#"<ssin xmlns="">"#)
                    .replace("</reg:ssin>", "</ssin>"),
                missing,
                &[("ssin", "")],
            ),
            field_case(
                "ssin in the common namespace",
                replaced(&xml, "<reg:ssin>", "<common:ssin>")
                    .replace("</reg:ssin>", "</common:ssin>"),
                missing,
                &[("ssin", "")],
            ),
            field_case(
                "impossible begin date",
                with_period("2023-02-29..2023-03-31"),
                "INVALID_DATE",
                &[("period/beginDate", "2023-02-29")],
            ),
            field_case(
                "impossible end date",
                with_period("2024-01-01..2024-13-01"),
                "INVALID_DATE",
                &[("period/endDate", "2024-13-01")],
            ),
            field_case(
                "date not in ISO form",
                with_period("01/02/2024.."),
                "INVALID_DATE",
                &[("period/beginDate", "01/02/2024")],
            ),
            field_case(
                "end before begin",
                with_period("2024-03-01..2024-02-29"),
                "END_BEFORE_BEGIN",
                &[
                    ("period/beginDate", "2024-03-01"),
                    ("period/endDate", "2024-02-29"),
                ],
            ),
            field_case(
                "missing period",
                Request {
                    period: None,
                    ..valid()
                }
                .to_xml(),
                missing,
                &[("period", "")],
            ),
            field_case(
                "missing begin date",
                without(&xml, "reg:beginDate"),
                missing,
                &[("period/beginDate", "")],
            ),
            field_case(
                "missing dossier type",
                Request {
                    dossier_type: None,
                    ..valid()
                }
                .to_xml(),
                missing,
                &[("dossierType", "")],
            ),
            field_case(
                "invalid dossier type",
                valid().dossier_type("EMP/LOYEE").to_xml(),
                "INVALID_DOSSIER_TYPE",
                &[("dossierType", "EMP/LOYEE")],
            ),
            field_case(
                "cbeNumber check digits",
                valid().cbe("0431150351").to_xml(),
                "INVALID_CBE_NUMBER",
                &[(cbe_path, "0431150351")],
            ),
            field_case(
                "cbeNumber first digit",
                valid().cbe("2000021323").to_xml(),
                "INVALID_CBE_NUMBER",
                &[(cbe_path, "2000021323")],
            ),
            field_case(
                "ticket in the service namespace",
                replaced(&xml, "common:ticket>", "reg:ticket>"),
                missing,
                &[("informationCustomer/ticket", "")],
            ),
            field_case(
                "missing informationCustomer",
                without(&xml, "reg:informationCustomer"),
                missing,
                &[("informationCustomer", "")],
            ),
            field_case(
                "ticket over 36 characters",
                valid().ticket(&long_ticket).to_xml(),
                "INVALID_FIELD",
                &[("informationCustomer/ticket", &long_ticket)],
            ),
            field_case(
                "timestampSent not a dateTime",
                replaced(&xml, common::soap::TIMESTAMP_SENT, "yesterday"),
                "INVALID_FIELD",
                &[("informationCustomer/timestampSent", "yesterday")],
            ),
            field_case(
                "legalContext over 64 characters",
                valid().legal_context(Some(&long_context)).to_xml(),
                "INVALID_FIELD",
                &[("legalContext", &long_context)],
            ),
        ],
    );
}

fn accepts_fields_at_their_limits(backend: Backend) {
    let app = TestApp::start(backend);
    // 36 characters, markup among them: echoed as sent.
    let ticket = "<&>\"'-ticket-of-exactly-36-chars-xxx";
    assert_eq!(ticket.chars().count(), 36);
    let legal_context = "L".repeat(64);
    let request = valid().ticket(ticket).legal_context(Some(&legal_context));
    let answer = app.call(&request).ok();
    assert_eq!(
        answer.text(&["informationCustomer", "ticket"]).as_deref(),
        Some(ticket)
    );
    let trail = app.audit(None);
    assert_eq!(trail[0]["clientTicket"], ticket);
    assert_eq!(trail[0]["legalContext"], legal_context.as_str());
}

backend_tests!(refuses_bad_fields, accepts_fields_at_their_limits);
