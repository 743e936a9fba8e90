//! Exactly once through crashes: `raas batch run` killed with SIGKILL at moments spread over a
//! run of some hundreds of files, or aborted by the `RAAS_BATCH_ABORT_AFTER_STEPS` hook after
//! each of its write steps in turn, then run again: the outbox ends as after a clean run of
//! the same state (same file names, same records, same sequence numbers), every voucher and
//! signature valid, nothing else left — and at every moment in between, a voucher present
//! means its data file is complete.
//!
//! The clean run and each crashed one start from identical copies of one database (a copied
//! SQLite file, or a PostgreSQL database made from it as a template).

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::batch::{
    assert_same_outbox, check_complete_so_far, days_before, enterprise_number, iso, names,
    snapshot, today, BatchCli, Declaration, DimonaFile, Server, Twin, DIMONA_MUTATIONS,
    PERSON_MUTATIONS,
};
use common::source::standard_feed;
use common::{Backend, Feed, Org, TestApp, NISS_1, NISS_2, NISS_3, NISS_BIS_20};

fn org(n: u32) -> Org {
    Org::new(
        &enterprise_number(100 + n),
        &format!("Org {n}"),
        &format!("user{n}"),
    )
}

/// How much a run of today makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Days {
    /// Today only: nothing was run before.
    One,
    /// Yesterday and today: the subscriptions began two days ago, and that day was run.
    CatchUp,
}

/// `orgs` organisations subscribed to PERSON_MUTATIONS, the first `with_lines` of them with
/// register lines of the persons a feed then renames, declares deceased and replaces, and
/// subscribed to DIMONA_MUTATIONS too (a declaration then employs one of them); for
/// [`Days::CatchUp`], with the run of two days ago made (its files in the outbox
/// `outbox-seed`).
fn crash_state(backend: Backend, orgs: u32, with_lines: u32, days: Days) -> (TestApp, BatchCli) {
    let app = TestApp::empty(backend);
    let batch = app.batch();
    app.apply_feed(&standard_feed());
    for n in 0..orgs {
        let org = org(n);
        if n < with_lines {
            app.add_org_with_types(&org, &["EMPLOYEE"]);
            let since = days_before(today(), 30);
            app.subscribe_dimona(&org.cbe, &[], "DELIB-CRASH", since, None);
        } else {
            app.admin(&["org", "add", "--cbe", &org.cbe, "--name", &org.name], "");
        }
        app.subscribe(&org.cbe, PERSON_MUTATIONS, &[], &[]);
    }
    let server = Server::start(&app);
    for n in 0..with_lines {
        server.register_line(&org(n), NISS_1, "EMPLOYEE", "2020-01-01..");
        if n % 2 == 0 {
            server.register_line(&org(n), NISS_2, "EMPLOYEE", "2021-01-01..");
        }
        if n % 3 == 0 {
            server.register_line(&org(n), NISS_BIS_20, "EMPLOYEE", "2019-01-01..2019-12-31");
        }
    }
    server.stop();
    app.apply_feed(
        &Feed::new("F-CRASH")
            .identity_change(NISS_1, "<p:lastName>Vandenberghe</p:lastName>")
            .decease(NISS_2, "2026-11-28")
            .replacement(NISS_BIS_20, NISS_3),
    );
    app.apply_dimona(&DimonaFile::new(
        "DIM-CRASH",
        &[Declaration::entry(
            700_001,
            NISS_1,
            &iso(days_before(today(), 5)),
            None,
        )],
    ));
    let seed = batch.with_outbox(&app.path("outbox-seed"));
    if days == Days::CatchUp {
        app.backdate_subscriptions(days_before(today(), 2));
        seed.run_ok(days_before(today(), 2));
    }
    (app, seed)
}

