//! The daily run as an operator meets it (`raas batch run --date D`): a date run again makes
//! no second file, a quiet day still gives its files with zero records, sequence numbers rise
//! by one a day, a future date or a missing signing key is refused with nothing written,
//! `raas batch status` tells the runs and the last sequence numbers, and a run catches up the
//! days missed since the last one, in date order.

#[macro_use]
mod common;

use std::path::PathBuf;

use common::batch::{
    compact, days_after, days_before, iso, today, voucher_path, BatchCli, PERSON_MUTATIONS,
};
use common::{org_a, org_b, Backend, Feed, TestApp, NISS_1, NISS_3};

/// Orgs A and B subscribed to PERSON_MUTATIONS (every dossier type), A with a line of NISS_1
/// containing today, B with none; gives the subscriptions' ids (A's, B's).
fn subscribed(backend: Backend) -> (TestApp, BatchCli, [String; 2]) {
    let app = TestApp::start(backend);
    let batch = app.batch();
    app.register_line(&org_a(), NISS_1, "EMPLOYEE", "2020-01-01..");
    let a = app.subscribe(&org_a().cbe, PERSON_MUTATIONS, &[], &[]);
    let b = app.subscribe(&org_b().cbe, PERSON_MUTATIONS, &[], &[]);
    (app, batch, [a, b])
}

fn rename(app: &TestApp, file_id: &str, ssin: &str, last_name: &str) {
    app.apply_feed(
        &Feed::new(file_id).identity_change(ssin, &format!("<p:lastName>{last_name}</p:lastName>")),
    );
}

#[track_caller]
fn assert_refused_one_line(output: &std::process::Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        stderr.starts_with("error: ") && stderr.lines().count() == 1,
        "not one error line: {stderr:?}"
    );
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
}

fn a_date_run_again_makes_no_second_file(backend: Backend) {
    let (app, batch, _) = subscribed(backend);
    let d = today();
    rename(&app, "F-1", NISS_1, "Vandenberghe");
    let first = batch.run_ok(d);
    assert_eq!(first["files"], 2, "{first}");
    assert_eq!(first["records"], 1, "{first}");
    batch.check_all();
    let before = batch.snapshot();
    assert_eq!(before.len(), 6, "{:?}", before.keys());

    // A change after the run belongs to the next day's file, not to a second file of today.
    rename(&app, "F-2", NISS_1, "Van den Berg");
    for _ in 0..2 {
        let again = batch.run_ok(d);
        assert_eq!(again["files"], 0, "{again}");
        assert_eq!(again["records"], 0, "{again}");
        if let Some(done) = again.get("already_done") {
            assert_eq!(done, true, "{again}");
        }
        assert!(batch.snapshot() == before, "the outbox changed on a rerun");
    }
    let a = batch.file(&org_a().cbe, PERSON_MUTATIONS, d);
    assert_eq!(
        a.texts(),
        ["identityChange 85073003328 lastName:Van den Berghe>Vandenberghe"]
    );
    assert_eq!(runs_in_status(&batch), [iso(d)]);
}

fn a_quiet_day_gives_files_with_zero_records(backend: Backend) {
    let (app, batch, _) = subscribed(backend);
    let d = today();
    // A change about a person in no register of theirs is no record for them.
    rename(&app, "F-1", NISS_3, "Lefebvre");
    let summary = batch.run_ok(d);
    assert_eq!(summary["files"], 2, "{summary}");
    assert_eq!(summary["records"], 0, "{summary}");
    batch.check_all();
    for org in [org_a(), org_b()] {
        let file = batch.file(&org.cbe, PERSON_MUTATIONS, d);
        assert_eq!(
            file.name,
            format!("PERSON_MUTATIONS_{}_{}_000001.xml", org.cbe, compact(d))
        );
        assert_eq!(file.record_count, 0);
        assert_eq!(file.records, []);
        let voucher = common::batch::voucher_fields(&voucher_path(&file.path));
        assert_eq!(voucher["recordCount"], "0");
    }
}

