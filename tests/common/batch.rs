//! The batch engine in tests: the signing key, subscriptions, runs of the real `raas batch
//! run`, a server that can be stopped, twin databases, the engine in a running server. What
//! lands in the outbox is read and checked by `outbox`, Dimona files are built by `dimona`;
//! both are re-exported here, so that a batch test needs this module alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use chrono::{Days, NaiveDate};
use sha2::{Digest, Sha256};

use super::answer::Answer;
use super::app::{answer_of, listening, post_soap, run_with_input, TestApp, RAAS};
use super::db::{query_i64, query_texts};
use super::soap::{Org, Request};
use super::xml::Node;

pub use super::dimona::*;
pub use super::outbox::*;

pub const PERSON_MUTATIONS: &str = "PERSON_MUTATIONS";
pub const DIMONA_MUTATIONS: &str = "DIMONA_MUTATIONS";

/// Today in Europe/Brussels, the default time zone of the reference dates.
pub fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Brussels)
        .date_naive()
}

/// `days` before `day`.
pub fn days_before(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_sub_days(Days::new(days)).expect("a date")
}

/// `days` after `day`.
pub fn days_after(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_add_days(Days::new(days)).expect("a date")
}

/// `YYYY-MM-DD`.
pub fn iso(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// `YYYYMMDD`, as in the file names.
pub fn compact(day: NaiveDate) -> String {
    day.format("%Y%m%d").to_string()
}

/// A valid enterprise number from a serial (`0` + 7 digits + check digits), for tests that
/// need many organisations.
pub fn enterprise_number(serial: u32) -> String {
    let first8 = 3_000_000 + u64::from(serial);
    let check = 97 - first8 % 97;
    format!("{first8:08}{check:02}")
}

pub(super) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts a command succeeded and gives its standard output.
#[track_caller]
pub fn succeeded(what: &str, output: &Output) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({:?}): {}{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Runs a statement on a test database (a SQLite path or a PostgreSQL URL): for the set-up the
/// commands cannot make, such as a subscription added some days ago.
pub fn execute_sql(url: &str, sql: &str) {
    use diesel::{Connection, RunQueryDsl};
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut conn = diesel::pg::PgConnection::establish(url)
            .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
        diesel::sql_query(sql).execute(&mut conn)
    } else {
        let mut conn = diesel::sqlite::SqliteConnection::establish(url)
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
        diesel::sql_query(sql).execute(&mut conn)
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The batch commands of one database, with a signing key and an outbox.
#[derive(Debug, Clone)]
pub struct BatchCli {
    pub database_url: String,
    /// The working directory of the commands.
    pub dir: PathBuf,
    pub key: PathBuf,
    /// The key's public half, as `raas batch public-key` printed it.
    pub public_key: PathBuf,
    pub outbox: PathBuf,
}

impl TestApp {
    /// The batch commands of this application's database: a key made with `raas batch keygen`
    /// (once), its public half from `raas batch public-key`, and the outbox `outbox/`.
    pub fn batch(&self) -> BatchCli {
        let key = self.path("signing-key.pem");
        let public_key = self.path("signing-key.pub.pem");
        if !key.exists() {
            let key_arg = key.to_str().expect("UTF-8 path");
            succeeded(
                "raas batch keygen",
                &self.run(&["batch", "keygen", "-o", key_arg], ""),
            );
            let pem = succeeded(
                "raas batch public-key",
                &self.run(&["--signing-key", key_arg, "batch", "public-key"], ""),
            );
            let lines: Vec<&str> = pem.lines().map(str::trim_end).collect();
            assert!(
                lines.first() == Some(&"-----BEGIN PUBLIC KEY-----")
                    && lines.last() == Some(&"-----END PUBLIC KEY-----"),
                "not a PEM public key: {pem:?}"
            );
            std::fs::write(&public_key, pem).expect("the public key is written");
        }
        BatchCli {
            database_url: self.database_url().to_owned(),
            dir: self.path(""),
            key,
            public_key,
            outbox: self.path("outbox"),
        }
    }

    /// `raas admin subscription add --cbe CBE --type TYPE [--dossier-type C]… EXTRA…`; gives
    /// the id it prints.
    #[track_caller]
    pub fn subscribe(&self, cbe: &str, file_type: &str, types: &[&str], extra: &[&str]) -> String {
        let mut args = vec!["subscription", "add", "--cbe", cbe, "--type", file_type];
        for code in types {
            args.extend(["--dossier-type", code]);
        }
        args.extend(extra);
        let id = self.admin(&args, "").trim().to_owned();
        assert!(
            !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()),
            "subscription add printed {id:?}, not an id"
        );
        id
    }

    /// A Dimona subscription under the authorisation `reference`, valid from `from` to `to`.
    pub fn subscribe_dimona(
        &self,
        cbe: &str,
        types: &[&str],
        reference: &str,
        from: NaiveDate,
        to: Option<NaiveDate>,
    ) -> String {
        let from = iso(from);
        let to = to.map(iso);
        let mut extra = vec!["--authorisation", reference, "--valid-from", &from];
        if let Some(to) = &to {
            extra.extend(["--valid-to", to]);
        }
        self.subscribe(cbe, DIMONA_MUTATIONS, types, &extra)
    }

    /// Makes every subscription start on `day` (as if added then: the commands add them
    /// today).
    pub fn backdate_subscriptions(&self, day: NaiveDate) {
        execute_sql(
            self.database_url(),
            &format!("UPDATE subscriptions SET starts_on = '{}'", iso(day)),
        );
    }

    /// An organisation with its credential and its dossier types.
    pub fn add_org_with_types(&self, org: &Org, types: &[&str]) {
        self.add_org(org);
        for code in types {
            self.add_dossier_type(&org.cbe, code, None);
        }
    }

    /// Registers a line and asserts it was accepted.
    #[track_caller]
    pub fn register_line(&self, org: &Org, ssin: &str, code: &str, period: &str) {
        self.call(&Request::register(org, ssin, code, period)).ok();
    }

    /// Applies a Dimona file with `raas import dimona` and gives the command's output.
    pub fn import_dimona(&self, file: &DimonaFile) -> Output {
        let path = self.path(&format!("dimona-{}.xml", file.file_id));
        std::fs::write(&path, file.xml()).expect("the Dimona file is written");
        self.run(
            &["import", "dimona", path.to_str().expect("UTF-8 path")],
            "",
        )
    }

    /// Applies a Dimona file and asserts it succeeded.
    #[track_caller]
    pub fn apply_dimona(&self, file: &DimonaFile) -> String {
        succeeded("raas import dimona", &self.import_dimona(file))
    }

    /// The journal sequence numbers of a number's entries of one kind (`admin history`).
    pub fn journal_seqs(&self, ssin: &str, kind: &str) -> Vec<i64> {
        self.admin(&["history", "--ssin", ssin], "")
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line"))
            .filter(|entry| entry["kind"] == kind)
            .map(|entry| entry["seq"].as_i64().expect("a seq"))
            .collect()
    }
}

impl BatchCli {
    /// The same commands on another database (a twin of this one).
    pub fn on_database(&self, url: &str) -> BatchCli {
        BatchCli {
            database_url: url.to_owned(),
            ..self.clone()
        }
    }

    /// The same commands writing to another outbox.
    pub fn with_outbox(&self, outbox: &Path) -> BatchCli {
        BatchCli {
            outbox: outbox.to_owned(),
            ..self.clone()
        }
    }

    /// `raas --database-url URL --outbox DIR` (no signing key), the environment cleared.
    pub fn command_without_key(&self) -> Command {
        let mut command = Command::new(RAAS);
        command
            .env_remove("DATABASE_URL")
            .env_remove("RAAS_DATABASE_URL")
            .env_remove("RAAS_SIGNING_KEY")
            .env_remove("RAAS_OUTBOX")
            .env_remove("RAAS_CONFIG")
            .env_remove("RAAS_BATCH_ABORT_AFTER_STEPS")
            .env_remove("RUST_LOG")
            .env_remove("RUST_BACKTRACE")
            .current_dir(&self.dir)
            .args(["--database-url", &self.database_url])
            .args(["--outbox", self.outbox.to_str().expect("UTF-8 path")]);
        command
    }

    /// [`BatchCli::command_without_key`] with `--signing-key KEY`.
    pub fn command(&self) -> Command {
        let mut command = self.command_without_key();
        command.args(["--signing-key", self.key.to_str().expect("UTF-8 path")]);
        command
    }

    /// `raas batch run --date D --quiet`.
    pub fn run(&self, day: NaiveDate) -> Output {
        run_with_input(
            self.command()
                .args(["batch", "run", "--quiet", "--date", &iso(day)]),
            "",
        )
    }

    /// Runs D, asserts it succeeded, and gives its JSON summary (the last line of its output).
    #[track_caller]
    pub fn run_ok(&self, day: NaiveDate) -> serde_json::Value {
        let output = succeeded(&format!("raas batch run --date {day}"), &self.run(day));
        summary_of(&output)
    }

    /// `raas batch run --date D --quiet` started, with extra environment variables.
    pub fn spawn_run(&self, day: NaiveDate, env: &[(&str, &str)]) -> Child {
        let mut command = self.command();
        command
            .args(["batch", "run", "--quiet", "--date", &iso(day)])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.spawn().expect("raas batch run starts")
    }

    /// `raas batch status`, one JSON value a line.
    pub fn status(&self) -> Vec<serde_json::Value> {
        let output = run_with_input(self.command().args(["batch", "status"]), "");
        succeeded("raas batch status", &output)
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("batch status printed {line:?}: {e}"))
            })
            .collect()
    }

    /// `raas voucher verify FILE… --public-key PUB`.
    pub fn voucher_verify(&self, files: &[PathBuf]) -> Output {
        let mut command = self.command_without_key();
        command.args(["voucher", "verify"]).args(files).args([
            "--public-key",
            self.public_key.to_str().expect("UTF-8 path"),
        ]);
        run_with_input(&mut command, "")
    }

    /// The data files of the outbox, sorted by path.
    pub fn data_files(&self) -> Vec<PathBuf> {
        data_files(&self.outbox)
    }

    /// The data files of one organisation, in name order.
    pub fn files_of(&self, cbe: &str) -> Vec<DataFile> {
        data_files(&self.outbox.join(cbe))
            .iter()
            .map(|path| DataFile::read(path))
            .collect()
    }

    /// The one file of an organisation and type for `day`.
    #[track_caller]
    pub fn file(&self, cbe: &str, file_type: &str, day: NaiveDate) -> DataFile {
        let found: Vec<DataFile> = self
            .files_of(cbe)
            .into_iter()
            .filter(|f| f.file_type == file_type && f.reference_date == iso(day))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{cbe} has {} {file_type} files for {day}: {:?}",
            found.len(),
            self.snapshot().keys().collect::<Vec<_>>()
        );
        found.into_iter().next().expect("one file")
    }

    /// Every file under the outbox (relative path → bytes).
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        snapshot(&self.outbox)
    }

    /// Every check a receiver and an auditor make of the whole outbox (see [`check_outbox`]),
    /// and `raas voucher verify` accepting every data file.
    #[track_caller]
    pub fn check_all(&self) {
        check_outbox(&self.outbox, &self.public_key);
        let files = self.data_files();
        if !files.is_empty() {
            let output = self.voucher_verify(&files);
            assert!(
                output.status.success(),
                "raas voucher verify refused the outbox ({:?}): {}{}",
                output.status,
                text(&output.stdout),
                text(&output.stderr)
            );
        }
    }
}