/// The clean run of the state, on a copy: gives the copy (kept while its outbox is compared
/// against), the commands on it, and how long the run took.
fn clean_run(app: &TestApp, seed: &BatchCli, files: usize) -> (Twin, BatchCli, Duration) {
    let (twin, clean) = trial(app, seed, "clean");
    let started = Instant::now();
    let summary = clean.run_ok(today());
    let took = started.elapsed();
    clean.check_all();
    assert_eq!(clean.data_files().len(), files, "{summary}");
    // What the files of today hold, for the first organisation (every one with lines has a
    // line of NISS_1; the even ones of NISS_2, every third one of the replaced number).
    let first = org(0).cbe;
    assert_eq!(
        clean.file(&first, PERSON_MUTATIONS, today()).texts(),
        [
            format!("identityChange {NISS_1} lastName:Van den Berghe>Vandenberghe"),
            format!("decease {NISS_2} 2026-11-28"),
            format!(
                "replacement {NISS_BIS_20}>{NISS_3} EMPLOYEE moved 2019-01-01..2019-12-31 \
                 merged 2019-01-01..2019-12-31"
            ),
        ]
    );
    assert_eq!(
        clean.file(&first, DIMONA_MUTATIONS, today()).records.len(),
        1,
        "the Dimona declaration"
    );
    (twin, clean, took)
}

/// A copy of the seed database and of its outbox, and the commands on them.
fn trial(app: &TestApp, seed: &BatchCli, name: &str) -> (Twin, BatchCli) {
    let twin = Twin::of(app, name);
    let outbox = app.path(&format!("outbox-{name}"));
    for (file, bytes) in snapshot(&seed.outbox) {
        let path = outbox.join(file);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("a folder");
        std::fs::write(path, bytes).expect("a copy");
    }
    let commands = seed.on_database(&twin.url).with_outbox(&outbox);
    (twin, commands)
}

/// After the crash, a run without one completes; the outbox then equals the clean one, and a
/// further run makes nothing.
#[track_caller]
fn resume_and_compare(crashing: &BatchCli, clean: &BatchCli, context: &str) {
    check_complete_so_far(&crashing.outbox, &crashing.public_key);
    crashing.run_ok(today());
    crashing.check_all();
    assert_same_outbox(&clean.outbox, &crashing.outbox, context);
    let again = crashing.run_ok(today());
    assert_eq!(
        again["files"], 0,
        "{context}: a run after the resume: {again}"
    );
}

const ORGS: u32 = 200;
const WITH_LINES: u32 = 12;
/// The files of a day: every organisation's PERSON_MUTATIONS, and the DIMONA_MUTATIONS of
/// those with lines.
const ORGS_A_DAY: usize = (ORGS + WITH_LINES) as usize;
const KILLS: u32 = 6;

