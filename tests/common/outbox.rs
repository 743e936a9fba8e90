//! The outbox of the batch engine read and checked independently of raas: every data file and
//! voucher against its XSD with xmllint, every signature with openssl, every voucher against
//! its data file, sequence continuity, nothing but data files, vouchers and signatures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use chrono::{Days, NaiveDate};
use sha2::{Digest, Sha256};

use super::answer::Answer;
use super::app::{answer_of, listening, post_soap, run_with_input, TestApp, RAAS};
use super::batch::{text, DIMONA_MUTATIONS, PERSON_MUTATIONS};
use super::db::{query_i64, query_texts};
use super::soap::{Org, Request};
use super::xml::Node;

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

pub use raas::batch::outbox::{signature_path, voucher_path, SIGNATURE_SUFFIX, VOUCHER_SUFFIX};

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
        .args(["--noout", "--nonet", "--schema"])
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
