//! The batch engine in tests: the signing key, subscriptions, Dimona files, runs of the real
//! `raas batch run`, and the readers and independent checks of what lands in the outbox —
//! every data file and voucher against its XSD with xmllint, every signature with openssl,
//! every voucher against its data file, sequence continuity, nothing but data files, vouchers
//! and signatures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use chrono::{Days, NaiveDate};
use sha2::{Digest, Sha256};

use super::answer::Answer;
use super::app::{run_with_input, TestApp, RAAS};
use super::soap::{Org, Request};
use super::xml::Node;

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

fn text(bytes: &[u8]) -> String {
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

/// The relative paths of the files under `dir`, recursively, sorted; empty when `dir` does
/// not exist. A file that vanishes while it is listed (a run renaming it) is left out.
pub fn names(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => walk(root, &path, found),
                Ok(_) => found.push(
                    path.strip_prefix(root)
                        .expect("under the root")
                        .display()
                        .to_string(),
                ),
                Err(_) => {}
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

/// Every file under `dir`, recursively (relative path → bytes); empty when `dir` does not
/// exist. Nothing may be writing to it.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    names(dir)
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name))
                .unwrap_or_else(|e| panic!("{}: {e}", dir.join(&name).display()));
            (name, bytes)
        })
        .collect()
}

/// The data files under an outbox (or one organisation's folder), sorted by path.
pub fn data_files(dir: &Path) -> Vec<PathBuf> {
    names(dir)
        .into_iter()
        .filter(|name| name.ends_with(".xml") && !name.ends_with(VOUCHER_SUFFIX))
        .map(|name| dir.join(name))
        .collect()
}

pub const VOUCHER_SUFFIX: &str = ".voucher.xml";
pub const SIGNATURE_SUFFIX: &str = ".voucher.sig";

/// The voucher beside a data file: its whole name, then `.voucher.xml`.
pub fn voucher_path(data: &Path) -> PathBuf {
    with_suffix(data, VOUCHER_SUFFIX)
}

/// The signature beside a data file: its whole name, then `.voucher.sig`.
pub fn signature_path(data: &Path) -> PathBuf {
    with_suffix(data, SIGNATURE_SUFFIX)
}

fn with_suffix(data: &Path, suffix: &str) -> PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// What a data file's name says: type, receiver, date, sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    pub file_type: String,
    pub cbe: String,
    pub date: String,
    pub sequence: u64,
}

impl FileName {
    /// Parses `TYPE_cbe_YYYYMMDD_seq.xml` (6-digit sequence); `None` for any other name.
    pub fn parse(name: &str) -> Option<FileName> {
        let stem = name.strip_suffix(".xml")?;
        let (file_type, rest) = [PERSON_MUTATIONS, DIMONA_MUTATIONS]
            .iter()
            .find_map(|t| Some((*t, stem.strip_prefix(t)?.strip_prefix('_')?)))?;
        let parts: Vec<&str> = rest.split('_').collect();
        let [cbe, date, sequence] = parts[..] else {
            return None;
        };
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !(digits(cbe, 10) && digits(date, 8) && digits(sequence, 6)) {
            return None;
        }
        Some(FileName {
            file_type: file_type.to_owned(),
            cbe: cbe.to_owned(),
            date: date.to_owned(),
            sequence: sequence.parse().ok()?,
        })
    }
}

/// One record of a data file: its journal sequence number and a one-line description of the
/// rest (see [`describe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: i64,
    pub recorded_at: String,
    pub text: String,
}

/// A data file as read back.
#[derive(Debug, Clone)]
pub struct DataFile {
    pub path: PathBuf,
    pub name: String,
    pub bytes: Vec<u8>,
    pub root: Node,
    pub file_type: String,
    pub receiver: String,
    pub sequence: u64,
    pub reference_date: String,
    pub record_count: u64,
    pub records: Vec<Record>,
}

/// A child's trimmed text, or a panic naming what is missing.
#[track_caller]
fn required(node: &Node, name: &str, context: &str) -> String {
    node.child_text(name)
        .unwrap_or_else(|| panic!("{context}: <{}> has no <{name}>", node.name))
}

