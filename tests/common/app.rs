//! The real `raas` binary: administration commands on a fresh database, and a server on a
//! free port, killed when the test ends.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use super::answer::Answer;
use super::db::{Backend, TestDatabase};
use super::soap::{Org, Request};

pub const RAAS: &str = env!("CARGO_BIN_EXE_raas");

/// The organisation most tests call as: types EMPLOYEE and BENEFICIARY.
pub fn org_a() -> Org {
    Org::new("0202239951", "Org A", "alice")
}

/// Another organisation: type EMPLOYEE only.
pub fn org_b() -> Org {
    Org::new("0403019261", "Org B", "bob")
}

/// A database of its own, and (once started) a server on it.
pub struct TestApp {
    pub backend: Backend,
    server: Option<Server>,
    client: reqwest::blocking::Client,
    // Dropped after the server is stopped (see `Drop`), then the directory.
    db: TestDatabase,
    dir: TempDir,
}

struct Server {
    child: Child,
    /// Kept open: the server writes more lines after the first.
    _stdout: BufReader<ChildStdout>,
    base_url: String,
    log: PathBuf,
}

impl TestApp {
    /// A fresh, empty database and no server yet.
    pub fn empty(backend: Backend) -> TestApp {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = TestDatabase::create(backend, dir.path());
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        TestApp {
            backend,
            server: None,
            client,
            db,
            dir,
        }
    }

    /// Org A (EMPLOYEE, BENEFICIARY) and org B (EMPLOYEE) onboarded, the standard persons
    /// known to the source (`source::standard_persons`), and a server started
    /// with `serve_args` added to `serve --listen 127.0.0.1:0`.
    pub fn start_with(backend: Backend, serve_args: &[&str]) -> TestApp {
        let mut app = TestApp::empty(backend);
        app.add_org(&org_a());
        app.add_dossier_type(&org_a().cbe, "EMPLOYEE", Some("Employees"));
        app.add_dossier_type(
            &org_a().cbe,
            "BENEFICIARY",
            Some("Beneficiaries of an allowance"),
        );
        app.add_org(&org_b());
        app.add_dossier_type(&org_b().cbe, "EMPLOYEE", Some("Employees of B"));
        app.apply_feed(&super::source::standard_feed());
        app.serve(serve_args);
        app
    }

    /// [`TestApp::start_with`] with the default options (and a small connection pool).
    pub fn start(backend: Backend) -> TestApp {
        TestApp::start_with(backend, &["--db-connections", "4", "--workers", "2"])
    }

