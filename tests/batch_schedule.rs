//! The schedule inside `raas serve`: with a signing key, the daily run catches up every day
//! missed while the service was down, in date order, and fires on its cron expression;
//! `/readyz` (JSON) and `/metrics` report the engine; without a key the engine is off and
//! the service still starts; a bad cron expression refuses the start, naming its key.

#[macro_use]
mod common;
mod batch_support;

use chrono::{Days, NaiveDate};

use batch_support::{
    as_strs, batch_runs, metric, readyz_json, server_log, wait_until, EngineFiles,
};
use common::{Backend, TestApp};

const EVERY_SECOND: &str = "*/1 * * * * *";

/// Yesterday in Europe/Brussels (the default time zone).
fn yesterday() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Brussels)
        .date_naive()
        .pred_opt()
        .expect("a day before")
}

fn days_before(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_sub_days(Days::new(days)).expect("a date")
}

/// The last run was made three days before yesterday (by the command): starting, the
/// service makes the two days after it, in order, then its every-second job finds nothing
/// more to make.
fn serve_catches_up_the_missed_days_in_order(backend: Backend) {
    let files = EngineFiles::new();
    let yesterday = yesterday();
    let last = days_before(yesterday, 2);
    let mut app = TestApp::empty(backend);
    let key = batch_support::path_str(&files.key()).to_owned();
    let outbox = batch_support::path_str(&files.outbox()).to_owned();
    let ran = app.run(
        &[
            "--signing-key",
            &key,
            "--outbox",
            &outbox,
            "batch",
            "run",
            "--quiet",
            "--date",
            &last.to_string(),
        ],
        "",
    );
    assert!(
        ran.status.success(),
        "raas batch run: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    app.serve(&as_strs(
        &files.serve_args(&["--daily-schedule", EVERY_SECOND]),
    ));
    let expected: Vec<(String, String, bool)> = vec![
        (last.to_string(), "command".into(), true),
        (
            days_before(yesterday, 1).to_string(),
            "schedule".into(),
            true,
        ),
        (yesterday.to_string(), "schedule".into(), true),
    ];
    wait_until(60, "the missed days", || batch_runs(&app) == expected);
    let success = r#"raas_batch_runs_total{outcome="success"}"#;
    wait_until(20, "the runs counted", || {
        metric(&app, success) == Some(2.0)
    });
    // The job fires every second: yesterday is made already, nothing more is.
    wait_until(20, "a firing with nothing to make", || {
        metric(&app, r#"raas_batch_runs_total{outcome="already_done"}"#).unwrap_or(0.0) >= 1.0
    });
    assert_eq!(batch_runs(&app), expected);
    assert_eq!(
        metric(&app, r#"raas_batch_runs_total{outcome="failure"}"#),
        None
    );
    assert_eq!(metric(&app, "raas_batch_engine_enabled"), Some(1.0));
    assert_eq!(metric(&app, "raas_batch_last_run_files"), Some(0.0));
    assert_eq!(metric(&app, "raas_batch_last_run_records"), Some(0.0));
    assert!(metric(&app, "raas_batch_last_run_duration_seconds").is_some());
    assert_eq!(
        metric(&app, "raas_batch_run_duration_seconds_count"),
        Some(2.0)
    );
    let age = metric(&app, "raas_batch_last_success_age_seconds").expect("the age");
    assert!((0.0..120.0).contains(&age), "{age}");

    let (status, ready) = readyz_json(&app);
    assert_eq!(status, 200);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["database"], "ok");
    let batch = &ready["batch"];
    assert_eq!(batch["engine"], "on");
    assert_eq!(batch["last_successful_run"], yesterday.to_string());
    assert!(batch["last_failure"].is_null(), "{batch}");
    let next = batch["next_daily_run"].as_str().expect("the next run");
    let next = chrono::DateTime::parse_from_rfc3339(next).expect("an RFC 3339 time");
    let ahead = next.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(ahead.num_seconds() <= 2, "{next}");
    // The plain answer is as it was.
    let plain = app.get("/readyz");
    assert_eq!((plain.http_status, plain.body.as_str()), (200, "ready"));
}

