//! Synthetic feed files for trials and benchmarks (`raas generate nr-mutations`): a mix of
//! new persons, identity changes, deceases, replacements and cancellations over numbers the
//! file creates itself, so the feed applies to a source that does not know its numbers: an
//! empty one, or the population `raas generate population` writes for the same seed, size
//! and day (the feed's new numbers leave out the population's: both generators yield
//! ascending numbers, so the population's are walked beside them). Streamed in constant
//! memory: the new persons come from the population generator (`population::generate`), and
//! the later records pick their numbers among the last [`RECENT`] persons created that are
//! still active.
//!
//! Deterministic: the same records, seed and `createdAt` give the same bytes.

use std::io::{self, Write};

use chrono::{DateTime, Datelike, Days, NaiveDate, SecondsFormat, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::FEED_NS;
use crate::domain::{IncompleteDate, Niss};
use crate::population::generate::{GenerateError, Generator};
use crate::population::{address, names};
use crate::xml::person::{write_person, PERSON_NS};
use crate::xml::XmlOut;

/// How many recent active persons the later records choose from.
const RECENT: usize = 4096;

/// Records before the mix starts: only new persons until there are this many.
const WARM_UP: usize = 64;

/// How many records of each kind a feed got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedCounts {
    pub records: u64,
    pub new_persons: u64,
    pub identity_changes: u64,
    pub deceases: u64,
    pub replacements: u64,
    pub cancellations: u64,
}

/// A person created earlier in the file and still active.
#[derive(Debug, Clone, Copy)]
struct Recent {
    ssin: Niss,
    birth: IncompleteDate,
    deceased: bool,
}

/// How many bytes are built before they are handed to the writer.
const CHUNK: usize = 60 * 1024;