/// The JSON summary a run prints as its last line.
#[track_caller]
pub fn summary_of(stdout: &str) -> serde_json::Value {
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("batch run printed no summary: {stdout:?}"));
    let summary: serde_json::Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the summary {last:?} is not JSON: {e}"));
    for key in ["files", "records", "seconds"] {
        assert!(
            summary[key].is_number(),
            "the summary has no number {key}: {summary}"
        );
    }
    summary
}

// --- A server that can be stopped -----------------------------------------------------------

/// `raas serve` on the test's database, stopped by [`Server::stop`] or when dropped — for
/// set-ups that need the database free again afterwards (a PostgreSQL template).
pub struct Server {
    child: Child,
    /// Kept open: the server writes more lines after the first.
    _stdout: BufReader<std::process::ChildStdout>,
    base_url: String,
    client: reqwest::blocking::Client,
}

impl Server {
    pub fn start(app: &TestApp) -> Server {
        let child = app
            .command()
            .args(["serve", "--listen", "127.0.0.1:0", "--workers", "2"])
            .args(["--db-connections", "4"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("raas serve starts");
        let (child, stdout, base_url) = listening(child, String::new);
        Server {
            base_url,
            child,
            _stdout: stdout,
            client: reqwest::blocking::Client::builder()
                .no_proxy()
                .build()
                .expect("an HTTP client"),
        }
    }

    pub fn call(&self, request: &Request) -> Answer {
        post_soap(
            &self.client,
            &format!("{}/soap/PersonRegisterService", self.base_url),
            request,
        )
    }

    /// Registers a line and asserts it was accepted.
    #[track_caller]
    pub fn register_line(&self, org: &Org, ssin: &str, code: &str, period: &str) {
        self.call(&Request::register(org, ssin, code, period)).ok();
    }

    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

// --- Twin databases -------------------------------------------------------------------------

/// A copy of a test database as it is now (no process may be using it): a copied SQLite file,
/// or a PostgreSQL database made from it as a template, dropped with the value.
pub struct Twin {
    pub url: String,
    postgres: Option<(String, String)>,
}

impl Twin {
    pub fn of(app: &TestApp, name: &str) -> Twin {
        let url = app.database_url();
        if url.starts_with("postgres") {
            let server = super::db::postgres_server().expect("TEST_DATABASE_URL is set");
            let source = app.database_name();
            let twin = format!("{source}_{name}");
            execute_sql(
                &server,
                &format!("CREATE DATABASE {twin} TEMPLATE {source}"),
            );
            Twin {
                url: url.replacen(&format!("/{source}"), &format!("/{twin}"), 1),
                postgres: Some((server, twin)),
            }
        } else {
            let copy = app.path(&format!("twin-{name}.db"));
            for suffix in ["", "-wal", "-shm"] {
                let from = PathBuf::from(format!("{url}{suffix}"));
                let to = PathBuf::from(format!("{}{suffix}", copy.display()));
                if from.exists() {
                    std::fs::copy(&from, &to).expect("the database is copied");
                }
            }
            Twin {
                url: copy.display().to_string(),
                postgres: None,
            }
        }
    }
}

impl Drop for Twin {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.postgres {
            execute_sql(
                server,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

// --- The engine in a running server: its files, `/readyz`, `/metrics`, the runs recorded ---

/// The engine's files for `raas serve`: `key.pem` (an Ed25519 key made by `openssl genpkey`,
/// independently of raas), `inbox/`, `outbox/`.
pub struct EngineFiles {
    dir: tempfile::TempDir,
}

impl EngineFiles {
    pub fn new() -> EngineFiles {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let key = dir.path().join("key.pem");
        let made = Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&key)
            .output()
            .expect("openssl runs");
        succeeded("openssl genpkey", &made);
        EngineFiles { dir }
    }

    pub fn key(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    pub fn inbox(&self) -> PathBuf {
        self.dir.path().join("inbox")
    }

    pub fn outbox(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }

    /// `--signing-key`, `--inbox`, `--outbox` of these files, a small pool, then `extra`.
    pub fn serve_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec![
            "--signing-key".to_owned(),
            path_str(&self.key()).to_owned(),
            "--inbox".to_owned(),
            path_str(&self.inbox()).to_owned(),
            "--outbox".to_owned(),
            path_str(&self.outbox()).to_owned(),
            "--db-connections".to_owned(),
            "4".to_owned(),
            "--workers".to_owned(),
            "2".to_owned(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// Drops a file into `<inbox>/<kind>/` as senders must: written under a hidden name,
    /// then renamed into place.
    pub fn drop_file(&self, kind: &str, name: &str, content: &str) {
        let folder = self.inbox().join(kind);
        std::fs::create_dir_all(&folder).expect("the inbox folder");
        let hidden = folder.join(format!(".{name}.part"));
        std::fs::write(&hidden, content).expect("the file is written");
        std::fs::rename(&hidden, folder.join(name)).expect("the file is renamed into place");
    }

    /// `<inbox>/<kind>/<sub>/<name>`.
    pub fn inbox_path(&self, kind: &str, sub: &str, name: &str) -> PathBuf {
        self.inbox().join(kind).join(sub).join(name)
    }
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// `serve_args` as the `&str` slice `TestApp::start_with` takes.
pub fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Waits until `ready` holds (checked every 100 ms), at most `seconds`.
#[track_caller]
pub fn wait_until(seconds: u64, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited {seconds} s for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `/readyz` asked for JSON: its status and body.
pub fn readyz_json(app: &TestApp) -> (u16, serde_json::Value) {
    let response = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
        .get(format!("{}/readyz", app.base_url()))
        .header("Accept", "application/json")
        .send()
        .expect("the server answers");
    let answer = answer_of(response);
    assert!(
        answer.content_type.starts_with("application/json"),
        "{}",
        answer.content_type
    );
    let body = serde_json::from_str(&answer.body).expect("a JSON object");
    (answer.http_status, body)
}

/// The value of the sample `series` (name and labels exactly as exposed, e.g.
/// `raas_batch_runs_total{outcome="success"}`) in `/metrics`.
pub fn metric(app: &TestApp, series: &str) -> Option<f64> {
    let text = app.get("/metrics").body;
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().expect("a number"))
        })
}

/// The batch runs recorded: (reference date, trigger, finished) in the order they started.
pub fn batch_runs(app: &TestApp) -> Vec<(String, String, bool)> {
    let sql = "SELECT CAST(reference_date AS TEXT) || '|' || trigger_name || '|' || \
               CASE WHEN finished_at IS NULL THEN 'open' ELSE 'finished' END AS value \
               FROM batch_runs ORDER BY started_at, reference_date";
    query_texts(app.database_url(), sql)
        .into_iter()
        .map(|row| {
            let mut fields = row.splitn(3, '|');
            let mut next = || fields.next().unwrap_or_default().to_owned();
            let (day, trigger, finished) = (next(), next(), next());
            (day, trigger, finished == "finished")
        })
        .collect()
}

/// The rows of `table` (a name of ours, not outside input).
pub fn count(app: &TestApp, table: &str) -> i64 {
    query_i64(
        app.database_url(),
        &format!("SELECT CAST(COUNT(*) AS TEXT) AS value FROM {table}"),
    )
}
