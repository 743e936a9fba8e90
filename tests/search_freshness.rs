//! The phonetic search's index stays current: what the feed adds, renames, replaces or
//! cancels, and what updateBisIdentity changes, is reflected in the very next
//! searchPersonByPhoneticCriteria, on the server that applied nothing as on a second `raas
//! serve` process sharing the database; and after a mixed feed the index is exactly what a
//! rebuild makes of the persons (`raas admin search-index check`).

#[macro_use]
mod common;

use std::io::BufReader;
use std::process::{Child, ChildStdout, Stdio};

use common::app::{answer_of, listening};
use common::db::query_texts;
use common::soap::IdentRequest;
use common::{niss, org_a, Answer, Backend, Feed, PersonData, Request, TestApp};

/// A second `raas serve` on the test's database, killed when dropped.
struct SecondServer {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    base_url: String,
}

impl SecondServer {
    fn start(app: &TestApp) -> SecondServer {
        let child = app
            .command()
            .args(["serve", "--listen", "127.0.0.1:0", "--db-connections", "2"])
            .args(["--workers", "1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("a second raas serve starts");
        let (child, stdout, base_url) = listening(child, String::new);
        SecondServer {
            child,
            _stdout: stdout,
            base_url,
        }
    }
}

impl Drop for SecondServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a search is sent: the test application's server or the second one.
enum Server<'a> {
    First(&'a TestApp),
    Second(&'a SecondServer),
}

/// A searchPersonByPhoneticCriteria request for `last_name` (and `first_name`) born on
/// `birth_date`, as org A.
fn search_request(last_name: &str, first_name: Option<&str>, birth_date: &str) -> IdentRequest {
    let first = first_name
        .map(|f| format!("<reg:firstName>{f}</reg:firstName>"))
        .unwrap_or_default();
    let criteria = format!(
        "<reg:criteria><reg:lastName>{last_name}</reg:lastName>{first}\
         <reg:birthDate>{birth_date}</reg:birthDate><reg:maximum>80</reg:maximum></reg:criteria>"
    );
    IdentRequest {
        request: Request {
            operation: "searchPersonByPhoneticCriteria",
            // The criteria take personData's place, after legalContext.
            person_data: Some(criteria),
            ..Request::list_dossier_types(&org_a())
        },
        changes: None,
    }
}

/// The numbers of the candidates a search answers, best first.
fn candidates(
    server: &Server,
    last_name: &str,
    first_name: Option<&str>,
    birth: &str,
) -> Vec<String> {
    let request = search_request(last_name, first_name, birth);
    let answer: Answer = match server {
        Server::First(app) => app.call_ident(&request),
        Server::Second(second) => {
            let response = reqwest::blocking::Client::builder()
                .no_proxy()
                .build()
                .expect("an HTTP client")
                .post(format!("{}{}", second.base_url, common::soap::IDENT_PATH))
                .header("Content-Type", "text/xml; charset=utf-8")
                .header("SOAPAction", "\"\"")
                .body(request.to_xml())
                .send()
                .expect("the second server answers");
            answer_of(response)
        }
    };
    let answer = answer.ok();
    let status = answer.status();
    let found: Vec<String> = answer
        .doc()
        .all("candidate")
        .iter()
        .filter_map(|c| c.text_at(&["person", "ssin"]))
        .collect();
    match status.as_str() {
        "DATA_FOUND" => assert!(!found.is_empty(), "{}", answer.body),
        "NO_RESULT" => assert!(found.is_empty(), "{}", answer.body),
        other => panic!("unexpected status {other}: {}", answer.body),
    }
    found
}

/// Asserts, on both servers, whether `ssin` is among the candidates of a search.
#[track_caller]
fn assert_found(
    servers: &[Server],
    ssin: &str,
    expected: bool,
    last_name: &str,
    first_name: Option<&str>,
    birth: &str,
) {
    for (i, server) in servers.iter().enumerate() {
        let found = candidates(server, last_name, first_name, birth);
        assert_eq!(
            found.iter().any(|n| n == ssin),
            expected,
            "server {}: {ssin} {} among the candidates for {last_name} {first_name:?} {birth}: \
             {found:?}",
            i + 1,
            if expected { "not" } else { "unexpectedly" }
        );
    }
}

/// The numbers of these tests.
struct Numbers {
    /// Added by the feed, then renamed by it.
    added: String,
    /// A → B → C, all "Lewandowska Anna" born 1991-03-04.
    chain_a: String,
    chain_b: String,
    chain_c: String,
    /// Canceled without replacement.
    canceled: String,
    /// A BIS number (+40) renamed by updateBisIdentity.
    bis: String,
}

fn numbers() -> Numbers {
    Numbers {
        added: niss("810203", 201, false),
        chain_a: niss("914304", 202, false),
        chain_b: niss("912304", 203, false),
        chain_c: niss("910304", 204, false),
        canceled: niss("770512", 205, false),
        bis: niss("904102", 207, false),
    }
}

fn the_index_stays_current(backend: Backend) {
    let app = TestApp::start(backend);
    // As the migrations made it, before any bulk load.
    assert_key_carries_the_bits(backend, &app);
    for operation in ["searchPersonByPhoneticCriteria", "updateBisIdentity"] {
        app.grant(&org_a().cbe, operation);
    }
    let second = SecondServer::start(&app);
    let servers = [Server::First(&app), Server::Second(&second)];
    let n = numbers();

    // Added by the feed: found at once, under its name as heard.
    assert_found(
        &servers,
        &n.added,
        false,
        "Van den Berghe",
        Some("Jan"),
        "1981-02-03",
    );
    app.apply_feed(
        &Feed::new("FRESH-1")
            .new_person(&PersonData::new(&n.added, "Vandenberghe", &["Jan"]))
            .new_person(&PersonData::new(&n.chain_a, "Lewandowska", &["Anna"]))
            .new_person(&PersonData::new(&n.chain_b, "Lewandowska", &["Anna"]))
            .new_person(&PersonData::new(&n.chain_c, "Lewandowska", &["Anna"]))
            .new_person(&PersonData::new(&n.canceled, "Mertens", &["Lucas"]))
            .new_person(&PersonData::new(&n.bis, "Kowalski", &["Piotr"])),
    );
    assert_found(
        &servers,
        &n.added,
        true,
        "Van den Berghe",
        Some("Jan"),
        "1981-02-03",
    );
    assert_found(
        &servers,
        &n.chain_a,
        true,
        "Lewandowska",
        Some("Anna"),
        "1991-03-04",
    );
    assert_found(
        &servers,
        &n.canceled,
        true,
        "Mertens",
        Some("Lucas"),
        "1977-05-12",
    );
    assert_found(
        &servers,
        &n.bis,
        true,
        "Kowalski",
        Some("Piotr"),
        "1990-01-02",
    );

    // A name change: found under the new name, no longer under the old one (asked without a
    // first name: the given name's key, same birth date, would find it still).
    app.apply_feed(
        &Feed::new("FRESH-2").identity_change(&n.added, "<p:lastName>Claeys</p:lastName>"),
    );
    assert_found(
        &servers,
        &n.added,
        true,
        "Claeys",
        Some("Jan"),
        "1981-02-03",
    );
    assert_found(
        &servers,
        &n.added,
        false,
        "Vandenberghe",
        None,
        "1981-02-03",
    );

    // Replacements A → B → C: only the final number is a candidate.
    app.apply_feed(
        &Feed::new("FRESH-3")
            .replacement(&n.chain_a, &n.chain_b)
            .replacement(&n.chain_b, &n.chain_c),
    );
    let found = candidates(&servers[0], "Lewandowska", Some("Anna"), "1991-03-04");
    assert!(found.contains(&n.chain_c), "{found:?}");
    for server in &servers {
        let found = candidates(server, "Lewandowska", Some("Anna"), "1991-03-04");
        assert!(found.contains(&n.chain_c), "{found:?}");
        assert!(
            !found.contains(&n.chain_a) && !found.contains(&n.chain_b),
            "{found:?}"
        );
    }

    // A cancellation removes the number.
    app.apply_feed(&Feed::new("FRESH-4").raw(&format!(
        r#"<cancellation id="c1"><ssin>{}</ssin></cancellation>"#,
        n.canceled
    )));
    assert_found(
        &servers,
        &n.canceled,
        false,
        "Mertens",
        Some("Lucas"),
        "1977-05-12",
    );

    // updateBisIdentity of a BIS number's name.
    app.call_ident(&IdentRequest::update_bis(
        &org_a(),
        &n.bis,
        "<p:lastName>Nowakowski</p:lastName>",
    ))
    .ok();
    assert_found(
        &servers,
        &n.bis,
        true,
        "Nowakowski",
        Some("Piotr"),
        "1990-01-02",
    );
    assert_found(&servers, &n.bis, false, "Kowalski", None, "1990-01-02");

    // After all of it, the index is what a rebuild makes of the persons.
    assert_index_is_exact(&app);
    let before = index_status(&app);
    let rebuilt = app.admin(&["search-index", "rebuild"], "");
    assert!(rebuilt.starts_with("search index rebuilt"), "{rebuilt}");
    let after = index_status(&app);
    assert_eq!(before["keys"], after["keys"], "{before} {after}");
    assert_eq!(after["current"], true, "{after}");
    assert_index_is_exact(&app);
    // And searches go on finding the same after the rebuild, on both servers.
    assert_found(
        &servers,
        &n.added,
        true,
        "Claeys",
        Some("Jan"),
        "1981-02-03",
    );
    assert_found(
        &servers,
        &n.chain_c,
        true,
        "Lewandowska",
        Some("Anna"),
        "1991-03-04",
    );
}

/// `raas admin search-index status`, parsed.
fn index_status(app: &TestApp) -> serde_json::Value {
    serde_json::from_str(&app.admin(&["search-index", "status"], "")).expect("JSON status")
}

/// `raas admin search-index check` finds no difference (and says so in its exit status).
#[track_caller]
fn assert_index_is_exact(app: &TestApp) {
    let check: serde_json::Value =
        serde_json::from_str(&app.admin(&["search-index", "check"], "")).expect("JSON check");
    assert_eq!(check["missing"], 0, "{check}");
    assert_eq!(check["extra"], 0, "{check}");
    assert_eq!(check["storedKeys"], check["expectedKeys"], "{check}");
    assert!(check["storedKeys"].as_u64().unwrap_or(0) > 0, "{check}");
}

/// The check catches an index that differs from the persons, and a rebuild repairs it; the
/// migration step rebuilds an index of another key version, or one never built, by itself.
fn a_damaged_or_outdated_index_is_caught_and_rebuilt(backend: Backend) {
    let mut app = TestApp::empty(backend);
    app.apply_feed(&common::source::standard_feed());
    assert_index_is_exact(&app);
    let url = app.database_url();
    run_sql(url, "DELETE FROM person_search_keys WHERE ssin = (SELECT MIN(ssin) FROM persons WHERE status = 'ACTIVE')");
    let output = app.run(&["admin", "search-index", "check"], "");
    assert!(!output.status.success(), "a damaged index passes the check");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON check");
    assert!(report["missing"].as_u64().unwrap_or(0) > 0, "{report}");
    app.admin(&["search-index", "rebuild"], "");
    assert_index_is_exact(&app);

    // Keys of another derivation: `raas migrate` rebuilds them.
    run_sql(url, "UPDATE search_index SET key_version = key_version - 1");
    run_sql(url, "DELETE FROM person_search_keys");
    assert_eq!(index_status(&app)["current"], false);
    let migrated = app.run(&["migrate"], "");
    assert!(migrated.status.success(), "{migrated:?}");
    assert_eq!(index_status(&app)["current"], true);
    assert_index_is_exact(&app);

    // Persons stored before the index existed: `raas serve` builds it as it starts.
    run_sql(
        url,
        "DELETE FROM search_index; DELETE FROM person_search_keys",
    );
    let person = &common::source::standard_persons()[1];
    app.add_org(&org_a());
    app.grant(&org_a().cbe, "searchPersonByPhoneticCriteria");
    app.serve(&["--workers", "1"]);
    let first = person.first_names.first().map(String::as_str);
    let servers = [Server::First(&app)];
    assert_found(
        &servers,
        &person.ssin,
        true,
        &person.last_name,
        first,
        &person.birth_date,
    );
    assert_index_is_exact(&app);
}

/// A synthetic population file of `persons` persons from `seed`, in the test's directory.
fn population_file(app: &TestApp, persons: u32, seed: u32) -> String {
    let path = app.path(&format!("population-{seed}.xml"));
    let path = path.to_str().expect("UTF-8 path").to_string();
    let output = app
        .command()
        .env("RAAS_GENERATED_AT", "2026-11-21T10:00:00Z")
        .args(["generate", "population", "--persons", &persons.to_string()])
        .args(["--seed", &seed.to_string(), "-o", &path])
        .output()
        .expect("raas runs");
    assert!(output.status.success(), "{output:?}");
    path
}

/// An active person of the population `file` with a complete birth date, as stored:
/// (number, last name, first given name, birth date).
fn someone_from(app: &TestApp, file: &str) -> (String, String, String, String) {
    let content = std::fs::read_to_string(file).expect("the population file");
    let numbers: Vec<String> = content
        .split("<p:ssin>")
        .skip(1)
        .take(50)
        .map(|rest| format!("'{}'", &rest[..11]))
        .collect();
    let row = query_texts(
        app.database_url(),
        &format!(
            "SELECT ssin || '|' || last_name || '|' || first_names || '|' || birth_date AS value \
             FROM persons WHERE ssin IN ({}) AND status = 'ACTIVE' \
             AND birth_date NOT LIKE '%-00%' ORDER BY ssin LIMIT 1",
            numbers.join(", ")
        ),
    );
    let row = row.first().expect("a person of the population");
    let fields: Vec<&str> = row.split('|').collect();
    let first = fields[2].split(';').next().unwrap_or_default();
    (
        fields[0].into(),
        fields[1].into(),
        first.into(),
        fields[3].into(),
    )
}

/// A population load builds the index and marks it built; a second population file, into a
/// register that holds persons, keeps it exact; a running server finds the persons of both.
fn population_loads_build_the_index(backend: Backend) {
    let mut app = TestApp::empty(backend);
    let first = population_file(&app, 3000, 11);
    app.run(&["import", "persons", &first, "--quiet"], "");
    let status = index_status(&app);
    assert_eq!(status["current"], true, "{status}");
    assert_index_is_exact(&app);
    // The key built again at the end of the load carries the bits too.
    assert_key_carries_the_bits(backend, &app);
    app.add_org(&org_a());
    app.grant(&org_a().cbe, "searchPersonByPhoneticCriteria");
    app.serve(&["--workers", "1"]);
    let servers = [Server::First(&app)];
    let (ssin, last, given, birth) = someone_from(&app, &first);
    assert_found(&servers, &ssin, true, &last, Some(&given), &birth);

    let second = population_file(&app, 2000, 12);
    let output = app.run(&["import", "persons", &second, "--quiet"], "");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(index_status(&app)["activePersons"].as_u64(), Some(5000));
    assert_index_is_exact(&app);
    let (ssin, last, given, birth) = someone_from(&app, &second);
    assert_found(&servers, &ssin, true, &last, Some(&given), &birth);
}

/// On PostgreSQL, the index's primary key carries the given-name bits (`INCLUDE`): a probe
/// reads the index alone, never the rows' heap pages. (SQLite's `WITHOUT ROWID` table is
/// its key.)
fn assert_key_carries_the_bits(backend: Backend, app: &TestApp) {
    if backend != Backend::Sqlite {
        run_sql(
            app.database_url(),
            "DO $$ BEGIN IF (SELECT indnatts - indnkeyatts FROM pg_index \
             WHERE indexrelid = 'person_search_keys_pkey'::regclass) <> 1 \
             THEN RAISE EXCEPTION 'the index does not carry given_name_bits'; END IF; END $$",
        );
    }
}

/// Runs `sql` on the test database behind the service's back: a write as a fault or an
/// older build would make, or a check that raises.
fn run_sql(url: &str, sql: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let done = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        diesel::PgConnection::establish(url)
            .expect("a connection")
            .batch_execute(sql)
    } else {
        diesel::SqliteConnection::establish(url)
            .expect("a connection")
            .batch_execute(sql)
    };
    done.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

backend_tests!(
    the_index_stays_current,
    population_loads_build_the_index,
    a_damaged_or_outdated_index_is_caught_and_rebuilt
);
