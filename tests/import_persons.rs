//! `raas import persons FILE`, through the real binary on both backends: a population file is
//! loaded whole or not at all, refusals name the person, and the identities read back as
//! they were in the file (through the library's `store::person::find` on the test database,
//! until identifyPerson can be asked over SOAP).

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{niss, Backend, TestApp, NISS_1, NISS_2, NISS_3};
use raas::domain::{Address, Gender, IncompleteDate, Person, PersonStatus};

const POPULATION_NS: &str = "urn:be:raas:types:Population:v1";
const PERSON_NS: &str = "urn:be:raas:types:Person:v1";

/// A population file's text with `persons` (each the content of a `person` element, with
/// the prefix `p` bound to Person.xsd).
fn population(source: &str, persons: &[String]) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<population xmlns=\"{POPULATION_NS}\" \
         xmlns:p=\"{PERSON_NS}\" source=\"{source}\" createdAt=\"2026-11-21T10:00:00Z\">\n"
    );
    for person in persons {
        xml.push_str(&format!("  <person>{person}</person>\n"));
    }
    xml.push_str("</population>\n");
    xml
}

/// A person with the least the schema asks.
fn minimal(ssin: &str, last_name: &str) -> String {
    format!(
        "<p:ssin>{ssin}</p:ssin><p:lastName>{last_name}</p:lastName>\
         <p:firstName>Jan</p:firstName><p:birthDate>1985-07-30</p:birthDate>"
    )
}

/// A person with every field.
fn complete(ssin: &str) -> String {
    format!(
        "<p:ssin>{ssin}</p:ssin><p:status>ACTIVE</p:status><p:lastName>D'Hondt</p:lastName>\
         <p:firstName>Jean-Pierre</p:firstName><p:firstName>Émile</p:firstName>\
         <p:birthDate>1985-07-00</p:birthDate><p:gender>M</p:gender>\
         <p:nationality>BE</p:nationality><p:birthPlace>Liège</p:birthPlace>\
         <p:address><p:street>Rue de l&apos;Église \\ Kerkstraat</p:street>\
         <p:houseNumber>12</p:houseNumber><p:box>3</p:box><p:postalCode>4000</p:postalCode>\
         <p:municipality>Liège</p:municipality><p:country>BE</p:country></p:address>\
         <p:deceaseDate>2020-01-00</p:deceaseDate>"
    )
}

fn write(app_dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = app_dir.join(name);
    std::fs::write(&path, content).expect("writing the population file");
    path
}

fn import(app: &TestApp, file: &Path) -> Output {
    app.command()
        .args(["import", "persons"])
        .arg(file)
        .output()
        .expect("raas runs")
}

