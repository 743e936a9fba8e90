//! The Dimona source (`raas import dimona`, xsd/Dimona.xsd): declarations IN, OUT, UPDATE and
//! CANCEL kept as periods and declarations and journaled, files applied whole or not at all
//! and once per fileId, each refusal naming the record; the generator's files validate and
//! apply, 50 000 declarations at a time.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::db::query_texts;
use common::source::standard_feed;
use common::{niss, Backend, Feed, TestApp, NISS_1, NISS_2, NISS_3, NISS_BIS, NISS_BIS_20};

const DIMONA_NS: &str = "urn:be:raas:types:Dimona:v1";

/// A Dimona file under construction: records numbered r1, r2, … unless given an id.
#[derive(Clone)]
struct Dimona {
    file_id: String,
    records: Vec<String>,
}

impl Dimona {
    fn new(file_id: &str) -> Dimona {
        Dimona {
            file_id: file_id.into(),
            records: Vec::new(),
        }
    }

    fn next_id(&self) -> String {
        format!("r{}", self.records.len() + 1)
    }

    /// An IN of `worker` from 2026-12-01 08:00, open-ended, by enterprise 0202239951.
    fn hire(self, period: u64, worker: &str) -> Dimona {
        let id = self.next_id();
        self.raw(&format!(
            "<dimonaIn id=\"{id}\"><periodId>{period}</periodId><employer><enterpriseNumber>0202239951</enterpriseNumber></employer>\
             <workerSsin>{worker}</workerSsin><startDate>2026-12-01</startDate><startHour>08:00</startHour>\
             <jointCommittee>200</jointCommittee><workerType>OTH</workerType></dimonaIn>"
        ))
    }

    fn out(self, period: u64, end: &str) -> Dimona {
        let id = self.next_id();
        self.raw(&format!(
            "<dimonaOut id=\"{id}\"><periodId>{period}</periodId><endDate>{end}</endDate></dimonaOut>"
        ))
    }

    fn update(self, period: u64, fields: &str) -> Dimona {
        let id = self.next_id();
        self.raw(&format!(
            "<dimonaUpdate id=\"{id}\"><periodId>{period}</periodId>{fields}</dimonaUpdate>"
        ))
    }

    fn cancel(self, period: u64) -> Dimona {
        let id = self.next_id();
        self.raw(&format!(
            "<dimonaCancel id=\"{id}\"><periodId>{period}</periodId></dimonaCancel>"
        ))
    }

    fn raw(mut self, record: &str) -> Dimona {
        self.records.push(record.to_string());
        self
    }

    fn xml(&self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<dimona xmlns=\"{DIMONA_NS}\" fileId=\"{}\" createdAt=\"2026-12-01T06:00:00Z\">\n{}\n</dimona>\n",
            self.file_id,
            self.records.join("\n")
        )
    }
}

/// `raas import dimona` of `xml` written to a file of the test.
fn import(app: &TestApp, name: &str, xml: &[u8]) -> Output {
    let path = app.path(name);
    std::fs::write(&path, xml).unwrap();
    app.run(&["import", "dimona", path.to_str().unwrap()], "")
}

