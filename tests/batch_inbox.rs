//! The inbox of `raas serve`: feed files dropped in `<inbox>/nr-mutations/` (and
//! `<inbox>/dimona/`) are applied by the scheduled sweep in name order and moved to `done/`,
//! or to `rejected/` beside a one-line `.error` naming the record, having changed nothing.
//! Black box: the real server with a sweep every second.

#[macro_use]
mod common;
mod batch_support;

use batch_support::{
    as_strs, count, dimona_file, dimona_in, metric, server_log, wait_until, EngineFiles,
};
use common::{Backend, Feed, PersonData, TestApp, NISS_1, NISS_2};

const NR: &str = "nr-mutations";
const EVERY_SECOND: &str = "*/1 * * * * *";

/// A server whose engine sweeps `files`' inbox every second.
fn sweeping(backend: Backend, files: &EngineFiles) -> TestApp {
    let args = files.serve_args(&["--inbox-schedule", EVERY_SECOND]);
    TestApp::start_with(backend, &as_strs(&args))
}

fn journal_sources(app: &TestApp) -> Vec<String> {
    app.source_tables()
        .journal
        .iter()
        .filter_map(|line| line.split('|').nth(5).map(str::to_owned))
        .collect()
}

fn a_good_feed_is_applied_and_moved_to_done(backend: Backend) {
    let files = EngineFiles::new();
    let app = sweeping(backend, &files);
    let feed = Feed::new("INBOX-1").identity_change(NISS_1, "<p:lastName>Peeters</p:lastName>");
    files.drop_file(NR, "feed-1.xml", &feed.xml());
    let done = files.inbox_path(NR, "done", "feed-1.xml");
    wait_until(20, "the feed in done/", || done.exists());
    assert!(!files.inbox().join(NR).join("feed-1.xml").exists());
    assert!(journal_sources(&app).contains(&"nr-mutations:INBOX-1:r1".to_owned()));
    assert_eq!(
        metric(
            &app,
            r#"raas_inbox_files_total{kind="nr-mutations",outcome="applied"}"#
        ),
        Some(1.0)
    );
    let log = server_log(&app);
    assert!(
        log.lines().any(|l| l.contains("inbox file applied")
            && l.contains("feed-1.xml")
            && l.contains("outcome=\"applied\"")),
        "{log}"
    );
    // Nothing is left to reject, and the folders were made by the sweep.
    assert!(files.inbox().join("dimona").join("done").is_dir());
}

fn a_bad_file_is_rejected_with_the_record_named_and_nothing_applied(backend: Backend) {
    let files = EngineFiles::new();
    let app = sweeping(backend, &files);
    let before = app.source_tables();
    // The first record is good, the second names a number the source does not know.
    let unknown = common::niss("000101", 12, false);
    let feed = Feed::new("INBOX-BAD")
        .identity_change(NISS_1, "<p:lastName>Peeters</p:lastName>")
        .decease(&unknown, "2026-01-01");
    files.drop_file(NR, "bad.xml", &feed.xml());
    let rejected = files.inbox_path(NR, "rejected", "bad.xml");
    let error = files.inbox_path(NR, "rejected", "bad.xml.error");
    wait_until(20, "the file in rejected/", || rejected.exists());
    let text = std::fs::read_to_string(&error).expect("the .error file");
    assert_eq!(text.lines().count(), 1, "{text:?}");
    assert!(text.ends_with('\n'));
    assert!(
        text.starts_with("bad.xml is refused, nothing was applied: record r2 (#2): "),
        "{text:?}"
    );
    assert!(text.contains(&unknown), "{text:?}");
    assert_eq!(app.source_tables(), before);
    assert!(!files.inbox_path(NR, "done", "bad.xml").exists());
    assert_eq!(
        metric(
            &app,
            r#"raas_inbox_files_total{kind="nr-mutations",outcome="rejected"}"#
        ),
        Some(1.0)
    );
}