impl DataFile {
    #[track_caller]
    pub fn read(path: &Path) -> DataFile {
        let name = path
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let xml = String::from_utf8(bytes.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let root = Node::parse(&xml).unwrap_or_else(|e| panic!("{name} is not XML: {e}"));
        let header = root
            .child("header")
            .unwrap_or_else(|| panic!("{name} has no header"));
        let number = |field: &str| -> u64 {
            let value = required(header, field, &name);
            value
                .parse()
                .unwrap_or_else(|e| panic!("{name}: {field} {value:?}: {e}"))
        };
        let records: Vec<Record> = root
            .child("records")
            .map(|records| {
                records
                    .children
                    .iter()
                    .map(|record| Record {
                        seq: required(record, "seq", &name)
                            .parse()
                            .unwrap_or_else(|e| panic!("{name}: seq: {e}")),
                        recorded_at: required(record, "recordedAt", &name),
                        text: describe(record),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let record_count = root
            .find(&["trailer", "recordCount"])
            .map(|n| n.text.trim().to_owned())
            .unwrap_or_else(|| panic!("{name} has no trailer/recordCount"))
            .parse()
            .unwrap_or_else(|e| panic!("{name}: recordCount: {e}"));
        DataFile {
            file_type: required(header, "fileType", &name),
            receiver: required(header, "receiver", &name),
            sequence: number("fileSequenceNumber"),
            reference_date: required(header, "referenceDate", &name),
            path: path.to_owned(),
            name,
            bytes,
            root: root.clone(),
            record_count,
            records,
        }
    }

    /// The records' descriptions, in file order.
    pub fn texts(&self) -> Vec<String> {
        self.records.iter().map(|r| r.text.clone()).collect()
    }

    pub fn seqs(&self) -> Vec<i64> {
        self.records.iter().map(|r| r.seq).collect()
    }

    pub fn header(&self, field: &str) -> String {
        self.root
            .find(&["header", field])
            .map(|n| n.text.trim().to_owned())
            .unwrap_or_default()
    }
}

/// A period `begin..end` (`begin..` when open) of a `moved` / `merged` element.
fn period_text(node: &Node) -> String {
    format!(
        "{}..{}",
        node.child_text("begin").unwrap_or_default(),
        node.child_text("end").unwrap_or_default()
    )
}

/// A record in one line, for exact comparisons:
/// - `identityChange SSIN name:before>after, …` (an absent value: `-`)
/// - `decease SSIN DATE`, `cancellation SSIN`
/// - `replacement OLD>NEW CODE moved P,… merged P,…; CODE …`
/// - `declaration KIND PERIOD WORKER START..END employer=N jc=C type=T`
pub fn describe(record: &Node) -> String {
    let t = |name: &str| record.child_text(name).unwrap_or_else(|| "-".into());
    match record.name.as_str() {
        "identityChange" => {
            let fields: Vec<String> = record
                .children
                .iter()
                .filter(|c| c.name == "field")
                .map(|f| {
                    let v = |n: &str| f.child_text(n).unwrap_or_else(|| "-".into());
                    format!("{}:{}>{}", v("name"), v("before"), v("after"))
                })
                .collect();
            format!("identityChange {} {}", t("ssin"), fields.join(", "))
        }
        "decease" => format!("decease {} {}", t("ssin"), t("deceaseDate")),
        "cancellation" => format!("cancellation {}", t("ssin")),
        "replacement" => {
            let types: Vec<String> = record
                .children
                .iter()
                .filter(|c| c.name == "dossierType")
                .map(|d| {
                    let periods = |n: &str| {
                        d.children
                            .iter()
                            .filter(|c| c.name == n)
                            .map(period_text)
                            .collect::<Vec<_>>()
                            .join(",")
                    };
                    format!(
                        "{} moved {} merged {}",
                        d.child_text("code").unwrap_or_default(),
                        periods("moved"),
                        periods("merged")
                    )
                })
                .collect();
            format!(
                "replacement {}>{} {}",
                t("oldSsin"),
                t("newSsin"),
                types.join("; ")
            )
        }
        "declaration" => {
            let employer = record
                .child("employer")
                .and_then(|e| e.children.first())
                .map(|e| e.text.trim().to_owned())
                .unwrap_or_else(|| "-".into());
            let end = record.child_text("endDate").unwrap_or_default();
            format!(
                "declaration {} {} {} {}..{end} employer={employer} jc={} type={}",
                t("kind"),
                t("periodId"),
                t("worker"),
                t("startDate"),
                t("jointCommittee"),
                t("workerType")
            )
        }
        other => format!("unknown record <{other}>"),
    }
}

/// The XSD of a file type (or of the voucher).
pub fn schema(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("xsd")
        .join(format!("{name}.xsd"))
}

/// Validates a file against an XSD with xmllint, an independent validator.
#[track_caller]
pub fn assert_valid_xml(file: &Path, xsd: &Path) {
    assert!(xsd.exists(), "the schema {} does not exist", xsd.display());
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd)
        .arg(file)
        .output()
        .expect("xmllint runs (apt-get install libxml2-utils)");
    assert!(
        output.status.success(),
        "{} is not valid against {}: {}",
        file.display(),
        xsd.display(),
        text(&output.stderr)
    );
}

/// Checks a voucher's detached signature with openssl (an independent Ed25519
/// implementation): the `.sig` is base64 then a line feed.
#[track_caller]
pub fn assert_signature_valid(voucher: &Path, signature: &Path, public_key: &Path) {
    use base64::Engine as _;
    let sig_text = std::fs::read_to_string(signature)
        .unwrap_or_else(|e| panic!("{}: {e}", signature.display()));
    assert!(
        sig_text.ends_with('\n') && !sig_text.trim_end().contains('\n'),
        "{}: not one base64 line ended by a line feed: {sig_text:?}",
        signature.display()
    );
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sig_text.trim_end())
        .unwrap_or_else(|e| panic!("{}: not base64: {e}", signature.display()));
    assert_eq!(
        raw.len(),
        64,
        "{}: an Ed25519 signature has 64 bytes",
        signature.display()
    );
    let scratch = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(scratch.path(), &raw).expect("the raw signature is written");
    let output = Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(public_key)
        .arg("-rawin")
        .arg("-in")
        .arg(voucher)
        .arg("-sigfile")
        .arg(scratch.path())
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl refuses the signature of {}: {}{}",
        voucher.display(),
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// A voucher's fields, by local name.
pub fn voucher_fields(voucher: &Path) -> BTreeMap<String, String> {
    let xml =
        std::fs::read_to_string(voucher).unwrap_or_else(|e| panic!("{}: {e}", voucher.display()));
    let root =
        Node::parse(&xml).unwrap_or_else(|e| panic!("{} is not XML: {e}", voucher.display()));
    assert_eq!(root.name, "Voucher", "{}", voucher.display());
    root.children
        .iter()
        .map(|c| (c.name.clone(), c.text.trim().to_owned()))
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Everything an auditor checks of an outbox:
/// - nothing but `<cbe>/` folders holding data files, each with its voucher and signature
///   (no temporary file, no orphan voucher or signature);
/// - every data file's name, header and trailer agree (receiver, type, date, sequence, count);
/// - every data file and voucher valid against its XSD (xmllint);
/// - every voucher names its file, its size, SHA-256, count, sequence, date, sender, ticket;
/// - every signature valid over the voucher's bytes (openssl);
/// - per receiver and file type, sequence numbers 1, 2, 3, … without a gap, dates rising.
#[track_caller]
pub fn check_outbox(outbox: &Path, public_key: &Path) {
    let names: Vec<String> = snapshot(outbox).into_keys().collect();
    let mut sequences: BTreeMap<(String, String), Vec<(u64, String)>> = BTreeMap::new();
    for name in &names {
        let (folder, file) = name
            .split_once('/')
            .unwrap_or_else(|| panic!("a file at the top of the outbox: {name}"));
        let data_name = file
            .strip_suffix(VOUCHER_SUFFIX)
            .or_else(|| file.strip_suffix(SIGNATURE_SUFFIX))
            .unwrap_or(file)
            .to_owned();
        let parsed = FileName::parse(&data_name)
            .unwrap_or_else(|| panic!("not a data file, voucher or signature: {name}"));
        assert_eq!(
            parsed.cbe, folder,
            "{name} is in the folder of another receiver"
        );
        let data = outbox.join(folder).join(&data_name);
        assert!(
            data.exists(),
            "{name} has no data file beside it (an orphan)"
        );
        if file != data_name {
            continue;
        }
        let voucher = voucher_path(&data);
        let signature = signature_path(&data);
        assert!(voucher.exists(), "{name} has no voucher");
        assert!(signature.exists(), "{name} has no voucher signature");

        let file_data = DataFile::read(&data);
        let xsd = match parsed.file_type.as_str() {
            PERSON_MUTATIONS => "PersonMutations",
            _ => "DimonaMutations",
        };
        assert_valid_xml(&data, &schema(xsd));
        assert_valid_xml(&voucher, &schema("Voucher"));
        assert_signature_valid(&voucher, &signature, public_key);
        let reference_date = format!(
            "{}-{}-{}",
            &parsed.date[0..4],
            &parsed.date[4..6],
            &parsed.date[6..8]
        );
        assert_eq!(
            file_data.file_type, parsed.file_type,
            "{name}: header fileType"
        );
        assert_eq!(file_data.receiver, parsed.cbe, "{name}: header receiver");
        assert_eq!(
            file_data.sequence, parsed.sequence,
            "{name}: header sequence"
        );
        assert_eq!(
            file_data.reference_date, reference_date,
            "{name}: header date"
        );
        assert_eq!(
            file_data.record_count,
            file_data.records.len() as u64,
            "{name}: the trailer's count is not the number of records"
        );
        let seqs = file_data.seqs();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "{name}: records not in journal order: {seqs:?}"
        );

        let fields = voucher_fields(&voucher);
        let field = |key: &str| {
            fields
                .get(key)
                .cloned()
                .unwrap_or_else(|| panic!("the voucher of {name} has no {key}: {fields:?}"))
        };
        assert_eq!(field("fileName"), data_name, "{name}: voucher fileName");
        assert_eq!(field("receiver"), parsed.cbe, "{name}: voucher receiver");
        assert_eq!(
            field("fileType"),
            parsed.file_type,
            "{name}: voucher fileType"
        );
        assert_eq!(
            field("fileSequenceNumber"),
            parsed.sequence.to_string(),
            "{name}: voucher fileSequenceNumber"
        );
        assert_eq!(
            field("referenceDate"),
            reference_date,
            "{name}: voucher date"
        );
        assert_eq!(
            field("recordCount"),
            file_data.record_count.to_string(),
            "{name}: voucher recordCount"
        );
        assert_eq!(
            field("fileSize"),
            file_data.bytes.len().to_string(),
            "{name}: voucher fileSize"
        );
        assert_eq!(
            field("sha256").to_ascii_lowercase(),
            sha256_hex(&file_data.bytes),
            "{name}: voucher sha256"
        );
        assert_eq!(
            field("sender"),
            file_data.header("sender"),
            "{name}: sender"
        );
        assert_eq!(
            field("serverTicket"),
            file_data.header("serverTicket"),
            "{name}: serverTicket"
        );
        assert_eq!(
            field("schemaVersion"),
            file_data.header("schemaVersion"),
            "{name}: schemaVersion"
        );
        sequences
            .entry((parsed.cbe.clone(), parsed.file_type.clone()))
            .or_default()
            .push((parsed.sequence, parsed.date.clone()));
    }
    for ((cbe, file_type), mut files) in sequences {
        files.sort();
        let numbers: Vec<u64> = files.iter().map(|(n, _)| *n).collect();
        let expected: Vec<u64> = (1..=files.len() as u64).collect();
        assert_eq!(
            numbers, expected,
            "{cbe} {file_type}: sequence numbers with a gap"
        );
        assert!(
            files.windows(2).all(|w| w[0].1 < w[1].1),
            "{cbe} {file_type}: one date per file, rising with the sequence: {files:?}"
        );
    }
}

/// An outbox's files in a form two runs of the same state must agree on: data files and
/// vouchers with their creation time, server ticket (and, for vouchers, the size and digest
/// that depend on them) blanked; signatures left out (they are checked, see
/// [`check_outbox`]).
pub fn comparable(outbox: &Path) -> BTreeMap<String, String> {
    let blank = |xml: &str, element: &str| -> String {
        let open = format!("<{element}>");
        let close = format!("</{element}>");
        let mut out = String::new();
        let mut rest = xml;
        while let Some(start) = rest.find(&open) {
            let after = start + open.len();
            let Some(end) = rest[after..].find(&close) else {
                break;
            };
            out.push_str(&rest[..after]);
            out.push('…');
            rest = &rest[after + end..];
        }
        out.push_str(rest);
        out
    };
    snapshot(outbox)
        .into_iter()
        .filter(|(name, _)| !name.ends_with(SIGNATURE_SUFFIX))
        .map(|(name, bytes)| {
            let mut xml = text(&bytes);
            for element in ["createdAt", "serverTicket"] {
                xml = blank(&xml, element);
            }
            if name.ends_with(VOUCHER_SUFFIX) {
                for element in ["fileSize", "sha256"] {
                    xml = blank(&xml, element);
                }
            }
            (name, xml)
        })
        .collect()
}

/// Asserts two outboxes hold the same files with the same records (see [`comparable`]).
#[track_caller]
pub fn assert_same_outbox(expected: &Path, actual: &Path, context: &str) {
    let expected = comparable(expected);
    let actual = comparable(actual);
    let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&actual),
        names(&expected),
        "{context}: the file names differ"
    );
    for (name, xml) in &expected {
        assert_eq!(&actual[name], xml, "{context}: {name} differs");
    }
}

// --- Dimona files ---------------------------------------------------------------------------

pub const DIMONA_NS: &str = "urn:be:raas:types:Dimona:v1";

/// One Dimona declaration of a test: IN, OUT, UPDATE or CANCEL of a period.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub kind: &'static str,
    pub period_id: u64,
    pub employer_cbe: String,
    pub worker: String,
    pub start: String,
    pub end: Option<String>,
    pub joint_committee: String,
    pub worker_type: String,
}

impl Declaration {
    /// An IN of a student (joint committee 302) with the organisation A as employer.
    pub fn entry(period_id: u64, worker: &str, start: &str, end: Option<&str>) -> Declaration {
        Declaration {
            kind: "IN",
            period_id,
            employer_cbe: "0202239951".into(),
            worker: worker.into(),
            start: start.into(),
            end: end.map(Into::into),
            joint_committee: "302".into(),
            worker_type: "STU".into(),
        }
    }