/// Asserts that a command succeeded (showing its standard error if not); gives its standard
/// output.
#[track_caller]
fn succeeded(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Applies a file that must apply; gives the summary line.
#[track_caller]
fn apply(app: &TestApp, file: &Dimona) -> String {
    succeeded(import(app, "dimona.xml", file.xml().as_bytes()))
        .trim()
        .to_string()
}

/// Imports a file that must be refused whole; gives the error line.
#[track_caller]
fn refused(app: &TestApp, xml: &[u8]) -> String {
    let output = import(app, "refused.xml", xml);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("is refused, nothing was applied: "),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    stderr
}

/// Every row of the Dimona tables, the journal and the applied files: what "nothing
/// changed" is checked against.
fn state(app: &TestApp) -> (Vec<String>, Vec<String>, common::source::SourceTables) {
    (periods(app), declarations(app), app.source_tables())
}

fn periods(app: &TestApp) -> Vec<String> {
    query_texts(
        app.database_url(),
        "SELECT CAST(period_id AS TEXT) || '|' || COALESCE(employer_cbe, '-') || '|' \
         || COALESCE(employer_nsso, '-') || '|' || worker_ssin || '|' || CAST(starts_on AS TEXT) \
         || '|' || COALESCE(start_hour, '-') || '|' || COALESCE(CAST(ends_on AS TEXT), '-') \
         || '|' || COALESCE(end_hour, '-') || '|' || joint_committee || '|' || worker_type \
         || '|' || COALESCE(using_employer_cbe, '-') || '|' || COALESCE(planned_hours, '-') \
         || '|' || status || '|' || CAST(version AS TEXT) AS value \
         FROM dimona_periods ORDER BY period_id",
    )
}

fn declarations(app: &TestApp) -> Vec<String> {
    query_texts(
        app.database_url(),
        "SELECT file_id || '|' || record_id || '|' || kind || '|' || CAST(period_id AS TEXT) \
         || '|' || COALESCE(employer_cbe, '-') || '|' || COALESCE(employer_nsso, '-') || '|' \
         || worker_ssin || '|' || CAST(starts_on AS TEXT) || '|' || COALESCE(start_hour, '-') \
         || '|' || COALESCE(CAST(ends_on AS TEXT), '-') || '|' || COALESCE(end_hour, '-') \
         || '|' || joint_committee || '|' || worker_type || '|' \
         || COALESCE(using_employer_cbe, '-') || '|' || COALESCE(planned_hours, '-') AS value \
         FROM dimona_declarations ORDER BY seq",
    )
}

/// `raas admin history --ssin N`, one JSON object a line.
fn history(app: &TestApp, ssin: &str) -> Vec<serde_json::Value> {
    app.admin(&["history", "--ssin", ssin], "")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The standard persons of tests/common/source.rs, no organisation, no server.
fn source(backend: Backend) -> TestApp {
    let app = TestApp::empty(backend);
    app.apply_feed(&standard_feed());
    app
}

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/zeep/examples/Dimona/declarations.xml"
);

/// The documented example (checked against the XSD by CI): periods, declarations and
/// journal entries as declared; applying it again changes nothing; another content under its
/// fileId is refused.
fn a_good_file_applies_once(backend: Backend) {
    let app = source(backend);
    assert_eq!(
        succeeded(app.run(&["import", "dimona", EXAMPLE], "")).trim(),
        "DIMONA-2026-12-01-001: applied 6 declarations: 3 IN, 1 OUT, 1 UPDATE, 1 CANCEL"
    );
    assert_eq!(
        periods(&app),
        [
            format!("100000000001|0202239951|-|{NISS_1}|2026-12-01|-|2026-12-20|-|302|STU|-|7.5|ACTIVE|2"),
            format!("100000000002|-|123456789|{NISS_2}|2026-12-02|17:00|2026-12-02|23:30|302|FLX|-|6.5|ACTIVE|2"),
            format!("100000000003|0403019261|-|{NISS_3}|2026-12-01|08:00|-|-|322|OTH|0202239951|-|CANCELED|2"),
        ]
    );
    let file = "DIMONA-2026-12-01-001";
    assert_eq!(
        declarations(&app),
        [
            format!("{file}|r1|IN|100000000001|0202239951|-|{NISS_1}|2026-12-01|-|-|-|302|STU|-|7.5"),
            format!("{file}|r2|IN|100000000002|-|123456789|{NISS_2}|2026-12-02|18:00|2026-12-02|23:30|302|FLX|-|-"),
            format!("{file}|r3|IN|100000000003|0403019261|-|{NISS_3}|2026-12-01|08:00|-|-|322|OTH|0202239951|-"),
            // The period after the OUT and the UPDATE; a CANCEL shows the period as it was.
            format!("{file}|r4|OUT|100000000001|0202239951|-|{NISS_1}|2026-12-01|-|2026-12-20|-|302|STU|-|7.5"),
            format!("{file}|r5|UPDATE|100000000002|-|123456789|{NISS_2}|2026-12-02|17:00|2026-12-02|23:30|302|FLX|-|6.5"),
            format!("{file}|r6|CANCEL|100000000003|0403019261|-|{NISS_3}|2026-12-01|08:00|-|-|322|OTH|0202239951|-"),
        ]
    );
    // Every declaration is journaled about its worker, from its record.
    let entries: Vec<serde_json::Value> = history(&app, NISS_1)
        .into_iter()
        .filter(|e| e["kind"] == "DIMONA_DECLARED")
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["source"], format!("dimona:{file}:r1"));
    assert_eq!(entries[1]["source"], format!("dimona:{file}:r4"));
    assert_eq!(
        entries[1]["changes"],
        serde_json::json!({"kind": "OUT", "periodId": 100000000001_u64, "endDate": "2026-12-20"})
    );
    assert_eq!(entries[0]["changes"]["workerType"], "STU");
    let cancel = history(&app, NISS_3).pop().expect("entries");
    assert_eq!(cancel["changes"]["kind"], "CANCEL");
    let applied = app.source_tables().applied_files;
    assert!(
        applied
            .iter()
            .any(|l| l.starts_with(&format!("{file}|dimona|"))),
        "{applied:?}"
    );

    let before = state(&app);
    let again = app.run(&["import", "dimona", EXAMPLE], "");
    assert!(again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        format!("{file}: already applied, nothing changed")
    );
    assert_eq!(state(&app), before);
    let other = std::fs::read_to_string(EXAMPLE)
        .unwrap()
        .replace("2026-12-20", "2026-12-21");
    let message = refused(&app, other.as_bytes());
    assert!(
        message.contains("already applied with another content"),
        "{message}"
    );
    assert_eq!(state(&app), before);
}

