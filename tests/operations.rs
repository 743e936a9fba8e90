//! The operations surface: `/readyz` says whether the database answers, `/metrics` counts
//! requests, latencies, authentications and shows the pool and audit queue, and the log
//! names the server ticket of every failed request (as text, or as JSON lines).

#[macro_use]
mod common;

use std::collections::BTreeMap;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use serde_json::Value;

use common::db::Refusing;
use common::{org_a, Answer, Backend, Request, TestApp, NISS_1};

/// Runs SQL on the test's own database, beside the server.
fn execute_on(app: &TestApp, sql: &str) {
    match app.backend {
        Backend::Sqlite => SqliteConnection::establish(app.database_url())
            .expect("a SQLite connection")
            .batch_execute(sql)
            .expect("the statement runs"),
        _ => PgConnection::establish(app.database_url())
            .expect("a PostgreSQL connection")
            .batch_execute(sql)
            .expect("the statement runs"),
    }
}

fn plain(answer: &Answer) -> (u16, &str) {
    (answer.http_status, answer.body.as_str())
}

fn readyz_answers_when_the_database_does(backend: Backend) {
    let app = TestApp::start(backend);
    let ready = app.get("/readyz");
    assert_eq!(plain(&ready), (200, "ready"));
    assert!(ready.content_type.starts_with("text/plain"));
    assert_eq!(plain(&app.get("/livez")), (200, "ok"));
}

/// PostgreSQL refusing the database's connections (and its open ones ended): not ready.
fn readyz_is_503_while_postgres_refuses_connections(backend: Backend) {
    let app = TestApp::start(backend);
    assert_eq!(app.get("/readyz").http_status, 200);
    let refusing = Refusing::start(&app);
    let started = std::time::Instant::now();
    let down = app.get("/readyz");
    let took = started.elapsed();
    drop(refusing);
    assert_eq!(
        plain(&down),
        (503, "not ready: the database is unreachable\n")
    );
    assert!(took < std::time::Duration::from_secs(4), "took {took:?}");
    // The check ran off the workers: the server still answers at once.
    assert_eq!(plain(&app.get("/livez")), (200, "ok"));
}

/// A consultation whose audit entry cannot be written: INTERNAL_ERROR, and its ticket.
fn provoke_a_server_fault(app: &TestApp) -> (String, String) {
    app.call(&Request::consult(&org_a(), NISS_1)).ok();
    execute_on(
        app,
        "ALTER TABLE audit_entries RENAME TO audit_entries_away",
    );
    let client_ticket = common::soap::new_ticket();
    let fault = app
        .call(&Request::consult(&org_a(), NISS_1).ticket(&client_ticket))
        .fault("INTERNAL_ERROR");
    assert_eq!(fault.faultcode().as_deref(), Some("soapenv:Server"));
    (fault.server_ticket(), client_ticket)
}

fn failures_are_logged_with_their_server_ticket(backend: Backend) {
    let app = TestApp::start(backend);
    let refused = app
        .call(&Request::consult(&org_a(), NISS_1).password("wrong"))
        .fault("NOT_AUTHENTICATED")
        .server_ticket();
    let (ticket, client_ticket) = provoke_a_server_fault(&app);
    let log = app.server_log();
    let refusals: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("raas::soap::pipeline: refused"))
        .collect();
    assert_eq!(refusals.len(), 1, "{log}");
    assert!(refusals[0].starts_with(|c: char| c.is_ascii_digit()));
    assert!(refusals[0].contains(" INFO "), "{}", refusals[0]);
    for expected in [
        format!("server_ticket={refused}"),
        "outcome=\"NOT_AUTHENTICATED\"".to_owned(),
        "diagnostic=unknown username or wrong secret".to_owned(),
    ] {
        assert!(
            refusals[0].contains(&expected),
            "{expected} not in {}",
            refusals[0]
        );
    }
    assert!(!log.contains('\u{1b}'), "colours in a log file:\n{log}");
    let failed: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(" ERROR ") && line.contains("raas::soap::pipeline: failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{log}");
    let line = failed[0];
    for expected in [
        format!("server_ticket={ticket}"),
        format!("client_ticket={client_ticket}"),
        "service=\"PersonRegisterService\"".to_owned(),
        "operation=\"consultRegister\"".to_owned(),
        format!("organisation=\"{}\"", org_a().cbe),
        "outcome=\"INTERNAL_ERROR\"".to_owned(),
        "duration_ms=".to_owned(),
    ] {
        assert!(line.contains(&expected), "{expected} not in {line}");
    }
}

