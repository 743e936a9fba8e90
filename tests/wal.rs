//! SQLite's write-ahead log stays bounded under unbroken load: keep-alive clients consulting
//! and registering without a pause, so that reads always overlap and the log never gets a
//! quiet moment to start again by itself. Every call must still be answered and recorded.

#[allow(unused_macros)] // backend_tests!: this test is about SQLite only
mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};

use common::{org_a, Backend, Request, TestApp, NISS_1, NISS_2};

/// How long the load lasts.
const LOAD: Duration = Duration::from_secs(25);
/// Clients consulting without a pause, each on its own keep-alive connection.
const CONSULTING_CLIENTS: usize = 3;
/// The largest log allowed at any moment of the load.
const WAL_BOUND: u64 = 64 * 1024 * 1024;

/// The `n`-th one-day period of the registering client: every other day, so that no two
/// lines touch and every registration inserts a line.
fn day(n: u64) -> String {
    let first = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");
    let day = first + Days::new(2 * n);
    format!("{day}..{day}")
}

#[test]
fn the_log_stays_bounded_under_unbroken_consultations() {
    let app = TestApp::start_with(
        Backend::Sqlite,
        &["--db-connections", "8", "--workers", "2"],
    );
    let org = org_a();
    app.call(&Request::register(&org, NISS_1, "EMPLOYEE", "2020-01-01.."))
        .ok();
    let wal = format!("{}-wal", app.database_url());

    let stop = AtomicBool::new(false);
    let consulted = AtomicU64::new(0);
    let mut largest = 0u64;
    let mut samples = 0u64;
    let mut registered = 0u64;
    std::thread::scope(|scope| {
        for _ in 0..CONSULTING_CLIENTS {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let answer = app.call(&Request::consult(&org, NISS_1)).ok();
                    assert_eq!(answer.lines(), ["EMPLOYEE 2020-01-01.."]);
                    consulted.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let registering = scope.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                app.call(&Request::register(&org, NISS_2, "EMPLOYEE", &day(n)))
                    .ok();
                n += 1;
            }
            n
        });
        let started = Instant::now();
        while started.elapsed() < LOAD {
            std::thread::sleep(Duration::from_millis(50));
            let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            largest = largest.max(size);
            samples += 1;
            if size > WAL_BOUND {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        registered = registering.join().expect("the registering client");
    });
    let consulted = consulted.into_inner();
    eprintln!(
        "{consulted} consultations and {registered} registrations in {LOAD:?}; \
         largest log {:.1} MiB over {samples} samples",
        largest as f64 / 1048576.0
    );
    assert!(
        largest <= WAL_BOUND,
        "the log reached {largest} bytes (bound {WAL_BOUND}) after {consulted} consultations"
    );
    assert!(
        consulted > 2_000,
        "too little load to tell: {consulted} consultations"
    );

    // Every registration is there, and every call has its entry.
    let expected: Vec<String> = (0..registered)
        .map(|n| format!("EMPLOYEE {}", day(n)))
        .collect();
    let mut lines = app.call(&Request::consult(&org, NISS_2)).ok().lines();
    lines.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(lines, expected_sorted);
    let entries = app.audit(None);
    let count = |operation: &str, ssin: &str| {
        entries
            .iter()
            .filter(|e| e["operation"] == operation && e["ssin"] == ssin && e["outcome"] == "OK")
            .count() as u64
    };
    assert_eq!(count("consultRegister", NISS_1), consulted);
    // The registrations under load, and the last consultation.
    assert_eq!(count("registerPerson", NISS_2), registered);
    assert_eq!(count("consultRegister", NISS_2), 1);
    assert_eq!(entries.len() as u64, consulted + registered + 2);
}
