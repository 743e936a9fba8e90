//! What the batch engine's black-box tests share: a folder with a signing key (made by
//! openssl, independently of raas), the inbox and the outbox; reading `/readyz`'s JSON and
//! `/metrics`; the runs recorded in the database.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::common::TestApp;

/// The engine's files: `key.pem`, `inbox/`, `outbox/`.
pub struct EngineFiles {
    dir: TempDir,
}

impl EngineFiles {
    /// A fresh folder with an Ed25519 key made by `openssl genpkey`.
    pub fn new() -> EngineFiles {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let key = dir.path().join("key.pem");
        let made = Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&key)
            .output()
            .expect("openssl runs");
        assert!(
            made.status.success(),
            "openssl genpkey: {}",
            String::from_utf8_lossy(&made.stderr)
        );
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

    /// `--signing-key`, `--inbox`, `--outbox` of these files, then `extra`.
    pub fn serve_args<'a>(&'a self, extra: &[&'a str]) -> Vec<String> {
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
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !ready() {
        assert!(Instant::now() < deadline, "waited {seconds} s for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// `/readyz` asked for JSON: its status and body.
pub fn readyz_json(app: &TestApp) -> (u16, Value) {
    let response = client()
        .get(format!("{}/readyz", app.base_url()))
        .header("Accept", "application/json")
        .send()
        .expect("the server answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body = response.text().expect("a body");
    (status, serde_json::from_str(&body).expect("a JSON object"))
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
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Run {
        #[diesel(sql_type = diesel::sql_types::Text)]
        day: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        trigger_name: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        finished: bool,
    }
    let sql = "SELECT CAST(reference_date AS TEXT) AS day, trigger_name, \
               finished_at IS NOT NULL AS finished FROM batch_runs \
               ORDER BY started_at, reference_date";
    let url = app.database_url();
    let runs: Vec<Run> = if url.starts_with("postgres") {
        let mut conn = diesel::pg::PgConnection::establish(url).expect("the test database");
        diesel::sql_query(sql).load(&mut conn).expect("batch_runs")
    } else {
        let mut conn = diesel::sqlite::SqliteConnection::establish(url).expect("the test database");
        diesel::sql_query(sql).load(&mut conn).expect("batch_runs")
    };
    runs.into_iter()
        .map(|r| (r.day, r.trigger_name, r.finished))
        .collect()
}

/// The rows of `table` (a name of ours, not outside input).
pub fn count(app: &TestApp, table: &str) -> i64 {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    let url = app.database_url();
    let rows: Vec<Count> = if url.starts_with("postgres") {
        let mut conn = diesel::pg::PgConnection::establish(url).expect("the test database");
        diesel::sql_query(&sql).load(&mut conn).expect("a count")
    } else {
        let mut conn = diesel::sqlite::SqliteConnection::establish(url).expect("the test database");
        diesel::sql_query(&sql).load(&mut conn).expect("a count")
    };
    rows.first().map_or(0, |c| c.n)
}

/// A Dimona file (xsd/Dimona.xsd) of `records`.
pub fn dimona_file(file_id: &str, records: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><dimona xmlns="urn:be:raas:types:Dimona:v1" fileId="{file_id}" createdAt="2026-11-21T06:00:00Z">{records}</dimona>"#
    )
}

/// A Dimona IN of `worker` for the employer 0403019261, from `start`, open.
pub fn dimona_in(id: &str, period_id: u64, worker: &str, start: &str) -> String {
    format!(
        "<dimonaIn id=\"{id}\"><periodId>{period_id}</periodId><employer><enterpriseNumber>0403019261</enterpriseNumber></employer><workerSsin>{worker}</workerSsin><startDate>{start}</startDate><jointCommittee>200</jointCommittee><workerType>OTH</workerType></dimonaIn>"
    )
}

/// The server's log so far.
pub fn server_log(app: &TestApp) -> String {
    std::fs::read_to_string(app.path("server.log")).expect("the server's log")
}

/// PostgreSQL refusing the connections to the test's database (its open ones ended), until
/// dropped.
pub struct Refusing {
    name: String,
}

fn on_postgres_server(sql: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let server = crate::common::db::postgres_server().expect("TEST_DATABASE_URL is set");
    diesel::pg::PgConnection::establish(&server)
        .expect("a PostgreSQL connection")
        .batch_execute(sql)
        .expect("the statement runs");
}

impl Refusing {
    pub fn start(app: &TestApp) -> Refusing {
        let name = app
            .database_url()
            .rsplit('/')
            .next()
            .expect("a database name")
            .to_owned();
        // Two statements, two transactions: the refusal is committed before the connections
        // are ended, so none is opened again in between.
        on_postgres_server(&format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"
        ));
        on_postgres_server(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ));
        Refusing { name }
    }
}

impl Drop for Refusing {
    fn drop(&mut self) {
        on_postgres_server(&format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
            self.name
        ));
    }
}
