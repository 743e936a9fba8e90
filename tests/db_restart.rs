//! PostgreSQL restarted, then stopped and started again, under load (on a private cluster:
//! the shared test server is never restarted). While the database is down every request is
//! answered SERVICE_UNAVAILABLE within a few seconds; once it is back, the pool does not
//! keep the connections the restart closed, so within a second every request succeeds.

// The per-backend test macro is not used here: this test runs on PostgreSQL only.
#[allow(unused_macros)]
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::private_postgres::PrivatePostgres;
use common::{org_a, Backend, Request, TestApp, NISS_1};

const CLIENTS: usize = 4;
/// How long after the database is back a request may still fail.
const BACK_WITHIN: Duration = Duration::from_secs(1);
/// The longest any answer may take, the database up or down.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// One consultation: when it was sent, how long it took, and its reason code ("OK" for an
/// answer with the line).
#[derive(Debug, Clone)]
struct Outcome {
    sent: Instant,
    took: Duration,
    result: String,
}

fn consult(app: &TestApp) -> Outcome {
    let sent = Instant::now();
    let answer = app.call(&Request::consult(&org_a(), NISS_1));
    let took = sent.elapsed();
    let result = match answer.reason_code() {
        None if answer.http_status == 200 && answer.lines() == ["EMPLOYEE 2024-01-01.."] => {
            "OK".to_owned()
        }
        None => format!("unexpected answer {}: {}", answer.http_status, answer.body),
        Some(reason) => {
            let faultcode = answer.faultcode().unwrap_or_default();
            assert!(answer.lines().is_empty(), "{}", answer.body);
            format!("{reason} ({faultcode})")
        }
    };
    Outcome { sent, took, result }
}

/// The outcomes of calls sent in `[from, to)`.
fn sent_between(outcomes: &[Outcome], from: Instant, to: Instant) -> Vec<&Outcome> {
    outcomes
        .iter()
        .filter(|o| o.sent >= from && o.sent < to)
        .collect()
}

#[track_caller]
fn assert_all(outcomes: &[&Outcome], allowed: &[&str], phase: &str) {
    let wrong: Vec<_> = outcomes
        .iter()
        .filter(|o| !allowed.contains(&o.result.as_str()))
        .collect();
    assert!(
        wrong.is_empty(),
        "{phase}: {} of {} calls were not {allowed:?}: {:?}",
        wrong.len(),
        outcomes.len(),
        &wrong[..wrong.len().min(5)]
    );
}

/// A call sent this long before a stop may still be running when it takes effect.
const IN_FLIGHT: Duration = Duration::from_millis(300);

/// How long the server lets a caller wait for a database connection (its default
/// `db_connect_timeout_seconds`).
const CHECKOUT_WAIT: Duration = Duration::from_secs(2);

const UNAVAILABLE: &str = "SERVICE_UNAVAILABLE (soapenv:Server)";

#[test]
fn a_restarted_database_is_used_again_at_once() {
    let Some(cluster) = PrivatePostgres::start() else {
        return;
    };
    // The harness creates the test's database on the server TEST_DATABASE_URL names; this
    // test binary has this one test, so nothing else reads the variable meanwhile.
    std::env::set_var("TEST_DATABASE_URL", cluster.url());
    let app = TestApp::start_with(Backend::Postgres, &["--db-connections", "4"]);
    app.call(&Request::register(
        &org_a(),
        NISS_1,
        "EMPLOYEE",
        "2024-01-01..",
    ))
    .ok();

    let outcomes = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let marks = thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let outcome = consult(&app);
                    outcomes.lock().unwrap().push(outcome);
                }
            });
        }
        let run = || -> [Instant; 6] {
            thread::sleep(Duration::from_secs(2));
            let restarting = Instant::now();
            cluster.restart();
            let restarted = Instant::now();
            thread::sleep(Duration::from_secs(3));
            cluster.stop();
            let stopped = Instant::now();
            thread::sleep(Duration::from_secs(5));
            let starting = Instant::now();
            cluster.start_again();
            let started = Instant::now();
            thread::sleep(Duration::from_secs(3));
            [
                restarting,
                restarted,
                stopped,
                starting,
                started,
                Instant::now(),
            ]
        };
        let marks = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
        stop.store(true, Ordering::Relaxed);
        marks.unwrap_or_else(|e| std::panic::resume_unwind(e))
    });
    let [restarting, restarted, stopped, starting, started, end] = marks;
    let outcomes = outcomes.into_inner().unwrap();

    let slow: Vec<_> = outcomes.iter().filter(|o| o.took > ANSWER_WITHIN).collect();
    assert!(slow.is_empty(), "answers took too long: {slow:?}");
    let before = sent_between(
        &outcomes,
        restarting - Duration::from_secs(2),
        restarting - IN_FLIGHT,
    );
    assert!(
        before.len() >= 10,
        "{} calls before the restart",
        before.len()
    );
    assert_all(&before, &["OK"], "before the restart");
    // During the restart: answered, or refused as unavailable (never INTERNAL_ERROR).
    assert_all(
        &sent_between(&outcomes, restarting - IN_FLIGHT, restarted + BACK_WITHIN),
        &["OK", UNAVAILABLE],
        "during the restart",
    );
    let after_restart = sent_between(&outcomes, restarted + BACK_WITHIN, stopped - IN_FLIGHT);
    assert!(
        after_restart.len() >= 10,
        "{} calls after the restart",
        after_restart.len()
    );
    assert_all(&after_restart, &["OK"], "after the restart");
    assert_all(
        &sent_between(&outcomes, stopped - IN_FLIGHT, stopped),
        &["OK", UNAVAILABLE],
        "while the database stops",
    );
    // Down: every call refused as unavailable, once the stop has taken effect and until a
    // caller's wait for a connection (2 s) could reach the start: a call sent later may
    // wait for the database to come back and be answered.
    let down = sent_between(&outcomes, stopped, starting - CHECKOUT_WAIT);
    assert!(down.len() >= CLIENTS, "{} calls while down", down.len());
    assert_all(&down, &[UNAVAILABLE], "while the database is down");
    assert_all(
        &sent_between(&outcomes, starting - CHECKOUT_WAIT, started + BACK_WITHIN),
        &["OK", UNAVAILABLE],
        "while the database starts",
    );
    let back = sent_between(&outcomes, started + BACK_WITHIN, end);
    assert!(back.len() >= 10, "{} calls once back", back.len());
    assert_all(&back, &["OK"], "once the database is back");

    // A restart while nobody calls: every pooled connection (and the audit writer's) is
    // stale when the next requests come; none of them may fail on one.
    cluster.restart();
    let quiet: Vec<Outcome> = thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| scope.spawn(|| (0..5).map(|_| consult(&app)).collect::<Vec<_>>()))
            .collect();
        clients
            .into_iter()
            .flat_map(|c| c.join().expect("a client"))
            .collect()
    });
    assert_all(
        &quiet.iter().collect::<Vec<_>>(),
        &["OK"],
        "right after a restart without load",
    );
    drop(app);
    drop(cluster);
}
