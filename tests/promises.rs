//! What the README and `--help` promise and nothing else checked: `serve --demo`, `raas
//! migrate`, `DATABASE_URL`, `--workers`, `--db-connections`, secrets stored only as Argon2id
//! hashes, the journal's commit order under concurrent writers, `generate population` in
//! constant memory, and the dossier type code pattern at the command line.

#[macro_use]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::app::RAAS;
use common::db::{query_i64, query_texts};
use common::peak_memory::run_measuring_peak;
use common::soap::IdentRequest;
use common::{niss, org_a, Answer, Backend, Feed, Org, PersonData, Request, TestApp};

/// A `raas serve` started by a test itself, to read all it prints and reach its process.
struct Served {
    child: Child,
    stdout: BufReader<ChildStdout>,
    base_url: String,
}

impl Served {
    /// Starts `command serve --listen 127.0.0.1:0 ARGS` and reads its first line.
    fn start(mut command: Command, args: &[&str]) -> Served {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("raas serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let first = read_line(&mut stdout);
        let Some(base_url) = first.strip_prefix("raas listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("raas serve did not start: {first:?}");
        };
        Served {
            base_url: base_url.to_owned(),
            child,
            stdout,
        }
    }

    fn line(&mut self) -> String {
        read_line(&mut self.stdout)
    }

    fn post(&self, path: &str, body: String) -> Answer {
        let response = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("a client")
            .post(format!("{}{path}", self.base_url))
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .expect("the server answers");
        common::app::answer_of(response)
    }

    fn call(&self, request: &Request) -> Answer {
        self.post("/soap/PersonRegisterService", request.to_xml())
    }

    fn call_ident(&self, request: &IdentRequest) -> Answer {
        self.post(common::soap::IDENT_PATH, request.to_xml())
    }

    /// The names of the server's threads (`/proc/PID/task/*/comm`).
    fn threads(&self) -> Vec<String> {
        let dir = format!("/proc/{}/task", self.child.id());
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_owned())
            .collect()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_line(stdout: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    stdout.read_line(&mut line).expect("reading the output");
    line.trim_end_matches('\n').to_owned()
}

/// `raas` with a clean environment, in `dir`, without `--database-url`.
fn bare_command(dir: &std::path::Path) -> Command {
    let mut command = Command::new(RAAS);
    command
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .current_dir(dir);
    command
}

// --- serve --demo ----------------------------------------------------------------------------

fn serve_demo_seeds_what_it_prints(backend: Backend) {
    let app = TestApp::empty(backend);
    let mut served = Served::start(app.command(), &["--demo", "--workers", "2"]);
    let base = served.base_url.clone();
    assert_eq!(
        served.line(),
        format!("WSDL: {base}/soap/PersonRegisterService?wsdl")
    );
    assert_eq!(
        served.line(),
        format!("WSDL: {base}/soap/PersonIdentificationService?wsdl")
    );
    assert_eq!(
        served.line(),
        format!("WSDL: {base}/soap/DeliveryService?wsdl")
    );
    assert_eq!(
        served.line(),
        "demo organisation 0202239951 (Demo Integrator)"
    );
    assert_eq!(served.line(), "  username: demo");
    let password_line = served.line();
    let password = password_line
        .strip_prefix("  password: ")
        .unwrap_or_else(|| panic!("{password_line:?}"))
        .to_owned();
    assert!(password.len() >= 16, "{password:?}");
    assert_eq!(
        served.line(),
        "  dossier types: EMPLOYEE, BENEFICIARY, PROVISIONAL"
    );
    assert_eq!(
        served.line(),
        "  granted: identifyPerson, updateBisIdentity, searchPersonByPhoneticCriteria, createBisNumber"
    );
    assert_eq!(
        served.line(),
        "authentic source: 100000 persons; registered under EMPLOYEE:"
    );
    // Five registered persons: `  NISS  First names Last name (birth date)`.
    let registered: Vec<(String, String)> = (0..5)
        .map(|_| {
            let line = served.line();
            let (ssin, name) = line
                .trim_start()
                .split_once("  ")
                .unwrap_or_else(|| panic!("{line:?}"));
            assert_eq!(ssin.len(), 11, "{line:?}");
            (ssin.to_owned(), name.to_owned())
        })
        .collect();

    // What it seeded, in the database.
    assert_eq!(
        query_i64(
            app.database_url(),
            "SELECT CAST(COUNT(*) AS TEXT) AS value FROM persons"
        ),
        100_000
    );
    assert_eq!(
        app.admin(&["grants", "--cbe", "0202239951"], "")
            .lines()
            .collect::<Vec<_>>(),
        [
            "createBisNumber",
            "identifyPerson",
            "searchPersonByPhoneticCriteria",
            "updateBisIdentity"
        ]
    );

    // The printed credentials work for real SOAP calls.
    let demo = Org {
        cbe: "0202239951".into(),
        name: "Demo Integrator".into(),
        username: "demo".into(),
        password: password.clone(),
    };
    let types = served.call(&Request::list_dossier_types(&demo)).ok();
    let codes: Vec<(String, String)> = types
        .doc()
        .all("dossierType")
        .into_iter()
        .map(|t| {
            (
                t.child_text("code").unwrap_or_default(),
                t.child_text("description").unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        common::fields(&[
            ("BENEFICIARY", "Beneficiaries of an allowance"),
            ("EMPLOYEE", "Employees of the demo organisation's clients"),
            ("PROVISIONAL", "Provisional registration (quality code 902)"),
        ])
    );
    let year = chrono::Datelike::year(&chrono::Utc::now());
    for (ssin, name) in &registered {
        let consulted = served.call(&Request::consult(&demo, ssin)).ok();
        assert_eq!(consulted.status(), "DATA_FOUND", "{ssin}");
        assert_eq!(consulted.lines(), [format!("EMPLOYEE {year}-01-01..")]);
        let identified = served.call_ident(&IdentRequest::identify(&demo, ssin)).ok();
        let text = |field: &str| identified.text(&["person", field]).unwrap_or_default();
        let first_names: Vec<String> = identified
            .doc()
            .all("firstName")
            .iter()
            .map(|n| n.text.trim().to_owned())
            .collect();
        assert_eq!(
            *name,
            format!(
                "{} {} ({})",
                first_names.join(" "),
                text("lastName"),
                text("birthDate")
            )
        );
    }
    // And a wrong password is refused.
    let wrong = Request::list_dossier_types(&demo).password("not-the-demo-password");
    served.call(&wrong).fault("NOT_AUTHENTICATED");
}

// --- raas migrate ----------------------------------------------------------------------------

fn migrate_applies_once_and_says_so(backend: Backend) {
    let app = TestApp::empty(backend);
    let tables = "SELECT CAST(COUNT(*) AS TEXT) AS value FROM persons";
    for round in 0..2 {
        let output = app.run(&["migrate"], "");
        assert!(output.status.success(), "{output:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "migrations applied\n",
            "round {round}"
        );
        assert_eq!(query_i64(app.database_url(), tables), 0);
        if round == 0 {
            app.add_org(&org_a());
        }
    }
    // Run again on a database with data: nothing lost.
    assert_eq!(
        app.admin(&["org", "list"], "").lines().count(),
        1,
        "the organisation is still there"
    );
}

// --- DATABASE_URL ----------------------------------------------------------------------------

fn database_url_is_read_from_the_environment(backend: Backend) {
    let app = TestApp::empty(backend);
    let elsewhere = tempfile::tempdir().expect("a directory");
    let run = |args: &[&str], stdin: &str| {
        let output = common::app::run_with_input(
            bare_command(elsewhere.path())
                .env("DATABASE_URL", app.database_url())
                .args(args),
            stdin,
        );
        assert!(output.status.success(), "{args:?}: {output:?}");
    };
    let org = org_a();
    run(
        &[
            "admin", "org", "add", "--cbe", &org.cbe, "--name", &org.name,
        ],
        "",
    );
    run(
        &[
            "admin",
            "credential",
            "add",
            "--cbe",
            &org.cbe,
            "--username",
            &org.username,
        ],
        &format!("{}\n", org.password),
    );
    // The command went to the database of DATABASE_URL, not to the default ./raas.db.
    assert!(app.admin(&["org", "list"], "").contains(&org.cbe));
    assert!(!elsewhere.path().join("raas.db").exists());

    let mut command = bare_command(elsewhere.path());
    command.env("DATABASE_URL", app.database_url());
    let served = Served::start(command, &["--workers", "1"]);
    let answer = served.call(&Request::list_dossier_types(&org)).ok();
    assert_eq!(answer.status(), "NO_DATA_FOUND");
    assert!(!elsewhere.path().join("raas.db").exists());
}

// --- --workers and --db-connections ----------------------------------------------------------

/// `--workers N` starts N HTTP worker threads (actix names them `actix-rt|system:0:K`).
fn workers_are_started_as_asked(backend: Backend) {
    let app = TestApp::start_with(backend, &["--workers", "1"]);
    for workers in [1, 3] {
        let served = Served::start(app.command(), &["--workers", &workers.to_string()]);
        served
            .call(&Request::consult(&org_a(), common::NISS_1))
            .ok();
        let http_workers = served
            .threads()
            .iter()
            .filter(|name| name.starts_with("actix-rt|system"))
            .count();
        assert_eq!(http_workers, workers, "{:?}", served.threads());
    }
}

/// `--db-connections N`: under concurrent load the server never holds more than N pooled
/// connections to its PostgreSQL database (and the audit writer's own one).
#[test]
fn db_connections_bound_the_server_s_connections_on_postgresql() {
    if !Backend::Postgres.available() {
        return;
    }
    // No other server on this database: its connections would be counted too.
    let app = TestApp::empty(Backend::Postgres);
    app.add_org(&org_a());
    app.add_dossier_type(&org_a().cbe, "EMPLOYEE", None);
    app.apply_feed(&common::source::standard_feed());
    let database = app
        .database_url()
        .rsplit('/')
        .next()
        .expect("a database name")
        .to_owned();
    let count = || {
        query_i64(
            app.database_url(),
            &format!(
                "SELECT CAST(COUNT(*) AS TEXT) AS value FROM pg_stat_activity \
                 WHERE datname = '{database}' AND pid <> pg_backend_pid()"
            ),
        )
    };
    for connections in [1, 3] {
        // The previous server's connections end when the server notices its process is
        // gone: wait for them, so that they are not counted as this server's.
        let settled = Instant::now() + Duration::from_secs(15);
        while count() > 0 && Instant::now() < settled {
            std::thread::sleep(Duration::from_millis(50));
        }
        let served = Arc::new(Served::start(
            app.command(),
            &[
                "--workers",
                "4",
                "--db-connections",
                &connections.to_string(),
            ],
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..8)
            .map(|_| {
                let (served, stop) = (served.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        served
                            .call(&Request::consult(&org_a(), common::NISS_1))
                            .ok();
                    }
                })
            })
            .collect();
        let mut most = 0;
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            most = most.max(count());
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::Relaxed);
        for client in clients {
            client.join().expect("a client");
        }
        assert!(most >= 1, "the server was seen connected");
        // The pool's connections, and the audit writer's own one beside them.
        assert!(
            most <= connections + 1,
            "--db-connections {connections}: {most} connections seen"
        );
    }
}

// --- secrets ---------------------------------------------------------------------------------

fn secrets_are_stored_only_as_argon2id_hashes(backend: Backend) {
    let app = TestApp::start(backend);
    // Log in (and again, from the remembered digest), so that nothing after a login is stored
    // in clear either.
    for _ in 0..2 {
        app.call(&Request::list_dossier_types(&org_a())).ok();
    }
    let hashes = query_texts(
        app.database_url(),
        "SELECT CAST(secret_hash AS TEXT) AS value FROM credentials ORDER BY username",
    );
    assert_eq!(hashes.len(), 2);
    for hash in &hashes {
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!hash.contains(&org_a().password), "{hash}");
    }
    if backend == Backend::Sqlite {
        // Nowhere in the database's bytes: the file, its WAL, its shared memory.
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{}{suffix}", app.database_url());
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            for org in [org_a(), common::org_b()] {
                assert!(
                    !bytes
                        .windows(org.password.len())
                        .any(|w| w == org.password.as_bytes()),
                    "{}'s secret is in {path}",
                    org.username
                );
            }
        }
    }
}