fn sequence_numbers_rise_by_one_a_day(backend: Backend) {
    let (app, batch, _) = subscribed(backend);
    let d = today();
    app.backdate_subscriptions(days_before(d, 2));
    for (n, day) in [days_before(d, 2), days_before(d, 1), d]
        .into_iter()
        .enumerate()
    {
        let summary = batch.run_ok(day);
        assert_eq!(summary["files"], 2, "{day}: {summary}");
        for org in [org_a(), org_b()] {
            let file = batch.file(&org.cbe, PERSON_MUTATIONS, day);
            let expected = n as u64 + 1;
            assert_eq!(
                file.name,
                format!(
                    "PERSON_MUTATIONS_{}_{}_{expected:06}.xml",
                    org.cbe,
                    compact(day)
                )
            );
            assert_eq!(file.sequence, expected);
        }
    }
    batch.check_all();
    assert_eq!(batch.data_files().len(), 6);
}

fn a_future_date_is_refused(backend: Backend) {
    let (_app, batch, _) = subscribed(backend);
    let tomorrow = days_after(today(), 1);
    let output = batch.run(tomorrow);
    assert_refused_one_line(&output, &iso(tomorrow));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    // Not a date at all.
    for bad in ["2026-02-30", "yesterday", "20261201"] {
        let output = common::app::run_with_input(
            batch
                .command()
                .args(["batch", "run", "--quiet", "--date", bad]),
            "",
        );
        assert_refused_one_line(&output, bad);
    }
    assert!(batch.snapshot().is_empty(), "{:?}", batch.snapshot().keys());
    assert_eq!(runs_in_status(&batch), Vec::<String>::new());
    // And the first run that may happen still starts the sequences at 1.
    batch.run_ok(today());
    assert_eq!(
        batch.file(&org_a().cbe, PERSON_MUTATIONS, today()).sequence,
        1
    );
}

fn without_a_signing_key_nothing_is_written(backend: Backend) {
    let (app, batch, _) = subscribed(backend);
    let d = today();
    let run_args = ["batch", "run", "--quiet", "--date", &iso(d)];
    let output = common::app::run_with_input(batch.command_without_key().args(run_args), "");
    assert_refused_one_line(&output, "signing");
    let missing: PathBuf = app.path("no-such-key.pem");
    let output = common::app::run_with_input(
        batch
            .command_without_key()
            .args(["--signing-key", missing.to_str().unwrap()])
            .args(run_args),
        "",
    );
    assert_refused_one_line(&output, "no-such-key.pem");
    // A file that is not a key.
    let not_a_key = app.path("not-a-key.pem");
    std::fs::write(&not_a_key, "hello\n").unwrap();
    let output = common::app::run_with_input(
        batch
            .command_without_key()
            .args(["--signing-key", not_a_key.to_str().unwrap()])
            .args(run_args),
        "",
    );
    assert_refused_one_line(&output, "not-a-key.pem");
    assert!(batch.snapshot().is_empty(), "{:?}", batch.snapshot().keys());
    assert_eq!(runs_in_status(&batch), Vec::<String>::new());
    // With the key: the sequences start at 1 (the refusals used no number).
    batch.run_ok(d);
    batch.check_all();
    assert_eq!(batch.file(&org_b().cbe, PERSON_MUTATIONS, d).sequence, 1);
}

/// The reference dates of the runs `raas batch status` lists (its lines `{"run": D, …}`), in
/// its order.
fn runs_in_status(batch: &BatchCli) -> Vec<String> {
    batch
        .status()
        .iter()
        .filter_map(|line| Some(line.get("run")?.as_str()?.to_owned()))
        .collect()
}

