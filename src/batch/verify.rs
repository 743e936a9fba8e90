//! What a receiver checks of the daily files it got (`raas voucher verify`): for each data
//! file, that its voucher is signed by the sender's key, that the voucher names this file and
//! that the file has the size, SHA-256 and record count the voucher says; then, per folder,
//! receiver and file type, that the sequence numbers of the vouchers present follow each
//! other (a gap is a missing file, a number twice a file too many).
//!
//! Data files are streamed: any size is checked in constant memory.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::signing::PublicKey;
use super::voucher::{Voucher, MAX_VOUCHER_BYTES};
use crate::domain::FileType;

pub use super::outbox::{signature_path, voucher_path, SIGNATURE_SUFFIX, VOUCHER_SUFFIX};
pub use crate::domain::FileName;

/// The largest signature file read (a real one has 89 bytes).
const MAX_SIGNATURE_BYTES: usize = 4 * 1024;

/// The data file an argument stands for: the file itself, or the one a voucher or a
/// signature file is beside.
fn data_file_of(argument: &Path) -> PathBuf {
    let text = argument.to_string_lossy();
    for suffix in [VOUCHER_SUFFIX, SIGNATURE_SUFFIX] {
        if let Some(data) = text.strip_suffix(suffix) {
            return PathBuf::from(data);
        }
    }
    argument.to_owned()
}

/// What streaming a data file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFileFacts {
    pub size: u64,
    /// Lowercase hexadecimal.
    pub sha256: String,
    /// The records counted, or why they could not be.
    pub records: Result<u64, String>,
}

/// Counts bytes and computes the SHA-256 of what is read through it.
struct Digesting<R> {
    inner: R,
    digest: Sha256,
    size: u64,
}

impl<R: Read> Read for Digesting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// Streams a data file (`<Root><header>…</header><records>…</records><trailer>…
/// <recordCount>N</recordCount></trailer></Root>`): its size, its SHA-256 and its number of
/// records, every child element of the root's `records` element. A trailer's
/// `recordCount`, when there is one, must agree with the count.
pub fn read_data_file(input: impl Read) -> std::io::Result<DataFileFacts> {
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(Digesting {
        inner: input,
        digest: Sha256::new(),
        size: 0,
    }));
    let records = count_records(&mut reader);
    // Whatever the XML, every byte counts for the size and the digest.
    let mut rest = reader.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink())?;
    let digesting = rest.into_inner();
    let sha256 = digesting
        .digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(DataFileFacts {
        size: digesting.size,
        sha256,
        records,
    })
}

/// Where the reader is, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Root,
    Records,
    Trailer,
    TrailerCount,
    Elsewhere,
}

