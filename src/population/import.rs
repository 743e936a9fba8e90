//! Loading a population (xsd/Population.xsd) into the persons of the source, whole or not at
//! all: `raas import persons FILE`, and the demo's generated persons.
//!
//! The file is streamed (each `person` is read as a small tree and recycled) on a thread of
//! its own, which checks every person (`xml::person::read_person`) and sends batches of
//! persons over a bounded channel; the calling thread turns them into rows and writes them
//! with `store::person_load` in one transaction. Parsing and writing thus overlap, and memory stays bounded whatever the size
//! of the file. A number twice in the file is caught by `SeenNumbers`; a number the register
//! already holds, by the load. No journal entry is written: a population is the baseline the
//! mutations start from, not a mutation.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::domain::{Niss, Person};
use crate::store::person::PersonRow;
use crate::store::person_load::{self, PersonLoad, ROWS_PER_BATCH};
use crate::store::{Database, StoreError};
use crate::xml::person::PERSON_NS;
use crate::xml::stream::ElementStream;
use crate::xml::{Element, Limits};

/// The namespace of Population.xsd.
pub const POPULATION_NS: &str = "urn:be:raas:types:Population:v1";

/// Batches parsed ahead of the database (each [`ROWS_PER_BATCH`] persons).
const BATCHES_IN_FLIGHT: usize = 4;

/// Bytes read from the file at once.
const READ_BUFFER: usize = 1 << 20;

/// The structure one person may have (a person has about twenty elements).
const PERSON_LIMITS: Limits = Limits {
    max_depth: 8,
    max_elements: 200,
};

/// What an import did.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    /// Persons added.
    pub persons: u64,
    /// The `source` of the rows: `population:` and the file's source.
    pub source: String,
    /// Bytes of the file.
    pub bytes: u64,
    /// From opening the file to the commit (and, on SQLite, the checkpoint after it).
    pub elapsed: Duration,
}

