//! Runs that meet: two `raas batch run` of one date started at the same moment on one
//! database make one set of files (both succeed, one run recorded); a run while `raas serve`
//! changes registers and feeds change identities delivers a consistent file — the changes
//! committed before its cutoff, in order, none skipped.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::batch::{days_before, enterprise_number, iso, summary_of, today, PERSON_MUTATIONS};
use common::{org_a, org_b, Backend, Feed, Org, Request, TestApp, NISS_1, NISS_2, NISS_3};

fn two_runs_at_once_make_one_set_of_files(backend: Backend) {
    let app = TestApp::start(backend);
    let batch = app.batch();
    let d = today();
    let mut orgs = vec![org_a(), org_b()];
    for n in 0..30 {
        let org = Org::new(&enterprise_number(500 + n), &format!("Org {n}"), "u");
        app.admin(&["org", "add", "--cbe", &org.cbe, "--name", &org.name], "");
        orgs.push(org);
    }
    for org in &orgs {
        app.subscribe(&org.cbe, PERSON_MUTATIONS, &[], &[]);
    }
    app.register_line(&org_a(), NISS_1, "EMPLOYEE", "2020-01-01..");
    app.apply_feed(
        &Feed::new("F-1").identity_change(NISS_1, "<p:lastName>Vandenberghe</p:lastName>"),
    );
    // Three dates, each run by two processes at once.
    app.backdate_subscriptions(days_before(d, 2));
    for day in [days_before(d, 2), days_before(d, 1), d] {
        let children = [batch.spawn_run(day, &[]), batch.spawn_run(day, &[])];
        let mut files = 0;
        for child in children {
            let output = child.wait_with_output().expect("a run");
            let stdout = common::batch::succeeded(&format!("raas batch run --date {day}"), &output);
            files += summary_of(&stdout)["files"].as_u64().expect("files");
        }
        assert_eq!(
            files,
            orgs.len() as u64,
            "{day}: files made by the two runs together"
        );
        for org in &orgs {
            // Exactly one file each (`file` asserts it).
            batch.file(&org.cbe, PERSON_MUTATIONS, day);
        }
    }
    batch.check_all();
    assert_eq!(batch.data_files().len(), 3 * orgs.len());
    assert_eq!(
        batch.file(&org_a().cbe, PERSON_MUTATIONS, d).texts(),
        ["identityChange 85073003328 lastName:Van den Berghe>Vandenberghe"]
    );
    let runs: Vec<String> = batch
        .status()
        .iter()
        .filter_map(|line| Some(line.get("run")?.as_str()?.to_owned()))
        .collect();
    assert_eq!(
        runs,
        [d, days_before(d, 1), days_before(d, 2)].map(iso),
        "one run recorded per date"
    );
}

/// A last name for the n-th rename (letters only: `Name-b-a` for 10).
fn name(n: u32) -> String {
    let letters: String = n
        .to_string()
        .bytes()
        .map(|d| format!("-{}", char::from(b'a' + (d - b'0'))))
        .collect();
    format!("Name{letters}")
}

/// While the run is made, a client registers and unregisters lines and a feed renames NISS_1
/// again and again: A's file holds the first renames in order, each one's before the previous
/// one's after, with no journal entry skipped before the last one it holds.
fn a_run_while_the_service_changes_registers_is_consistent(backend: Backend) {
    let app = Arc::new(TestApp::start(backend));
    let batch = app.batch();
    app.register_line(&org_a(), NISS_1, "EMPLOYEE", "2020-01-01..");
    app.subscribe(&org_a().cbe, PERSON_MUTATIONS, &[], &[]);
    app.subscribe(&org_b().cbe, PERSON_MUTATIONS, &[], &[]);
    let rename = |app: &TestApp, n: u32| {
        app.apply_feed(
            &Feed::new(&format!("F-{n}"))
                .identity_change(NISS_1, &format!("<p:lastName>{}</p:lastName>", name(n))),
        );
    };
    rename(&app, 0);
    let stop = Arc::new(AtomicBool::new(false));
    let registers = {
        let (app, stop) = (Arc::clone(&app), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                for ssin in [NISS_2, NISS_3] {
                    let period = format!("20{:02}-01-01..20{:02}-12-31", 10 + n % 10, 10 + n % 10);
                    app.call(&Request::register(&org_b(), ssin, "EMPLOYEE", &period))
                        .ok();
                    app.call(&Request::register(&org_a(), ssin, "EMPLOYEE", &period))
                        .ok();
                    app.call(&Request::unregister(&org_a(), ssin, "EMPLOYEE", None))
                        .ok();
                }
                n += 1;
            }
            n
        })
    };
    let feeds = {
        let (app, stop) = (Arc::clone(&app), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 1;
            while !stop.load(Ordering::Relaxed) {
                rename(&app, n);
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let summary = batch.run_ok(today());
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let register_rounds = registers.join().expect("the register client");
    let renames = feeds.join().expect("the feed");
    eprintln!("{summary}; {register_rounds} register rounds, {renames} renames meanwhile");

    batch.check_all();
    let file = batch.file(&org_a().cbe, PERSON_MUTATIONS, today());
    let journal = app.journal_seqs(NISS_1, "IDENTITY_CHANGED");
    assert!(
        !file.records.is_empty(),
        "the rename before the run is missing"
    );
    assert_eq!(
        file.seqs(),
        journal[..file.records.len()],
        "the file's records are not the first identity changes of the journal"
    );
    let mut before = "Van den Berghe".to_owned();
    for (n, record) in file.texts().iter().enumerate() {
        assert_eq!(
            record,
            &format!(
                "identityChange {NISS_1} lastName:{before}>{}",
                name(n as u32)
            )
        );
        before = name(n as u32);
    }
    assert_eq!(
        batch.file(&org_b().cbe, PERSON_MUTATIONS, today()).records,
        []
    );
}

backend_tests!(
    two_runs_at_once_make_one_set_of_files,
    a_run_while_the_service_changes_registers_is_consistent,
);