/// Every refusal refuses the whole file (an IN before the faulty record is not stored either)
/// and names the record; a good file applies afterwards.
fn a_faulty_file_is_refused_whole_naming_the_record(backend: Backend) {
    let app = source(backend);
    // 500 active, 501 canceled; NISS_BIS replaced by NISS_3; NISS_BIS_20 canceled.
    apply(
        &app,
        &Dimona::new("BASE")
            .hire(500, NISS_1)
            .hire(501, NISS_2)
            .cancel(501),
    );
    app.apply_feed(
        &Feed::new("F-REPL")
            .replacement(NISS_BIS, NISS_3)
            .raw(&format!(
                r#"<cancellation id="c1"><ssin>{NISS_BIS_20}</ssin></cancellation>"#
            )),
    );
    let unknown = niss("600101", 123, false);
    let start = || Dimona::new("BAD").hire(600, NISS_1);
    let with_in = |fields: &str| {
        start().raw(&format!(
            "<dimonaIn id=\"r2\"><periodId>601</periodId><employer><nssoNumber>12345</nssoNumber></employer>\
             <workerSsin>{NISS_2}</workerSsin>{fields}<jointCommittee>302</jointCommittee><workerType>EXT</workerType></dimonaIn>"
        ))
    };
    let cases: Vec<(Dimona, String)> = vec![
        (start().out(999, "2026-12-31"), "record r2 (#2): the period 999 is unknown".into()),
        (start().update(999, "<plannedHours>8</plannedHours>"), "record r2 (#2): the period 999 is unknown".into()),
        (start().cancel(999), "record r2 (#2): the period 999 is unknown".into()),
        (start().out(501, "2026-12-31"), "record r2 (#2): the period 501 is canceled".into()),
        (start().update(501, "<workerType>STU</workerType>"), "record r2 (#2): the period 501 is canceled".into()),
        (start().cancel(501), "record r2 (#2): the period 501 is canceled".into()),
        (start().hire(500, NISS_2), "record r2 (#2): the period 500 exists already".into()),
        (start().hire(501, NISS_2), "record r2 (#2): the period 501 exists already".into()),
        (start().hire(600, NISS_2), "record r2 (#2): the period 600 exists already".into()),
        (start().hire(601, &unknown), format!("record r2 (#2): the worker NISS {unknown} is unknown to the source")),
        (start().hire(601, NISS_BIS), format!("record r2 (#2): the worker NISS {NISS_BIS} is canceled, replaced by {NISS_3}")),
        (start().hire(601, NISS_BIS_20), format!("record r2 (#2): the worker NISS {NISS_BIS_20} is canceled")),
        (start().out(600, "2026-11-30"), "record r2 (#2): the period would end (2026-11-30) before it starts (2026-12-01 08:00)".into()),
        (start().update(500, "<startDate>2027-01-01</startDate>").out(500, "2026-12-31"), "record r3 (#3): the period would end (2026-12-31) before it starts (2027-01-01 08:00)".into()),
        (start().update(600, "<endHour>17:00</endHour>"), "record r2 (#2): the end hour 17:00 has no end date".into()),
        (with_in("<startDate>2026-12-05</startDate><endDate>2026-12-04</endDate>"), "record r2 (#2): endDate: the period would end (2026-12-04) before it starts (2026-12-05)".into()),
        (with_in("<startDate>2026-12-05</startDate><startHour>25:00</startHour>"), "record r2 (#2): startHour: must be an hour HH:MM".into()),
        (with_in("<startDate>2026-13-05</startDate>"), "record r2 (#2): startDate: must be a date yyyy-mm-dd (value \"2026-13-05\")".into()),
        (start().update(600, "<jointCommittee>30</jointCommittee>"), "record r2 (#2): jointCommittee: must be 3 digits or XXX".into()),
        (start().update(600, "<workerType>Stu</workerType>"), "record r2 (#2): workerType: must be 3 capital letters".into()),
        (start().update(600, "<plannedHours>-1</plannedHours>"), "record r2 (#2): plannedHours: must be a number of hours".into()),
        (
            start().raw("<dimonaIn id=\"r2\"><periodId>602</periodId><employer><enterpriseNumber>0202239952</enterpriseNumber></employer></dimonaIn>"),
            "record r2 (#2): employer/enterpriseNumber: is not a valid enterprise number: check digits do not match".into(),
        ),
        (start().raw("<dimonaCancel id=\"r1\"><periodId>500</periodId></dimonaCancel>"), "record r1 (#2): the id is used twice in the file".into()),
        (start().update(600, ""), "record r2 (#2): periodId: an update must change at least one field".into()),
    ];
    let before = state(&app);
    for (file, expected) in cases {
        let message = refused(&app, file.xml().as_bytes());
        assert!(
            message.contains(&expected),
            "expected {expected:?} in {message}"
        );
        assert_eq!(state(&app), before, "{expected}");
    }
    // The same fileId, corrected, applies.
    let out = apply(
        &app,
        &start()
            .out(600, "2026-12-01")
            .update(500, "<plannedHours>12.25</plannedHours>"),
    );
    assert_eq!(
        out,
        "BAD: applied 3 declarations: 1 IN, 1 OUT, 1 UPDATE, 0 CANCEL"
    );
    let periods = periods(&app);
    assert!(periods[0].ends_with("|-|12.25|ACTIVE|2"), "{periods:?}");
    assert!(
        periods[2].starts_with(&format!(
            "600|0202239951|-|{NISS_1}|2026-12-01|08:00|2026-12-01|-|"
        )),
        "{periods:?}"
    );
}