impl ImportReport {
    pub fn persons_per_second(&self) -> f64 {
        self.persons as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Why an import was refused; nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The document is not a population: no well-formed start, another root, attributes.
    #[error("not a population file: {0}")]
    NotPopulation(String),
    /// One person is refused: its position in the file (1-based), where it starts, its
    /// number when it has one, and why.
    #[error("{}", describe_person(*position, *offset, number.as_deref(), reason))]
    Person {
        position: u64,
        /// Byte offset of the person in the file (none for persons not read from a file).
        offset: Option<u64>,
        number: Option<String>,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe_person(
    position: u64,
    offset: Option<u64>,
    number: Option<&str>,
    reason: &str,
) -> String {
    let mut place = Vec::new();
    if let Some(offset) = offset {
        place.push(format!("byte {offset}"));
    }
    if let Some(number) = number {
        place.push(format!("number {number}"));
    }
    if place.is_empty() {
        format!("person {position}: {reason}")
    } else {
        format!("person {position} ({}): {reason}", place.join(", "))
    }
}

/// Follows an import. `read` is called from the reading thread, `finishing` from the caller's.
pub trait ImportProgress: Sync {
    /// `bytes` of the file and `persons` were read so far.
    fn read(&self, bytes: u64, persons: u64) {
        let _ = (bytes, persons);
    }

    /// Everything is read; the database completes the load (index, commit).
    fn finishing(&self) {}
}

/// No progress to show.
pub struct NoProgress;

impl ImportProgress for NoProgress {}

/// Imports the population file at `path` into an empty or non-empty register, in one
/// transaction: every person valid, every number new (in the file and in the register), or
/// nothing is stored.
pub fn import_file(
    db: &Database,
    path: &Path,
    progress: &dyn ImportProgress,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let read_error = |error| ImportError::Read {
        path: path.to_owned(),
        error,
    };
    let file = File::open(path).map_err(read_error)?;
    let bytes = file.metadata().map_err(read_error)?.len();
    let input = BufReader::with_capacity(READ_BUFFER, file);
    let stream = ElementStream::new(input, PERSON_LIMITS)
        .map_err(|e| ImportError::NotPopulation(e.to_string()))?;
    let source = format!("population:{}", population_source(stream.root())?);
    let today = chrono::Utc::now().date_naive();
    let now = crate::store::now();
    let persons = load(db, &source, now, progress, |pipe| {
        read_persons(stream, today, pipe, progress)
    })?;
    Ok(ImportReport {
        persons,
        source,
        bytes,
        elapsed: started.elapsed(),
    })
}

/// Imports persons given as values (the demo's generated population), under the source
/// `population:<source>`, whole or not at all like a file; tells how many were added.
pub fn import_persons(
    db: &Database,
    persons: impl Iterator<Item = Person> + Send,
    source: &str,
) -> Result<u64, ImportError> {
    let source = format!("population:{source}");
    let now = crate::store::now();
    load(db, &source, now, &NoProgress, |pipe| {
        let mut seen = SeenNumbers::new();
        let mut batch = pipe.batch(0);
        for (index, person) in persons.enumerate() {
            let position = index as u64 + 1;
            if !seen.insert(&person.ssin) {
                return Err(repeated(position, None, &person.ssin));
            }
            batch.persons.push(person);
            if batch.persons.len() == ROWS_PER_BATCH && !pipe.send(&mut batch, position) {
                return Ok(());
            }
        }
        pipe.send(&mut batch, 0);
        Ok(())
    })
}

/// The source the root of a population file names, after checking the root.
fn population_source(root: &Element) -> Result<&str, ImportError> {
    let refuse = |reason: String| Err(ImportError::NotPopulation(reason));
    if !root.is(POPULATION_NS, "population") {
        return refuse(format!(
            "the root element is {}, not {{{POPULATION_NS}}}population",
            root.expanded_name()
        ));
    }
    let Some(created_at) = root.attribute("createdAt") else {
        return refuse("the population has no createdAt attribute".into());
    };
    let created_at = created_at.trim();
    if chrono::DateTime::parse_from_rfc3339(created_at).is_err()
        && chrono::NaiveDateTime::parse_from_str(created_at, "%Y-%m-%dT%H:%M:%S%.f").is_err()
    {
        return refuse(format!(
            "createdAt \"{created_at}\" is not a date and time (xs:dateTime)"
        ));
    }
    if let Some(seed) = root.attribute("seed") {
        if seed.trim().parse::<u64>().is_err() {
            return refuse(format!("seed \"{seed}\" is not an unsigned number"));
        }
    }
    match root.attribute("source").map(str::trim) {
        None => refuse("the population has no source attribute".into()),
        Some("") => refuse("the population's source attribute is empty".into()),
        Some(source) => Ok(source),
    }
}

/// Persons on their way to the database, with the position in the file of the first one.
struct Batch {
    /// Persons read before this batch.
    before: u64,
    persons: Vec<Person>,
}

/// The reading thread's ends of the channels: batches go to the writer, and come back once
/// written, so that their persons are freed by the thread that allocated them (much cheaper
/// than freeing them on the writer's thread) and their vectors are reused.
struct Pipe {
    send: SyncSender<Batch>,
    written: Receiver<Vec<Person>>,
}

impl Pipe {
    /// An empty batch starting after `before` persons.
    fn batch(&self, before: u64) -> Batch {
        let persons = match self.written.try_recv() {
            Ok(mut persons) => {
                persons.clear();
                persons
            }
            Err(_) => Vec::with_capacity(ROWS_PER_BATCH),
        };
        Batch { before, persons }
    }

    /// Sends `batch` and puts in its place an empty one starting after `before` persons;
    /// false if the writer stopped (its error is the one to report).
    fn send(&self, batch: &mut Batch, before: u64) -> bool {
        let full = std::mem::replace(batch, self.batch(before));
        self.send.send(full).is_ok()
    }
}

/// Reads, checks and sends the persons of a file (the reading thread). Each element is
/// recycled as soon as its person is read, while its memory is still in this core's cache
/// (handing elements to another thread to check was measured slower: more CPU in all).
fn read_persons<R: std::io::BufRead>(
    mut stream: ElementStream<R>,
    today: NaiveDate,
    pipe: &Pipe,
    progress: &dyn ImportProgress,
) -> Result<(), ImportError> {
    let mut seen = SeenNumbers::new();
    let mut batch = pipe.batch(0);
    let mut position = 0u64;
    while let Some(element) = stream.next() {
        position += 1;
        let offset = stream.element_position();
        let element = element.map_err(|error| ImportError::Person {
            position,
            offset: Some(offset),
            number: None,
            reason: error.to_string(),
        })?;
        let person = check_person(&element, position, offset, today, &mut seen)?;
        batch.persons.push(person);
        stream.recycle(element);
        if batch.persons.len() == ROWS_PER_BATCH {
            progress.read(stream.position(), position);
            if !pipe.send(&mut batch, position) {
                return Ok(());
            }
        }
    }
    progress.read(stream.position(), position);
    pipe.send(&mut batch, position);
    Ok(())
}

/// The person `element` holds, checked: its position in the file and byte `offset` name it.
fn check_person(
    element: &Element,
    position: u64,
    offset: u64,
    today: NaiveDate,
    seen: &mut SeenNumbers,
) -> Result<Person, ImportError> {
    let refuse = |number: Option<String>, reason: String| ImportError::Person {
        position,
        offset: Some(offset),
        number,
        reason,
    };
    if !element.is(POPULATION_NS, "person") {
        return Err(refuse(
            None,
            format!(
                "{} is not a person ({{{POPULATION_NS}}}person)",
                element.expanded_name()
            ),
        ));
    }
    let person = crate::xml::person::read_person(element, today).map_err(|error| {
        let number = element
            .child(PERSON_NS, "ssin")
            .map(|ssin| ssin.value().to_string());
        refuse(number, error.to_string())
    })?;
    if !seen.insert(&person.ssin) {
        return Err(repeated(position, Some(offset), &person.ssin));
    }
    Ok(person)
}

fn thread_error(error: std::io::Error) -> ImportError {
    ImportError::Store(StoreError::Corrupt(format!(
        "cannot start a thread: {error}"
    )))
}

fn repeated(position: u64, offset: Option<u64>, ssin: &Niss) -> ImportError {
    ImportError::Person {
        position,
        offset,
        number: Some(ssin.as_str().to_string()),
        reason: "the number appears earlier in the file".into(),
    }
}

/// Runs `produce` on a thread of its own, sending batches of persons, and writes them in one
/// transaction as they come, as rows of `source` changed at `now`. The rows are made here,
/// on the writing thread: the reading one has more to do.
fn load<F>(
    db: &Database,
    source: &str,
    now: chrono::NaiveDateTime,
    progress: &dyn ImportProgress,
    produce: F,
) -> Result<u64, ImportError>
where
    F: FnOnce(&Pipe) -> Result<(), ImportError> + Send,
{
    let (send, receive) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
    let (give_back, written) = sync_channel::<Vec<Person>>(BATCHES_IN_FLIGHT + 2);
    let pipe = Pipe { send, written };
    let loaded = std::thread::scope(|scope| {
        let producer = std::thread::Builder::new()
            .name("population-reader".into())
            .spawn_scoped(scope, move || produce(&pipe))
            .map_err(thread_error)?;
        db.write(move |conn| {
            let mut load = PersonLoad::start(conn)?;
            let mut rows = Vec::with_capacity(ROWS_PER_BATCH);
            for batch in receive.iter() {
                rows.clear();
                let new_row = |person| PersonRow::new(person, 1, source, now);
                rows.extend(batch.persons.iter().map(new_row));
                if let Some(index) = load.add(&rows)? {
                    return Err(ImportError::Person {
                        position: batch.before + index as u64 + 1,
                        offset: None,
                        number: Some(rows[index].ssin.clone()),
                        reason: "the number is already in the register".into(),
                    });
                }
                // When the reader has enough vectors, this one is freed here.
                let _ = give_back.try_send(batch.persons);
            }
            // The channel is closed: the reader is done, or stopped on a refusal.
            match producer.join() {
                Ok(result) => result?,
                Err(panic) => std::panic::resume_unwind(panic),
            }
            progress.finishing();
            Ok(load.finish()?)
        })
    })?;
    person_load::settle(&mut *db.connection()?)?;
    Ok(loaded)
}

/// The numbers met so far, one bit each: a number is fixed by its first nine digits and its
/// century (the check digits differ between the 1900s and the 2000s), so 2 × 10⁹ bits (250 MB
/// of address space) cover every number. The memory is allocated zeroed, so the system
/// provides it as it is first written: a population uses only the pages of its birth dates.
struct SeenNumbers {
    bits: Vec<u64>,
}

impl SeenNumbers {
    const NUMBERS: usize = 2_000_000_000;

    fn new() -> SeenNumbers {
        SeenNumbers {
            bits: vec![0; Self::NUMBERS / 64],
        }
    }

    /// Records `ssin`; false if it was recorded before.
    fn insert(&mut self, ssin: &Niss) -> bool {
        let index = Self::index(ssin);
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        let new = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        new
    }

    fn index(ssin: &Niss) -> usize {
        let digits = ssin.as_str().as_bytes();
        let value = |digits: &[u8]| {
            digits
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'))
        };
        let base = value(&digits[..9]);
        let born_2000s = value(&digits[9..]) == 97 - (2_000_000_000 + base) % 97;
        // base < 10⁹, so the index is below 2 × 10⁹.
        (base * 2 + u64::from(born_2000s)) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn niss(s: &str) -> Niss {
        Niss::parse(s, NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()).unwrap()
    }

    #[test]
    fn seen_numbers_tell_repeats_and_centuries_apart() {
        let mut seen = SeenNumbers::new();
        // The same nine digits, born in 2017 and in 1917.
        assert!(seen.insert(&niss("17073003384")));
        assert!(seen.insert(&niss("17073003355")));
        assert!(seen.insert(&niss("85073003328")));
        assert!(!seen.insert(&niss("17073003384")));
        assert!(!seen.insert(&niss("17073003355")));
        assert!(!seen.insert(&niss("85073003328")));
    }

    #[test]
    fn the_root_must_be_a_population_with_its_attributes() {
        fn root(xml: &str) -> ElementStream<&[u8]> {
            ElementStream::new(xml.as_bytes(), PERSON_LIMITS).unwrap()
        }
        let ok = format!(
            r#"<population xmlns="{POPULATION_NS}" source=" gen " createdAt="2026-11-21T10:00:00Z" seed="1"/>"#
        );
        assert_eq!(population_source(root(&ok).root()).unwrap(), "gen");
        for (xml, expected) in [
            (
                format!(
                    r#"<people xmlns="{POPULATION_NS}" source="s" createdAt="2026-11-21T10:00:00"/>"#
                ),
                "the root element is {urn:be:raas:types:Population:v1}people",
            ),
            (
                format!(r#"<population xmlns="{POPULATION_NS}" createdAt="2026-11-21T10:00:00"/>"#),
                "no source",
            ),
            (
                format!(r#"<population xmlns="{POPULATION_NS}" source="s"/>"#),
                "no createdAt",
            ),
            (
                format!(
                    r#"<population xmlns="{POPULATION_NS}" source="s" createdAt="yesterday"/>"#
                ),
                "createdAt \"yesterday\"",
            ),
            (
                format!(
                    r#"<population xmlns="{POPULATION_NS}" source="s" createdAt="2026-11-21T10:00:00+01:00" seed="-1"/>"#
                ),
                "seed",
            ),
        ] {
            let error = population_source(root(&xml).root())
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn refusals_name_the_person() {
        let error = ImportError::Person {
            position: 3,
            offset: Some(1045),
            number: Some("85073003328".into()),
            reason: "birthDate: is in the future".into(),
        };
        assert_eq!(
            error.to_string(),
            "person 3 (byte 1045, number 85073003328): birthDate: is in the future"
        );
        let error = ImportError::Person {
            position: 7,
            offset: None,
            number: None,
            reason: "broken".into(),
        };
        assert_eq!(error.to_string(), "person 7: broken");
    }
}