fn json_log_lines_carry_the_request_span(backend: Backend) {
    let mut app = TestApp::empty(backend);
    app.add_org(&org_a());
    app.add_dossier_type(&org_a().cbe, "EMPLOYEE", None);
    app.apply_feed(&common::source::standard_feed());
    app.serve(&["--log-format", "json", "--workers", "2"]);
    let (ticket, client_ticket) = provoke_a_server_fault(&app);
    let log = app.server_log();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    for line in &lines {
        assert!(line["timestamp"].is_string() && line["level"].is_string());
    }
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|line| line["span"]["name"] == "soap" && line["target"] == "raas::soap::pipeline")
        .collect();
    // Answers are logged at DEBUG only: the failed consultation.
    assert_eq!(requests.len(), 1, "{log}");
    let failed = requests[0];
    assert_eq!(failed["level"], "ERROR");
    assert_eq!(failed["message"], "failed");
    assert_eq!(failed["server_ticket"], ticket.as_str());
    assert_eq!(
        failed["diagnostic"],
        "an internal error occurred; quote the ticket to the service desk"
    );
    // The cause, logged where the fault was made, in the same request's span.
    let cause: Vec<&Value> = lines
        .iter()
        .filter(|line| line["span"]["server_ticket"] == ticket.as_str() && line["level"] == "ERROR")
        .collect();
    let cause: Vec<&&Value> = cause
        .iter()
        .filter(|line| {
            line["error"]
                .as_str()
                .is_some_and(|e| e.contains("the audit entry could not be recorded"))
        })
        .collect();
    assert_eq!(cause.len(), 1, "{log}");
    assert_eq!(cause[0]["span"]["operation"], "consultRegister");
    assert_eq!(cause[0]["span"]["client_ticket"], client_ticket.as_str());
    let span = &failed["span"];
    assert_eq!(span["service"], "PersonRegisterService");
    assert_eq!(span["operation"], "consultRegister");
    assert_eq!(span["server_ticket"], ticket.as_str());
    assert_eq!(span["client_ticket"], client_ticket.as_str());
    assert_eq!(span["organisation"], org_a().cbe.as_str());
    assert_eq!(span["outcome"], "INTERNAL_ERROR");
    assert!(span["duration_ms"].as_f64().is_some_and(|ms| ms > 0.0));
}

/// One sample of the exposition: its name and labels.
type Sample = (String, BTreeMap<String, String>);

/// The samples of a Prometheus text exposition (comments checked for their form).
fn samples(text: &str) -> BTreeMap<Sample, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            assert!(
                comment.starts_with("HELP raas_") || comment.starts_with("TYPE raas_"),
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a value");
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').expect("closed labels");
                let labels = labels
                    .split(',')
                    .map(|pair| {
                        let (key, value) = pair.split_once('=').expect("key=value");
                        let value = value
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            .expect("a quoted value");
                        (key.to_owned(), value.to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, BTreeMap::new()),
        };
        let value: f64 = value.parse().expect("a number");
        assert!(
            samples.insert((name.to_owned(), labels), value).is_none(),
            "{line} twice"
        );
    }
    samples
}

fn sample(samples: &BTreeMap<Sample, f64>, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples.get(&(name.to_owned(), labels)).copied()
}

fn metrics_count_requests_authentications_and_show_the_gauges(backend: Backend) {
    let app = TestApp::start(backend);
    app.call(&Request::consult(&org_a(), NISS_1)).ok();
    app.call(&Request::consult(&org_a(), NISS_1)).ok();
    app.call(&Request::consult(&org_a(), NISS_1).password("wrong"))
        .fault("NOT_AUTHENTICATED");
    app.post("<not-soap/>").fault("MALFORMED_REQUEST");
    let metrics = app.get("/metrics");
    assert_eq!(metrics.http_status, 200);
    assert!(
        metrics
            .content_type
            .starts_with("text/plain; version=0.0.4"),
        "{}",
        metrics.content_type
    );
    let all = samples(&metrics.body);
    let service = ("service", "PersonRegisterService");
    let requests = |operation, reason| {
        sample(
            &all,
            "raas_requests_total",
            &[service, ("operation", operation), ("reason", reason)],
        )
    };
    assert_eq!(requests("consultRegister", "OK"), Some(2.0));
    assert_eq!(requests("consultRegister", "NOT_AUTHENTICATED"), Some(1.0));
    assert_eq!(requests("unknown", "MALFORMED_REQUEST"), Some(1.0));
    let request_series = all
        .keys()
        .filter(|(name, _)| name == "raas_requests_total")
        .count();
    assert_eq!(request_series, 3, "{}", metrics.body);

    let consult = [service, ("operation", "consultRegister")];
    let duration = |suffix: &str| {
        sample(
            &all,
            &format!("raas_request_duration_seconds_{suffix}"),
            &consult,
        )
    };
    assert_eq!(duration("count"), Some(3.0));
    assert!(duration("sum").is_some_and(|s| s > 0.0));
    let bucket = |le| {
        sample(
            &all,
            "raas_request_duration_seconds_bucket",
            &[service, ("operation", "consultRegister"), ("le", le)],
        )
    };
    assert_eq!(bucket("+Inf"), Some(3.0));
    assert!(bucket("0.001").is_some() && bucket("10").is_some());
    assert!(bucket("0.001") <= bucket("0.02") && bucket("0.02") <= bucket("+Inf"));

    let auth = |outcome| sample(&all, "raas_authentications_total", &[("outcome", outcome)]);
    assert_eq!(auth("success"), Some(1.0));
    assert_eq!(auth("remembered"), Some(1.0));
    assert_eq!(auth("failure"), Some(1.0));

    // The harness serves with --db-connections 4.
    assert_eq!(sample(&all, "raas_db_pool_max_connections", &[]), Some(4.0));
    let open = sample(&all, "raas_db_pool_connections", &[]).expect("open connections");
    let idle = sample(&all, "raas_db_pool_idle_connections", &[]).expect("idle connections");
    assert!((1.0..=4.0).contains(&open) && idle <= open, "{open} {idle}");
    assert_eq!(sample(&all, "raas_audit_pending_entries", &[]), Some(0.0));
}

backend_tests!(
    readyz_answers_when_the_database_does,
    failures_are_logged_with_their_server_ticket,
    json_log_lines_carry_the_request_span,
    metrics_count_requests_authentications_and_show_the_gauges,
);

#[test]
fn readyz_is_503_while_postgres_refuses_connections_on_postgres() {
    if Backend::Postgres.available() {
        readyz_is_503_while_postgres_refuses_connections(Backend::Postgres)
    }
}