/// Imports `file`, expects success, and gives the number of persons it reports.
#[track_caller]
fn imported(app: &TestApp, file: &Path) -> u64 {
    let output = import(app, file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "import failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Standard error is not a terminal here: no progress bar.
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let line = stdout.trim_end();
    assert_eq!(line.lines().count(), 1, "{line}");
    let rest = line
        .strip_prefix("imported ")
        .unwrap_or_else(|| panic!("unexpected report: {line}"));
    let (count, rest) = rest.split_once(" persons in ").expect("the count");
    assert!(rest.ends_with(" persons/s)"), "{line}");
    count.parse().expect("a number of persons")
}

/// Imports `file`, expects a refusal, and gives the message (`error: FILE: …` on standard
/// error, nothing on standard output).
#[track_caller]
fn refused(app: &TestApp, file: &Path) -> String {
    let output = import(app, file);
    assert!(!output.status.success(), "the import was accepted");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    let prefix = format!("error: {}: ", file.display());
    stderr
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("unexpected message: {stderr}"))
        .trim_end()
        .to_string()
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// Reads a person back through the library, on the test's database.
fn stored(app: &TestApp, ssin: &str) -> Option<(Person, String)> {
    let db = raas::store::Database::open(app.database_url(), 1).expect("the database opens");
    let mut conn = db.connection().expect("a connection");
    raas::store::person::find(&mut conn, ssin)
        .expect("the person is read")
        .map(|row| (row.person().expect("a readable row"), row.source))
}

fn a_file_imports_and_reports_its_count(backend: Backend) {
    let app = TestApp::empty(backend);
    let dir = temp();
    let file = write(
        dir.path(),
        "population.xml",
        &population(
            "test",
            &[
                minimal(NISS_3, "Peeters"),
                complete(NISS_1),
                minimal(NISS_2, "Janssens"),
            ],
        ),
    );
    assert_eq!(imported(&app, &file), 3);
    let (person, source) = stored(&app, NISS_1).expect("the person is stored");
    assert_eq!(source, "population:test");
    assert_eq!(person.ssin.as_str(), NISS_1);
    assert_eq!(person.status, PersonStatus::Active);
    let identity = &person.identity;
    assert_eq!(identity.last_name, "D'Hondt");
    assert_eq!(identity.first_names, ["Jean-Pierre", "Émile"]);
    assert_eq!(
        identity.birth_date,
        IncompleteDate::new(1985, Some(7), None).unwrap()
    );
    assert_eq!(identity.gender, Some(Gender::Male));
    assert_eq!(identity.nationality.as_deref(), Some("BE"));
    assert_eq!(identity.birth_place.as_deref(), Some("Liège"));
    assert_eq!(
        identity.address,
        Some(Address {
            street: "Rue de l'Église \\ Kerkstraat".into(),
            house_number: "12".into(),
            post_box: Some("3".into()),
            postal_code: "4000".into(),
            municipality: "Liège".into(),
            country: "BE".into(),
        })
    );
    assert_eq!(
        identity.decease_date,
        Some(IncompleteDate::new(2020, Some(1), None).unwrap())
    );
    let (person, _) = stored(&app, NISS_3).expect("the person is stored");
    assert_eq!(person.identity.last_name, "Peeters");
    assert_eq!(person.identity.gender, None);
    assert_eq!(person.identity.address, None);
    assert!(stored(&app, &niss("850730", 35, false)).is_none());

    // --quiet changes nothing when there is no terminal; a population may be empty.
    let empty = write(dir.path(), "empty.xml", &population("test", &[]));
    let output = app
        .command()
        .args(["import", "persons", "--quiet"])
        .arg(&empty)
        .output()
        .expect("raas runs");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("imported 0 persons in "));
}

fn importing_the_same_numbers_again_is_refused(backend: Backend) {
    let app = TestApp::empty(backend);
    let dir = temp();
    let first = write(
        dir.path(),
        "first.xml",
        &population(
            "first",
            &[minimal(NISS_1, "Peeters"), minimal(NISS_2, "Maes")],
        ),
    );
    assert_eq!(imported(&app, &first), 2);
    assert_eq!(
        refused(&app, &first),
        format!("person 1 (number {NISS_1}): the number is already in the register")
    );
    // A new number and a known one: nothing of it is stored.
    let new = niss("750608", 99, false);
    let mixed = write(
        dir.path(),
        "mixed.xml",
        &population(
            "second",
            &[minimal(&new, "Nieuw"), minimal(NISS_2, "Anders")],
        ),
    );
    assert_eq!(
        refused(&app, &mixed),
        format!("person 2 (number {NISS_2}): the number is already in the register")
    );
    assert!(stored(&app, &new).is_none());
    let (person, source) = stored(&app, NISS_2).expect("still there");
    assert_eq!(
        (person.identity.last_name.as_str(), source.as_str()),
        ("Maes", "population:first")
    );
    // The new number alone is welcome in a register that already has persons.
    let only_new = write(
        dir.path(),
        "new.xml",
        &population("second", &[minimal(&new, "Nieuw")]),
    );
    assert_eq!(imported(&app, &only_new), 1);
    assert_eq!(stored(&app, &new).expect("stored").1, "population:second");
}

