//! The phonetic search's matching, black-box through `raas search --json`: among a small
//! generated population, every spelling variant of DOMAIN.md §8 finds its twin first, a
//! first name may be an initial or the names come in any order, and the date's slips are
//! near. On SQLite and PostgreSQL.

#[macro_use]
mod common;

use common::{niss, Backend, PersonData, TestApp};

/// The population's day: the §8 persons are born after it, so no generated number can be
/// theirs.
const GENERATED_AT: &str = "2025-06-15T10:00:00Z";

/// One stored person per variant group of DOMAIN.md §8, and the spellings that must find it.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "Vandenberghe",
        &[
            "Van den Berghe",
            "Vanden Berghe",
            "VAN DEN BERGHE",
            "Berghe",
        ],
    ),
    ("De Smedt", &["De Smet", "Desmet", "Desmedt"]),
    ("D'Hondt", &["Dhondt", "D Hondt", "d'hondt"]),
    ("Claeys", &["Claes"]),
    ("Pieters", &["Peeters"]),
    ("Maertens", &["Mertens", "Martens"]),
    ("Hendrikx", &["Hendrickx", "Hendriks"]),
    ("Lefèvre", &["Lefebvre", "Lefevre", "LEFÈVRE"]),
    ("De Schryver", &["De Schrijver", "Deschrijver"]),
    ("Müller", &["Mueller", "Muller"]),
    (
        "Peeters-Janssens",
        &["Peeters", "Janssens", "Peeters Janssens"],
    ),
];

struct Searched {
    ssin: String,
    score: u64,
}

fn search(app: &TestApp, args: &[&str]) -> Vec<Searched> {
    let output = app.run(
        &[&["search", "--operator", "matching-test", "--json"], args].concat(),
        "",
    );
    assert!(
        output.status.success(),
        "raas search {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("one JSON object a line");
            Searched {
                ssin: v["ssin"].as_str().expect("a number").to_string(),
                score: v["score"].as_u64().expect("a score"),
            }
        })
        .collect()
}

/// A population of 3 000 generated persons, then the §8 persons through a feed: person
/// `i` born on 2025-11-(i+1), first names Jan Marie.
fn app_with_variants(backend: Backend) -> (TestApp, Vec<PersonData>) {
    let app = TestApp::empty(backend);
    let file = app.path("population.xml");
    let file = file.to_str().expect("UTF-8 path");
    let generated = app
        .command()
        .env("RAAS_GENERATED_AT", GENERATED_AT)
        .args([
            "generate",
            "population",
            "--persons",
            "3000",
            "--seed",
            "5",
            "--output",
            file,
        ])
        .output()
        .expect("the binary runs");
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let imported = app.run(&["import", "persons", "--quiet", file], "");
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let persons: Vec<PersonData> = GROUPS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let ssin = niss(&format!("2511{:02}", i + 1), 1, true);
            PersonData::new(&ssin, name, &["Jan", "Marie"])
        })
        .collect();
    let feed = persons
        .iter()
        .fold(common::Feed::new("VARIANTS"), |feed, p| feed.new_person(p));
    app.apply_feed(&feed);
    (app, persons)
}

fn every_variant_finds_its_twin_first(backend: Backend) {
    let (app, persons) = app_with_variants(backend);
    for ((stored, variants), person) in GROUPS.iter().zip(&persons) {
        for asked in variants.iter().chain([stored]) {
            for first in [None, Some("Jan"), Some("J."), Some("Marie Jan")] {
                let mut args = vec!["--last-name", asked, "--birth-date", &person.birth_date];
                if let Some(first) = first {
                    args.extend(["--first-name", first]);
                }
                let found = search(&app, &args);
                assert_eq!(
                    found.first().map(|c| c.ssin.as_str()),
                    Some(person.ssin.as_str()),
                    "{asked} {first:?} must find {stored} first"
                );
            }
        }
    }
}

fn slips_of_the_date_are_near(backend: Backend) {
    let (app, persons) = app_with_variants(backend);
    // Pieters, born 2025-11-05.
    let pieters = &persons[4];
    for (date, tolerance) in [
        ("2025-05-11", None),
        ("2024-11-05", None),
        ("2026-11-05", None),
        ("2025-11-08", Some("3")),
        ("2025-11-00", Some("0")),
        ("2025-00-00", Some("1")),
    ] {
        let mut args = vec![
            "--last-name",
            "Peeters",
            "--first-name",
            "Jan",
            "--birth-date",
            date,
        ];
        if let Some(t) = tolerance {
            args.extend(["--tolerance", t]);
        }
        let found = search(&app, &args);
        let first = found.first().expect("a candidate");
        assert_eq!(first.ssin, pieters.ssin, "{date} {tolerance:?}");
        assert!(first.score >= 80, "{date}: {}", first.score);
    }
    // A date far off without tolerance finds nobody.
    assert!(search(
        &app,
        &[
            "--last-name",
            "Peeters",
            "--first-name",
            "Jan",
            "--birth-date",
            "2025-08-20"
        ]
    )
    .iter()
    .all(|c| c.ssin != pieters.ssin));
}

backend_tests!(
    every_variant_finds_its_twin_first,
    slips_of_the_date_are_near
);
