//! The authentic-source feed (`raas import nr-mutations`) and what the registers see of it:
//! unknown and replaced numbers refused, replacements moving lines in every register with
//! merges and chains, canceled numbers refused, files applied whole or not at all, and only
//! once, while a server serves.

#[macro_use]
mod common;

use common::{
    fields, niss, org_a, org_b, Backend, Feed, PersonData, Request, TestApp, NISS_1, NISS_3,
    NISS_BIS, NISS_BIS_20,
};

fn lines(app: &TestApp, org: &common::Org, ssin: &str) -> Vec<String> {
    app.call(&Request::consult(org, ssin)).ok().lines()
}

fn register(app: &TestApp, org: &common::Org, ssin: &str, code: &str, period: &str) {
    app.call(&Request::register(org, ssin, code, period)).ok();
}

/// `raas admin history --ssin N`, one JSON object a line.
fn history(app: &TestApp, ssin: &str) -> Vec<serde_json::Value> {
    app.admin(&["history", "--ssin", ssin], "")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn a_number_unknown_to_the_source_is_refused(backend: Backend) {
    let app = TestApp::start(backend);
    let unknown = niss("600101", 123, false);
    for request in [
        Request::register(&org_a(), &unknown, "EMPLOYEE", "2024-01-01.."),
        Request::unregister(&org_a(), &unknown, "EMPLOYEE", None),
        Request::consult(&org_a(), &unknown),
    ] {
        let answer = app.call(&request).fault("SSIN_UNKNOWN");
        assert_eq!(answer.fault_fields(), fields(&[("ssin", &unknown)]));
    }
    // Known once the source says so.
    app.apply_feed(&Feed::new("F-NEW").new_person(&PersonData::new(&unknown, "Jacobs", &["Eva"])));
    register(&app, &org_a(), &unknown, "EMPLOYEE", "2024-01-01..");
}

/// X (a BIS number) is replaced by Y: org A's EMPLOYEE lines of X and Y touch and merge,
/// its BENEFICIARY line of X moves, org B's line of X moves; X is refused from then on,
/// naming Y.
fn a_replacement_moves_every_register_and_merges(backend: Backend) {
    let app = TestApp::start(backend);
    let (x, y) = (NISS_BIS_20, NISS_3);
    register(&app, &org_a(), x, "EMPLOYEE", "2020-01-01..2020-06-30");
    register(&app, &org_a(), y, "EMPLOYEE", "2020-07-01..2020-12-31");
    register(&app, &org_a(), y, "EMPLOYEE", "2022-01-01..2022-12-31");
    register(&app, &org_a(), x, "BENEFICIARY", "2021-01-01..");
    register(&app, &org_b(), x, "EMPLOYEE", "2019-01-01..2019-12-31");
    let out = app.apply_feed(&Feed::new("F-REPL").replacement(x, y));
    assert!(
        out.contains("1 replacements (3 register lines moved, 2 registers changed)"),
        "{out}"
    );
    // The journal: the number replaced, then one entry per organisation whose register
    // changed, all from the record that did it.
    let entries = history(&app, x);
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "PERSON_CREATED",
            "SSIN_REPLACED",
            "REGISTER_REPLACEMENT",
            "REGISTER_REPLACEMENT"
        ]
    );
    for entry in &entries[1..] {
        assert_eq!(entry["source"], "nr-mutations:F-REPL:r1");
        assert_eq!(entry["newSsin"], y);
    }
    assert!(entries[1]["organisationId"].is_null());
    let organisations: std::collections::BTreeSet<i64> = entries[2..]
        .iter()
        .map(|e| e["organisationId"].as_i64().expect("an organisation"))
        .collect();
    assert_eq!(organisations.len(), 2, "{entries:?}");

    assert_eq!(
        lines(&app, &org_a(), y),
        [
            "BENEFICIARY 2021-01-01..",
            "EMPLOYEE 2020-01-01..2020-12-31",
            "EMPLOYEE 2022-01-01..2022-12-31",
        ]
    );
    assert_eq!(
        lines(&app, &org_b(), y),
        ["EMPLOYEE 2019-01-01..2019-12-31"]
    );
    for request in [
        Request::consult(&org_a(), x),
        Request::consult(&org_b(), x),
        Request::register(&org_a(), x, "EMPLOYEE", "2024-01-01.."),
        Request::unregister(&org_a(), x, "EMPLOYEE", None),
    ] {
        let answer = app.call(&request).fault("SSIN_REPLACED");
        assert_eq!(
            answer.fault_fields(),
            fields(&[("ssin", x), ("replacedBy", y)])
        );
    }
}