/// Nothing ever ran: the start-up run makes yesterday alone; the default schedule (02:30)
/// is the next daily run, in Brussels time.
fn a_first_start_makes_yesterday_and_waits_for_the_night(backend: Backend) {
    let files = EngineFiles::new();
    let app = TestApp::start_with(backend, &as_strs(&files.serve_args(&[])));
    let expected = vec![(yesterday().to_string(), "schedule".to_owned(), true)];
    wait_until(60, "yesterday's run", || batch_runs(&app) == expected);
    let (_, ready) = readyz_json(&app);
    let next = ready["batch"]["next_daily_run"]
        .as_str()
        .expect("the next run")
        .to_owned();
    let next = chrono::DateTime::parse_from_rfc3339(&next).expect("an RFC 3339 time");
    let local = next.with_timezone(&chrono_tz::Europe::Brussels);
    assert_eq!(local.format("%H:%M:%S").to_string(), "02:30:00", "{next}");
    assert!(next > chrono::Utc::now());
    assert!(server_log(&app).contains("batch engine on"));
}

/// No signing key: the service starts and serves, the engine is off (said once in the log,
/// by `/readyz` and `/metrics`), and no run is made even when the schedule fires.
fn without_a_key_serve_starts_with_the_engine_off(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        &["--daily-schedule", EVERY_SECOND, "--workers", "2"],
    );
    let (status, ready) = readyz_json(&app);
    assert_eq!(status, 200);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["batch"]["engine"], "off");
    assert!(ready["batch"]["next_daily_run"].is_null());
    assert_eq!(ready["batch"]["running"], false);
    let plain = app.get("/readyz");
    assert_eq!((plain.http_status, plain.body.as_str()), (200, "ready"));
    assert_eq!(metric(&app, "raas_batch_engine_enabled"), Some(0.0));
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(batch_runs(&app).is_empty());
    assert_eq!(metric(&app, "raas_batch_last_success_age_seconds"), None);
    let log = server_log(&app);
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("batch engine off: no signing_key configured"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains(" WARN "), "{}", warnings[0]);
}

/// A cron expression that does not parse, has five fields or never fires: `serve` refuses
/// to start with one line naming the key — with or without a signing key.
fn a_bad_cron_expression_refuses_the_start(backend: Backend) {
    let files = EngineFiles::new();
    let app = TestApp::empty(backend);
    let key = batch_support::path_str(&files.key()).to_owned();
    let cases = [
        (
            "--daily-schedule",
            "0 61 * * * *",
            "error: daily_schedule: invalid cron expression \"0 61 * * * *\"",
        ),
        (
            "--inbox-schedule",
            "*/5 * * * *",
            "error: inbox_schedule: invalid cron expression \"*/5 * * * *\": 5 fields",
        ),
        (
            "--daily-schedule",
            "every night",
            "error: daily_schedule: invalid cron expression \"every night\"",
        ),
        (
            "--daily-schedule",
            "0 0 0 30 2 *",
            "error: daily_schedule: the cron expression \"0 0 0 30 2 *\" never fires",
        ),
    ];
    for with_key in [false, true] {
        for (flag, expression, expected) in cases {
            let mut args = vec![flag, expression];
            if with_key {
                args.extend(["--signing-key", &key]);
            }
            args.extend(["serve", "--listen", "127.0.0.1:0"]);
            let output = app.run(&args, "");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(output.stdout.is_empty(), "{args:?}");
            let last = stderr.lines().last().unwrap_or_default();
            assert!(last.starts_with(expected), "{args:?}: {stderr}");
        }
    }
}

/// A signing key that is missing or not a key refuses the start (not the night's run).
fn an_unusable_signing_key_refuses_the_start(backend: Backend) {
    let app = TestApp::empty(backend);
    let not_a_key = app.path("not-a-key.pem");
    std::fs::write(&not_a_key, "hello\n").expect("a file");
    for (key, expected) in [
        (
            "missing.pem",
            "error: signing_key: the key file missing.pem does not exist",
        ),
        (
            "not-a-key.pem",
            "error: signing_key: the key file not-a-key.pem",
        ),
    ] {
        let output = app.run(
            &["--signing-key", key, "serve", "--listen", "127.0.0.1:0"],
            "",
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(output.stdout.is_empty());
        let last = stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with(expected), "{stderr}");
    }
}