// --- the journal's commit order --------------------------------------------------------------

/// Writers append concurrently (updateBisIdentity on eight persons, and feed files), while a
/// reader delivers `seq > last` in a loop: at the end it has delivered every entry, which
/// holds only if sequence numbers become visible in commit order.
fn the_journal_is_read_in_commit_order_under_concurrent_writers(backend: Backend) {
    let app = TestApp::start_with(backend, &["--workers", "4", "--db-connections", "8"]);
    let bis: Vec<String> = (0..8).map(|i| niss("904102", 201 + 2 * i, false)).collect();
    let mut feed = Feed::new("ORDER-0");
    for ssin in &bis {
        feed = feed.new_person(&PersonData::new(ssin, "Kowalski", &["Piotr"]));
    }
    app.apply_feed(&feed);
    app.grant(&org_a().cbe, "updateBisIdentity");
    let url = app.database_url().to_owned();
    let all_seqs = move || -> Vec<i64> {
        query_texts(
            &url,
            "SELECT CAST(seq AS TEXT) AS value FROM mutation_journal ORDER BY seq",
        )
        .iter()
        .map(|s| s.parse().expect("a number"))
        .collect()
    };
    let before = all_seqs().len();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (url, stop) = (app.database_url().to_owned(), stop.clone());
        std::thread::spawn(move || {
            let mut delivered: Vec<i64> = Vec::new();
            loop {
                let done = stop.load(Ordering::SeqCst);
                let last = delivered.last().copied().unwrap_or(0);
                let new = query_texts(
                    &url,
                    &format!(
                        "SELECT CAST(seq AS TEXT) AS value FROM mutation_journal \
                         WHERE seq > {last} ORDER BY seq"
                    ),
                );
                delivered.extend(new.iter().map(|s| s.parse::<i64>().expect("a number")));
                if done {
                    return delivered;
                }
            }
        })
    };
    let app = Arc::new(app);
    let writers: Vec<_> = bis
        .iter()
        .enumerate()
        .map(|(i, ssin)| {
            let (app, ssin) = (app.clone(), ssin.clone());
            std::thread::spawn(move || {
                for round in 0..15u8 {
                    // Names are letters only: one letter per writer and per round.
                    let (w, r) = (char::from(b'a' + i as u8), char::from(b'a' + round));
                    let change = format!("<p:lastName>Name{w}{r}</p:lastName>");
                    app.call_ident(&IdentRequest::update_bis(&org_a(), &ssin, &change))
                        .ok();
                }
            })
        })
        .collect();
    // Feed files beside them, each a new person and a change of one of the eight.
    for round in 0..4 {
        let ssin = niss("904102", 301 + 2 * round, false);
        app.apply_feed(
            &Feed::new(&format!("ORDER-{}", round + 1))
                .new_person(&PersonData::new(&ssin, "Nowak", &["Ewa"]))
                .identity_change(
                    &bis[round as usize],
                    &format!(
                        "<p:firstName>Feed{}</p:firstName>",
                        char::from(b'a' + round as u8)
                    ),
                ),
        );
    }
    for writer in writers {
        writer.join().expect("a writer");
    }
    stop.store(true, Ordering::SeqCst);
    let delivered = reader.join().expect("the reader");
    let all = all_seqs();
    // 8 × 15 changes + 4 × (1 created + 1 changed).
    assert_eq!(all.len(), before + 8 * 15 + 4 * 2);
    let missed: Vec<&i64> = all.iter().filter(|s| !delivered.contains(s)).collect();
    assert!(
        missed.is_empty(),
        "a reader polling seq > last missed {missed:?}"
    );
    assert_eq!(delivered, all);
}

