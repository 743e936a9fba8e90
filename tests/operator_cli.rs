//! What an operator meets at the command line: `admin history` for every kind of number,
//! read-only commands that never create or migrate a database, URLs refused or shown
//! without their password, one-line errors without backtraces, one style of "cannot read",
//! help text on every option, and what `serve --demo` seeds and prints.

#[macro_use]
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::app::RAAS;
use common::{Backend, Org, Request, TestApp, NISS_1, NISS_2, NISS_3};

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

/// Asserts a failed command printed exactly `message` as one `error:` line, status 1.
#[track_caller]
fn assert_refused(output: &Output, message: &str) {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(text(&output.stdout), "");
    assert_eq!(text(&output.stderr), format!("error: {message}\n"));
}

/// `raas ARGS` in `dir`, with RUST_BACKTRACE set as an operator might have it.
fn raas_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(RAAS)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("RAAS_DATABASE_URL")
        .env_remove("RAAS_CONFIG")
        .env("RUST_BACKTRACE", "1")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("raas runs")
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A population file of one person (the baseline load).
fn population_of(ssin: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<population \
         xmlns=\"urn:be:raas:types:Population:v1\" xmlns:p=\"urn:be:raas:types:Person:v1\" \
         source=\"baseline-2026\" createdAt=\"2026-11-21T10:00:00Z\">\n  <person>\
         <p:ssin>{ssin}</p:ssin><p:lastName>Janssens</p:lastName><p:firstName>Jan</p:firstName>\
         <p:birthDate>1985-07-30</p:birthDate></person>\n</population>\n"
    )
}

fn history_tells_every_kind_of_number(backend: Backend) {
    let app = TestApp::empty(backend);
    let population = app.path("population.xml");
    std::fs::write(&population, population_of(NISS_1)).unwrap();
    let loaded = app.run(
        &["import", "persons", "--quiet", population.to_str().unwrap()],
        "",
    );
    assert!(loaded.status.success(), "{loaded:?}");
    app.apply_feed(
        &common::Feed::new("F1").new_person(&common::PersonData::new(
            NISS_2,
            "Peeters",
            &["Lucas"],
        )),
    );

    // A person of the baseline load: no entry, and a line saying why.
    let baseline = app.run(&["admin", "history", "--ssin", NISS_1], "");
    assert!(baseline.status.success(), "{baseline:?}");
    assert_eq!(text(&baseline.stdout), "");
    let note = text(&baseline.stderr);
    let expected = format!(
        "{NISS_1} is known to the authentic source, with no recorded change since its \
         baseline load (source population:baseline-2026, stored "
    );
    assert!(note.starts_with(&expected), "{note}");
    assert!(note.ends_with(", version 1)\n"), "{note}");
    assert_eq!(note.lines().count(), 1);

    // A person the feed created: its entry, as JSON.
    let fed = app.admin(&["history", "--ssin", NISS_2], "");
    let entries: Vec<serde_json::Value> = fed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 1, "{fed}");
    assert_eq!(entries[0]["kind"], "PERSON_CREATED");
    assert_eq!(entries[0]["ssin"], NISS_2);

    // A valid number the source does not know: refused, and the attempt audited.
    let unknown = NISS_3;
    assert_refused(
        &app.run(&["admin", "history", "--ssin", unknown], ""),
        &format!("the NISS {unknown} is unknown to the authentic source"),
    );
    // Not a number at all: refused naming why, nothing audited.
    assert_refused(
        &app.run(&["admin", "history", "--ssin", "abc"], ""),
        "--ssin abc is not a valid NISS: must be exactly 11 digits",
    );
    assert_refused(
        &app.run(&["admin", "history", "--ssin", "85073003329"], ""),
        "--ssin 85073003329 is not a valid NISS: check digits do not match",
    );
    let audit: Vec<(String, String)> = app
        .audit(None)
        .iter()
        .filter(|e| e["service"] == "raas-admin")
        .map(|e| {
            (
                e["ssin"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        audit,
        [
            (unknown.to_owned(), "SSIN_UNKNOWN".to_owned()),
            (NISS_2.to_owned(), "OK".to_owned()),
            (NISS_1.to_owned(), "OK".to_owned()),
        ]
    );
}

/// The commands that only read.
const READ_ONLY: &[&[&str]] = &[
    &["admin", "org", "list"],
    &["admin", "audit"],
    &["admin", "history", "--ssin", "85073003328"],
    &["admin", "grants", "--cbe", "0202239951"],
    &["admin", "dossier-type", "list", "--cbe", "0202239951"],
];

#[test]
fn read_only_commands_never_create_a_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    for command in READ_ONLY {
        let args = [&["--database-url", "typo.db"][..], command].concat();
        assert_refused(
            &raas_in(dir.path(), &args),
            "cannot open the database typo.db: the file does not exist (create the database \
             with `raas migrate`)",
        );
    }
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
    // A file that is not a raas database (another tool's, or empty).
    std::fs::write(dir.path().join("empty.db"), "").unwrap();
    for command in READ_ONLY {
        let args = [&["--database-url", "empty.db"][..], command].concat();
        assert_refused(
            &raas_in(dir.path(), &args),
            "cannot open the database empty.db: it has no raas tables (create them with `raas \
             migrate`)",
        );
    }
    // Commands that write create the database, as `migrate` and `serve` do.
    let add = raas_in(
        dir.path(),
        &[
            "--database-url",
            "new.db",
            "admin",
            "org",
            "add",
            "--cbe",
            "0202239951",
            "--name",
            "A",
        ],
    );
    assert!(add.status.success(), "{add:?}");
    let list = raas_in(
        dir.path(),
        &["--database-url", "new.db", "admin", "org", "list"],
    );
    assert_eq!(text(&list.stdout), "0202239951\tA\n");
}

fn postgres_tables(url: &str) -> Vec<String> {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let mut conn = diesel::pg::PgConnection::establish(url).unwrap();
    let mut names: Vec<String> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public'",
    )
    .load::<Name>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|n| n.name)
    .collect();
    names.sort();
    names
}