/// The lines of `raas batch status` about the subscription `id` (`{"subscription": id, …}`).
fn subscription_status(status: &[serde_json::Value], id: &str) -> Vec<serde_json::Value> {
    status
        .iter()
        .filter(|line| line.get("subscription").map(|s| s.to_string()).as_deref() == Some(id))
        .cloned()
        .collect()
}

fn status_tells_the_runs_and_the_last_sequences(backend: Backend) {
    let (app, batch, ids) = subscribed(backend);
    let d = today();
    app.backdate_subscriptions(days_before(d, 1));
    batch.run_ok(days_before(d, 1));
    rename(&app, "F-1", NISS_1, "Vandenberghe");
    batch.run_ok(d);
    let status = batch.status();
    assert_eq!(
        runs_in_status(&batch),
        [iso(d), iso(days_before(d, 1))],
        "{status:?}"
    );
    for (id, org) in ids.iter().zip([org_a(), org_b()]) {
        let lines = subscription_status(&status, id);
        assert_eq!(lines.len(), 1, "subscription {id}: {status:?}");
        let line = &lines[0];
        assert_eq!(line["last_sequence"], 2, "{line}");
        assert_eq!(line["file_type"], PERSON_MUTATIONS, "{line}");
        assert_eq!(line["reference_date"], iso(d), "{line}");
        assert_eq!(
            line["last_file"],
            format!("PERSON_MUTATIONS_{}_{}_000002.xml", org.cbe, compact(d)),
            "{line}"
        );
    }
    // The runs: newest first, with what they made.
    let runs: Vec<&serde_json::Value> = status.iter().filter(|l| l.get("run").is_some()).collect();
    assert_eq!(runs[0]["files"], 2, "{status:?}");
    assert_eq!(runs[0]["records"], 1, "{status:?}");
    assert_eq!(runs[1]["records"], 0, "{status:?}");
    assert_eq!(runs[0]["trigger"], "command", "{status:?}");
}

fn a_run_catches_up_the_missing_days_in_order(backend: Backend) {
    let (app, batch, _) = subscribed(backend);
    let d = today();
    let (d2, d1) = (days_before(d, 2), days_before(d, 1));
    app.backdate_subscriptions(d2);
    let first = batch.run_ok(d2);
    assert_eq!(first["files"], 2, "{first}");
    rename(&app, "F-1", NISS_1, "Vandenberghe");
    let output = common::batch::succeeded("raas batch run", &batch.run(d));
    let summary = common::batch::summary_of(&output);
    assert!(
        summary["files"] == 4 || summary["files"] == 2,
        "the catch-up's summary: {output}"
    );
    batch.check_all();
    for org in [org_a(), org_b()] {
        let names: Vec<String> = batch
            .files_of(&org.cbe)
            .iter()
            .map(|f| f.name.clone())
            .collect();
        assert_eq!(
            names,
            [d2, d1, d]
                .iter()
                .enumerate()
                .map(|(n, day)| format!(
                    "PERSON_MUTATIONS_{}_{}_{:06}.xml",
                    org.cbe,
                    compact(*day),
                    n + 1
                ))
                .collect::<Vec<_>>()
        );
    }
    // The day in between had nothing to deliver: the change was committed today.
    assert_eq!(batch.file(&org_a().cbe, PERSON_MUTATIONS, d1).records, []);
    assert_eq!(
        batch.file(&org_a().cbe, PERSON_MUTATIONS, d).texts(),
        ["identityChange 85073003328 lastName:Van den Berghe>Vandenberghe"]
    );
    // D-1's files were complete (vouchers written) before D's.
    let written = |day| {
        [org_a(), org_b()].map(|org| {
            let file = batch.file(&org.cbe, PERSON_MUTATIONS, day);
            std::fs::metadata(voucher_path(&file.path))
                .and_then(|m| m.modified())
                .expect("a voucher's time")
        })
    };
    let (w1, w0) = (written(d1), written(d));
    assert!(
        w1.iter().max() <= w0.iter().min(),
        "D-1's vouchers {w1:?} were not all written before D's {w0:?}"
    );
    assert_eq!(runs_in_status(&batch), [iso(d), iso(d1), iso(d2)]);
}