/// A→B in one file, B→C in a later one: A's and B's lines end on C, and A names C.
fn a_chain_of_replacements_resolves_to_the_final_number(backend: Backend) {
    let app = TestApp::start(backend);
    let (a, b, c) = (NISS_BIS, NISS_BIS_20, NISS_1);
    register(&app, &org_a(), a, "EMPLOYEE", "2020-01-01..2020-03-31");
    register(&app, &org_a(), b, "EMPLOYEE", "2020-04-01..2020-04-30");
    register(&app, &org_a(), c, "EMPLOYEE", "2021-01-01..");
    app.apply_feed(&Feed::new("F-AB").replacement(a, b));
    let history = app.admin(&["history", "--ssin", a], "");
    assert!(
        history.contains(r#""kind":"SSIN_REPLACED""#)
            && history.contains(r#""kind":"REGISTER_REPLACEMENT""#),
        "{history}"
    );
    assert_eq!(
        lines(&app, &org_a(), b),
        ["EMPLOYEE 2020-01-01..2020-04-30"]
    );
    app.apply_feed(&Feed::new("F-BC").replacement(b, c));
    assert_eq!(
        lines(&app, &org_a(), c),
        ["EMPLOYEE 2020-01-01..2020-04-30", "EMPLOYEE 2021-01-01.."]
    );
    for old in [a, b] {
        let answer = app
            .call(&Request::consult(&org_a(), old))
            .fault("SSIN_REPLACED");
        assert_eq!(
            answer.fault_fields(),
            fields(&[("ssin", old), ("replacedBy", c)])
        );
    }
    // A canceled number can be replaced no more, nor replace another.
    let refused = app.import_feed(&Feed::new("F-CA").replacement(c, a));
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains(&format!(
            "record r1 (#1): the NISS {a} is canceled, replaced by {c}"
        )),
        "{message}"
    );
}

fn a_file_is_applied_once(backend: Backend) {
    let app = TestApp::start(backend);
    let z = niss("700101", 33, false);
    let feed = Feed::new("F-ONCE")
        .new_person(&PersonData::new(&z, "Maes", &["Tom"]))
        .replacement(NISS_BIS, &z);
    register(&app, &org_a(), NISS_BIS, "EMPLOYEE", "2020-01-01..");
    let first = app.apply_feed(&feed);
    assert!(first.contains("F-ONCE: applied 2 records"), "{first}");
    register(&app, &org_a(), &z, "BENEFICIARY", "2024-01-01..");
    let again = app.apply_feed(&feed);
    assert_eq!(again.trim(), "F-ONCE: already applied, nothing changed");
    assert_eq!(
        lines(&app, &org_a(), &z),
        ["BENEFICIARY 2024-01-01..", "EMPLOYEE 2020-01-01.."]
    );
    // The same identifier with another content is refused.
    let other = Feed::new("F-ONCE").new_person(&PersonData::new(
        &niss("700101", 35, false),
        "Maes",
        &["Bob"],
    ));
    let refused = app.import_feed(&other);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("already applied with another content")
    );
}