fn read_only_commands_never_migrate_a_database(backend: Backend) {
    let app = TestApp::empty(backend);
    let shown = match backend {
        Backend::Sqlite => {
            // A SQLite file that exists but is empty.
            std::fs::write(app.database_url(), "").unwrap();
            app.database_url().to_owned()
        }
        _ => app.database_url().to_owned(),
    };
    for command in READ_ONLY {
        assert_refused(
            &app.run(command, ""),
            &format!(
                "cannot open the database {shown}: it has no raas tables (create them with \
                 `raas migrate`)"
            ),
        );
    }
    if backend != Backend::Sqlite {
        assert_eq!(postgres_tables(app.database_url()), Vec::<String>::new());
    }
    // An older schema: the last migration not applied.
    let migrated = app.run(&["migrate"], "");
    assert!(migrated.status.success(), "{migrated:?}");
    let last = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .max()
        .unwrap();
    let version = last.split('_').next().unwrap().replace('-', "");
    forget_migration(backend, app.database_url(), &version);
    assert_refused(
        &app.run(&["admin", "org", "list"], ""),
        &format!(
            "cannot open the database {shown}: its raas schema is older than this raas, \
             without {last} (apply the migrations with `raas migrate`)"
        ),
    );
}

/// Removes a migration's row, as if the database were made by an older raas.
fn forget_migration(backend: Backend, url: &str, version: &str) {
    use diesel::{Connection, RunQueryDsl};
    let sql = format!("DELETE FROM __diesel_schema_migrations WHERE version = '{version}'");
    let deleted = match backend {
        Backend::Sqlite => {
            let mut conn = diesel::sqlite::SqliteConnection::establish(url).unwrap();
            diesel::sql_query(sql).execute(&mut conn).unwrap()
        }
        _ => {
            let mut conn = diesel::pg::PgConnection::establish(url).unwrap();
            diesel::sql_query(sql).execute(&mut conn).unwrap()
        }
    };
    assert_eq!(deleted, 1, "no migration {version}");
}