/// `serve --demo` until it printed its batch lines: those lines, then the server is stopped.
fn demo_batch_lines(app: &TestApp) -> Vec<String> {
    use std::io::BufRead;
    let mut child = app
        .command()
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "1",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("raas serve starts");
    let stdout = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut lines = Vec::new();
    let mut batch = false;
    for line in stdout.lines() {
        let line = line.expect("a line");
        batch |= line.starts_with("batch engine:");
        if batch {
            lines.push(line.clone());
        }
        if line.starts_with("  the public key for receivers:") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

/// `serve --demo` makes a key (once) and a PERSON_MUTATIONS subscription (once), and the
/// command it prints makes today's file.
fn serve_demo_turns_the_engine_on_and_prints_how_to_see_a_file(backend: Backend) {
    let app = TestApp::empty(backend);
    let today = yesterday().succ_opt().expect("today");
    let lines = demo_batch_lines(&app);
    assert_eq!(lines.len(), 5, "{lines:?}");
    let key = app.path("raas-demo-key.pem");
    assert!(key.is_file(), "{lines:?}");
    assert!(
        lines[0].starts_with("batch engine: on; signing key ") && lines[0].ends_with(" (made now)"),
        "{lines:?}"
    );
    assert_eq!(
        lines[1],
        "  subscription: PERSON_MUTATIONS for 0202239951 (every dossier type)"
    );
    let command = lines[2]
        .strip_prefix("  a file of today's changes now: raas ")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(
        command.ends_with(&format!(" batch run --date {today}")),
        "{command}"
    );
    assert_eq!(lines[3], "  files and vouchers: outbox/0202239951/");

    // Started again: the same key, still one subscription.
    let key_pem = std::fs::read(&key).expect("the key");
    let again = demo_batch_lines(&app);
    assert_eq!(again.len(), 5, "{again:?}");
    assert!(!again[0].contains("made now"), "{again:?}");
    assert_eq!(std::fs::read(&key).expect("the key"), key_pem);
    let subscriptions = app.admin(&["subscription", "list", "--cbe", "0202239951"], "");
    assert_eq!(subscriptions.lines().count(), 1, "{subscriptions}");
    assert!(
        subscriptions.contains("PERSON_MUTATIONS"),
        "{subscriptions}"
    );

    // The printed command (its options after the test's own --database-url).
    let mut args: Vec<&str> = command.split(' ').collect();
    if args[0] == "--database-url" {
        args.drain(..2);
    }
    args.push("--quiet");
    let ran = app.run(&args, "");
    assert!(
        ran.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let name = format!(
        "PERSON_MUTATIONS_0202239951_{}_000001.xml",
        today.format("%Y%m%d")
    );
    let folder = app.path("outbox").join("0202239951");
    for file in [
        name.clone(),
        format!("{name}.voucher.xml"),
        format!("{name}.voucher.sig"),
    ] {
        assert!(folder.join(&file).is_file(), "{file}");
    }
}

backend_tests!(
    serve_demo_turns_the_engine_on_and_prints_how_to_see_a_file,
    an_unusable_signing_key_refuses_the_start,
    serve_catches_up_the_missed_days_in_order,
    a_first_start_makes_yesterday_and_waits_for_the_night,
    without_a_key_serve_starts_with_the_engine_off,
    a_bad_cron_expression_refuses_the_start,
);

/// The database out of reach: `/readyz` (JSON) is 503 and says why, the engine's state is
/// still reported (without the last run, which is read from the database), and `/metrics`
/// leaves the age of the last run out rather than show a stale one.
#[test]
fn readyz_json_reports_the_database_and_the_engine_while_postgres_refuses_on_postgres() {
    if !Backend::Postgres.available() {
        return;
    }
    let files = EngineFiles::new();
    let app = TestApp::start_with(Backend::Postgres, &as_strs(&files.serve_args(&[])));
    wait_until(60, "yesterday's run", || batch_runs(&app).len() == 1);
    wait_until(20, "the age of the last run", || {
        metric(&app, "raas_batch_last_success_age_seconds").is_some()
    });
    let refusing = batch_support::Refusing::start(&app);
    let (status, ready) = readyz_json(&app);
    let age = metric(&app, "raas_batch_last_success_age_seconds");
    drop(refusing);
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["status"], "not ready");
    assert_eq!(ready["database"], "unreachable");
    assert_eq!(ready["batch"]["engine"], "on");
    assert!(ready["batch"]["last_successful_run"].is_null(), "{ready}");
    assert!(ready["batch"]["next_daily_run"].is_string(), "{ready}");
    assert_eq!(age, None);
    // Back: the last run again.
    wait_until(20, "ready again", || readyz_json(&app).0 == 200);
    let (_, ready) = readyz_json(&app);
    assert_eq!(
        ready["batch"]["last_successful_run"],
        yesterday().to_string()
    );
}