/// A refused record refuses the whole file: the persons created, identities changed and lines
/// moved before it in the file are as they were afterwards, in every table.
fn a_file_with_an_error_is_refused_whole(backend: Backend) {
    let app = TestApp::start(backend);
    let p = niss("800202", 41, false);
    let unknown = niss("800202", 43, false);
    let cases: Vec<(Feed, String)> = vec![
        (
            Feed::new("F-ERR1")
                .new_person(&PersonData::new(&p, "Wouters", &["An"]))
                .identity_change(&unknown, "<p:lastName>Janssens</p:lastName>"),
            format!("record r2 (#2): the NISS {unknown} is unknown to the source"),
        ),
        (
            Feed::new("F-ERR2")
                .new_person(&PersonData::new(&p, "Wouters", &["An"]))
                .raw(r#"<decease id="bad-date"><ssin>85073003328</ssin><deceaseDate>2024-13-01</deceaseDate></decease>"#),
            "record bad-date (#2): deceaseDate".into(),
        ),
        (
            Feed::new("F-ERR3")
                .new_person(&PersonData::new(&p, "Wouters", &["An"]))
                .new_person(&PersonData::new(&p, "Wouters", &["An"])),
            format!("record r2 (#2): the NISS {p} is already known"),
        ),
        (
            Feed::new("F-ERR4")
                .new_person(&PersonData::new(&p, "Wouters", &["An"]))
                .raw(r#"<replacement id="r2"><oldSsin>85073003329</oldSsin><newSsin>85073003328</newSsin></replacement>"#),
            "record r2 (#2): oldSsin".into(),
        ),
    ];
    for (feed, expected) in cases {
        let output = app.import_feed(&feed);
        assert!(!output.status.success());
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains("nothing was applied"), "{message}");
        assert!(
            message.contains(&expected),
            "expected {expected:?} in {message}"
        );
        app.call(&Request::consult(&org_a(), &p))
            .fault("SSIN_UNKNOWN");
    }
    // A file that would change identities and move lines in two organisations before its
    // failing record leaves every table as it was; corrected, it applies under the same fileId.
    let (x, y) = (NISS_BIS_20, NISS_3);
    register(&app, &org_a(), x, "EMPLOYEE", "2020-01-01..2020-06-30");
    register(&app, &org_b(), x, "EMPLOYEE", "2019-01-01..2019-12-31");
    register(&app, &org_a(), y, "BENEFICIARY", "2021-01-01..");
    let before = app.source_tables();
    let corrected = Feed::new("F-WHOLE")
        .new_person(&PersonData::new(&p, "Wouters", &["An"]))
        .identity_change(NISS_1, "<p:lastName>Vandenberghe</p:lastName>")
        .decease(NISS_BIS, "2026-01-00")
        .replacement(x, y);
    let failing = corrected
        .clone()
        .identity_change(&unknown, "<p:lastName>Janssens</p:lastName>");
    let output = app.import_feed(&failing);
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains(&format!(
            "record r5 (#5): the NISS {unknown} is unknown to the source"
        )),
        "{message}"
    );
    assert_eq!(app.source_tables(), before);
    assert_eq!(
        lines(&app, &org_b(), x),
        ["EMPLOYEE 2019-01-01..2019-12-31"]
    );
    let out = app.apply_feed(&corrected);
    assert!(
        out.contains("F-WHOLE: applied 4 records: 1 new persons, 1 identity changes, 1 deceases, 1 replacements (2 register lines moved, 2 registers changed)"),
        "{out}"
    );
    let after = app.source_tables();
    assert_eq!(after.applied_files.len(), before.applied_files.len() + 1);
    assert_eq!(after.journal.len(), before.journal.len() + 6);
    assert_eq!(
        lines(&app, &org_a(), y),
        [
            "BENEFICIARY 2021-01-01..",
            "EMPLOYEE 2020-01-01..2020-06-30"
        ]
    );
    assert_eq!(
        lines(&app, &org_b(), y),
        ["EMPLOYEE 2019-01-01..2019-12-31"]
    );

    // Malformed XML and a foreign root are refused too.
    for body in [
        "<nrMutations",
        r#"<population xmlns="urn:be:raas:types:Population:v1"/>"#,
    ] {
        let path = app.path("bad.xml");
        std::fs::write(&path, body).unwrap();
        let output = app.run(&["import", "nr-mutations", path.to_str().unwrap()], "");
        assert!(!output.status.success(), "{body} accepted");
    }
}

