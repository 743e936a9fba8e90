//! The audit trail: every call, refused ones included, leaves exactly one entry saying who
//! asked what about whom, with both tickets and the outcome.

#[macro_use]
mod common;

use serde_json::{json, Value};

use common::{org_a, org_b, Backend, Request, Security, TestApp, NISS_1, NISS_2};

/// Which organisation an entry must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Org {
    A,
    B,
    Nobody,
}

/// Sends a request; gives the status (or reason code) of the answer and the entry it must
/// have left (without `recordedAt` and `organisationId`).
fn call(app: &TestApp, request: Request, org: Org, outcome: &str) -> (String, Org, Value) {
    let answer = app.call(&request);
    let username = match &request.security {
        Security::Text { username, .. } | Security::Digest { username, .. } => Some(username),
        Security::None => None,
    };
    let entry = json!({
        "service": "PersonRegisterService",
        "operation": request.operation,
        "claimedCbeNumber": request.cbe,
        "username": username,
        "ssin": request.ssin,
        "target": null,
        "legalContext": request.legal_context,
        "clientTicket": request.ticket,
        "serverTicket": answer.server_ticket(),
        "outcome": outcome,
    });
    let status = answer.reason_code().unwrap_or_else(|| answer.status());
    (status, org, entry)
}

fn every_call_leaves_one_entry_with_its_details(backend: Backend) {
    let app = TestApp::start(backend);
    let (a, b) = (org_a(), org_b());
    let mut calls = vec![
        call(
            &app,
            Request::register(&a, NISS_1, "EMPLOYEE", "2024-01-01.."),
            Org::A,
            "OK",
        ),
        call(
            &app,
            Request::consult(&a, NISS_1).legal_context(None),
            Org::A,
            "OK",
        ),
        // Nothing to remove is still a successful call.
        call(
            &app,
            Request::unregister(&a, NISS_2, "EMPLOYEE", None),
            Org::A,
            "OK",
        ),
        call(&app, Request::list_dossier_types(&a), Org::A, "OK"),
        call(&app, Request::consult(&b, NISS_1), Org::B, "OK"),
        call(
            &app,
            Request::consult(&a, NISS_1).password("wrong-secret-000"),
            Org::Nobody,
            "NOT_AUTHENTICATED",
        ),
        call(
            &app,
            Request::consult(&a, NISS_1).security(Security::None),
            Org::Nobody,
            "NOT_AUTHENTICATED",
        ),
        call(
            &app,
            Request::consult(&a, NISS_1).cbe(&b.cbe),
            Org::A,
            "NOT_ALLOWED",
        ),
        call(
            &app,
            Request::register(&a, NISS_1, "NOPE", "2024-01-01.."),
            Org::A,
            "UNKNOWN_DOSSIER_TYPE",
        ),
        call(
            &app,
            Request::consult(&a, "85073003329"),
            Org::A,
            "INVALID_SSIN",
        ),
    ];
    // A request that cannot even be read is recorded with what is known of it: nothing.
    let malformed = app.post("<soapenv:Envelope").fault("MALFORMED_REQUEST");
    calls.push((
        "MALFORMED_REQUEST".into(),
        Org::Nobody,
        json!({
            "service": "PersonRegisterService",
            "operation": "unknown",
            "claimedCbeNumber": null,
            "username": null,
            "ssin": null,
            "target": null,
            "legalContext": null,
            "clientTicket": null,
            "serverTicket": malformed.server_ticket(),
            "outcome": "MALFORMED_REQUEST",
        }),
    ));
    let statuses: Vec<&str> = calls.iter().map(|(status, _, _)| status.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "OK",
            "DATA_FOUND",
            "NO_RESULT",
            "DATA_FOUND",
            "NO_DATA_FOUND",
            "NOT_AUTHENTICATED",
            "NOT_AUTHENTICATED",
            "NOT_ALLOWED",
            "UNKNOWN_DOSSIER_TYPE",
            "INVALID_SSIN",
            "MALFORMED_REQUEST",
        ]
    );

    let mut trail = app.audit(None);
    trail.reverse();
    assert_eq!(trail.len(), calls.len(), "{trail:#?}");
    let org_id = |org: Org| {
        calls
            .iter()
            .zip(&trail)
            .find(|((_, o, _), _)| *o == org)
            .map(|(_, entry)| entry["organisationId"].clone())
            .expect("a call of that organisation")
    };
    let (id_a, id_b) = (org_id(Org::A), org_id(Org::B));
    assert!(
        id_a.is_number() && id_b.is_number() && id_a != id_b,
        "{id_a} {id_b}"
    );
    let mut previous = None;
    for ((_, org, expected), entry) in calls.iter().zip(&trail) {
        let mut entry = entry.clone();
        let object = entry.as_object_mut().expect("an object");
        let recorded_at = object.remove("recordedAt").expect("recordedAt");
        let recorded_at =
            chrono::DateTime::parse_from_rfc3339(recorded_at.as_str().unwrap_or_default())
                .expect("an RFC 3339 time");
        assert!(previous <= Some(recorded_at), "entries in call order");
        previous = Some(recorded_at);
        let organisation = object.remove("organisationId").expect("organisationId");
        let expected_organisation = match org {
            Org::A => &id_a,
            Org::B => &id_b,
            Org::Nobody => &Value::Null,
        };
        assert_eq!(&organisation, expected_organisation, "{expected}");
        assert_eq!(&entry, expected);
    }
}

fn audit_lists_the_entries_of_one_person_newest_first(backend: Backend) {
    let app = TestApp::start(backend);
    let a = org_a();
    let mut tickets = Vec::new();
    for (ssin, period) in [
        (NISS_1, "2024-01-01..2024-01-31"),
        (NISS_2, "2024-01-01..2024-01-31"),
        (NISS_1, "2024-03-01..2024-03-31"),
        (NISS_1, "2024-05-01..2024-05-31"),
    ] {
        let request = Request::register(&a, ssin, "EMPLOYEE", period);
        app.call(&request).ok();
        tickets.push((ssin, request.ticket));
    }
    app.call(&Request::list_dossier_types(&a)).ok();
    let of_niss_1: Vec<Value> = tickets
        .iter()
        .rev()
        .filter(|(ssin, _)| *ssin == NISS_1)
        .map(|(_, ticket)| Value::from(ticket.as_str()))
        .collect();

    let client_tickets = |entries: Vec<Value>| -> Vec<Value> {
        entries
            .into_iter()
            .map(|e| e["clientTicket"].clone())
            .collect()
    };
    assert_eq!(client_tickets(app.audit(Some(NISS_1))), of_niss_1);
    let limited = app.admin(&["audit", "--ssin", NISS_1, "--limit", "2"], "");
    let limited = limited
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(client_tickets(limited), of_niss_1[..2]);
    assert_eq!(app.audit(None).len(), 5);
    assert_eq!(app.audit(Some(common::NISS_3)), Vec::<Value>::new());
}

backend_tests!(
    every_call_leaves_one_entry_with_its_details,
    audit_lists_the_entries_of_one_person_newest_first,
);