// --- generate population in constant memory --------------------------------------------------

/// The largest resident set (`VmHWM`, kB) of `raas generate population --persons N`, read
/// from /proc while it runs.
fn peak_memory_kb(persons: u64, out: &std::path::Path) -> u64 {
    let (output, peak) = run_measuring_peak(
        bare_command(out.parent().expect("a directory"))
            .args(["generate", "population", "--persons", &persons.to_string()])
            .args(["--seed", "3", "-o"])
            .arg(out),
    );
    assert!(
        output.status.success(),
        "generate {persons}: {}",
        output.status
    );
    peak
}

#[test]
fn generate_population_runs_in_constant_memory() {
    let dir = tempfile::tempdir().expect("a directory");
    let small = peak_memory_kb(10_000, &dir.path().join("small.xml"));
    let large = peak_memory_kb(200_000, &dir.path().join("large.xml"));
    let size = std::fs::metadata(dir.path().join("large.xml"))
        .expect("the file")
        .len();
    eprintln!("peak VmHWM: 10 000 persons {small} kB, 200 000 persons {large} kB ({size} bytes)");
    // Twenty times the persons: the peak may grow by a few MB, not with the file (~tens of MB).
    assert!(
        large <= small + 4 * 1024,
        "10 000 persons: {small} kB, 200 000 persons: {large} kB (file {size} bytes)"
    );
}