#[test]
fn other_url_schemes_are_refused_not_read_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    for (url, shown) in [
        (
            "mysql://raas:pw@localhost/raas",
            "mysql://raas:***@localhost/raas",
        ),
        ("redis://localhost", "redis://localhost"),
    ] {
        for command in [&["migrate"][..], &["admin", "org", "list"]] {
            let args = [&["--database-url", url][..], command].concat();
            let scheme = url.split_once("://").unwrap().0;
            assert_refused(
                &raas_in(dir.path(), &args),
                &format!(
                    "cannot open the database {shown}: {scheme}:// is not a database raas can \
                     use (a SQLite file path, sqlite://PATH, postgres://… or postgresql://…)"
                ),
            );
        }
    }
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

#[test]
fn a_postgresql_password_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1: nothing listens there, the connection is refused at once.
    for (url, shown) in [
        (
            "postgres://raas:S3cret-pw@127.0.0.1:1/raas",
            "postgres://raas:***@127.0.0.1:1/raas",
        ),
        (
            "postgresql://127.0.0.1:1/raas?user=raas&password=S3cret-pw",
            "postgresql://127.0.0.1:1/raas?user=raas&password=***",
        ),
    ] {
        for command in [&["migrate"][..], &["admin", "audit"]] {
            let args = [&["--database-url", url][..], command].concat();
            let output = raas_in(dir.path(), &args);
            assert_eq!(output.status.code(), Some(1));
            let stderr = text(&output.stderr);
            assert!(!stderr.contains("S3cret"), "{stderr}");
            assert!(
                stderr.starts_with(&format!(
                    "error: cannot open the database {shown}: cannot connect to the database: "
                )),
                "{stderr}"
            );
            // One line, however many the driver's message had.
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
    }
}

#[test]
fn errors_are_one_line_without_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    // RUST_BACKTRACE=1 is set by raas_in.
    assert_refused(
        &raas_in(
            dir.path(),
            &["admin", "org", "add", "--cbe", "0431150351", "--name", "X"],
        ),
        "--cbe 0431150351: check digits do not match",
    );
}

#[test]
fn files_that_cannot_be_read_are_told_one_way() {
    let dir = tempfile::tempdir().unwrap();
    let missing = "cannot read missing.xml: No such file or directory (os error 2)";
    assert_refused(
        &raas_in(dir.path(), &["import", "nr-mutations", "missing.xml"]),
        missing,
    );
    assert_refused(
        &raas_in(dir.path(), &["import", "persons", "--quiet", "missing.xml"]),
        missing,
    );
    assert_refused(
        &raas_in(dir.path(), &["--config", "missing.xml", "migrate"]),
        missing,
    );
    let tls = raas_in(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "missing.xml",
            "--tls-key",
            "missing.xml",
        ],
    );
    assert_eq!(tls.status.code(), Some(1));
    // The reason is the PEM reader's.
    let last = text(&tls.stderr)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(
        last.starts_with("error: cannot read missing.xml: ")
            && last.ends_with("No such file or directory (os error 2)"),
        "{last}"
    );
}

/// Every command's `--help`.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["serve"],
    &["migrate"],
    &["niss", "check"],
    &["admin", "org", "add"],
    &["admin", "org", "list"],
    &["admin", "credential", "add"],
    &["admin", "credential", "revoke"],
    &["admin", "dossier-type", "add"],
    &["admin", "dossier-type", "list"],
    &["admin", "dossier-type", "retire"],
    &["admin", "grant"],
    &["admin", "grants"],
    &["admin", "history"],
    &["admin", "audit"],
    &["generate", "population"],
    &["import", "persons"],
    &["import", "nr-mutations"],
];

