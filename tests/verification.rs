//! Identity verification on registerPerson: `personData` compared with the authentic source.
//! A match registers; a mismatch is refused with the differing fields and stores nothing.

#[macro_use]
mod common;

use common::{
    fields, niss, org_a, Backend, Feed, PersonData, Request, TestApp, NISS_1, NISS_3, NISS_BIS_20,
};

/// (last name, first name, birth date, gender) as an integrator sends them.
type Claim<'a> = (&'a str, Option<&'a str>, &'a str, Option<&'a str>);

fn register(ssin: &str, claim: Claim) -> Request {
    register_for(ssin, claim, "2024-01-01..")
}

fn register_for(ssin: &str, claim: Claim, period: &str) -> Request {
    let (last_name, first_name, birth_date, gender) = claim;
    Request::register(&org_a(), ssin, "EMPLOYEE", period)
        .person_data(last_name, first_name, birth_date, gender)
}

/// A BIS number whose birth month and day are unknown (1975-00-00), Nowak Ewa.
fn incomplete_birth_date_person(app: &TestApp) -> String {
    let ssin = niss("752000", 12, false);
    app.apply_feed(&Feed::new("F-INC").new_person(&PersonData::new(&ssin, "Nowak", &["Ewa"])));
    ssin
}

fn matching_identities_are_accepted(backend: Backend) {
    let app = TestApp::start(backend);
    let incomplete = incomplete_birth_date_person(&app);
    // NISS_1: Van den Berghe Jan Pieter, 1985-07-30, M. NISS_3: Lefèvre Marie-Claire Anne,
    // 1975-06-08, F. NISS_BIS_20: Nowak Ewa, 1975-06-08, gender unknown.
    let accepted: Vec<(&str, Claim)> = vec![
        (
            NISS_1,
            ("Van den Berghe", Some("Jan"), "1985-07-30", Some("M")),
        ),
        (NISS_1, ("VANDENBERGHE", Some("pieter"), "1985-07-30", None)),
        (NISS_1, ("van den berghe", None, "1985-07-00", None)),
        (
            NISS_1,
            ("Vanden Berghe", Some("Jan Pieter"), "1985-00-00", Some("M")),
        ),
        (
            NISS_3,
            ("Lefevre", Some("Marie Claire"), "1975-06-08", Some("F")),
        ),
        (NISS_3, ("LEFÈVRE", Some("Anne"), "1975-06-08", None)),
        (
            NISS_3,
            ("Lefèvre", Some("Marie-Claire"), "1975-06-08", Some("F")),
        ),
        (NISS_BIS_20, ("Nowak", Some("Ewa"), "1975-06-08", Some("F"))),
        (&incomplete, ("Nowak", Some("Ewa"), "1975-03-14", None)),
    ];
    // Each accepted claim registers a line of its own (the first half of a year of its own,
    // so that no two lines touch), which the answer and a consultation afterwards show.
    let mut expected: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (i, (ssin, claim)) in accepted.into_iter().enumerate() {
        let year = 2001 + i;
        let period = format!("{year}-01-01..{year}-06-30");
        let answer = app.call(&register_for(ssin, claim, &period));
        assert_eq!(
            answer.http_status, 200,
            "{claim:?} refused: {}",
            answer.body
        );
        assert_eq!(
            (answer.status(), answer.status_code()),
            ("OK".to_owned(), "MSG00000".to_owned()),
            "{claim:?}: {}",
            answer.body
        );
        let lines = expected.entry(ssin).or_default();
        lines.push(format!("EMPLOYEE {period}"));
        assert_eq!(answer.lines(), *lines, "{claim:?}: {}", answer.body);
    }
    for (ssin, lines) in expected {
        let consult = app.call(&Request::consult(&org_a(), ssin)).ok();
        assert_eq!(consult.status(), "DATA_FOUND", "{ssin}");
        assert_eq!(consult.lines(), lines, "{ssin}");
    }
}

fn another_person_is_refused_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::start(backend);
    let refused: Vec<(Claim, Vec<(&str, &str)>)> = vec![
        (
            ("Van Damme", Some("Jan"), "1985-07-30", Some("M")),
            vec![("personData/lastName", "Van Damme")],
        ),
        (
            ("Van den Berghe", Some("Karel"), "1985-07-30", Some("M")),
            vec![("personData/firstName", "Karel")],
        ),
        (
            ("Van den Berghe", Some("Jan"), "1986-07-30", Some("M")),
            vec![("personData/birthDate", "1986-07-30")],
        ),
        (
            ("Van den Berghe", Some("Jan"), "1985-07-31", None),
            vec![("personData/birthDate", "1985-07-31")],
        ),
        (
            ("Van den Berghe", Some("Jan"), "1985-07-30", Some("F")),
            vec![("personData/gender", "F")],
        ),
        (
            ("Peeters", None, "1990-01-00", None),
            vec![
                ("personData/lastName", "Peeters"),
                ("personData/birthDate", "1990-01-00"),
            ],
        ),
    ];
    for (claim, expected) in refused {
        let answer = app
            .call(&register(NISS_1, claim))
            .fault("IDENTITY_MISMATCH");
        assert_eq!(answer.faultcode().as_deref(), Some("soapenv:Client"));
        assert_eq!(answer.fault_fields(), fields(&expected), "{claim:?}");
    }
    let consult = app.call(&Request::consult(&org_a(), NISS_1)).ok();
    assert_eq!(consult.status(), "NO_DATA_FOUND");
    let trail = app.audit(Some(NISS_1));
    let mismatches = trail
        .iter()
        .filter(|e| e["operation"] == "registerPerson" && e["outcome"] == "IDENTITY_MISMATCH")
        .count();
    assert_eq!(mismatches, 6);
}

fn invalid_person_data_is_refused_by_field(backend: Backend) {
    let app = TestApp::start(backend);
    let cases: Vec<(Claim, &str, (&str, &str))> = vec![
        (
            ("Van den Berghe", None, "1985-13-30", None),
            "INVALID_DATE",
            ("personData/birthDate", "1985-13-30"),
        ),
        (
            ("Van den Berghe", None, "30/07/1985", None),
            "INVALID_DATE",
            ("personData/birthDate", "30/07/1985"),
        ),
        (
            ("R2D2", None, "1985-07-30", None),
            "INVALID_FIELD",
            ("personData/lastName", "R2D2"),
        ),
        (
            ("Van den Berghe", Some(""), "1985-07-30", None),
            "INVALID_FIELD",
            ("personData/firstName", ""),
        ),
        (
            ("Van den Berghe", None, "1985-07-30", Some("X")),
            "INVALID_FIELD",
            ("personData/gender", "X"),
        ),
    ];
    for (claim, reason, field) in cases {
        let answer = app.call(&register(NISS_1, claim)).fault(reason);
        assert_eq!(answer.faultcode().as_deref(), Some("soapenv:Client"));
        assert_eq!(answer.fault_fields(), fields(&[field]), "{claim:?}");
    }
    assert_eq!(
        app.call(&Request::consult(&org_a(), NISS_1)).ok().status(),
        "NO_DATA_FOUND"
    );
}

backend_tests!(
    matching_identities_are_accepted,
    another_person_is_refused_and_nothing_is_stored,
    invalid_person_data_is_refused_by_field,
);