/// Imports the two `persons` followed by `bad` on a fresh database: expects a refusal naming
/// the third person by its position and where it starts in the file, checks that nothing was
/// stored (the same persons without the fault import afterwards), and gives the rest of the
/// refusal (after `person 3 (byte N`).
#[track_caller]
fn refused_whole(backend: Backend, dir: &Path, persons: &[String; 2], bad: String) -> String {
    let app = TestApp::empty(backend);
    let text = population("test", &[persons[0].clone(), persons[1].clone(), bad]);
    let file = write(dir, "faulty.xml", &text);
    let refusal = refused(&app, &file);
    let third = text
        .match_indices("<person>")
        .nth(2)
        .expect("three persons")
        .0;
    let rest = refusal
        .strip_prefix(&format!("person 3 (byte {third}"))
        .unwrap_or_else(|| panic!("{refusal}"));
    let good = write(dir, "good.xml", &population("test", persons));
    assert_eq!(imported(&app, &good), 2);
    rest.to_string()
}

fn a_faulty_file_is_refused_whole_naming_the_person(backend: Backend) {
    let dir = temp();
    let dir = dir.path();
    let persons = [minimal(NISS_1, "Peeters"), minimal(NISS_2, "Maes")];

    let future = minimal(NISS_3, "Peeters").replace("1985-07-30", "2085-07-30");
    assert_eq!(
        refused_whole(backend, dir, &persons, future),
        format!(", number {NISS_3}): birthDate: is in the future (value \"2085-07-30\")")
    );
    let bad_number = minimal("85073003329", "Peeters");
    let refusal = refused_whole(backend, dir, &persons, bad_number);
    assert!(
        refusal.starts_with(", number 85073003329): ssin: is not a valid NISS"),
        "{refusal}"
    );
    assert_eq!(
        refused_whole(backend, dir, &persons, minimal(NISS_1, "Anders")),
        format!(", number {NISS_1}): the number appears earlier in the file")
    );
    let malformed = "<p:ssin>85073003328</p:ssin><p:lastName>Peeters</p:ssin>".to_string();
    let refusal = refused_whole(backend, dir, &persons, malformed);
    assert!(
        refusal.starts_with("): the document is not well-formed XML: "),
        "{refusal}"
    );
    let missing = minimal(NISS_3, "Peeters").replace("<p:firstName>Jan</p:firstName>", "");
    assert_eq!(
        refused_whole(backend, dir, &persons, missing),
        format!(", number {NISS_3}): firstName: at least one first name (value \"\")")
    );

    // Something else than a person.
    let app = TestApp::empty(backend);
    let file = write(
        dir,
        "other.xml",
        &population("test", &persons).replace(
            "</population>",
            &format!("<p:person>{}</p:person></population>", minimal(NISS_3, "X")),
        ),
    );
    let refusal = refused(&app, &file);
    assert!(
        refusal.starts_with("person 3 (byte ")
            && refusal.ends_with(&format!(
                "): {{{PERSON_NS}}}person is not a person ({{{POPULATION_NS}}}person)"
            )),
        "{refusal}"
    );
    assert!(stored(&app, NISS_1).is_none());
}

