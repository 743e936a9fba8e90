//! A large feed: 20 000 generated records (twice what ran PostgreSQL's lock
//! table out of memory when every person had a lock of its own) apply on a default
//! PostgreSQL and on SQLite in one transaction, in bounded memory, and applying the file again
//! changes nothing.

#[macro_use]
mod common;

use std::time::Instant;

use common::peak_memory::run_measuring_peak;
use common::{Backend, TestApp};

/// Enough to exceed the old per-person locks by far while keeping CI short: the 1 M-record
/// run is `tests/bench/feed.sh`.
const RECORDS: u64 = 20_000;

/// The most memory the import may take, whatever the size of the file.
const MAX_PEAK_KB: u64 = 200 * 1024;

fn a_national_feed_applies_whole_in_bounded_memory(backend: Backend) {
    let app = TestApp::empty(backend);
    let file = app.path("feed.xml");
    let generated = app
        .command()
        .env("RAAS_GENERATED_AT", "2026-11-21T06:00:00Z")
        .args([
            "generate",
            "nr-mutations",
            "--records",
            &RECORDS.to_string(),
        ])
        .args(["--seed", "11", "-o", file.to_str().expect("UTF-8 path")])
        .output()
        .expect("raas generate runs");
    assert!(generated.status.success(), "{generated:?}");
    let summary = String::from_utf8_lossy(&generated.stderr).to_string();
    let count = |what: &str| -> u64 {
        let before = summary.split(what).next().expect("split");
        let number = before.rsplit(['(', ' ']).find(|s| !s.is_empty()).unwrap();
        number
            .parse()
            .unwrap_or_else(|_| panic!("{what} in {summary}"))
    };
    let (new_persons, replacements, cancellations) = (
        count(" new persons"),
        count(" replacements"),
        count(" cancellations"),
    );
    assert!(
        replacements > RECORDS / 100 && cancellations > RECORDS / 200,
        "{summary}"
    );

    let path = file.to_str().expect("UTF-8 path");
    let started = Instant::now();
    let (output, peak_kb) =
        run_measuring_peak(app.command().args(["import", "nr-mutations", path]));
    let elapsed = started.elapsed();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "{backend:?}: {RECORDS} records in {:.1} s, peak RSS {} MB",
        elapsed.as_secs_f64(),
        peak_kb / 1024
    );
    assert!(
        out.contains(&format!(
            "GEN-11-{RECORDS}: applied {RECORDS} records: {new_persons} new persons"
        )),
        "{out} / {summary}"
    );
    assert!(
        out.contains(&format!("{replacements} replacements"))
            && out.contains(&format!("{cancellations} cancellations")),
        "{out} / {summary}"
    );
    assert!(
        peak_kb > 0 && peak_kb < MAX_PEAK_KB,
        "peak RSS {peak_kb} kB"
    );

    let tables = app.source_tables();
    assert_eq!(tables.persons.len() as u64, new_persons);
    let canceled = tables
        .persons
        .iter()
        .filter(|p| p.contains("|CANCELED|"))
        .count() as u64;
    assert_eq!(canceled, replacements + cancellations);
    assert_eq!(tables.applied_files.len(), 1);
    assert!(tables.journal.len() as u64 >= new_persons + replacements + cancellations);

    let (again, peak_again) =
        run_measuring_peak(app.command().args(["import", "nr-mutations", path]));
    assert!(again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        format!("GEN-11-{RECORDS}: already applied, nothing changed")
    );
    assert!(peak_again < MAX_PEAK_KB, "peak RSS {peak_again} kB");
    assert!(
        app.source_tables() == tables,
        "applying the file again changed the source"
    );
}

backend_tests!(a_national_feed_applies_whole_in_bounded_memory);