/// Declarations about periods created earlier in the same file, in the same batch of 512 and
/// in earlier ones.
fn later_declarations_see_the_periods_of_the_same_file(backend: Backend) {
    let app = source(backend);
    let mut file = Dimona::new("LONG");
    for period in 1..=600 {
        file = file.hire(period, [NISS_1, NISS_2, NISS_3][period as usize % 3]);
    }
    let file = file
        .out(1, "2026-12-31")
        .update(1, "<endDate>2027-01-31</endDate><endHour>12:00</endHour>")
        .cancel(2)
        .out(600, "2026-12-02")
        .hire(601, NISS_1)
        .out(601, "2026-12-03");
    let out = apply(&app, &file);
    assert_eq!(
        out,
        "LONG: applied 606 declarations: 601 IN, 3 OUT, 1 UPDATE, 1 CANCEL"
    );
    let periods = periods(&app);
    assert_eq!(periods.len(), 601);
    assert!(
        periods[0].contains("|2027-01-31|12:00|") && periods[0].ends_with("|ACTIVE|3"),
        "{}",
        periods[0]
    );
    assert!(periods[1].ends_with("|CANCELED|2"), "{}", periods[1]);
    assert!(
        periods[600].contains("|2026-12-03|") && periods[600].ends_with("|ACTIVE|2"),
        "{}",
        periods[600]
    );
    let declarations = declarations(&app);
    assert_eq!(declarations.len(), 606);
    assert!(
        declarations[601].starts_with("LONG|r602|UPDATE|1|"),
        "{}",
        declarations[601]
    );
    let journaled = history(&app, NISS_1)
        .iter()
        .filter(|e| e["kind"] == "DIMONA_DECLARED")
        .count();
    // Periods 3, 6, …, 600 (200 INs), 600's OUT, 601's IN and OUT (period 1 is NISS_2's).
    assert_eq!(journaled, 200 + 1 + 2);
}