/// Three files waiting when the service starts, each needing the one before it: the
/// start-up sweep applies them by name (dropped in another order).
fn files_are_applied_in_name_order(backend: Backend) {
    let files = EngineFiles::new();
    let newcomer = &common::niss("900101", 13, false);
    let person = PersonData::new(newcomer, "Janssens", &["Els"]);
    let create = Feed::new("ORDER-1").new_person(&person);
    let rename = Feed::new("ORDER-2").identity_change(newcomer, "<p:lastName>Maes</p:lastName>");
    let decease = Feed::new("ORDER-3").decease(newcomer, "2026-02-01");
    files.drop_file(NR, "2026-11-03.xml", &decease.xml());
    files.drop_file(NR, "2026-11-01.xml", &create.xml());
    files.drop_file(NR, "2026-11-02.xml", &rename.xml());
    // Not feed files: a hidden one (a sender still writing) and another extension.
    files.drop_file(NR, "2026-11-00.txt", "not a feed");
    let hidden = files.inbox().join(NR).join(".2026-11-04.xml");
    std::fs::write(&hidden, "<half").expect("a hidden file");
    let app = sweeping(backend, &files);
    for name in ["2026-11-01.xml", "2026-11-02.xml", "2026-11-03.xml"] {
        let done = files.inbox_path(NR, "done", name);
        wait_until(20, name, || done.exists());
    }
    let sources: Vec<String> = journal_sources(&app)
        .into_iter()
        .filter(|s| s.contains("ORDER-"))
        .collect();
    assert_eq!(
        sources.len(),
        3,
        "{sources:?}\n{}",
        std::fs::read_dir(files.inbox().join(NR).join("rejected"))
            .map(|d| d.count())
            .unwrap_or(0)
    );
    let log = server_log(&app);
    let order: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("inbox file applied"))
        .filter_map(|l| l.split("file=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(
        order,
        ["2026-11-01.xml", "2026-11-02.xml", "2026-11-03.xml"]
    );
    assert!(hidden.exists());
    assert!(files.inbox().join(NR).join("2026-11-00.txt").exists());
}

/// A file applied before (here by `raas import nr-mutations`) goes to done/ and changes
/// nothing.
fn a_file_applied_already_goes_to_done(backend: Backend) {
    let files = EngineFiles::new();
    let app = sweeping(backend, &files);
    let feed = Feed::new("TWICE").identity_change(NISS_2, "<p:lastName>Claes</p:lastName>");
    app.apply_feed(&feed);
    let before = app.source_tables();
    files.drop_file(NR, "twice.xml", &feed.xml());
    let done = files.inbox_path(NR, "done", "twice.xml");
    wait_until(20, "the file in done/", || done.exists());
    assert_eq!(app.source_tables(), before);
    assert_eq!(
        metric(
            &app,
            r#"raas_inbox_files_total{kind="nr-mutations",outcome="already_applied"}"#
        ),
        Some(1.0)
    );
}

/// Without a signing key the engine is off: nothing is swept.
fn without_a_key_the_inbox_is_not_swept(backend: Backend) {
    let files = EngineFiles::new();
    let inbox = files.inbox();
    let app = TestApp::start_with(
        backend,
        &[
            "--inbox",
            batch_support::path_str(&inbox),
            "--inbox-schedule",
            EVERY_SECOND,
        ],
    );
    let feed = Feed::new("OFF").identity_change(NISS_1, "<p:lastName>Peeters</p:lastName>");
    files.drop_file(NR, "off.xml", &feed.xml());
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(inbox.join(NR).join("off.xml").exists());
    assert!(!inbox.join(NR).join("done").exists());
    drop(app);
}

/// A Dimona IN of a worker the NR feed of the same sweep creates: the NR feeds go first, so
/// both are applied; then an OUT of an unknown period is rejected naming its record.
fn nr_feeds_go_before_dimona_files_and_a_bad_dimona_file_is_rejected(backend: Backend) {
    let files = EngineFiles::new();
    let worker = common::niss("920202", 21, false);
    let person = PersonData::new(&worker, "Wouters", &["An"]);
    files.drop_file(
        "dimona",
        "a-dimona.xml",
        &dimona_file("DIMONA-1", &dimona_in("r1", 7001, &worker, "2026-11-02")),
    );
    files.drop_file(
        NR,
        "z-feed.xml",
        &Feed::new("BEFORE-DIMONA").new_person(&person).xml(),
    );
    let app = sweeping(backend, &files);
    let done = files.inbox_path("dimona", "done", "a-dimona.xml");
    wait_until(20, "the Dimona file in done/", || done.exists());
    assert!(files.inbox_path(NR, "done", "z-feed.xml").exists());
    assert_eq!(count(&app, "dimona_periods"), 1);
    let declarations = count(&app, "dimona_declarations");
    let tables = app.source_tables();
    files.drop_file(
        "dimona",
        "b-dimona.xml",
        &dimona_file(
            "DIMONA-2",
            "<dimonaOut id=\"out-1\"><periodId>9999</periodId><endDate>2026-11-30</endDate></dimonaOut>",
        ),
    );
    let rejected = files.inbox_path("dimona", "rejected", "b-dimona.xml");
    wait_until(20, "the bad Dimona file in rejected/", || rejected.exists());
    let error =
        std::fs::read_to_string(files.inbox_path("dimona", "rejected", "b-dimona.xml.error"))
            .expect("the .error file");
    assert_eq!(error.lines().count(), 1, "{error:?}");
    assert!(error.contains("out-1"), "{error:?}");
    assert_eq!(count(&app, "dimona_declarations"), declarations);
    assert_eq!(app.source_tables(), tables);
    assert_eq!(
        metric(
            &app,
            r#"raas_inbox_files_total{kind="dimona",outcome="rejected"}"#
        ),
        Some(1.0)
    );
}

