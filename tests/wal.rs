//! SQLite's write-ahead log stays bounded under unbroken load: keep-alive clients consulting
//! and registering without a pause, beside a reader of the database (an operator's report)
//! whose short read transactions always overlap, so that the log never gets a quiet moment
//! to start again by itself (on a loaded machine the clients alone leave such moments). Every
//! call must still be answered and recorded.

#[allow(unused_macros)] // backend_tests!: this test is about SQLite only
mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};

use common::{org_a, Backend, Request, TestApp, NISS_1, NISS_2};

/// The load lasts until this many calls are answered (about 25 s here, on a quiet machine)…
const CALLS: u64 = 9_000;
/// … or this long, on a busy machine; then at least `ENOUGH` calls must have been answered
/// (enough for a log that is never emptied to pass the bound).
const LOAD_AT_MOST: Duration = Duration::from_secs(120);
const ENOUGH: u64 = 6_000;
/// Clients consulting without a pause, each on its own keep-alive connection.
const CONSULTING_CLIENTS: usize = 3;
/// The largest log allowed at any moment of the load: the checkpointer empties it past
/// 16 MiB; before it did, the log grew by ~7 KiB a call and never shrank.
const WAL_BOUND: u64 = 32 * 1024 * 1024;

/// How long each of the reader's read transactions lasts; the next one starts half-way.
const READ_TRANSACTION: Duration = Duration::from_millis(4);

/// Two connections taking turns, so that a read transaction is always open but none lasts
/// longer than `READ_TRANSACTION`.
fn overlapping_reads(path: &str, stop: &AtomicBool) {
    let open = || {
        let mut conn = SqliteConnection::establish(path).expect("the database opens");
        conn.batch_execute("PRAGMA busy_timeout = 10000")
            .expect("a busy timeout");
        conn
    };
    let mut readers = [open(), open()];
    let read = "BEGIN; SELECT count(*) FROM organisations;";
    readers[0].batch_execute(read).expect("a read");
    let mut turn = 1;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(READ_TRANSACTION / 2);
        readers[turn].batch_execute(read).expect("a read");
        readers[1 - turn]
            .batch_execute("COMMIT")
            .expect("the read ends");
        turn = 1 - turn;
    }
    readers[1 - turn]
        .batch_execute("COMMIT")
        .expect("the read ends");
}

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
    let registrations = AtomicU64::new(0);
    let mut largest = 0u64;
    let mut samples = 0u64;
    let mut registered = 0u64;
    let mut elapsed = Duration::ZERO;
    std::thread::scope(|scope| {
        scope.spawn(|| overlapping_reads(app.database_url(), &stop));
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
                registrations.fetch_add(1, Ordering::Relaxed);
            }
            n
        });
        let started = Instant::now();
        while started.elapsed() < LOAD_AT_MOST
            && consulted.load(Ordering::Relaxed) + registrations.load(Ordering::Relaxed) < CALLS
        {
            std::thread::sleep(Duration::from_millis(50));
            let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            largest = largest.max(size);
            samples += 1;
            if size > WAL_BOUND {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        elapsed = started.elapsed();
        registered = registering.join().expect("the registering client");
    });
    let consulted = consulted.into_inner();
    eprintln!(
        "{consulted} consultations and {registered} registrations in {elapsed:?}; \
         largest log {:.1} MiB over {samples} samples",
        largest as f64 / 1048576.0
    );
    assert!(
        largest <= WAL_BOUND,
        "the log reached {largest} bytes (bound {WAL_BOUND}) after {consulted} consultations"
    );
    assert!(
        consulted + registered >= ENOUGH,
        "too little load to tell: {consulted} consultations, {registered} registrations"
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
