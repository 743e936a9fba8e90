//! One caller's audit entry can never fail another caller's request or entry: entries are
//! committed in batches, and an entry the database refuses (here a NUL byte, or a trigger
//! refusing one sender's entries) must fail alone. Honest clients run beside the bad sender
//! and every one of their calls must succeed and be audited exactly once.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;
use serde_json::Value;

use common::soap::new_ticket;
use common::{org_a, Answer, Backend, Request, Security, TestApp, NISS_1};

const HONEST_CLIENTS: usize = 16;
const RUN_FOR: Duration = Duration::from_secs(6);

/// The line the honest clients consult.
fn start(backend: Backend) -> TestApp {
    let app = TestApp::start_with(backend, &["--db-connections", "8", "--workers", "2"]);
    app.call(&Request::register(
        &org_a(),
        NISS_1,
        "EMPLOYEE",
        "2024-01-01..",
    ))
    .ok();
    app
}

/// Runs the honest consulting clients for [`RUN_FOR`] beside `bad_sender` (called in a loop
/// on a thread of its own until they stop); gives every honest client ticket and how many
/// times the bad sender ran.
fn run_beside(app: &TestApp, bad_sender: impl Fn() + Sync) -> (Vec<String>, usize) {
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let (tickets, failures, sent) = thread::scope(|scope| {
        let bad = scope.spawn(|| {
            let mut sent = 0;
            while !stop.load(Ordering::Relaxed) {
                bad_sender();
                sent += 1;
            }
            sent
        });
        let honest: Vec<_> = (0..HONEST_CLIENTS)
            .map(|_| {
                scope.spawn(|| {
                    let (mut tickets, mut failures) = (Vec::new(), Vec::new());
                    while start.elapsed() < RUN_FOR {
                        let ticket = new_ticket();
                        let answer = app.call(&Request::consult(&org_a(), NISS_1).ticket(&ticket));
                        if answer.http_status == 200 && answer.lines() == ["EMPLOYEE 2024-01-01.."]
                        {
                            tickets.push(ticket);
                        } else {
                            failures.push(answer.body);
                        }
                    }
                    (tickets, failures)
                })
            })
            .collect();
        let (mut tickets, mut failures) = (Vec::new(), Vec::new());
        for client in honest {
            // A client that panicked is a failure too; the bad sender must stop anyway.
            match client.join() {
                Ok((t, f)) => {
                    tickets.extend(t);
                    failures.extend(f);
                }
                Err(_) => failures.push("an honest client panicked".into()),
            }
        }
        stop.store(true, Ordering::Relaxed);
        let sent = bad.join().unwrap_or(0);
        (tickets, failures, sent)
    });
    assert!(
        failures.is_empty(),
        "{} of {} honest consultations failed, e.g. {}",
        failures.len(),
        failures.len() + tickets.len(),
        failures[0]
    );
    (tickets, sent)
}

/// Every honest ticket has exactly one entry, and it says OK.
fn assert_every_honest_call_audited(entries: &[Value], tickets: &[String]) {
    let mut by_ticket: HashMap<&str, Vec<&str>> = HashMap::new();
    for entry in entries {
        if let Some(ticket) = entry["clientTicket"].as_str() {
            by_ticket
                .entry(ticket)
                .or_default()
                .push(entry["outcome"].as_str().unwrap_or_default());
        }
    }
    let missing: Vec<_> = tickets
        .iter()
        .filter(|t| by_ticket.get(t.as_str()) != Some(&vec!["OK"]))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} honest calls are not audited exactly once as OK, e.g. {:?}",
        missing.len(),
        tickets.len(),
        &missing[..missing.len().min(5)]
    );
}

/// The text between `open` and `close` in a raw body (it may not be parseable XML).
fn between<'a>(body: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = body.find(open)? + open.len();
    let end = body[start..].find(close)? + start;
    Some(&body[start..end])
}

fn postgres(app: &TestApp) -> PgConnection {
    PgConnection::establish(app.database_url()).expect("a connection to the test database")
}

