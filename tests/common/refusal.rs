//! Refused requests: what each must get back (HTTP 500, a SOAP fault with its reason code
//! and fields), the one audit entry it must leave, and that it wrote nothing.

use super::answer::fields;
use super::app::{org_a, TestApp};
use super::soap::Request;
use super::NISS_1;

/// A request to refuse and what the refusal must say.
pub struct Case {
    pub what: &'static str,
    pub body: Vec<u8>,
    pub reason: &'static str,
    pub faultcode: &'static str,
    pub fields: Vec<(String, String)>,
    /// The operation the audit entry names.
    pub operation: &'static str,
}

/// A valid registerPerson request, the base of the refused variants.
pub fn valid() -> Request {
    Request::register(&org_a(), NISS_1, "EMPLOYEE", "2024-01-01..2024-12-31")
}

/// `xml` with `from` replaced by `to`, which must be there.
pub fn replaced(xml: &str, from: &str, to: &str) -> String {
    assert!(xml.contains(from), "{from} is not in {xml}");
    xml.replace(from, to)
}

/// `xml` without the element `tag` (which must be there, once).
pub fn without(xml: &str, tag: &str) -> String {
    let start = xml.find(&format!("<{tag}>")).expect("the element is there");
    let end_tag = format!("</{tag}>");
    let end = xml.find(&end_tag).expect("the element is closed") + end_tag.len();
    format!("{}{}", &xml[..start], &xml[end..])
}

pub fn case(what: &'static str, body: impl Into<Vec<u8>>, reason: &'static str) -> Case {
    Case {
        what,
        body: body.into(),
        reason,
        faultcode: "soapenv:Client",
        fields: Vec::new(),
        operation: "unknown",
    }
}

/// A registerPerson request refused on one of its fields.
pub fn field_case(
    what: &'static str,
    body: impl Into<Vec<u8>>,
    reason: &'static str,
    field_pairs: &[(&str, &str)],
) -> Case {
    Case {
        fields: fields(field_pairs),
        operation: "registerPerson",
        ..case(what, body, reason)
    }
}

pub fn with_faultcode(faultcode: &'static str, case: Case) -> Case {
    Case { faultcode, ..case }
}

/// Sends every case, checks its fault and its audit entry, then that nothing was written
/// and that a valid request still succeeds.
pub fn check(app: &TestApp, cases: Vec<Case>) {
    check_after(app, 0, cases);
}

/// [`check`] on a server whose trail already holds `earlier` entries.
pub fn check_after(app: &TestApp, earlier: usize, cases: Vec<Case>) {
    let tickets = send_refused(app, "/soap/PersonRegisterService", &cases);

    let mut audit = app.audit(None);
    audit.truncate(audit.len() - earlier);
    audit.reverse();
    assert_eq!(audit.len(), cases.len(), "one audit entry per refused call");
    for ((case, ticket), entry) in cases.iter().zip(&tickets).zip(&audit) {
        assert_eq!(entry["serverTicket"], ticket.as_str(), "{}", case.what);
        assert_eq!(entry["outcome"], case.reason, "{}", case.what);
        assert_eq!(entry["operation"], case.operation, "{}", case.what);
    }

    let consulted = app.call(&Request::consult(&org_a(), NISS_1)).ok();
    assert_eq!(consulted.status(), "NO_DATA_FOUND");
    let registered = app.call(&valid()).ok();
    assert_eq!(registered.lines(), ["EMPLOYEE 2024-01-01..2024-12-31"]);
}

/// Sends every case to the SOAP endpoint `path` and checks its fault: HTTP 500, the reason
/// code, the fault code, the fields named, a FATAL severity and a diagnostic. Gives the server
/// tickets of the answers.
pub fn send_refused(app: &TestApp, path: &str, cases: &[Case]) -> Vec<String> {
    let mut tickets = Vec::new();
    for case in cases {
        let answer = app.post_to(path, reqwest::blocking::Body::from(case.body.clone()));
        assert_eq!(answer.http_status, 500, "{}: {}", case.what, answer.body);
        assert!(answer.content_type.starts_with("text/xml"), "{}", case.what);
        assert_eq!(
            answer.reason_code().as_deref(),
            Some(case.reason),
            "{}: {}",
            case.what,
            answer.body
        );
        assert_eq!(
            answer.faultcode().as_deref(),
            Some(case.faultcode),
            "{}",
            case.what
        );
        assert_eq!(
            answer.fault_fields(),
            case.fields,
            "{}: {}",
            case.what,
            answer.body
        );
        assert_eq!(
            answer
                .text(&["serviceFault", "detail", "severity"])
                .as_deref(),
            Some("FATAL"),
            "{}",
            case.what
        );
        let diagnostic = answer.text(&["serviceFault", "detail", "diagnostic"]);
        assert!(!diagnostic.unwrap_or_default().is_empty(), "{}", case.what);
        tickets.push(answer.server_ticket());
    }
    tickets
}

/// A valid request padded with a comment to exactly `size` bytes.
pub fn padded(request: &Request, size: usize) -> String {
    let xml = request.to_xml();
    let padding = size - xml.len() - "<!---->".len();
    let padded = replaced(
        &xml,
        "<soapenv:Body>",
        &format!("<!--{}--><soapenv:Body>", "x".repeat(padding)),
    );
    assert_eq!(padded.len(), size);
    padded
}