/// Kills runs with SIGKILL, the first right after its start, the others once a share of its
/// files is written; after each, a resume must give the clean outbox.
fn kill_at_moments(backend: Backend, days: Days) {
    let (app, batch) = crash_state(backend, ORGS, WITH_LINES, days);
    // The files the run makes, and those of the seed run before.
    let (files, before) = match days {
        Days::One => (ORGS_A_DAY, 0),
        Days::CatchUp => (2 * ORGS_A_DAY, ORGS_A_DAY),
    };
    let (_clean_db, clean, took) = clean_run(&app, &batch, files + before);
    eprintln!("a clean run of {files} files took {took:?}");
    let mut killed_while_running = 0;
    // The first kill right after the start; the others once a share of the files, vouchers
    // and signatures (three names a file) is in the outbox.
    let published = |outbox: &std::path::Path| {
        names(outbox)
            .iter()
            .filter(|name| !name.rsplit('/').next().unwrap_or_default().starts_with('.'))
            .count()
            - 3 * before
    };
    for k in 0..KILLS {
        let (_twin, crashing) = trial(&app, &batch, &format!("kill{k}"));
        let target = 3 * files * k as usize / KILLS as usize;
        let mut child = crashing.spawn_run(today(), &[]);
        let deadline = Instant::now() + took * 3 + Duration::from_secs(10);
        let running = loop {
            if child.try_wait().expect("the run's state").is_some() {
                break false;
            }
            if published(&crashing.outbox) >= target || Instant::now() > deadline {
                break child.try_wait().expect("the run's state").is_none();
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("the killed run");
        let written = published(&crashing.outbox);
        let all = 3 * files;
        eprintln!("kill {k}: at {written} of {all} names (running: {running}, {status:?})");
        if running {
            killed_while_running += 1;
        }
        resume_and_compare(
            &crashing,
            &clean,
            &format!("killed at {written} of {all} names"),
        );
    }
    assert!(
        killed_while_running >= KILLS - 1,
        "only {killed_while_running} of {KILLS} kills hit a running run"
    );
}

/// Aborts a run after 1, 2, 3, … write steps (`RAAS_BATCH_ABORT_AFTER_STEPS`), and its
/// resume after as many, until a run completes without aborting; after each, a resume
/// without the hook must give the clean outbox.
fn abort_after_each_step(backend: Backend, days: Days) {
    let (app, batch) = crash_state(backend, 4, 4, days);
    let files = match days {
        Days::One => 8,
        Days::CatchUp => 24,
    };
    let (_clean_db, clean, _) = clean_run(&app, &batch, files);
    for steps in 1u32.. {
        assert!(steps <= 1000, "a run still aborted after {steps} steps");
        let (_twin, crashing) = trial(&app, &batch, &format!("abort{steps}"));
        let n = steps.to_string();
        let hook = [("RAAS_BATCH_ABORT_AFTER_STEPS", n.as_str())];
        let output = crashing
            .spawn_run(today(), &hook)
            .wait_with_output()
            .expect("the run");
        if output.status.success() {
            assert!(
                steps > 1,
                "RAAS_BATCH_ABORT_AFTER_STEPS=1 did not abort the run: the hook is missing"
            );
            crashing.check_all();
            assert_same_outbox(&clean.outbox, &crashing.outbox, "a run without abort");
            eprintln!("a run has {} write steps", steps - 1);
            break;
        }
        let context = format!("aborted after {steps} steps");
        assert_eq!(
            output.status.code(),
            None,
            "{context}: the run failed instead of aborting: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // A crash while resuming too, then a resume without one.
        check_complete_so_far(&crashing.outbox, &crashing.public_key);
        let second = crashing
            .spawn_run(today(), &hook)
            .wait_with_output()
            .expect("the run");
        assert!(
            second.status.success() || second.status.code().is_none(),
            "{context}, the resume failed: {}",
            String::from_utf8_lossy(&second.stderr)
        );
        resume_and_compare(&crashing, &clean, &context);
    }
}

fn a_kill_at_any_moment_of_a_day_then_a_rerun_ends_as_a_clean_run(backend: Backend) {
    kill_at_moments(backend, Days::One);
}

fn a_kill_at_any_moment_of_a_catch_up_then_a_rerun_ends_as_a_clean_run(backend: Backend) {
    kill_at_moments(backend, Days::CatchUp);
}

fn an_abort_after_each_write_step_of_a_day_resumes_to_the_clean_outbox(backend: Backend) {
    abort_after_each_step(backend, Days::One);
}

fn an_abort_after_each_write_step_of_a_catch_up_resumes_to_the_clean_outbox(backend: Backend) {
    abort_after_each_step(backend, Days::CatchUp);
}

backend_tests!(
    a_kill_at_any_moment_of_a_day_then_a_rerun_ends_as_a_clean_run,
    a_kill_at_any_moment_of_a_catch_up_then_a_rerun_ends_as_a_clean_run,
    an_abort_after_each_write_step_of_a_day_resumes_to_the_clean_outbox,
    an_abort_after_each_write_step_of_a_catch_up_resumes_to_the_clean_outbox,
);