/// A sender whose every audit entry the database refuses (a trigger raising on its client
/// ticket) fails only its own calls.
#[test]
fn an_entry_the_database_refuses_fails_only_its_own_call() {
    if !Backend::Postgres.available() {
        return;
    }
    let app = start(Backend::Postgres);
    postgres(&app)
        .batch_execute(
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.client_ticket = 'poison' THEN \
             RAISE EXCEPTION 'poisoned audit entry'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER refuse_poison BEFORE INSERT ON audit_entries \
             FOR EACH ROW EXECUTE FUNCTION refuse_poison();",
        )
        .expect("the trigger is installed");
    let poisoned = std::sync::Mutex::new(Vec::new());
    let (tickets, sent) = run_beside(&app, || {
        // A consultation whose entry cannot be written must not answer its data.
        let consult = app.call(&Request::consult(&org_a(), NISS_1).ticket("poison"));
        // A refusal whose entry cannot be written is still refused as it should be.
        let anonymous = app.call(
            &Request::consult(&org_a(), NISS_1)
                .ticket("poison")
                .security(Security::None),
        );
        poisoned.lock().unwrap().push((consult, anonymous));
    });
    assert!(sent >= 5, "the poisoned sender ran {sent} times only");
    for (consult, anonymous) in poisoned.into_inner().unwrap() {
        let consult = consult.fault("INTERNAL_ERROR");
        assert_eq!(consult.faultcode().as_deref(), Some("soapenv:Server"));
        assert!(consult.lines().is_empty(), "{}", consult.body);
        assert!(!consult.body.contains(NISS_1), "{}", consult.body);
        let anonymous = anonymous.fault("NOT_AUTHENTICATED");
        assert_eq!(anonymous.faultcode().as_deref(), Some("soapenv:Client"));
    }
    let entries = app.audit(None);
    assert_every_honest_call_audited(&entries, &tickets);
    assert!(entries
        .iter()
        .all(|e| e["clientTicket"].as_str() != Some("poison")));
}

/// The reproduction: a request without WS-Security whose ticket (or legal context) holds a
/// NUL byte, sent beside honest clients.
fn a_nul_sender_fails_no_honest_call(backend: Backend) {
    let app = start(backend);
    let nul_answers = std::sync::Mutex::new(Vec::new());
    let (tickets, sent) = run_beside(&app, || {
        for request in [
            Request::consult(&org_a(), NISS_1)
                .ticket("a\0b")
                .security(Security::None),
            Request::consult(&org_a(), NISS_1)
                .legal_context(Some("PCSA\0X"))
                .security(Security::None),
        ] {
            nul_answers.lock().unwrap().push(app.post(request.to_xml()));
        }
    });
    assert!(sent >= 5, "the NUL sender ran {sent} times only");
    let entries = app.audit(None);
    assert_every_honest_call_audited(&entries, &tickets);
    let by_server_ticket: HashMap<&str, &Value> = entries
        .iter()
        .filter_map(|e| Some((e["serverTicket"].as_str()?, e)))
        .collect();
    for answer in nul_answers.into_inner().unwrap() {
        check_nul_answer(&answer, &by_server_ticket);
    }
    for entry in &entries {
        assert!(
            !entry.to_string().contains("\\u0000"),
            "a NUL byte was stored: {entry}"
        );
    }
}

/// A NUL request is a Client fault. Before the XML reader refused NUL bytes it was
/// NOT_AUTHENTICATED (no WS-Security); now that such a body is not XML it is
/// MALFORMED_REQUEST: either is the caller's fault. It is audited once, with the fault's
/// reason code, and the NUL is neither echoed nor stored.
fn check_nul_answer(answer: &Answer, by_server_ticket: &HashMap<&str, &Value>) {
    assert_eq!(answer.http_status, 500, "{}", answer.body);
    assert!(!answer.body.contains('\0'), "NUL echoed: {:?}", answer.body);
    assert!(
        !answer.body.contains("&#0;") && !answer.body.contains("&#x0;"),
        "NUL echoed: {:?}",
        answer.body
    );
    assert_eq!(
        between(&answer.body, "<faultcode>", "</faultcode>"),
        Some("soapenv:Client"),
        "{}",
        answer.body
    );
    let reason =
        between(&answer.body, "<common:reasonCode>", "</common:reasonCode>").unwrap_or_default();
    assert!(
        ["NOT_AUTHENTICATED", "MALFORMED_REQUEST"].contains(&reason),
        "{}",
        answer.body
    );
    let server_ticket = between(&answer.body, "<common:ticket>", "</common:ticket>")
        .expect("a server ticket in the fault");
    let entry = by_server_ticket
        .get(server_ticket)
        .unwrap_or_else(|| panic!("the NUL request {server_ticket} is not audited"));
    assert_eq!(entry["outcome"], reason, "{entry}");
}

backend_tests!(a_nul_sender_fails_no_honest_call);
