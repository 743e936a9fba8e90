//! Documents that are not XML, or not the message the schema describes, sent through the
//! real server: each is MALFORMED_REQUEST (soapenv:Client) naming what is wrong in its
//! `information` (the place in the document and the offending text), leaves one audit entry,
//! writes nothing, and the server keeps serving. Values with a no-break space around them
//! are invalid fields, not trimmed.

#[macro_use]
mod common;

use common::refusal::{case, check, replaced, valid, Case};
use common::{fields, org_a, Backend, Request, TestApp, NISS_1};

const MALFORMED: &str = "MALFORMED_REQUEST";
const OP: &str = "Envelope/Body/registerPersonRequest";

/// Refused by the reader, before the operation is known: the fault names the place.
fn not_xml(what: &'static str, body: impl Into<Vec<u8>>, place: &str, value: &str) -> Case {
    Case {
        fields: fields(&[(place, value)]),
        ..case(what, body, MALFORMED)
    }
}

/// Refused on the envelope's structure (the operation not yet known).
fn envelope_case(what: &'static str, body: impl Into<Vec<u8>>, field: &str, value: &str) -> Case {
    not_xml(what, body, field, value)
}

/// Refused on a field of registerPerson.
fn field(
    what: &'static str,
    body: impl Into<Vec<u8>>,
    reason: &'static str,
    name: &str,
    value: &str,
) -> Case {
    Case {
        fields: fields(&[(name, value)]),
        operation: "registerPerson",
        ..case(what, body, reason)
    }
}

/// `xml` with the first `from` replaced by `to`.
fn once(xml: &str, from: &str, to: &str) -> String {
    assert!(xml.contains(from), "{from} is not in {xml}");
    xml.replacen(from, to, 1)
}

/// `xml` with the element `<tag>…</tag>` (which must be there) given twice.
fn doubled(xml: &str, tag: &str) -> String {
    let start = [">", " "]
        .iter()
        .filter_map(|after| xml.find(&format!("<{tag}{after}")))
        .min()
        .expect("the element is there");
    let end_tag = format!("</{tag}>");
    let end = xml[start..].find(&end_tag).expect("the element is closed") + start + end_tag.len();
    format!("{}{}{}", &xml[..end], &xml[start..end], &xml[end..])
}