    /// The same period declared with another kind (OUT: ended on `end`).
    pub fn with_kind(&self, kind: &'static str, end: Option<&str>) -> Declaration {
        Declaration {
            kind,
            end: end.map(Into::into).or_else(|| self.end.clone()),
            ..self.clone()
        }
    }

    fn element(&self) -> &'static str {
        match self.kind {
            "IN" => "dimonaIn",
            "OUT" => "dimonaOut",
            "UPDATE" => "dimonaUpdate",
            _ => "dimonaCancel",
        }
    }

    /// The record in a Dimona file: an IN gives the whole period, an OUT its end, an UPDATE
    /// its dates, a CANCEL only the period.
    fn xml(&self, id: &str) -> String {
        let element = self.element();
        let mut xml = format!(
            r#"<{element} id="{id}"><periodId>{}</periodId>"#,
            self.period_id
        );
        let end = self
            .end
            .as_ref()
            .map(|end| format!("<endDate>{end}</endDate>"))
            .unwrap_or_default();
        match self.kind {
            "IN" => {
                let _ = write!(
                    xml,
                    "<employer><enterpriseNumber>{}</enterpriseNumber></employer>\
                     <workerSsin>{}</workerSsin><startDate>{}</startDate>{end}\
                     <jointCommittee>{}</jointCommittee><workerType>{}</workerType>",
                    self.employer_cbe,
                    self.worker,
                    self.start,
                    self.joint_committee,
                    self.worker_type
                );
            }
            "OUT" => xml.push_str(&end),
            "UPDATE" => {
                let _ = write!(xml, "<startDate>{}</startDate>{end}", self.start);
            }
            _ => {}
        }
        xml + &format!("</{element}>")
    }