/// Hostile or broken input is refused cleanly: one error line, no panic, nothing stored.
fn hostile_files_are_refused_cleanly(backend: Backend) {
    let app = source(backend);
    let good = Dimona::new("H").hire(1, NISS_1).xml();
    let before = state(&app);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            good.replace("OTH", "O\u{0}H").into_bytes(),
            "not well-formed",
        ),
        (
            good.replace("OTH", "O&#0;H").into_bytes(),
            "not well-formed",
        ),
        (
            good.replace(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                "<!DOCTYPE dimona [<!ENTITY x \"y\">]>",
            )
            .into_bytes(),
            "DOCTYPE",
        ),
        (good.replace("OTH", "&x;").into_bytes(), "entity"),
        (
            good.replace("<workerType>", "<workerType>OTH</workerType><workerType>")
                .into_bytes(),
            "record r1 (#1): workerType: appears more than once",
        ),
        (
            good.replace("<employer>", "<employer><nssoNumber>1</nssoNumber>")
                .into_bytes(),
            "exactly one of enterpriseNumber and nssoNumber",
        ),
        (
            good.replace("</dimonaIn>", "<surprise/></dimonaIn>")
                .into_bytes(),
            "does not belong here",
        ),
        (
            good.as_bytes()[..good.len() / 2].to_vec(),
            "not well-formed",
        ),
        (vec![0xff, 0xfe, 0x00, 0x3c], "not well-formed"),
        (b"".to_vec(), "no root element"),
        (
            good.replace(DIMONA_NS, "urn:be:raas:types:NrMutations:v1")
                .into_bytes(),
            "the root element is",
        ),
        (
            good.replace(" fileId=\"H\"", "").into_bytes(),
            "the attribute fileId is missing",
        ),
        (
            format!(
                "<dimona xmlns=\"{DIMONA_NS}\" fileId=\"H\" createdAt=\"x\">{}</dimona>",
                "<a>".repeat(100)
            )
            .into_bytes(),
            "",
        ),
    ];
    for (bytes, expected) in cases {
        let message = refused(&app, &bytes);
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message}"
        );
        assert_eq!(state(&app), before);
    }
    // A file that cannot be read is not applied either.
    let output = app.run(&["import", "dimona", "/nonexistent/dimona.xml"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read /nonexistent/dimona.xml"));
}

/// `xmllint --noout --schema xsd/Dimona.xsd FILE`, or a note (a failure under CI) when
/// xmllint is not installed.
fn validate_with_xmllint(file: &Path) {
    let available = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        common::db::cannot_check("xmllint is not installed (Debian package libxml2-utils): the generated file was not validated");
        return;
    }
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/xsd/Dimona.xsd");
    succeeded(
        Command::new("xmllint")
            .args(["--noout", "--schema", schema])
            .arg(file)
            .output()
            .expect("xmllint runs"),
    );
}

