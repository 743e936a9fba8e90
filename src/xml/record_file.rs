//! A file of records as the sources deliver them (the authentic-source feed, Dimona): a root
//! element carrying the file's `fileId`, then records each with an `id` unique in the file.
//! [`RecordFile`] hands the records out one at a time, checking the file header and the
//! record ids, while it computes the SHA-256 of the bytes read; [`digest`] computes the same
//! SHA-256 beforehand, in a first pass, so a file applied already is recognised before any
//! record is read (and a file that changed in between is refused).

use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, Read};
use std::marker::PhantomData;
use std::rc::Rc;

use chrono::NaiveDate;

use sha2::{Digest, Sha256};

use super::person::FieldError;
use super::stream::ElementStream;
use super::{Element, Limits, XmlError};

/// Why a file cannot be read; the message names the record and the field.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Xml(#[from] XmlError),
    #[error("{0}")]
    Structure(String),
    #[error("record {id} (#{position}): {error}")]
    Field {
        id: String,
        position: usize,
        error: FieldError,
    },
}

/// The SHA-256 of everything read from `input`, hex.
pub fn digest(mut input: impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match input.read(&mut buf) {
            Ok(0) => return Ok(hex(&hasher.finalize())),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Whether `id` can be a fileId or record id: 1 to 64 letters, digits or `_.:-`.
pub fn is_record_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// One kind of record file: its root element, the limits of one record and how a record
/// element reads.
pub trait RecordFormat {
    /// The namespace and local name of the root element.
    const NAMESPACE: &'static str;
    const ROOT: &'static str;
    /// The limits of one record.
    const LIMITS: Limits;
    /// What a record element reads into.
    type Value;
    /// A record as handed out.
    type Record;
    /// Reads a record element; `today` bounds dates.
    fn read(element: &Element, today: NaiveDate) -> Result<Self::Value, FieldError>;
    /// The record `id` at `position` (1-based) holding `value`.
    fn record(id: String, position: usize, value: Self::Value) -> Self::Record;
}

/// The records of a file of format `F`, in order, each with a valid id used once and read by
/// `F`. Ends after the root is closed and the rest of the document checked; after an error,
/// yields nothing more.
pub struct RecordFile<R, F> {
    stream: ElementStream<Hashing<R>>,
    hasher: Rc<RefCell<Sha256>>,
    file_id: String,
    today: NaiveDate,
    position: usize,
    /// Record ids seen, by a 128-bit hash (16 bytes a record rather than the id itself).
    ids: HashSet<u128>,
    failed: bool,
    format: PhantomData<F>,
}

impl<R: BufRead, F: RecordFormat> RecordFile<R, F> {
    /// Reads up to the root's start tag and checks it: `F`'s root with a `fileId`. `today`
    /// bounds the dates of the records.
    pub fn new(input: R, today: NaiveDate) -> Result<RecordFile<R, F>, ReadError> {
        let hasher = Rc::new(RefCell::new(Sha256::new()));
        let input = Hashing {
            inner: input,
            hasher: hasher.clone(),
        };
        let stream = ElementStream::new(input, F::LIMITS)?;
        let root = stream.root();
        if !root.is(F::NAMESPACE, F::ROOT) {
            return Err(ReadError::Structure(format!(
                "the root element is {}, expected {{{}}}{}",
                root.expanded_name(),
                F::NAMESPACE,
                F::ROOT
            )));
        }
        let file_id = root
            .attribute("fileId")
            .filter(|id| is_record_id(id))
            .ok_or_else(|| {
                ReadError::Structure(
                    "the attribute fileId is missing or not 1 to 64 letters, digits or _.:-".into(),
                )
            })?
            .to_string();
        Ok(RecordFile {
            stream,
            hasher,
            file_id,
            today,
            position: 0,
            ids: HashSet::new(),
            failed: false,
            format: PhantomData,
        })
    }

    /// The file's own identifier: a file is applied once.
    pub fn file_id(&self) -> &str {
        &self.file_id
    }

    /// How many records were handed out.
    pub fn records(&self) -> usize {
        self.position
    }

    /// The SHA-256 of the bytes read so far, hex: of the whole file once the records ended.
    pub fn digest(&self) -> String {
        hex(&self.hasher.borrow().clone().finalize())
    }

    fn record(&mut self, element: &Element) -> Result<F::Record, ReadError> {
        let position = self.position;
        let id = element.attribute("id").unwrap_or_default().to_string();
        if !is_record_id(&id) {
            return Err(ReadError::Structure(format!(
                "record #{position}: the attribute id is missing or not 1 to 64 letters, digits or _.:-"
            )));
        }
        if !self.ids.insert(id_hash(&id)) {
            return Err(ReadError::Structure(format!(
                "record {id} (#{position}): the id is used twice in the file"
            )));
        }
        match F::read(element, self.today) {
            Ok(value) => Ok(F::record(id, position, value)),
            Err(error) => Err(ReadError::Field {
                id,
                position,
                error,
            }),
        }
    }
}

impl<R: BufRead, F: RecordFormat> Iterator for RecordFile<R, F> {
    type Item = Result<F::Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let result = match self.stream.next()? {
            Ok(element) => {
                self.position += 1;
                let record = self.record(&element);
                self.stream.recycle(element);
                record
            }
            Err(e) => Err(e.into()),
        };
        self.failed = result.is_err();
        Some(result)
    }
}

/// A reader that hashes the bytes its consumer uses (into a hasher the record file shares).
struct Hashing<R> {
    inner: R,
    hasher: Rc<RefCell<Sha256>>,
}

impl<R: BufRead> Read for Hashing<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.hasher.borrow_mut().update(&out[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Hashing<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        // The buffer filled last is still there: hash what is consumed of it.
        if let Ok(buf) = self.inner.fill_buf() {
            self.hasher
                .borrow_mut()
                .update(&buf[..amount.min(buf.len())]);
        }
        self.inner.consume(amount);
    }
}

/// Two independent 64-bit hashes of a record id: a false "used twice" would need both to
/// collide.
fn id_hash(id: &str) -> u128 {
    let half = |salt: u8| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut hasher);
        id.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records whose element must be empty: their ids and positions.
    struct Test;

    impl RecordFormat for Test {
        const NAMESPACE: &'static str = "urn:r";
        const ROOT: &'static str = "file";
        const LIMITS: Limits = Limits {
            max_depth: 4,
            max_elements: 16,
        };
        type Value = ();
        type Record = (String, usize);

        fn read(element: &Element, _today: NaiveDate) -> Result<(), FieldError> {
            match element.children.first() {
                None => Ok(()),
                Some(child) => Err(FieldError {
                    field: child.name.clone(),
                    value: String::new(),
                    reason: "is wrong".into(),
                    is_ssin: false,
                }),
            }
        }

        fn record(id: String, position: usize, _value: ()) -> (String, usize) {
            (id, position)
        }
    }

    fn open(xml: &str) -> Result<RecordFile<&[u8], Test>, ReadError> {
        RecordFile::new(xml.as_bytes(), NaiveDate::MAX)
    }

    fn ids(xml: &str) -> Result<Vec<(String, usize)>, ReadError> {
        let mut file = open(xml)?;
        let ids = file.by_ref().collect::<Result<Vec<_>, _>>()?;
        assert_eq!(file.digest(), digest(xml.as_bytes()).unwrap());
        assert_eq!(file.records(), ids.len());
        Ok(ids)
    }

    fn file(records: &str) -> String {
        format!(r#"<file xmlns="urn:r" fileId="F-1">{records}</file>"#)
    }

    #[test]
    fn checks_the_header_and_the_record_ids() {
        let xml = file(r#"<r id="a"/><r id="b.2"/>"#);
        assert_eq!(open(&xml).unwrap().file_id(), "F-1");
        assert_eq!(
            ids(&xml).unwrap(),
            [("a".to_string(), 1), ("b.2".to_string(), 2)]
        );
        let e = open(r#"<other xmlns="urn:r" fileId="F"/>"#).err().unwrap();
        assert!(e.to_string().contains("expected {urn:r}file"), "{e}");
        let e = open(r#"<file xmlns="urn:r" fileId="a b"/>"#).err().unwrap();
        assert!(e.to_string().contains("fileId is missing or not"), "{e}");
        let e = ids(&file(r#"<r id="a"/><r id="a"/>"#)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "record a (#2): the id is used twice in the file"
        );
        let e = ids(&file("<r/>")).unwrap_err().to_string();
        assert!(
            e.starts_with("record #1: the attribute id is missing"),
            "{e}"
        );
    }

    #[test]
    fn names_the_record_the_format_refuses_and_stops() {
        let xml = file(r#"<r id="a"><f/></r><r id="b"/>"#);
        let mut file = open(&xml).unwrap();
        let e = file.next().unwrap().unwrap_err().to_string();
        assert_eq!(e, r#"record a (#1): f: is wrong (value "")"#);
        assert!(file.next().is_none());
    }

    #[test]
    fn record_ids_are_checked() {
        assert!(is_record_id("A-1_b.c:d"));
        assert!(is_record_id(&"x".repeat(64)));
        assert!(!is_record_id(&"x".repeat(65)));
        assert!(!is_record_id(""));
        assert!(!is_record_id("a/b"));
    }
}