// --- the dossier type code pattern at the command line ---------------------------------------

fn dossier_type_codes_outside_the_pattern_are_refused_by_admin(backend: Backend) {
    let app = TestApp::empty(backend);
    app.add_org(&org_a());
    let cases = [
        (
            "A B",
            "character ' ' is not allowed (only letters, digits, '_', '.' and '-')",
        ),
        (
            "café",
            "character 'é' is not allowed (only letters, digits, '_', '.' and '-')",
        ),
        ("", "must not be empty"),
        (
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456",
            "must be at most 32 characters, got 33",
        ),
    ];
    for (code, message) in cases {
        let output = app.run(
            &[
                "admin",
                "dossier-type",
                "add",
                "--cbe",
                &org_a().cbe,
                "--code",
                code,
            ],
            "",
        );
        assert!(!output.status.success(), "{code:?} accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&format!("--code {code}")), "{stderr}");
        assert!(stderr.contains(message), "{code:?}: {stderr}");
    }
    // Nothing was defined: a SOAP caller sees no dossier type.
    let mut app = app;
    app.serve(&["--workers", "1"]);
    let answer = app.call(&Request::list_dossier_types(&org_a())).ok();
    assert_eq!(answer.status(), "NO_DATA_FOUND");
}

backend_tests!(
    serve_demo_seeds_what_it_prints,
    migrate_applies_once_and_says_so,
    database_url_is_read_from_the_environment,
    workers_are_started_as_asked,
    secrets_are_stored_only_as_argon2id_hashes,
    the_journal_is_read_in_commit_order_under_concurrent_writers,
    dossier_type_codes_outside_the_pattern_are_refused_by_admin,
);