fn a_file_that_is_not_a_population_is_refused(backend: Backend) {
    let app = TestApp::empty(backend);
    let dir = temp();
    let persons = [minimal(NISS_1, "Peeters")];
    let good = population("test", &persons);
    for (name, content, message) in [
        (
            "root.xml",
            good.replace("<population ", "<people ")
                .replace("</population>", "</people>"),
            format!(
                "not a population file: the root element is {{{POPULATION_NS}}}people, \
                 not {{{POPULATION_NS}}}population"
            ),
        ),
        (
            "namespace.xml",
            good.replace(&format!("xmlns=\"{POPULATION_NS}\""), "xmlns=\"urn:other\""),
            format!(
                "not a population file: the root element is {{urn:other}}population, \
                 not {{{POPULATION_NS}}}population"
            ),
        ),
        (
            "source.xml",
            good.replace("source=\"test\"", ""),
            "not a population file: the population has no source attribute".into(),
        ),
        (
            "created.xml",
            good.replace("2026-11-21T10:00:00Z", "21/11/2026"),
            "not a population file: createdAt \"21/11/2026\" is not a date and time \
             (xs:dateTime)"
                .into(),
        ),
        (
            "doctype.xml",
            good.replace(
                "<population ",
                "<!DOCTYPE population [<!ENTITY x \"y\">]><population ",
            ),
            "not a population file: a DOCTYPE is not allowed".into(),
        ),
        (
            "empty.xml",
            String::new(),
            "not a population file: the document has no root element".into(),
        ),
        (
            "truncated.xml",
            good[..good.len() - "</population>\n".len()].to_string(),
            "person 2 (byte ".into(),
        ),
    ] {
        let file = write(dir.path(), name, &content);
        let refusal = refused(&app, &file);
        assert!(refusal.starts_with(&message), "{name}: {refusal}");
    }
    let missing = dir.path().join("missing.xml");
    let output = import(&app, &missing);
    assert!(!output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: cannot read {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
    let file = write(dir.path(), "good.xml", &good);
    assert_eq!(imported(&app, &file), 1);
}

/// A generated population, larger than one batch of the loader: refusals still name the
/// right person, counted across batches.
fn a_generated_population_imports(backend: Backend) {
    let app = TestApp::empty(backend);
    let dir = temp();
    let file = dir.path().join("generated.xml");
    let output = app
        .command()
        .args([
            "generate",
            "population",
            "--persons",
            "12000",
            "--seed",
            "1",
            "-o",
        ])
        .arg(&file)
        .output()
        .expect("raas runs");
    assert!(output.status.success(), "{output:?}");
    let text = std::fs::read_to_string(&file).expect("the generated file");
    let numbers: Vec<&str> = text
        .match_indices("<p:ssin>")
        .map(|(at, tag)| &text[at + tag.len()..at + tag.len() + 11])
        .collect();
    assert_eq!(numbers.len(), 12_000);

    // One of its numbers is already known: the refusal names it, past the first batches.
    let known = write(
        dir.path(),
        "known.xml",
        &population("earlier", &[minimal(numbers[11_000], "Peeters")]),
    );
    assert_eq!(imported(&app, &known), 1);
    assert_eq!(
        refused(&app, &file),
        format!(
            "person 11001 (number {}): the number is already in the register",
            numbers[11_000]
        )
    );
    assert!(stored(&app, numbers[0]).is_none());

    let app = TestApp::empty(backend);
    assert_eq!(imported(&app, &file), 12_000);
    let (person, source) = stored(&app, numbers[7_321]).expect("stored");
    assert_eq!(person.ssin.as_str(), numbers[7_321]);
    assert_eq!(source, "population:raas generate population");
}

/// The library entry point the demo seeds with.
fn generated_persons_import_through_the_library(backend: Backend) {
    let app = TestApp::empty(backend);
    let db = raas::store::Database::open(app.database_url(), 2).expect("the database opens");
    let today = chrono::Utc::now().date_naive();
    let generator = || raas::population::Generator::new(7_000, 3, today).expect("a generator");
    let loaded =
        raas::population::import::import_persons(&db, generator(), "demo").expect("imported");
    let persons: Vec<Person> = generator().collect();
    assert_eq!(loaded, 7_000);
    let mut conn = db.connection().expect("a connection");
    let row = raas::store::person::find(&mut conn, persons[6_999].ssin.as_str())
        .expect("read")
        .expect("stored");
    assert_eq!(row.person().expect("readable"), persons[6_999]);
    assert_eq!(row.source, "population:demo");
    assert_eq!(raas::store::person::count(&mut conn).expect("count"), 7_000);
    drop(conn);
    // The same persons again: refused, nothing more stored.
    let error = raas::population::import::import_persons(&db, persons.into_iter(), "demo")
        .expect_err("known numbers");
    assert!(
        error.to_string().starts_with("person 1 (number "),
        "{error}"
    );
    let mut conn = db.connection().expect("a connection");
    assert_eq!(raas::store::person::count(&mut conn).expect("count"), 7_000);
}

backend_tests!(
    a_file_imports_and_reports_its_count,
    importing_the_same_numbers_again_is_refused,
    a_faulty_file_is_refused_whole_naming_the_person,
    a_file_that_is_not_a_population_is_refused,
    a_generated_population_imports,
    generated_persons_import_through_the_library,
);