#[test]
fn every_option_and_argument_has_help_text() {
    let dir = tempfile::tempdir().unwrap();
    for command in COMMANDS {
        let output = raas_in(dir.path(), &[*command, &["--help"]].concat());
        assert!(output.status.success(), "{command:?}");
        let help = text(&output.stdout);
        let lines: Vec<&str> = help.lines().collect();
        let mut in_list = false;
        for (i, line) in lines.iter().enumerate() {
            if line.ends_with(':') && !line.starts_with(' ') {
                in_list = matches!(*line, "Options:" | "Arguments:");
                continue;
            }
            let entry = line.trim_start();
            // An option, or an argument (`<FILE>`, `[NUMBERS]...`), not a `[env: …]` line.
            let is_entry = line.starts_with("  ")
                && (entry.starts_with('-')
                    || entry.starts_with('<')
                    || (entry.starts_with('[')
                        && entry[1..].starts_with(|c: char| c.is_ascii_uppercase())));
            if !in_list || !is_entry {
                continue;
            }
            // The description is on the same line, or indented on the next.
            let same_line = entry.contains("  ");
            let next_line = lines.get(i + 1).is_some_and(|next| {
                let next = next.trim_start();
                !next.is_empty() && !next.starts_with('-') && !next.starts_with("[env:")
            });
            assert!(
                same_line || next_line,
                "raas {} --help: {entry} has no help text",
                command.join(" ")
            );
        }
    }
}

#[test]
fn serve_demo_seeds_through_the_register_and_prints_what_it_seeded() {
    let app = TestApp::empty(Backend::Sqlite);
    let mut child = app.spawn_demo();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    while lines.len() < 15 {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        lines.push(line.trim_end().to_owned());
    }
    let base = lines[0]
        .strip_prefix("raas listening on ")
        .unwrap()
        .to_owned();
    assert_eq!(
        lines[1],
        format!("WSDL: {base}/soap/PersonRegisterService?wsdl")
    );
    assert_eq!(
        lines[2],
        format!("WSDL: {base}/soap/PersonIdentificationService?wsdl")
    );
    assert_eq!(
        lines.remove(3),
        format!("WSDL: {base}/soap/DeliveryService?wsdl")
    );
    assert_eq!(lines[3], "demo organisation 0202239951 (Demo Integrator)");
    assert_eq!(lines[4], "  username: demo");
    let password = lines[5].strip_prefix("  password: ").unwrap().to_owned();
    assert_eq!(password.len(), 24);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        lines[6],
        "  dossier types: EMPLOYEE, BENEFICIARY, PROVISIONAL"
    );
    assert_eq!(lines[7], "  granted: identifyPerson, updateBisIdentity, searchPersonByPhoneticCriteria, createBisNumber");
    assert_eq!(
        lines[8],
        "authentic source: 100000 persons; registered under EMPLOYEE:"
    );
    let registered: Vec<String> = lines[9..14]
        .iter()
        .map(|l| {
            let (ssin, name) = l.trim_start().split_once("  ").unwrap();
            assert!(!name.is_empty());
            ssin.to_owned()
        })
        .collect();
    assert_eq!(registered.len(), 5);

    // The demo credential sees its registrations over SOAP.
    let mut demo = Org::new("0202239951", "Demo Integrator", "demo");
    demo.password = password;
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    for ssin in &registered {
        let answer = client
            .post(format!("{base}/soap/PersonRegisterService"))
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(Request::consult(&demo, ssin).to_xml())
            .send()
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200, "{ssin}");
        assert!(answer.text().unwrap().contains("EMPLOYEE"), "{ssin}");
    }
    let _ = child.kill();
    let _ = child.wait();

    // Each registration was made by the register use case and audited as the demo's.
    let registrations: Vec<serde_json::Value> = app
        .audit(None)
        .into_iter()
        .filter(|e| e["operation"] == "registerPerson")
        .collect();
    let mut audited: Vec<String> = registrations
        .iter()
        .map(|e| {
            assert_eq!(e["service"], "raas-demo");
            assert_eq!(e["username"], "demo");
            assert_eq!(e["claimedCbeNumber"], "0202239951");
            assert_eq!(e["outcome"], "OK");
            e["ssin"].as_str().unwrap().to_owned()
        })
        .collect();
    audited.sort();
    let mut expected = registered.clone();
    expected.sort();
    assert_eq!(audited, expected);
}

backend_tests!(
    history_tells_every_kind_of_number,
    read_only_commands_never_migrate_a_database,
);