/// A source of `persons` generated persons; gives the file listing its active numbers.
fn population(app: &TestApp, persons: u64) -> PathBuf {
    let file = app.path("population.xml");
    let output = app
        .command()
        .env("RAAS_GENERATED_AT", "2026-12-01T06:00:00Z")
        .args([
            "generate",
            "population",
            "--persons",
            &persons.to_string(),
            "-o",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let output = app.run(
        &["import", "persons", "--quiet", file.to_str().unwrap()],
        "",
    );
    assert!(output.status.success(), "{output:?}");
    let numbers = query_texts(
        app.database_url(),
        "SELECT ssin AS value FROM persons WHERE status = 'ACTIVE' ORDER BY ssin",
    );
    assert!(numbers.len() as u64 > persons * 9 / 10, "{}", numbers.len());
    let workers = app.path("workers.txt");
    std::fs::write(&workers, numbers.join("\n") + "\n").unwrap();
    workers
}

/// `raas generate dimona`; gives the file and its summary line (standard error).
fn generate(app: &TestApp, workers: &Path, declarations: u64, seed: u64) -> (PathBuf, String) {
    let file = app.path(&format!("generated-{seed}.xml"));
    let output = app
        .command()
        .env("RAAS_GENERATED_AT", "2026-12-01T06:00:00Z")
        .args([
            "generate",
            "dimona",
            "--declarations",
            &declarations.to_string(),
            "--seed",
            &seed.to_string(),
            "--workers",
        ])
        .arg(workers)
        .arg("-o")
        .arg(&file)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&output.stderr).to_string();
    succeeded(output);
    (file, summary)
}

/// The summary of `raas generate dimona` (`ID: N declarations (a IN, b OUT, c UPDATE, d
/// CANCEL) written to …`) as the summary `raas import dimona` gives of the same file.
fn applied_summary(generated: &str) -> String {
    let (id, rest) = generated.split_once(": ").unwrap();
    let (total, counts) = rest.split_once(" declarations (").unwrap();
    let counts = counts.split(')').next().unwrap();
    format!("{id}: applied {total} declarations: {counts}")
}

/// `raas import dimona FILE` applies a generated file and sums it up as `raas generate
/// dimona` did (`generated`, its summary).
#[track_caller]
fn import_generated(app: &TestApp, file: &Path, generated: &str) {
    let output = app.run(&["import", "dimona", file.to_str().unwrap()], "");
    assert_eq!(succeeded(output).trim(), applied_summary(generated));
}

fn generated_files_validate_and_apply(backend: Backend) {
    let app = TestApp::empty(backend);
    let workers = population(&app, 3_000);
    let (file, summary) = generate(&app, &workers, 3_000, 11);
    validate_with_xmllint(&file);
    let again = generate(&app, &workers, 3_000, 11).0;
    assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(again).unwrap());
    import_generated(&app, &file, &summary);
    assert_eq!(declarations(&app).len(), 3_000);
    // Another seed: other period ids, so it applies to the same source.
    let (file, summary) = generate(&app, &workers, 500, 12);
    import_generated(&app, &file, &summary);
    // A list with a bad number is refused naming its line.
    let bad = app.path("bad-workers.txt");
    std::fs::write(&bad, format!("{NISS_1}\n12345\n")).unwrap();
    let output = app
        .command()
        .args(["generate", "dimona", "--declarations", "10", "--workers"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("line 2: \"12345\" is not a valid NISS")
    );
}

/// A day's worth of declarations: 50 000 in one file.
fn fifty_thousand_declarations_apply(backend: Backend) {
    let app = TestApp::empty(backend);
    let workers = population(&app, 10_000);
    let (file, summary) = generate(&app, &workers, 50_000, 3);
    let started = std::time::Instant::now();
    import_generated(&app, &file, &summary);
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("{backend:?}: 50 000 Dimona declarations applied in {seconds:.2} s");
    assert!(seconds < 120.0, "{seconds} s");
    assert_eq!(
        common::db::query_i64(
            app.database_url(),
            "SELECT CAST(COUNT(*) AS TEXT) AS value FROM dimona_declarations"
        ),
        50_000
    );
    assert_eq!(
        common::db::query_i64(app.database_url(), "SELECT CAST(COUNT(*) AS TEXT) AS value FROM mutation_journal WHERE kind = 'DIMONA_DECLARED'"),
        50_000
    );
}

backend_tests!(
    a_good_file_applies_once,
    a_faulty_file_is_refused_whole_naming_the_record,
    later_declarations_see_the_periods_of_the_same_file,
    hostile_files_are_refused_cleanly,
    generated_files_validate_and_apply,
    fifty_thousand_declarations_apply,
);