fn count_records<R: std::io::BufRead>(reader: &mut quick_xml::Reader<R>) -> Result<u64, String> {
    use quick_xml::events::Event;
    let mut buf = Vec::new();
    // The places of the open elements.
    let mut open: Vec<Place> = Vec::new();
    let mut records: Option<u64> = None;
    let mut trailer_count = String::new();
    let mut trailer_seen = false;
    let mut root_seen = false;
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| {
            format!(
                "the data file is not well-formed XML (at byte {}): {e}",
                reader.error_position()
            )
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.local_name();
                let place = match open.last() {
                    None if root_seen => {
                        return Err("the data file has more than one root element".into())
                    }
                    None => Place::Root,
                    Some(Place::Root) if name.as_ref() == "records" => {
                        if records.is_some() {
                            return Err("the data file has two records elements".into());
                        }
                        records = Some(0);
                        Place::Records
                    }
                    Some(Place::Root) if name.as_ref() == "trailer" => Place::Trailer,
                    Some(Place::Records) => {
                        records = records.map(|n| n + 1);
                        Place::Elsewhere
                    }
                    Some(Place::Trailer) if name.as_ref() == "recordCount" => {
                        trailer_seen = true;
                        Place::TrailerCount
                    }
                    Some(_) => Place::Elsewhere,
                };
                root_seen = true;
                if matches!(event, Event::Start(_)) {
                    open.push(place);
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Text(ref t) if open.last() == Some(&Place::TrailerCount) => {
                // Digits need no unescaping; anything else fails the comparison below.
                trailer_count.push_str(&t[..]);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !root_seen {
        return Err("the data file has no root element".into());
    }
    let counted = records.ok_or("the data file has no records element under its root")?;
    if trailer_seen {
        let said = trailer_count.trim();
        if said.parse::<u64>().ok() != Some(counted) {
            return Err(format!(
                "the data file's trailer says {said:?} records, its records element has \
                 {counted}"
            ));
        }
    }
    Ok(counted)
}

/// Reads at most `limit` bytes of a file beside the data file.
fn read_beside(path: &Path, what: &str, limit: usize) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("its {what} {} is missing", file_name(path)),
        _ => format!("cannot read its {what} {}: {e}", file_name(path)),
    })?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read its {what} {}: {e}", file_name(path)))?;
    if bytes.len() > limit {
        return Err(format!(
            "its {what} {} is larger than {limit} bytes",
            file_name(path)
        ));
    }
    Ok(bytes)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Checks one data file against its voucher and signature.
fn check_file(data: &Path, key: &PublicKey) -> Result<(), String> {
    let name = file_name(data);
    let named = FileName::parse(&name).ok_or_else(|| {
        "the name is not <TYPE>_<cbe>_<YYYYMMDD>_<sequence, 6 digits>.xml".to_owned()
    })?;
    let voucher_bytes = read_beside(&voucher_path(data), "voucher", MAX_VOUCHER_BYTES)?;
    let signature = read_beside(&signature_path(data), "signature", MAX_SIGNATURE_BYTES)?;
    let signature = String::from_utf8(signature).unwrap_or_default();
    if !key.verify(&voucher_bytes, &signature) {
        return Err("the voucher's signature does not verify with the sender's public key".into());
    }
    let text = std::str::from_utf8(&voucher_bytes)
        .map_err(|_| "the voucher is not UTF-8 text".to_owned())?;
    let voucher = Voucher::from_xml(text)?;
    let agree = [
        ("fileName", voucher.file_name.clone(), name.clone()),
        (
            "fileType",
            voucher.file_type.clone(),
            named.file_type.to_string(),
        ),
        ("receiver", voucher.receiver.clone(), named.cbe.clone()),
        (
            "fileSequenceNumber",
            voucher.file_sequence_number.to_string(),
            named.sequence.to_string(),
        ),
        (
            "referenceDate",
            voucher.reference_date.clone(),
            named.reference_date.to_string(),
        ),
    ];
    for (field, said, expected) in agree {
        if said != expected {
            return Err(format!(
                "the voucher's {field} is {said}, the file's name says {expected}"
            ));
        }
    }
    let file = std::fs::File::open(data).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "the data file is missing".to_owned(),
        _ => format!("cannot read the data file: {e}"),
    })?;
    let facts = read_data_file(file).map_err(|e| format!("cannot read the data file: {e}"))?;
    if facts.size != voucher.file_size {
        return Err(format!(
            "the data file has {} bytes, the voucher says {}",
            facts.size, voucher.file_size
        ));
    }
    if facts.sha256 != voucher.sha256 {
        return Err(format!(
            "the data file's SHA-256 is {}, the voucher says {}",
            facts.sha256, voucher.sha256
        ));
    }
    let records = facts.records?;
    if records != voucher.record_count {
        return Err(format!(
            "the data file has {records} records, the voucher says {}",
            voucher.record_count
        ));
    }
    Ok(())
}

/// The outcome of one check: a file, or the sequence of a folder, receiver and file type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The file's path as given, or `<folder>/<TYPE>_<cbe>` for a sequence.
    pub subject: String,
    /// What is wrong; `None`: all is well.
    pub problem: Option<String>,
    /// For a sequence that is complete: what it covers.
    pub note: Option<String>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.problem, &self.note) {
            (Some(problem), _) => write!(f, "FAILED {}: {problem}", self.subject),
            (None, Some(note)) => write!(f, "OK {}: {note}", self.subject),
            (None, None) => write!(f, "OK {}", self.subject),
        }
    }
}