fn identity_changes_and_deceases_leave_registers_alone(backend: Backend) {
    let app = TestApp::start(backend);
    register(&app, &org_a(), NISS_1, "EMPLOYEE", "2020-01-01..");
    let out = app.apply_feed(
        &Feed::new("F-ID")
            .identity_change(NISS_1, "<p:lastName>Vandenberghe</p:lastName>")
            .identity_change(NISS_1, "<p:lastName>Vandenberghe</p:lastName>")
            .decease(NISS_1, "2026-01-00"),
    );
    // The second change changes nothing.
    assert!(out.contains("1 identity changes, 1 deceases"), "{out}");
    assert_eq!(lines(&app, &org_a(), NISS_1), ["EMPLOYEE 2020-01-01.."]);
    let future = app.import_feed(&Feed::new("F-FUT").decease(NISS_1, "2099-01-01"));
    assert!(String::from_utf8_lossy(&future.stderr).contains("is in the future"));

    // The history: what changed, when, from which source; reading it is audited.
    let history: Vec<serde_json::Value> = app
        .admin(&["history", "--ssin", NISS_1], "")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = history
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["PERSON_CREATED", "IDENTITY_CHANGED", "DECEASED"]);
    assert_eq!(history[1]["source"], "nr-mutations:F-ID:r1");
    assert_eq!(
        history[1]["changes"],
        serde_json::json!([{"field": "lastName", "before": "Van den Berghe", "after": "Vandenberghe"}])
    );
    assert_eq!(history[2]["changes"][0]["after"], "2026-01-00");
    assert!(history
        .windows(2)
        .all(|w| w[0]["seq"].as_i64() < w[1]["seq"].as_i64()));
    let trail = app.audit(Some(NISS_1));
    assert_eq!(
        (trail[0]["service"].as_str(), trail[0]["operation"].as_str()),
        (Some("raas-admin"), Some("history"))
    );
}

/// The documented example feed (tests/zeep/examples/NrMutations/feed.xml, checked against
/// the XSD by CI) applies to an empty source.
fn the_example_feed_applies(backend: Backend) {
    let app = TestApp::empty(backend);
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/zeep/examples/NrMutations/feed.xml"
    );
    let output = app.run(&["import", "nr-mutations", example], "");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        out.contains(
            "applied 7 records: 3 new persons, 1 identity changes, 1 deceases, 1 replacements (0 register lines moved, 0 registers changed), 1 cancellations"
        ),
        "{out}"
    );
}

/// Registrations racing a replacement: each one either commits before it (and its line is
/// moved) or is refused naming the new number. No line is lost or left on the old number.
/// Every client registers until it is refused, so both outcomes occur in every run.
fn registrations_racing_a_replacement_lose_nothing(backend: Backend) {
    let app = TestApp::start(backend);
    let (x, y) = (NISS_BIS_20, NISS_3);
    const PER_CLIENT: u64 = 500;
    let accepted = std::sync::Mutex::new(Vec::new());
    let refused = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for client in 0..4 {
            let (app, accepted, refused) = (&app, &accepted, &refused);
            scope.spawn(move || {
                for i in 0..PER_CLIENT {
                    // One day a request, two days apart: no two lines merge.
                    let day = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()
                        + chrono::Days::new(2 * (client * PER_CLIENT + i));
                    let period = format!("{day}..{day}");
                    let answer = app.call(&Request::register(&org_a(), x, "EMPLOYEE", &period));
                    match answer.reason_code().as_deref() {
                        None => accepted.lock().unwrap().push(format!("EMPLOYEE {period}")),
                        Some("SSIN_REPLACED") => {
                            assert_eq!(
                                answer.fault_fields(),
                                fields(&[("ssin", x), ("replacedBy", y)])
                            );
                            refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            return;
                        }
                        Some(other) => panic!("unexpected {other}: {}", answer.body),
                    }
                }
            });
        }
        // The replacement lands once registrations are flowing.
        scope.spawn(|| {
            while accepted.lock().unwrap().len() < 8 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            app.apply_feed(&Feed::new("F-RACE").replacement(x, y));
        });
    });
    let mut expected = accepted.into_inner().unwrap();
    // Both outcomes: registrations committed before the replacement (their lines moved), and
    // every client refused after it.
    assert!(expected.len() >= 8, "{}", expected.len());
    assert_eq!(refused.into_inner(), 4, "a client was never refused");
    assert!(expected.len() < 4 * PER_CLIENT as usize);
    expected.sort();
    assert_eq!(lines(&app, &org_a(), y), expected);
    app.call(&Request::consult(&org_a(), x))
        .fault("SSIN_REPLACED");
}

