//! `raas generate population`, through the real binary: determinism, the schema, the
//! numbers, and whether the population looks Belgian.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{Datelike, NaiveDate};
use quick_xml::events::Event;
use quick_xml::Reader;
use raas::domain::{Gender, IncompleteDate, Niss, NissKind};

const CREATED_AT: &str = "2025-06-15T10:00:00Z";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 15).expect("valid date")
}

fn raas(args: &[&str], created_at: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_raas"));
    command.args(args);
    match created_at {
        Some(at) => command.env("RAAS_GENERATED_AT", at),
        None => command.env_remove("RAAS_GENERATED_AT"),
    };
    command.output().expect("the binary runs")
}

/// Generates a population file in `dir` and returns its path.
fn generate(dir: &Path, persons: u64, seed: u64) -> PathBuf {
    let path = dir.join(format!("population-{persons}-{seed}.xml"));
    let output = raas(
        &[
            "generate",
            "population",
            "--persons",
            &persons.to_string(),
            "--seed",
            &seed.to_string(),
            "--output",
            path.to_str().expect("UTF-8 path"),
        ],
        Some(CREATED_AT),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    path
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let a = std::fs::read(generate(dir.path(), 3_000, 11)).expect("file");
    let other_dir = tempfile::tempdir().expect("temporary directory");
    let b = std::fs::read(generate(other_dir.path(), 3_000, 11)).expect("file");
    let c = std::fs::read(generate(dir.path(), 3_000, 12)).expect("file");
    assert_eq!(a, b, "same persons, seed and createdAt: identical files");
    assert_ne!(a, c, "another seed gives another population");

    // Standard output gives the same bytes.
    let stdout = raas(
        &[
            "generate",
            "population",
            "--persons",
            "3000",
            "--seed",
            "11",
        ],
        Some(CREATED_AT),
    );
    assert!(stdout.status.success());
    assert_eq!(stdout.stdout, a);

    let text = String::from_utf8(a).expect("UTF-8");
    assert!(text.contains(r#"createdAt="2025-06-15T10:00:00Z" seed="11""#));
    assert!(text.contains(r#"source="raas generate population""#));
}

#[test]
fn created_at_defaults_to_now_and_must_be_rfc_3339() {
    let now = raas(&["generate", "population", "--persons", "1"], None);
    assert!(now.status.success());
    let text = String::from_utf8(now.stdout).expect("UTF-8");
    // Now: this year (or the last one, just after midnight on New Year's Eve).
    let year = chrono::Utc::now().year();
    assert!(
        [year, year - 1]
            .iter()
            .any(|y| text.contains(&format!("createdAt=\"{y}-"))),
        "{text}"
    );

    let bad = raas(
        &["generate", "population", "--persons", "1"],
        Some("15/06/2025"),
    );
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("RAAS_GENERATED_AT"), "{stderr}");
}

#[test]
fn refuses_more_persons_than_the_numbering_scheme_holds() {
    let output = raas(
        &["generate", "population", "--persons", "500000000"],
        Some(CREATED_AT),
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("exceed the capacity"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn the_file_validates_against_the_schema() {
    let available = Command::new("xmllint")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !available {
        // In CI nothing may skip (the same rule as tests/common/db.rs `skips_forbidden`).
        let ci = ["CI", "REQUIRE_POSTGRES"]
            .iter()
            .any(|name| std::env::var(name).is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false")));
        assert!(
            !ci,
            "xmllint is not installed (Debian package libxml2-utils), and CI is set: \
             the schema validation may not be skipped"
        );
        eprintln!("SKIPPED: xmllint is not installed, the schema validation did not run");
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = generate(dir.path(), 5_000, 3);
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/xsd/Population.xsd");
    let output = Command::new("xmllint")
        .args(["--noout", "--schema", schema])
        .arg(&path)
        .output()
        .expect("xmllint runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One person of the file, as text.
#[derive(Debug, Default, Clone)]
struct Record {
    ssin: String,
    last_name: String,
    first_names: Vec<String>,
    birth_date: String,
    gender: Option<String>,
    nationality: Option<String>,
    birth_place: Option<String>,
    street: Option<String>,
    house_number: Option<String>,
    postal_code: Option<String>,
    municipality: Option<String>,
    country: Option<String>,
    decease_date: Option<String>,
}

/// Reads the persons of a population file (streaming, with quick-xml).
fn read_population(path: &Path) -> Vec<Record> {
    let text = std::fs::read_to_string(path).expect("UTF-8 file");
    let mut reader = Reader::from_str(&text);
    let mut records = Vec::new();
    let mut record = Record::default();
    let mut value = String::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(_) => value.clear(),
            Event::Text(text) => value.push_str(&text.xml10_content()),
            Event::GeneralRef(reference) => {
                let name = reference.xml10_content();
                value.push_str(
                    quick_xml::escape::resolve_predefined_entity(&name).expect("predefined"),
                );
            }
            Event::End(end) => {
                let v = std::mem::take(&mut value);
                let name = end.local_name();
                match name.as_ref() {
                    "ssin" => record.ssin = v,
                    "lastName" => record.last_name = v,
                    "firstName" => record.first_names.push(v),
                    "birthDate" => record.birth_date = v,
                    "gender" => record.gender = Some(v),
                    "nationality" => record.nationality = Some(v),
                    "birthPlace" => record.birth_place = Some(v),
                    "street" => record.street = Some(v),
                    "houseNumber" => record.house_number = Some(v),
                    "postalCode" => record.postal_code = Some(v),
                    "municipality" => record.municipality = Some(v),
                    "country" => record.country = Some(v),
                    "deceaseDate" => record.decease_date = Some(v),
                    "person" => records.push(std::mem::take(&mut record)),
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    records
}

fn share(count: usize, of: usize) -> f64 {
    count as f64 / of as f64
}

#[test]
fn numbers_are_valid_unique_ascending_and_agree_with_the_identity() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let persons = read_population(&generate(dir.path(), 20_000, 5));
    assert_eq!(persons.len(), 20_000);
    let mut previous = String::new();
    for person in &persons {
        let niss =
            Niss::parse(&person.ssin, today()).unwrap_or_else(|e| panic!("{}: {e}", person.ssin));
        assert!(person.ssin > previous, "{} after {previous}", person.ssin);
        previous.clone_from(&person.ssin);
        let birth = IncompleteDate::parse(&person.birth_date).expect("birth date");
        assert_eq!(niss.birth_date(), Some(birth), "{}", person.ssin);
        assert_eq!(
            niss.gender().map(|g| g.as_str().to_string()),
            person.gender,
            "{}",
            person.ssin
        );
        assert!((1..=998).contains(&niss.serial()));
        if niss.kind() == NissKind::Rn {
            assert!(birth.to_date().is_some(), "{}", person.ssin);
        }
        if let Some(decease) = &person.decease_date {
            let decease = IncompleteDate::parse(decease).expect("decease date");
            assert!(
                decease > birth && !decease.is_after(today()),
                "{}",
                person.ssin
            );
        }
        assert!(!person.first_names.is_empty() && person.first_names.len() <= 3);
        if let Some(code) = &person.postal_code {
            let code: u16 = code.parse().expect("4 digits");
            assert!((1000..=9992).contains(&code));
            assert_eq!(person.country.as_deref(), Some("BE"));
            assert!(person.street.is_some() && person.house_number.is_some());
            assert!(person.municipality.is_some());
        }
    }
}

#[test]
fn the_population_looks_belgian() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let persons = read_population(&generate(dir.path(), 20_000, 8));
    let n = persons.len();
    let niss: Vec<Niss> = persons
        .iter()
        .map(|p| Niss::parse(&p.ssin, today()).expect("valid"))
        .collect();
    let count = |f: &dyn Fn(usize) -> bool| (0..n).filter(|&i| f(i)).count();

    // Numbers: ~4 % BCSS numbers, a quarter of them without gender; a few incomplete dates.
    let bcss = count(&|i| niss[i].kind() != NissKind::Rn);
    assert!((0.025..0.06).contains(&share(bcss, n)), "BCSS {bcss}");
    let without_gender = count(&|i| niss[i].kind() == NissKind::Bis);
    assert!(
        without_gender > 0 && without_gender < bcss / 2,
        "{without_gender}"
    );
    assert!(count(&|i| persons[i].gender.is_none()) == without_gender);
    let incomplete = count(&|i| persons[i].birth_date.contains("-00"));
    assert!(
        incomplete > 10 && incomplete < bcss / 4,
        "incomplete {incomplete}"
    );

    // Gender balance.
    let men = count(&|i| niss[i].gender() == Some(Gender::Male));
    let gendered = n - without_gender;
    assert!((0.46..0.53).contains(&share(men, gendered)), "men {men}");

    // Ages: 0 to ~105, Belgian-like.
    let age = |i: usize| today().year() - niss[i].birth_date().expect("dated").year();
    assert!((0..n).all(|i| (0..=106).contains(&age(i))));
    let minors = count(&|i| age(i) < 18);
    let seniors = count(&|i| age(i) >= 65);
    assert!((0.14..0.24).contains(&share(minors, n)), "minors {minors}");
    assert!((0.15..0.30).contains(&share(seniors, n)), "65+ {seniors}");
    assert!(count(&|i| age(i) >= 95) > 0);

    // Deceased: 5–8 %, mostly old.
    let deceased: Vec<usize> = (0..n)
        .filter(|&i| persons[i].decease_date.is_some())
        .collect();
    assert!(
        (0.045..0.085).contains(&share(deceased.len(), n)),
        "{}",
        deceased.len()
    );
    let old_deceased = deceased.iter().filter(|&&i| age(i) >= 65).count();
    assert!(share(old_deceased, deceased.len()) > 0.75, "{old_deceased}");

    // Nationalities: mostly Belgian, BCSS number holders mostly not.
    let belgians = count(&|i| persons[i].nationality.as_deref() == Some("BE"));
    assert!((0.83..0.91).contains(&share(belgians, n)), "BE {belgians}");
    let bcss_belgians = count(&|i| {
        niss[i].kind() != NissKind::Rn && persons[i].nationality.as_deref() == Some("BE")
    });
    assert!(share(bcss_belgians, bcss) < 0.25, "{bcss_belgians}");
    for code in ["NL", "FR", "IT", "MA", "RO"] {
        assert!(
            persons
                .iter()
                .any(|p| p.nationality.as_deref() == Some(code)),
            "{code}"
        );
    }

    // Names: several first names for 40 %, particles, double-barrelled, compounds.
    let several = count(&|i| persons[i].first_names.len() >= 2);
    let three = count(&|i| persons[i].first_names.len() == 3);
    assert!((0.36..0.44).contains(&share(several, n)), "{several}");
    assert!((0.07..0.13).contains(&share(three, n)), "{three}");
    let particle = count(&|i| {
        let name = persons[i].last_name.to_lowercase();
        [
            "de ", "van ", "vanden", "vander", "d'", "le ", "du ", "ver", "ten ", "ter ",
        ]
        .iter()
        .any(|p| name.starts_with(p))
    });
    assert!(share(particle, n) > 0.10, "particles {particle}");
    let double = count(&|i| persons[i].last_name.contains('-'));
    assert!((0.005..0.03).contains(&share(double, n)), "double {double}");
    let compound = count(&|i| persons[i].first_names.iter().any(|f| f.contains('-')));
    assert!(compound > 100, "compound first names {compound}");
    assert!(persons
        .iter()
        .any(|p| p.first_names.iter().any(|f| f.starts_with("Jean-"))));

    // Both language communities, by their streets and names.
    let with_address = count(&|i| persons[i].street.is_some());
    let french = count(&|i| {
        persons[i].street.as_deref().is_some_and(|s| {
            [
                "Rue ",
                "Avenue ",
                "Chemin ",
                "Chaussée ",
                "Place ",
                "Allée ",
                "Boulevard ",
            ]
            .iter()
            .any(|t| s.starts_with(t))
        })
    });
    let dutch = count(&|i| {
        persons[i]
            .street
            .as_deref()
            .is_some_and(|s| s.ends_with("straat") || s.ends_with("laan"))
    });
    assert!(with_address > n * 9 / 10);
    assert!(
        (0.30..0.55).contains(&share(french, with_address)),
        "{french}"
    );
    assert!(share(dutch, with_address) > 0.30, "{dutch}");
    assert!(persons
        .iter()
        .any(|p| p.first_names.contains(&"Jan".to_string())));
    assert!(persons
        .iter()
        .any(|p| p.first_names.contains(&"Jean".to_string())));
    assert!(persons.iter().all(|p| p.birth_place.is_some()));
}

/// The region of a Belgian postal code (bpost's numbering: 1000-1299 Brussels-Capital,
/// 1300-1499 Walloon Brabant, 1500-3999 Flemish provinces, 4000-7999 Walloon provinces,
/// 8000-9999 West and East Flanders).
fn region(postal_code: u32) -> &'static str {
    match postal_code {
        1000..=1299 => "Brussels",
        1300..=1499 | 4000..=7999 => "Wallonia",
        _ => "Flanders",
    }
}

/// The population against figures published by Statbel (Belgium's statistical office) and
/// the name frequencies of `src/population/data` (Statbel counts of persons bearing each
/// name, see its README.md), not against the generator's own constants. Residents only:
/// living persons with a National Register number (BIS numbers are non-residents).
#[test]
fn residents_match_published_figures() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let persons = read_population(&generate(dir.path(), 50_000, 21));
    let residents: Vec<&Record> = persons
        .iter()
        .filter(|p| {
            p.decease_date.is_none()
                && Niss::parse(&p.ssin, today()).expect("valid").kind() == NissKind::Rn
        })
        .collect();
    let n = residents.len();
    let count = |f: &dyn Fn(&Record) -> bool| residents.iter().filter(|p| f(p)).count();
    // Every figure is compared before the test fails, so that it names all that differ.
    let differing = std::cell::RefCell::new(Vec::new());
    let within = |what: &str, got: usize, published: f64, tolerance: f64| {
        let got = share(got, n);
        if (got - published).abs() > tolerance {
            differing.borrow_mut().push(format!(
                "{what}: {got:.4} of the residents, published {published:.4} ± {tolerance:.4}"
            ));
        }
    };
    let age = |p: &Record| {
        let birth = Niss::parse(&p.ssin, today())
            .expect("valid")
            .birth_date()
            .expect("dated");
        today().year() - birth.year()
    };

    // Statbel, population by region on 1 January 2024: Belgium 11 763 650, Flemish Region
    // 6 821 770 (58.0 %), Walloon Region 3 692 283 (31.4 %), Brussels-Capital 1 249 597
    // (10.6 %). The region is read from the postal code of the address.
    let in_region = |name: &'static str| {
        count(&|p| {
            p.postal_code
                .as_deref()
                .and_then(|c| c.parse().ok())
                .is_some_and(|c| region(c) == name)
        })
    };
    let with_address = count(&|p| p.postal_code.is_some());
    assert!(with_address > n * 95 / 100, "{with_address} of {n}");
    within("Flemish Region", in_region("Flanders"), 0.580, 0.03);
    within("Walloon Region", in_region("Wallonia"), 0.314, 0.03);
    within(
        "Brussels-Capital Region",
        in_region("Brussels"),
        0.106,
        0.02,
    );

    // Statbel, population by place of residence, nationality, age and gender on 1 January
    // 2025 (bestat.statbel.fgov.be): 11 825 551 inhabitants, 5 830 022 men (49.3 %),
    // 2 320 770 under 18 (19.6 %), 2 405 315 aged 65 or more (20.3 %).
    within(
        "men",
        count(&|p| p.gender.as_deref() == Some("M")),
        0.493,
        0.015,
    );
    within("under 18", count(&|p| age(p) < 18), 0.196, 0.025);
    within("65 or more", count(&|p| age(p) >= 65), 0.203, 0.025);

    // Statbel, origin of the population on 1 January 2023: 1 573 273 non-Belgians of
    // 11 697 557 inhabitants (13.4 %).
    within(
        "Belgian nationals",
        count(&|p| p.nationality.as_deref() == Some("BE")),
        0.866,
        0.03,
    );

    // The most frequent last names: Statbel counts in the data files (Peeters 27 625,
    // Janssens 24 733, Maes 21 410 in nl_BE; Dubois 9 160, Lambert 8 375, Martin 6 603 in
    // fr_BE) over the 11 763 650 inhabitants: 0.83 % of the population bear one of them.
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/src/population/data/");
    let weight = |file: &str, name: &str| -> f64 {
        std::fs::read_to_string(format!("{data}{file}"))
            .expect("a data file")
            .lines()
            .find_map(|line| {
                let (n, w) = line.split_once('\t')?;
                (n == name).then(|| w.parse::<f64>().expect("a weight"))
            })
            .unwrap_or_else(|| panic!("{name} in {file}"))
    };
    let top = [
        ("nl_BE.last.tsv", "Peeters"),
        ("nl_BE.last.tsv", "Janssens"),
        ("nl_BE.last.tsv", "Maes"),
        ("fr_BE.last.tsv", "Dubois"),
        ("fr_BE.last.tsv", "Lambert"),
        ("fr_BE.last.tsv", "Martin"),
    ];
    let published = top.iter().map(|(f, name)| weight(f, name)).sum::<f64>() / 11_763_650.0;
    let bearing = count(&|p| top.iter().any(|(_, name)| p.last_name == *name));
    within(
        "six most frequent last names",
        bearing,
        published,
        published * 0.35,
    );

    let differing = differing.into_inner();
    assert!(differing.is_empty(), "{}", differing.join("\n"));
}