/// Everything `verify` found: one outcome per file, then one per sequence.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub files: Vec<Outcome>,
    pub sequences: Vec<Outcome>,
}

impl Report {
    pub fn failures(&self) -> usize {
        self.files
            .iter()
            .chain(&self.sequences)
            .filter(|o| o.problem.is_some())
            .count()
    }

    /// The closing line.
    pub fn summary(&self) -> String {
        let failed_files = self.files.iter().filter(|o| o.problem.is_some()).count();
        let broken = self
            .sequences
            .iter()
            .filter(|o| o.problem.is_some())
            .count();
        format!(
            "{} of {} files verified, {failed_files} failed; {} of {} sequences complete",
            self.files.len() - failed_files,
            self.files.len(),
            self.sequences.len() - broken,
            self.sequences.len()
        )
    }
}

/// The sequence numbers of the vouchers of one receiver and file type in one folder: the
/// first missing number or a number used twice.
fn check_sequence(numbers: &BTreeMap<u64, Vec<String>>) -> Result<String, String> {
    for (number, names) in numbers {
        if names.len() > 1 {
            return Err(format!(
                "sequence number {number:06} is used by more than one file: {}",
                names.join(", ")
            ));
        }
    }
    let mut previous: Option<u64> = None;
    for number in numbers.keys() {
        if let Some(before) = previous {
            if *number != before + 1 {
                return Err(format!(
                    "sequence number {:06} is missing ({before:06} is followed by \
                     {number:06})",
                    before + 1
                ));
            }
        }
        previous = Some(*number);
    }
    match (numbers.keys().next(), numbers.keys().next_back()) {
        (Some(first), Some(last)) => Ok(format!(
            "sequence {first:06} to {last:06} complete ({} file{})",
            numbers.len(),
            if numbers.len() == 1 { "" } else { "s" }
        )),
        _ => Err("no voucher in the folder".into()),
    }
}

/// The voucher files of a folder by (file type, receiver): their sequence numbers, each with
/// the files that have it.
type FolderSequences = BTreeMap<(FileType, String), BTreeMap<u64, Vec<String>>>;

fn vouchers_in(folder: &Path) -> Result<FolderSequences, String> {
    let shown = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    let entries =
        std::fs::read_dir(shown).map_err(|e| format!("cannot list {}: {e}", shown.display()))?;
    let mut found = FolderSequences::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", shown.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(data_name) = name.strip_suffix(VOUCHER_SUFFIX) else {
            continue;
        };
        if let Some(named) = FileName::parse(data_name) {
            found
                .entry((named.file_type, named.cbe))
                .or_default()
                .entry(named.sequence)
                .or_default()
                .push(data_name.to_owned());
        }
    }
    for names in found.values_mut().flat_map(|numbers| numbers.values_mut()) {
        names.sort();
    }
    Ok(found)
}