    /// A path in the test's own temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn database_url(&self) -> &str {
        &self.db.url
    }

    /// The server's log so far (its standard error).
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.path("server.log")).expect("the server's log")
    }

    /// The name of the test's database: the last segment of its URL, without a query.
    pub fn database_name(&self) -> &str {
        let last = self.db.url.rsplit('/').next().expect("a database name");
        last.split('?').next().unwrap_or(last)
    }

    /// `raas serve --demo` on a free port with one worker, its standard output piped.
    pub fn spawn_demo(&self) -> Child {
        self.command()
            .args([
                "serve",
                "--demo",
                "--listen",
                "127.0.0.1:0",
                "--workers",
                "1",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("raas serve starts")
    }

    /// Starts the server and waits for its address.
    pub fn serve(&mut self, serve_args: &[&str]) {
        assert!(self.server.is_none(), "the server is already running");
        let log = self.dir.path().join("server.log");
        let child = self
            .command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(serve_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("a log file"))
            .spawn()
            .expect("raas serve starts");
        let (child, stdout, base_url) =
            listening(child, || std::fs::read_to_string(&log).unwrap_or_default());
        self.server = Some(Server {
            base_url,
            child,
            _stdout: stdout,
            log,
        });
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self
            .server
            .as_ref()
            .expect("the server is running")
            .base_url
    }

    pub fn endpoint(&self) -> String {
        format!("{}/soap/PersonRegisterService", self.base_url())
    }

    /// `raas --database-url URL` with the environment cleared of what could interfere.
    pub fn command(&self) -> Command {
        let mut command = Command::new(RAAS);
        command
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG")
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .current_dir(self.dir.path())
            .args(["--database-url", &self.db.url]);
        command
    }

    /// Runs `raas --database-url URL ARGS` with `stdin` as standard input.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        run_with_input(self.command().args(args), stdin)
    }

    /// Runs `raas … admin ARGS`, asserts it succeeds and gives its standard output.
    #[track_caller]
    pub fn admin(&self, args: &[&str], stdin: &str) -> String {
        let output = self.run(&[&["admin"], args].concat(), stdin);
        assert!(
            output.status.success(),
            "raas admin {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// Onboards an organisation with its credential.
    pub fn add_org(&self, org: &Org) {
        self.admin(&["org", "add", "--cbe", &org.cbe, "--name", &org.name], "");
        self.add_credential(org);
    }

    /// Adds the org's credential (or gives it its password again).
    pub fn add_credential(&self, org: &Org) {
        self.admin(
            &[
                "credential",
                "add",
                "--cbe",
                &org.cbe,
                "--username",
                &org.username,
            ],
            &format!("{}\n", org.password),
        );
    }

    pub fn add_dossier_type(&self, cbe: &str, code: &str, description: Option<&str>) {
        let mut args = vec!["dossier-type", "add", "--cbe", cbe, "--code", code];
        if let Some(description) = description {
            args.extend(["--description", description]);
        }
        self.admin(&args, "");
    }

    pub fn retire_dossier_type(&self, cbe: &str, code: &str) {
        self.admin(
            &["dossier-type", "retire", "--cbe", cbe, "--code", code],
            "",
        );
    }

    /// `admin audit` (newest first), optionally about one NISS.
    pub fn audit(&self, ssin: Option<&str>) -> Vec<serde_json::Value> {
        let mut args = vec!["audit", "--limit", "100000"];
        if let Some(ssin) = ssin {
            args.extend(["--ssin", ssin]);
        }
        self.admin(&args, "")
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }

    /// Sends a request.
    pub fn call(&self, request: &Request) -> Answer {
        self.post(request.to_xml())
    }

    /// POSTs a raw body to the SOAP endpoint.
    pub fn post(&self, body: impl Into<Vec<u8>>) -> Answer {
        self.post_body(reqwest::blocking::Body::from(body.into()))
    }

    /// POSTs a raw body without Content-Length (chunked transfer encoding).
    pub fn post_chunked(&self, body: impl Into<Vec<u8>>) -> Answer {
        let reader = std::io::Cursor::new(body.into());
        self.post_body(reqwest::blocking::Body::new(reader))
    }

    fn post_body(&self, body: reqwest::blocking::Body) -> Answer {
        self.post_to("/soap/PersonRegisterService", body)
    }

    /// POSTs a body to a SOAP endpoint of the server (`/soap/…`).
    pub fn post_to(&self, path: &str, body: reqwest::blocking::Body) -> Answer {
        let response = self
            .client
            .post(format!("{}{path}", self.base_url()))
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(body)
            .send()
            .expect("the server answers");
        answer_of(response)
    }

    /// GETs a path of the server.
    pub fn get(&self, path: &str) -> Answer {
        let response = self
            .client
            .get(format!("{}{path}", self.base_url()))
            .send()
            .expect("the server answers");
        answer_of(response)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.child.kill();
            let _ = server.child.wait();
            if std::thread::panicking() {
                eprintln!(
                    "--- server log ({:?}) ---\n{}",
                    self.backend,
                    std::fs::read_to_string(&server.log).unwrap_or_default()
                );
            }
        }
    }
}

/// A response read as an [`Answer`].
pub fn answer_of(response: reqwest::blocking::Response) -> Answer {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().expect("a readable answer");
    Answer::new(status, content_type, body)
}

/// POSTs a SOAP request to `url` with `client`.
pub fn post_soap(client: &reqwest::blocking::Client, url: &str, request: &Request) -> Answer {
    let response = client
        .post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", "\"\"")
        .body(request.to_xml())
        .send()
        .expect("the server answers");
    answer_of(response)
}

/// Waits for a spawned `raas serve` (its standard output piped) to print the address it
/// listens on: the child, its standard output (to keep open: the server writes more lines)
/// and `http://127.0.0.1:PORT`. When it prints something else, kills it and fails with that
/// line and `more()` (e.g. its log).
#[track_caller]
pub fn listening(
    mut child: Child,
    more: impl FnOnce() -> String,
) -> (Child, BufReader<ChildStdout>, String) {
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    stdout
        .read_line(&mut first)
        .expect("reading the server's output");
    let Some(base_url) = first.trim().strip_prefix("raas listening on ") else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("raas serve did not start: {first:?}\n{}", more());
    };
    let base_url = base_url.to_owned();
    (child, stdout, base_url)
}

/// Runs a command with `stdin` as its standard input and collects its output.
pub fn run_with_input(command: &mut Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("raas starts");
    let mut input = child.stdin.take().expect("piped stdin");
    let stdin = stdin.to_owned();
    // A writer thread: the child may fill its output pipes before reading all its input.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let output = child.wait_with_output().expect("raas runs");
    writer.join().expect("the input writer");
    output
}
