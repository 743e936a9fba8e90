//! Who receives what in the daily files: a person mutation reaches exactly the subscribers
//! holding the person in a line of a subscribed dossier type whose period contains the
//! reference date; a replacement reaches every register that held the old number, whatever
//! the period, with its lines as moved and merged; Dimona declarations reach the subscribers
//! whose line overlaps the Dimona period, only while the authorisation is valid; an ended
//! subscription gets no file. Every file is checked against its XSD (xmllint) and every
//! signature with openssl, and `raas voucher verify` accepts the outbox.

#[macro_use]
mod common;

use common::batch::{
    days_after, days_before, enterprise_number, iso, today, Declaration, DimonaFile,
    DIMONA_MUTATIONS, PERSON_MUTATIONS,
};
use common::{org_a, org_b, Backend, Feed, Org, TestApp, NISS_1, NISS_2, NISS_3, NISS_BIS};
use common::{NISS_3 as Y, NISS_BIS_20 as X};

fn org_c() -> Org {
    Org::new(&enterprise_number(1), "Org C", "carol")
}

fn org_e() -> Org {
    Org::new(&enterprise_number(2), "Org E", "erin")
}

fn org_f() -> Org {
    Org::new(&enterprise_number(3), "Org F", "frank")
}

fn org_g() -> Org {
    Org::new(&enterprise_number(4), "Org G", "grace")
}

/// The seqs of a number's journal entries of the given kinds.
fn seqs(app: &TestApp, ssin: &str, kinds: &[&str]) -> Vec<i64> {
    let mut all: Vec<i64> = kinds
        .iter()
        .flat_map(|kind| app.journal_seqs(ssin, kind))
        .collect();
    all.sort();
    all
}

fn person_mutations_reach_exactly_the_registers_that_know_the_person(backend: Backend) {
    let app = TestApp::start(backend);
    let batch = app.batch();
    let d = today();
    for org in [org_c(), org_e(), org_f()] {
        app.add_org_with_types(&org, &["EMPLOYEE"]);
    }
    app.add_org_with_types(&org_g(), &["EMPLOYEE", "BENEFICIARY"]);
    // A and G: EMPLOYEE only; B, C, E, F: every type.
    app.subscribe(&org_a().cbe, PERSON_MUTATIONS, &["EMPLOYEE"], &[]);
    app.subscribe(&org_g().cbe, PERSON_MUTATIONS, &["EMPLOYEE"], &[]);
    for org in [org_b(), org_c(), org_e()] {
        app.subscribe(&org.cbe, PERSON_MUTATIONS, &[], &[]);
    }
    let f = app.subscribe(&org_f().cbe, PERSON_MUTATIONS, &[], &[]);
    // F's subscription began three days ago and ended yesterday.
    app.backdate_subscriptions(days_before(d, 3));
    app.admin(
        &[
            "subscription",
            "end",
            "--cbe",
            &org_f().cbe,
            "--id",
            &f,
            "--date",
            &iso(days_before(d, 1)),
        ],
        "",
    );

    let (a, b, e) = (org_a(), org_b(), org_e());
    app.register_line(&a, NISS_1, "EMPLOYEE", "2020-01-01..");
    app.register_line(&a, NISS_2, "BENEFICIARY", "2020-01-01..");
    app.register_line(&a, X, "EMPLOYEE", "2020-01-01..2020-06-30");
    app.register_line(&a, Y, "EMPLOYEE", "2020-07-01..2020-12-31");
    // Lines of a type A's subscription does not cover: not shown in its replacement record.
    app.register_line(&a, X, "BENEFICIARY", "2021-01-01..");
    // G holds X only in a type its subscription does not cover: no record.
    app.register_line(&org_g(), X, "BENEFICIARY", "2021-01-01..");
    app.register_line(&b, NISS_1, "EMPLOYEE", "2021-01-01..");
    app.register_line(&b, NISS_2, "EMPLOYEE", "2022-01-01..");
    app.register_line(&b, X, "EMPLOYEE", "2019-01-01..2019-12-31");
    app.register_line(&b, NISS_BIS, "EMPLOYEE", "2020-01-01..");
    // E knew NISS_1 and NISS_BIS, but no longer on D.
    app.register_line(&e, NISS_1, "EMPLOYEE", "2019-01-01..2019-12-31");
    app.register_line(&e, NISS_BIS, "EMPLOYEE", "2018-01-01..2018-12-31");
    app.register_line(&org_f(), NISS_1, "EMPLOYEE", "2020-01-01..");

    app.apply_feed(
        &Feed::new("F-ROUTE")
            .identity_change(
                NISS_1,
                "<p:lastName>Vandenberghe</p:lastName><p:firstName>Jan</p:firstName>",
            )
            .identity_change(NISS_2, "<p:lastName>Peeters-Claes</p:lastName>")
            .decease(NISS_2, "2026-11-28")
            .replacement(X, Y)
            .raw(&format!(
                r#"<cancellation id="r5"><ssin>{NISS_BIS}</ssin></cancellation>"#
            )),
    );
    let summary = batch.run_ok(d);
    assert_eq!(summary["files"], 5, "{summary}");
    assert_eq!(summary["records"], 7, "{summary}");
    batch.check_all();

    let identity_1 = "identityChange 85073003328 lastName:Van den Berghe>Vandenberghe, \
                      firstName:Jan Pieter>Jan";
    let a_file = batch.file(&a.cbe, PERSON_MUTATIONS, d);
    assert_eq!(
        a_file.texts(),
        [
            identity_1.to_owned(),
            format!("replacement {X}>{Y} EMPLOYEE moved 2020-01-01..2020-06-30 merged 2020-01-01..2020-12-31"),
        ]
    );
    let b_file = batch.file(&b.cbe, PERSON_MUTATIONS, d);
    assert_eq!(
        b_file.texts(),
        [
            identity_1.to_owned(),
            format!("identityChange {NISS_2} lastName:Peeters>Peeters-Claes"),
            format!("decease {NISS_2} 2026-11-28"),
            format!("replacement {X}>{Y} EMPLOYEE moved 2019-01-01..2019-12-31 merged 2019-01-01..2019-12-31"),
            format!("cancellation {NISS_BIS}"),
        ]
    );
    // The records carry the journal's sequence numbers.
    let changed_1 = seqs(&app, NISS_1, &["IDENTITY_CHANGED"]);
    let changed_2 = seqs(&app, NISS_2, &["IDENTITY_CHANGED"]);
    let deceased = seqs(&app, NISS_2, &["DECEASED"]);
    let replaced = seqs(&app, X, &["SSIN_REPLACED", "REGISTER_REPLACEMENT"]);
    let canceled = seqs(&app, NISS_BIS, &["SSIN_CANCELED"]);
    assert_eq!(a_file.seqs()[0], changed_1[0]);
    assert!(
        replaced.contains(&a_file.seqs()[1]),
        "{replaced:?} {:?}",
        a_file.seqs()
    );
    assert_eq!(
        b_file.seqs()[..3],
        [changed_1[0], changed_2[0], deceased[0]]
    );
    assert!(
        replaced.contains(&b_file.seqs()[3]),
        "{replaced:?} {:?}",
        b_file.seqs()
    );
    assert_eq!(b_file.seqs()[4], canceled[0]);
    // C knows nobody, E nobody on D, G nobody in EMPLOYEE: their files have no record. F
    // ended: no file.
    for org in [org_c(), e, org_g()] {
        assert_eq!(batch.file(&org.cbe, PERSON_MUTATIONS, d).records, []);
    }
    assert!(
        batch
            .snapshot()
            .keys()
            .all(|name| !name.starts_with(&org_f().cbe)),
        "the ended subscription got files: {:?}",
        batch.snapshot().keys()
    );
}