/// A number canceled without a replacement: its lines stay, every register operation on it
/// answers SSIN_CANCELED naming it, and the journal says who canceled it.
fn a_canceled_number_is_refused(backend: Backend) {
    let app = TestApp::start(backend);
    register(&app, &org_a(), NISS_1, "EMPLOYEE", "2020-01-01..");
    let out = app.apply_feed(&Feed::new("F-CANCEL").raw(&format!(
        r#"<cancellation id="c1"><ssin>{NISS_1}</ssin></cancellation>"#
    )));
    assert!(
        out.contains("applied 1 records") && out.contains("1 cancellations"),
        "{out}"
    );
    for request in [
        Request::register(&org_a(), NISS_1, "EMPLOYEE", "2024-01-01.."),
        Request::register(&org_a(), NISS_1, "BENEFICIARY", "2024-01-01.."),
        Request::unregister(&org_a(), NISS_1, "EMPLOYEE", None),
        Request::consult(&org_a(), NISS_1),
        Request::consult(&org_b(), NISS_1),
    ] {
        let answer = app.call(&request).fault("SSIN_CANCELED");
        assert_eq!(answer.fault_fields(), fields(&[("ssin", NISS_1)]));
    }
    let entries = history(&app, NISS_1);
    let last = entries.last().expect("entries");
    assert_eq!(last["kind"], "SSIN_CANCELED");
    assert_eq!(last["source"], "nr-mutations:F-CANCEL:c1");
    assert!(last["newSsin"].is_null());
    // A canceled number can neither replace another nor change.
    for (feed, expected) in [
        (
            Feed::new("F-C2").replacement(NISS_3, NISS_1),
            format!("record r1 (#1): the NISS {NISS_1} is canceled"),
        ),
        (
            Feed::new("F-C3").identity_change(NISS_1, "<p:lastName>X</p:lastName>"),
            format!("record r1 (#1): the NISS {NISS_1} is canceled"),
        ),
    ] {
        let refused = app.import_feed(&feed);
        assert!(!refused.status.success());
        let message = String::from_utf8_lossy(&refused.stderr);
        assert!(message.contains(&expected), "{message}");
    }
    // An unknown number cannot be canceled.
    let unknown = niss("600101", 123, false);
    let refused = app.import_feed(&Feed::new("F-C4").raw(&format!(
        r#"<cancellation id="c1"><ssin>{unknown}</ssin></cancellation>"#
    )));
    assert!(String::from_utf8_lossy(&refused.stderr).contains(&format!(
        "record c1 (#1): the NISS {unknown} is unknown to the source"
    )));
}

/// A feed applied while the server serves: registrations of numbers the feed touches wait
/// for it (or come before it) and all succeed; the feed's persons are there after.
fn a_feed_applies_while_the_server_serves(backend: Backend) {
    let app = TestApp::start(backend);
    let file = app.path("generated.xml");
    let generated = app
        .command()
        .env("RAAS_GENERATED_AT", "2026-11-21T06:00:00Z")
        .args([
            "generate",
            "nr-mutations",
            "--records",
            "1000",
            "--seed",
            "5",
        ])
        .args(["-o", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(generated.status.success(), "{generated:?}");
    let done = std::sync::atomic::AtomicBool::new(false);
    let answered = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let feed = scope.spawn(|| {
            let output = app.run(&["import", "nr-mutations", file.to_str().unwrap()], "");
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            output
        });
        for (client, ssin) in [NISS_1, NISS_3].into_iter().enumerate() {
            let (app, done, answered) = (&app, &done, &answered);
            scope.spawn(move || {
                let mut i = 0u64;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let day = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()
                        + chrono::Days::new(2 * (client as u64 * 10_000 + i));
                    let period = format!("{day}..{day}");
                    app.call(&Request::register(&org_a(), ssin, "EMPLOYEE", &period))
                        .ok();
                    answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    i += 1;
                }
            });
        }
        let output = feed.join().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("applied 1000 records"));
    });
    assert!(answered.into_inner() > 0);
    let tables = app.source_tables();
    assert!(tables.persons.len() > 600);
    app.call(&Request::consult(&org_a(), NISS_1)).ok();
}

backend_tests!(
    registrations_racing_a_replacement_lose_nothing,
    a_canceled_number_is_refused,
    a_feed_applies_while_the_server_serves,
    the_example_feed_applies,
    a_number_unknown_to_the_source_is_refused,
    a_replacement_moves_every_register_and_merges,
    a_chain_of_replacements_resolves_to_the_final_number,
    a_file_is_applied_once,
    a_file_with_an_error_is_refused_whole,
    identity_changes_and_deceases_leave_registers_alone,
);