/// Checks the files named by `arguments` (data files, their vouchers or signature files)
/// with the sender's `key`, then the sequences of their folders.
pub fn verify(arguments: &[PathBuf], key: &PublicKey) -> Report {
    let mut report = Report::default();
    let mut seen = BTreeSet::new();
    // (folder, file type, receiver) of the files checked.
    let mut groups: BTreeSet<(PathBuf, FileType, String)> = BTreeSet::new();
    for argument in arguments {
        let data = data_file_of(argument);
        if !seen.insert(data.clone()) {
            continue;
        }
        if let Some(named) = FileName::parse(&file_name(&data)) {
            let folder = data.parent().map(Path::to_owned).unwrap_or_default();
            groups.insert((folder, named.file_type, named.cbe));
        }
        report.files.push(Outcome {
            subject: data.display().to_string(),
            problem: check_file(&data, key).err(),
            note: None,
        });
    }
    let mut listed: BTreeMap<PathBuf, Result<FolderSequences, String>> = BTreeMap::new();
    for (folder, file_type, cbe) in groups {
        let vouchers = listed
            .entry(folder.clone())
            .or_insert_with(|| vouchers_in(&folder));
        let outcome = match vouchers {
            Err(e) => Err(e.clone()),
            Ok(found) => match found.get(&(file_type, cbe.clone())) {
                Some(numbers) => check_sequence(numbers),
                None => Err("no voucher in the folder".into()),
            },
        };
        let (problem, note) = match outcome {
            Ok(note) => (None, Some(note)),
            Err(problem) => (Some(problem), None),
        };
        report.sequences.push(Outcome {
            subject: folder
                .join(format!("{file_type}_{cbe}"))
                .display()
                .to_string(),
            problem,
            note,
        });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_read_and_write() {
        let name = "PERSON_MUTATIONS_0202239951_20261130_000012.xml";
        let parsed = FileName::parse(name).unwrap();
        assert_eq!(parsed.file_type, FileType::PersonMutations);
        assert_eq!(parsed.cbe, "0202239951");
        assert_eq!(parsed.sequence, 12);
        assert_eq!(parsed.to_string(), name);
        for bad in [
            "PERSON_MUTATIONS_0202239951_20261130_000012.xml.voucher.xml",
            "PERSON_MUTATIONS_0202239951_20261131_000012.xml",
            "PERSON_MUTATIONS_0202239951_20261130_000000.xml",
            "PERSON_MUTATIONS_020223995_20261130_000012.xml",
            "OTHER_0202239951_20261130_000012.xml",
            "PERSON_MUTATIONS_0202239951_20261130_12.xml",
        ] {
            assert_eq!(FileName::parse(bad), None, "{bad}");
        }
    }

    fn facts(xml: &str) -> DataFileFacts {
        read_data_file(xml.as_bytes()).unwrap()
    }

    #[test]
    fn counts_the_records_and_digests_every_byte() {
        let xml = "<?xml version=\"1.0\"?>\n<m:File xmlns:m=\"urn:x\"><m:header><m:a/></m:header>\
                   <m:records><m:r><m:x/></m:r><m:r/>\n<m:s>t</m:s></m:records>\
                   <m:trailer><m:recordCount>3</m:recordCount></m:trailer></m:File>\n";
        let found = facts(xml);
        assert_eq!(found.records, Ok(3));
        assert_eq!(found.size, xml.len() as u64);
        let expected: String = Sha256::digest(xml.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(found.sha256, expected);
        assert_eq!(facts("<F><records/></F>").records, Ok(0));
        assert!(facts("<F><records><r></F>").records.is_err());
        assert_eq!(
            facts("<F><header/></F>").records,
            Err("the data file has no records element under its root".into())
        );
        let wrong =
            facts("<F><records><r/></records><trailer><recordCount>2</recordCount></trailer></F>");
        assert!(wrong.records.unwrap_err().contains("trailer says \"2\""));
        // A broken file still gets its size and digest.
        let broken = "<F><records><r></x></records></F>";
        assert_eq!(facts(broken).size, broken.len() as u64);
    }

    #[test]
    fn sequences_report_a_gap_or_a_duplicate() {
        let numbers = |list: &[(u64, &str)]| {
            let mut map: BTreeMap<u64, Vec<String>> = BTreeMap::new();
            for (n, name) in list {
                map.entry(*n).or_default().push((*name).to_owned());
            }
            map
        };
        assert_eq!(
            check_sequence(&numbers(&[(3, "c"), (4, "d")])),
            Ok("sequence 000003 to 000004 complete (2 files)".into())
        );
        assert_eq!(
            check_sequence(&numbers(&[(1, "a"), (2, "b"), (4, "d"), (6, "f")])),
            Err("sequence number 000003 is missing (000002 is followed by 000004)".into())
        );
        assert_eq!(
            check_sequence(&numbers(&[(1, "a"), (2, "b"), (2, "b2")])),
            Err("sequence number 000002 is used by more than one file: b, b2".into())
        );
    }
}