    /// The description [`describe`] gives of this declaration in a DimonaMutations file.
    pub fn described(&self) -> String {
        format!(
            "declaration {} {} {} {}..{} employer={} jc={} type={}",
            self.kind,
            self.period_id,
            self.worker,
            self.start,
            self.end.clone().unwrap_or_default(),
            self.employer_cbe,
            self.joint_committee,
            self.worker_type
        )
    }
}

/// A Dimona file (xsd/Dimona.xsd) under construction.
#[derive(Debug, Clone)]
pub struct DimonaFile {
    pub file_id: String,
    pub declarations: Vec<Declaration>,
}

impl DimonaFile {
    pub fn new(file_id: &str, declarations: &[Declaration]) -> DimonaFile {
        DimonaFile {
            file_id: file_id.into(),
            declarations: declarations.to_vec(),
        }
    }

    pub fn xml(&self) -> String {
        let records: String = self
            .declarations
            .iter()
            .enumerate()
            .map(|(i, d)| d.xml(&format!("r{}", i + 1)))
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><dimona xmlns="{DIMONA_NS}" fileId="{}" createdAt="2026-11-30T06:00:00Z">{records}</dimona>"#,
            self.file_id
        )
    }
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
        let mut child = app
            .command()
            .args(["serve", "--listen", "127.0.0.1:0", "--workers", "2"])
            .args(["--db-connections", "4"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("raas serve starts");
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        stdout
            .read_line(&mut first)
            .expect("reading the server's output");
        let Some(base_url) = first.trim().strip_prefix("raas listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("raas serve did not start: {first:?}");
        };
        Server {
            base_url: base_url.to_owned(),
            child,
            _stdout: stdout,
            client: reqwest::blocking::Client::builder()
                .no_proxy()
                .build()
                .expect("an HTTP client"),
        }
    }

    pub fn call(&self, request: &Request) -> Answer {
        let response = self
            .client
            .post(format!("{}/soap/PersonRegisterService", self.base_url))
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(request.to_xml())
            .send()
            .expect("the server answers");
        let status = response.status().as_u16();
        Answer::new(status, "text/xml".into(), response.text().expect("a body"))
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
            let source = url.rsplit('/').next().expect("a database name");
            let source = source.split('?').next().unwrap_or(source);
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

/// What must hold of an outbox at any moment, even right after a crash: every voucher
/// present describes a complete data file beside it (size and SHA-256 match), and every
/// signature present is valid over its voucher. (Temporary files are not looked at.)
#[track_caller]
pub fn check_complete_so_far(outbox: &Path, public_key: &Path) {
    for name in snapshot(outbox).into_keys() {
        let path = outbox.join(&name);
        if let Some(data_name) = name.strip_suffix(VOUCHER_SUFFIX) {
            let data = outbox.join(data_name);
            let bytes = std::fs::read(&data)
                .unwrap_or_else(|e| panic!("{name} is there, its data file not: {e}"));
            let fields = voucher_fields(&path);
            assert_eq!(
                fields.get("fileSize"),
                Some(&bytes.len().to_string()),
                "{name}: the data file is not complete"
            );
            assert_eq!(
                fields.get("sha256").map(|s| s.to_ascii_lowercase()),
                Some(sha256_hex(&bytes)),
                "{name}: the data file is not the one the voucher describes"
            );
        } else if let Some(data_name) = name.strip_suffix(SIGNATURE_SUFFIX) {
            let voucher = outbox.join(format!("{data_name}{VOUCHER_SUFFIX}"));
            assert!(voucher.exists(), "{name} is there, its voucher not");
            assert_signature_valid(&voucher, &path, public_key);
        }
    }
}