/// A damage done to a copy of an outbox.
type Damage<'a> = Box<dyn Fn(&std::path::Path) + 'a>;

/// Whether a check panics (its message is printed, as for any failed assertion).
fn refuses(check: impl FnOnce() + std::panic::UnwindSafe) -> bool {
    std::panic::catch_unwind(check).is_err()
}

/// The checks every test makes of an outbox are not vacuous: each damage below is caught by
/// the independent checks (xmllint, openssl, the vouchers' digests, the sequences) and by
/// `raas voucher verify`.
fn the_outbox_checks_catch_a_damaged_outbox(backend: Backend) {
    let (app, batch, _) = subscribed(backend);
    let d = today();
    app.backdate_subscriptions(days_before(d, 2));
    batch.run_ok(days_before(d, 2));
    rename(&app, "F-1", NISS_1, "Vandenberghe");
    batch.run_ok(d);
    batch.check_all();
    let a = batch.file(&org_a().cbe, PERSON_MUTATIONS, d);
    // The file between the first and the last.
    let middle = batch.file(&org_a().cbe, PERSON_MUTATIONS, days_before(d, 1));
    let relative = |path: &std::path::Path| {
        path.strip_prefix(&batch.outbox)
            .expect("in the outbox")
            .display()
            .to_string()
    };
    let damages: Vec<(&str, Damage)> = vec![
        (
            "a flipped byte",
            Box::new(|outbox| {
                let path = outbox.join(relative(&a.path));
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(&path, text.replacen("Vandenberghe", "Vandenberghf", 1)).unwrap();
            }),
        ),
        (
            "a voucher missing",
            Box::new(|outbox| {
                std::fs::remove_file(outbox.join(relative(&voucher_path(&a.path)))).unwrap();
            }),
        ),
        (
            "another file's signature",
            Box::new(|outbox| {
                let signature =
                    |p: &std::path::Path| outbox.join(relative(&common::batch::signature_path(p)));
                std::fs::copy(signature(&middle.path), signature(&a.path)).unwrap();
            }),
        ),
        (
            "a gap",
            Box::new(|outbox| {
                for path in [
                    middle.path.clone(),
                    voucher_path(&middle.path),
                    common::batch::signature_path(&middle.path),
                ] {
                    std::fs::remove_file(outbox.join(relative(&path))).unwrap();
                }
            }),
        ),
        (
            "a temporary file left",
            Box::new(|outbox| {
                let name = format!(".{}.partial", a.name);
                std::fs::write(outbox.join(&org_a().cbe).join(name), "<Person").unwrap();
            }),
        ),
    ];
    for (n, (damage, make)) in damages.iter().enumerate() {
        let copy = app.path(&format!("damaged-{n}"));
        for (name, bytes) in batch.snapshot() {
            let path = copy.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        make(&copy);
        let damaged = batch.with_outbox(&copy);
        assert!(
            refuses(|| common::batch::check_outbox(&damaged.outbox, &damaged.public_key)),
            "{damage}: not caught by the checks"
        );
        if *damage != "a temporary file left" {
            let output = damaged.voucher_verify(&damaged.data_files());
            assert!(
                !output.status.success(),
                "{damage}: raas voucher verify accepts it"
            );
        }
    }
}

backend_tests!(
    the_outbox_checks_catch_a_damaged_outbox,
    a_date_run_again_makes_no_second_file,
    a_quiet_day_gives_files_with_zero_records,
    sequence_numbers_rise_by_one_a_day,
    a_future_date_is_refused,
    without_a_signing_key_nothing_is_written,
    status_tells_the_runs_and_the_last_sequences,
    a_run_catches_up_the_missing_days_in_order,
);