backend_tests!(
    nr_feeds_go_before_dimona_files_and_a_bad_dimona_file_is_rejected,
    a_good_feed_is_applied_and_moved_to_done,
    a_bad_file_is_rejected_with_the_record_named_and_nothing_applied,
    files_are_applied_in_name_order,
    a_file_applied_already_goes_to_done,
    without_a_key_the_inbox_is_not_swept,
);

/// PostgreSQL refusing connections: the file stays in the inbox (not rejected), and is
/// applied once the database is back.
#[test]
fn a_file_waits_while_the_database_is_out_of_reach_on_postgres() {
    if !Backend::Postgres.available() {
        return;
    }
    let files = EngineFiles::new();
    let app = sweeping(Backend::Postgres, &files);
    let refusing = batch_support::Refusing::start(&app);
    let feed = Feed::new("WAIT").identity_change(NISS_1, "<p:lastName>Peeters</p:lastName>");
    files.drop_file(NR, "wait.xml", &feed.xml());
    let waiting = files.inbox().join(NR).join("wait.xml");
    wait_until(30, "the file left in place", || {
        server_log(&app).contains("inbox file left for the next sweep")
    });
    let still_there = waiting.exists();
    drop(refusing);
    assert!(still_there);
    assert!(!files.inbox_path(NR, "rejected", "wait.xml").exists());
    let done = files.inbox_path(NR, "done", "wait.xml");
    wait_until(30, "the file in done/ once the database is back", || {
        done.exists()
    });
    assert!(journal_sources(&app).contains(&"nr-mutations:WAIT:r1".to_owned()));
}

/// Two services on one PostgreSQL sweep the same inbox: every file is applied once and ends
/// in done/, none is rejected, whichever process took it.
#[test]
fn two_services_sweep_one_inbox_and_apply_each_file_once_on_postgres() {
    use std::io::BufRead;
    if !Backend::Postgres.available() {
        return;
    }
    let files = EngineFiles::new();
    let app = sweeping(Backend::Postgres, &files);
    let args = files.serve_args(&["--inbox-schedule", EVERY_SECOND]);
    let log = app.path("second-server.log");
    let mut second = app
        .command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("a log file"))
        .spawn()
        .expect("a second raas serve starts");
    let mut stdout = std::io::BufReader::new(second.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("its first line");
    assert!(first.starts_with("raas listening on "), "{first:?}");
    let names: Vec<String> = (1..=12).map(|i| format!("feed-{i:02}.xml")).collect();
    for (i, name) in names.iter().enumerate() {
        let ssin = if i % 2 == 0 { NISS_1 } else { NISS_2 };
        let feed = Feed::new(&format!("BOTH-{i:02}")).identity_change(
            ssin,
            &format!(
                "<p:lastName>Name-{}</p:lastName>",
                char::from(b'a' + i as u8)
            ),
        );
        files.drop_file(NR, name, &feed.xml());
    }
    let all_done = (0..300).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        names
            .iter()
            .all(|name| files.inbox_path(NR, "done", name).exists())
    });
    let _ = second.kill();
    let _ = second.wait();
    if !all_done {
        panic!(
            "not all files in done/: {:?}\n--- second server ---\n{}",
            std::fs::read_dir(files.inbox().join(NR))
                .map(|d| d
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name())
                    .collect::<Vec<_>>())
                .unwrap_or_default(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    let sources = journal_sources(&app);
    for i in 0..names.len() {
        let source = format!("nr-mutations:BOTH-{i:02}:r1");
        assert_eq!(
            sources.iter().filter(|s| **s == source).count(),
            1,
            "{source}"
        );
    }
    let rejected = std::fs::read_dir(files.inbox().join(NR).join("rejected"))
        .expect("rejected/")
        .count();
    assert_eq!(rejected, 0);
    let logs = server_log(&app) + &std::fs::read_to_string(&log).expect("the second log");
    assert!(!logs.contains("inbox file rejected"), "{logs}");
    assert!(!logs.contains(" ERROR "), "{logs}");
}