fn refuses_what_is_not_xml(backend: Backend) {
    let app = TestApp::start(backend);
    let xml = valid().to_xml();
    let ticket = format!("{OP}/informationCustomer/ticket");
    let in_ticket = |text: &str| once(&xml, "</common:ticket>", &format!("{text}</common:ticket>"));
    let context = "PCSA:SOCIAL_INQUIRY";
    let in_context = |text: &str| replaced(&xml, context, &format!("PCSA{text}"));
    let in_body = |text: &str| replaced(&xml, "<soapenv:Body>", &format!("<soapenv:Body>{text}"));
    let declaration = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
    let declared = |encoding: &str| {
        replaced(
            &xml,
            declaration,
            &format!(r#"<?xml version="1.0" encoding="{encoding}"?>"#),
        )
    };
    check(
        &app,
        vec![
            not_xml("NUL in the ticket", in_ticket("a\u{0}b"), &ticket, "U+0000"),
            not_xml(
                "BEL in legalContext",
                in_context("\u{7}"),
                &format!("{OP}/legalContext"),
                "U+0007",
            ),
            not_xml(
                "ESC in an attribute",
                replaced(&xml, "<soapenv:Body>", "<soapenv:Body a=\"\u{1b}\">"),
                "Envelope/Body",
                "U+001B",
            ),
            not_xml(
                "U+FFFE in the ticket",
                in_ticket("\u{fffe}"),
                &ticket,
                "U+FFFE",
            ),
            not_xml("&#x7;", in_ticket("&#x7;"), &ticket, "&#x7;"),
            not_xml("&#0;", in_ticket("&#0;"), &ticket, "&#0;"),
            not_xml("&#xFFFE;", in_ticket("&#xFFFE;"), &ticket, "&#xFFFE;"),
            not_xml("&#xD800;", in_ticket("&#xD800;"), &ticket, "&#xD800;"),
            not_xml(
                "&#x1; in an attribute",
                replaced(&xml, "<soapenv:Body>", "<soapenv:Body a=\"&#x1;\">"),
                "Envelope/Body/@a",
                "U+0001",
            ),
            not_xml(
                "-- inside a comment",
                in_body("<!-- a -- b -->"),
                "Envelope/Body",
                "<!-- a -- b -->",
            ),
            not_xml(
                "a comment ending --->",
                in_body("<!-- a --->"),
                "Envelope/Body",
                "<!-- a --->",
            ),
            not_xml(
                "an XML declaration after the root start tag",
                in_body(r#"<?xml version="1.0"?>"#),
                "Envelope/Body",
                r#"<?xml version="1.0"?>"#,
            ),
            not_xml(
                "an XML declaration after white space",
                format!(" {xml}"),
                "(prolog)",
                declaration,
            ),
            not_xml(
                "a processing instruction named XML",
                in_body("<?XML hello?>"),
                "Envelope/Body",
                "<?XML hello?>",
            ),
            not_xml(
                "< in an attribute value",
                replaced(&xml, "<soapenv:Body>", r#"<soapenv:Body a="<">"#),
                "Envelope/Body/@a",
                "<",
            ),
            not_xml("]]> in text", in_ticket("]]>"), &ticket, "]]>"),
            not_xml(
                "ISO-8859-1 declared over UTF-8",
                declared("ISO-8859-1"),
                "(prolog)/@encoding",
                "ISO-8859-1",
            ),
            not_xml(
                "UTF-16 declared over UTF-8",
                declared("UTF-16"),
                "(prolog)/@encoding",
                "UTF-16",
            ),
            not_xml(
                "an element name that is not a name",
                in_body("<1x/>"),
                "Envelope/Body",
                "1x",
            ),
        ],
    );
}

fn refuses_envelopes_the_schema_does_not_describe(backend: Backend) {
    let app = TestApp::start(backend);
    let xml = valid().to_xml();
    let body = "<soapenv:Body>";
    check(
        &app,
        vec![
            envelope_case(
                "text directly inside Body",
                replaced(&xml, body, "<soapenv:Body>junk"),
                "Body",
                "junk",
            ),
            envelope_case(
                "text directly inside Envelope",
                replaced(&xml, body, "junk<soapenv:Body>"),
                "Envelope",
                "junk",
            ),
            envelope_case(
                "text directly inside Header",
                replaced(&xml, "<soapenv:Header>", "<soapenv:Header>junk"),
                "Header",
                "junk",
            ),
            envelope_case(
                "text directly inside the operation",
                replaced(
                    &xml,
                    "<reg:informationCustomer>",
                    "junk<reg:informationCustomer>",
                ),
                "registerPersonRequest",
                "junk",
            ),
            envelope_case(
                "a second Header",
                doubled(&xml, "soapenv:Header"),
                "Header",
                "",
            ),
            envelope_case("a second Body", doubled(&xml, "soapenv:Body"), "Body", ""),
        ],
    );
}

fn refuses_duplicated_and_mixed_fields(backend: Backend) {
    let app = TestApp::start(backend);
    let xml = valid().to_xml();
    let with_person = valid()
        .person_data("Peeters", Some("Jan"), "1985-07-30", Some("M"))
        .to_xml();
    let customer = "informationCustomer";
    check(
        &app,
        vec![
            field(
                "an element inside ssin",
                replaced(&xml, &format!(">{NISS_1}<"), "><b/>00121130362<"),
                MALFORMED,
                "ssin",
                "b",
            ),
            field(
                "an element in the middle of ssin",
                replaced(&xml, &format!(">{NISS_1}<"), ">00121<b/>130362<"),
                MALFORMED,
                "ssin",
                "b",
            ),
            field(
                "an element inside the ticket",
                once(&xml, "</common:ticket>", "<common:x/></common:ticket>"),
                MALFORMED,
                "informationCustomer/ticket",
                "x",
            ),
            field(
                "an element inside beginDate",
                once(&xml, "</reg:beginDate>", "<i/></reg:beginDate>"),
                MALFORMED,
                "period/beginDate",
                "i",
            ),
            field(
                "an element inside the password",
                once(&xml, "</wsse:Password>", "<i/></wsse:Password>"),
                MALFORMED,
                "Security/UsernameToken/Password",
                "i",
            ),
            field(
                "a second ssin",
                doubled(&xml, "reg:ssin"),
                MALFORMED,
                "ssin",
                "",
            ),
            field(
                "a second informationCustomer",
                doubled(&xml, "reg:informationCustomer"),
                MALFORMED,
                customer,
                "",
            ),
            field(
                "a second ticket",
                doubled(&xml, "common:ticket"),
                MALFORMED,
                "informationCustomer/ticket",
                "",
            ),
            field(
                "a second timestampSent",
                doubled(&xml, "common:timestampSent"),
                MALFORMED,
                "informationCustomer/timestampSent",
                "",
            ),
            field(
                "a second customerIdentification",
                doubled(&xml, "common:customerIdentification"),
                MALFORMED,
                "informationCustomer/customerIdentification",
                "",
            ),
            field(
                "a second cbeNumber",
                doubled(&xml, "common:cbeNumber"),
                MALFORMED,
                "informationCustomer/customerIdentification/cbeNumber",
                "",
            ),
            field(
                "a second legalContext",
                doubled(&xml, "reg:legalContext"),
                MALFORMED,
                "legalContext",
                "",
            ),
            field(
                "a second dossierType",
                doubled(&xml, "reg:dossierType"),
                MALFORMED,
                "dossierType",
                "",
            ),
            field(
                "a second period",
                doubled(&xml, "reg:period"),
                MALFORMED,
                "period",
                "",
            ),
            field(
                "a second beginDate",
                doubled(&xml, "reg:beginDate"),
                MALFORMED,
                "period/beginDate",
                "",
            ),
            field(
                "a second endDate",
                doubled(&xml, "reg:endDate"),
                MALFORMED,
                "period/endDate",
                "",
            ),
            field(
                "a second wsse:Security",
                doubled(&xml, "wsse:Security"),
                MALFORMED,
                "Security",
                "",
            ),
            field(
                "a second UsernameToken",
                doubled(&xml, "wsse:UsernameToken"),
                MALFORMED,
                "Security/UsernameToken",
                "",
            ),
            field(
                "a second Username",
                doubled(&xml, "wsse:Username"),
                MALFORMED,
                "Security/UsernameToken/Username",
                "",
            ),
            field(
                "a second Password",
                doubled(&xml, "wsse:Password"),
                MALFORMED,
                "Security/UsernameToken/Password",
                "",
            ),
            field(
                "a second personData",
                doubled(&with_person, "reg:personData"),
                MALFORMED,
                "personData",
                "",
            ),
            field(
                "a second personData/lastName",
                doubled(&with_person, "reg:lastName"),
                MALFORMED,
                "personData/lastName",
                "",
            ),
            field(
                "a second personData/firstName",
                doubled(&with_person, "reg:firstName"),
                MALFORMED,
                "personData/firstName",
                "",
            ),
            field(
                "text inside informationCustomer",
                once(&xml, "<common:ticket>", "junk<common:ticket>"),
                MALFORMED,
                customer,
                "junk",
            ),
            field(
                "text inside period",
                once(&xml, "<reg:beginDate>", "junk<reg:beginDate>"),
                MALFORMED,
                "period",
                "junk",
            ),
        ],
    );
}

/// Only XML white space (space, tab, CR, LF) is trimmed from a value: a no-break space or
/// another Unicode space around a number or a date is part of it, so the field is invalid.
fn refuses_values_with_other_spaces(backend: Backend) {
    let app = TestApp::start(backend);
    let xml = valid().to_xml();
    let cbe = org_a().cbe;
    let cbe_path = "informationCustomer/customerIdentification/cbeNumber";
    let cases = [
        (
            "\u{a0}",
            "ssin",
            "INVALID_SSIN",
            replaced(&xml, &format!(">{NISS_1}<"), &format!(">\u{a0}{NISS_1}<")),
            format!("\u{a0}{NISS_1}"),
        ),
        (
            "\u{2003}",
            "ssin",
            "INVALID_SSIN",
            replaced(&xml, &format!(">{NISS_1}<"), &format!(">{NISS_1}\u{2003}<")),
            format!("{NISS_1}\u{2003}"),
        ),
        (
            "\u{a0}",
            cbe_path,
            "INVALID_CBE_NUMBER",
            replaced(&xml, &format!(">{cbe}<"), &format!(">{cbe}\u{a0}<")),
            format!("{cbe}\u{a0}"),
        ),
        (
            "\u{a0}",
            "period/beginDate",
            "INVALID_DATE",
            replaced(&xml, ">2024-01-01<", ">\u{a0}2024-01-01<"),
            "\u{a0}2024-01-01".to_string(),
        ),
        (
            "\u{3000}",
            "dossierType",
            "INVALID_DOSSIER_TYPE",
            replaced(&xml, ">EMPLOYEE<", ">\u{3000}EMPLOYEE<"),
            "\u{3000}EMPLOYEE".to_string(),
        ),
    ];
    let before = app.audit(None).len();
    for (space, name, reason, body, value) in &cases {
        let answer = app.post(body.clone());
        assert_eq!(answer.http_status, 500, "{space:?} {name}: {}", answer.body);
        assert_eq!(answer.faultcode().as_deref(), Some("soapenv:Client"));
        assert_eq!(
            answer.reason_code().as_deref(),
            Some(*reason),
            "{}",
            answer.body
        );
        // The value is named as received, its space included.
        assert!(
            answer
                .body
                .contains(&format!("<common:fieldName>{name}</common:fieldName>"))
                || answer.fault_fields().iter().any(|(n, _)| n == name),
            "{}",
            answer.body
        );
        assert!(
            answer.body.contains(value.as_str()),
            "{name}: {}",
            answer.body
        );
    }
    assert_eq!(app.audit(None).len(), before + cases.len());
    // XML white space around a value is still trimmed; nothing was written before.
    let consulted = app.call(&Request::consult(&org_a(), NISS_1)).ok();
    assert_eq!(consulted.status(), "NO_DATA_FOUND");
    let spaced = replaced(
        &xml,
        &format!(">{NISS_1}<"),
        &format!(">\r\n\t {NISS_1} \t<"),
    );
    let answer = app.post(spaced);
    assert_eq!(answer.ok().lines(), ["EMPLOYEE 2024-01-01..2024-12-31"]);
}

/// The NUL bytes of a hostile sender never reach the audit trail, even beside honest
/// callers: every honest consultation is answered and audited.
fn a_nul_sender_does_not_harm_honest_callers(backend: Backend) {
    let app = TestApp::start(backend);
    app.call(&valid()).ok();
    let nul = replaced(
        &Request::consult(&org_a(), NISS_1).to_xml(),
        "</common:ticket>",
        "\u{0}b</common:ticket>",
    );
    let before = app.audit(None).len();
    for _ in 0..20 {
        let refused = app.post(nul.clone());
        assert_eq!(
            refused.reason_code().as_deref(),
            Some(MALFORMED),
            "{}",
            refused.body
        );
        let consulted = app.call(&Request::consult(&org_a(), NISS_1)).ok();
        assert_eq!(consulted.status(), "DATA_FOUND");
    }
    let audit = app.audit(None);
    assert_eq!(audit.len(), before + 40);
    let outcomes: Vec<&str> = audit[..40]
        .iter()
        .map(|e| e["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == MALFORMED).count(),
        20,
        "{outcomes:?}"
    );
    assert!(audit.iter().all(|e| !e.to_string().contains("\\u0000")));
}

backend_tests!(
    refuses_what_is_not_xml,
    refuses_envelopes_the_schema_does_not_describe,
    refuses_duplicated_and_mixed_fields,
    refuses_values_with_other_spaces,
    a_nul_sender_does_not_harm_honest_callers,
);