/// Writes a feed of `records` records with `fileId` `file_id`. Out of 100 records after the
/// first [`WARM_UP`]: 70 new persons, 18 identity changes (a last name or an address),
/// 4 deceases, 6 replacements (an earlier number by another) and 2 cancellations.
///
/// # Errors
/// Those of `out`; a population generator that cannot hold `records` persons.
pub fn write_feed(
    mut out: impl Write,
    file_id: &str,
    records: u64,
    seed: u64,
    population: u64,
    created_at: DateTime<Utc>,
    mut progress: impl FnMut(u64),
) -> io::Result<FeedCounts> {
    let today = created_at.date_naive();
    let invalid = |e: GenerateError| io::Error::new(io::ErrorKind::InvalidInput, e.to_string());
    // Twice the persons needed: room for those the population holds already.
    let candidates =
        Generator::new(records.max(1).saturating_mul(2), seed ^ 1, today).map_err(invalid)?;
    let mut known = Generator::new(population, seed, today)
        .map_err(invalid)?
        .map(|p| p.ssin)
        .peekable();
    let mut persons = candidates.filter(move |person| {
        let ssin = person.ssin.as_str();
        while known.next_if(|k| k.as_str() < ssin).is_some() {}
        known.peek().is_none_or(|k| k.as_str() != ssin)
    });
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e72_6d75_7461_7469); // "nrmutati"
    let mut recent: Vec<Recent> = Vec::with_capacity(RECENT);
    let mut counts = FeedCounts::default();
    let mut xml = XmlOut::fragment();
    xml.raw(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
        .raw("\n<nrMutations xmlns=\"")
        .raw(FEED_NS)
        .raw("\" xmlns:p=\"")
        .raw(PERSON_NS)
        .raw("\" fileId=\"")
        .attribute_value(file_id)
        .raw("\" createdAt=\"")
        .attribute_value(&created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .raw("\">\n");
    let mut reported = 0;
    while counts.records < records {
        let id = format!("r{}", counts.records + 1);
        let roll = if recent.len() < WARM_UP {
            0
        } else {
            rng.random_range(0..100)
        };
        match roll {
            70..88 => {
                let at = rng.random_range(0..recent.len());
                let community = names::Community::ALL[rng.random_range(0..3)];
                xml.raw(&format!("<identityChange id=\"{id}\"><ssin>"))
                    .raw(recent[at].ssin.as_str())
                    .raw("</ssin><changes>");
                if rng.random_bool(0.5) {
                    xml.leaf_ns(
                        "p",
                        "lastName",
                        Some(&names::last_name(&mut rng, community)),
                    );
                } else {
                    let address = address::address(&mut rng, community);
                    xml.open_ns("p", "address")
                        .leaf_ns("p", "street", Some(&address.street))
                        .leaf_ns("p", "houseNumber", Some(&address.house_number))
                        .leaf_ns("p", "box", address.post_box.as_deref())
                        .leaf_ns("p", "postalCode", Some(&address.postal_code))
                        .leaf_ns("p", "municipality", Some(&address.municipality))
                        .leaf_ns("p", "country", Some(&address.country))
                        .close_ns("p", "address");
                }
                xml.raw("</changes></identityChange>\n");
                counts.identity_changes += 1;
            }
            88..92 if recent.iter().any(|r| !r.deceased) => {
                let mut at = rng.random_range(0..recent.len());
                while recent[at].deceased {
                    at = (at + 1) % recent.len();
                }
                let date = decease_date(&mut rng, recent[at].birth, today);
                recent[at].deceased = true;
                xml.raw(&format!("<decease id=\"{id}\"><ssin>"))
                    .raw(recent[at].ssin.as_str())
                    .raw("</ssin><deceaseDate>")
                    .raw(&date.to_string())
                    .raw("</deceaseDate></decease>\n");
                counts.deceases += 1;
            }
            92..98 => {
                let old = recent.swap_remove(rng.random_range(0..recent.len()));
                let new = recent[rng.random_range(0..recent.len())];
                xml.raw(&format!("<replacement id=\"{id}\"><oldSsin>"))
                    .raw(old.ssin.as_str())
                    .raw("</oldSsin><newSsin>")
                    .raw(new.ssin.as_str())
                    .raw("</newSsin></replacement>\n");
                counts.replacements += 1;
            }
            98..100 => {
                let old = recent.swap_remove(rng.random_range(0..recent.len()));
                xml.raw(&format!("<cancellation id=\"{id}\"><ssin>"))
                    .raw(old.ssin.as_str())
                    .raw("</ssin></cancellation>\n");
                counts.cancellations += 1;
            }
            _ => {
                let Some(person) = persons.next() else {
                    // The generator holds `records` persons: never reached.
                    break;
                };
                xml.raw(&format!("<newPerson id=\"{id}\"><person>"));
                write_person(&mut xml, "p", &person, false);
                xml.raw("</person></newPerson>\n");
                let entry = Recent {
                    ssin: person.ssin,
                    birth: person.identity.birth_date,
                    deceased: person.identity.decease_date.is_some(),
                };
                if recent.len() < RECENT {
                    recent.push(entry);
                } else {
                    let at = rng.random_range(0..RECENT);
                    recent[at] = entry;
                }
                counts.new_persons += 1;
            }
        }
        counts.records += 1;
        if xml.len() >= CHUNK {
            out.write_all(xml.take().as_bytes())?;
            xml = XmlOut::fragment();
            if counts.records - reported >= 16_384 {
                progress(counts.records);
                reported = counts.records;
            }
        }
    }
    xml.raw("</nrMutations>\n");
    out.write_all(xml.take().as_bytes())?;
    out.flush()?;
    progress(counts.records);
    Ok(counts)
}

/// A decease date within the last year, not before the birth year.
fn decease_date<R: Rng + ?Sized>(
    rng: &mut R,
    birth: IncompleteDate,
    today: NaiveDate,
) -> IncompleteDate {
    let today_date = IncompleteDate::from_date(today);
    let day = today
        .checked_sub_days(Days::new(rng.random_range(0..365)))
        .filter(|d| d.year() > birth.year())
        .and_then(IncompleteDate::from_date);
    day.or(today_date).unwrap_or(birth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::read::FeedReader;
    use crate::feed::Mutation;

    fn created_at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn generate(records: u64, seed: u64) -> (Vec<u8>, FeedCounts) {
        let mut out = Vec::new();
        let counts = write_feed(&mut out, "GEN", records, seed, 0, created_at(), |_| {}).unwrap();
        (out, counts)
    }

    #[test]
    fn the_feed_reads_back_with_every_kind_in_the_mix() {
        let (bytes, counts) = generate(5_000, 7);
        assert_eq!(counts.records, 5_000);
        let total = counts.new_persons
            + counts.identity_changes
            + counts.deceases
            + counts.replacements
            + counts.cancellations;
        assert_eq!(total, 5_000);
        for (count, low, high) in [
            (counts.new_persons, 3_300, 3_700),
            (counts.identity_changes, 750, 1_050),
            (counts.deceases, 120, 280),
            (counts.replacements, 220, 380),
            (counts.cancellations, 50, 150),
        ] {
            assert!((low..=high).contains(&count), "{counts:?}");
        }
        let reader = FeedReader::new(bytes.as_slice(), created_at().date_naive()).unwrap();
        let records: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(records.len(), 5_000);
        let replacements = records
            .iter()
            .filter(|r| matches!(r.mutation, Mutation::Replacement { .. }))
            .count();
        assert_eq!(replacements as u64, counts.replacements);
    }

    #[test]
    fn new_numbers_leave_out_the_population_of_the_same_seed() {
        let population: std::collections::HashSet<Niss> =
            Generator::new(20_000, 9, created_at().date_naive())
                .unwrap()
                .map(|p| p.ssin)
                .collect();
        let mut out = Vec::new();
        write_feed(&mut out, "GEN", 20_000, 9, 20_000, created_at(), |_| {}).unwrap();
        let reader = FeedReader::new(out.as_slice(), created_at().date_naive()).unwrap();
        let mut new = 0;
        for record in reader {
            if let Mutation::NewPerson(person) = record.unwrap().mutation {
                assert!(!population.contains(&person.ssin), "{}", person.ssin);
                new += 1;
            }
        }
        assert!(new > 13_000, "{new}");
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        assert_eq!(generate(500, 3).0, generate(500, 3).0);
        assert_ne!(generate(500, 3).0, generate(500, 4).0);
    }
}