/// Organisation A receives declarations for its EMPLOYEE lines under a valid authorisation;
/// B's authorisation ended yesterday and C's starts tomorrow: files without records; E has no
/// Dimona subscription: no Dimona file.
fn dimona_declarations_reach_authorised_registers_whose_line_overlaps(backend: Backend) {
    let app = TestApp::start(backend);
    let batch = app.batch();
    let d = today();
    for org in [org_c(), org_e()] {
        app.add_org_with_types(&org, &["EMPLOYEE"]);
    }
    let a = org_a();
    app.subscribe_dimona(&a.cbe, &["EMPLOYEE"], "DELIB-A", days_before(d, 30), None);
    app.subscribe_dimona(
        &org_b().cbe,
        &[],
        "DELIB-B",
        days_before(d, 30),
        Some(days_before(d, 1)),
    );
    app.subscribe_dimona(&org_c().cbe, &[], "DELIB-C", days_after(d, 1), None);
    app.subscribe(&org_e().cbe, PERSON_MUTATIONS, &[], &[]);

    app.register_line(&a, NISS_1, "EMPLOYEE", "2020-01-01..");
    app.register_line(&a, NISS_2, "EMPLOYEE", "2020-01-01..2020-12-31");
    app.register_line(&a, NISS_3, "BENEFICIARY", "2020-01-01..");
    for org in [org_b(), org_c(), org_e()] {
        app.register_line(&org, NISS_1, "EMPLOYEE", "2020-01-01..");
    }

    let start = iso(days_before(d, 5));
    let in_1 = Declaration::entry(100_001, NISS_1, &start, None);
    let late_2 = Declaration::entry(100_002, NISS_2, "2026-11-01", Some("2026-11-30"));
    let in_2 = Declaration::entry(100_003, NISS_2, "2020-06-01", Some("2020-08-31"));
    let other_type = Declaration::entry(100_004, NISS_3, &start, None);
    let out_1 = in_1.with_kind("OUT", Some(&iso(days_before(d, 1))));
    app.apply_dimona(&DimonaFile::new(
        "DIM-1",
        &[in_1.clone(), late_2, in_2.clone(), other_type],
    ));
    app.apply_dimona(&DimonaFile::new("DIM-2", std::slice::from_ref(&out_1)));

    batch.run_ok(d);
    batch.check_all();
    let a_file = batch.file(&a.cbe, DIMONA_MUTATIONS, d);
    assert_eq!(
        a_file.texts(),
        [in_1.described(), in_2.described(), out_1.described()]
    );
    for org in [org_b(), org_c()] {
        assert_eq!(batch.file(&org.cbe, DIMONA_MUTATIONS, d).records, []);
    }
    let e_files = batch.files_of(&org_e().cbe);
    assert_eq!(
        e_files
            .iter()
            .map(|f| f.file_type.as_str())
            .collect::<Vec<_>>(),
        [PERSON_MUTATIONS]
    );
    assert_eq!(e_files[0].records, []);
    // A has no PERSON_MUTATIONS subscription: its folder holds its Dimona file only.
    assert_eq!(batch.files_of(&a.cbe).len(), 1);
}

backend_tests!(
    person_mutations_reach_exactly_the_registers_that_know_the_person,
    dimona_declarations_reach_authorised_registers_whose_line_overlaps,
);
