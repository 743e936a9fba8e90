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

use std::io::{self, BufRead, Write};

use chrono::{DateTime, Datelike, Days, NaiveDate, SecondsFormat, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::FEED_NS;
use crate::domain::{IncompleteDate, Niss, Person};
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
    out: impl Write,
    file_id: &str,
    records: u64,
    seed: u64,
    population: u64,
    created_at: DateTime<Utc>,
    progress: impl FnMut(u64),
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
    let mut writer = FeedWriter::start(out, file_id, created_at, progress);
    while counts.records < records {
        let id = format!("r{}", counts.records + 1);
        let roll = if recent.len() < WARM_UP {
            0
        } else {
            rng.random_range(0..100)
        };
        let xml = &mut writer.xml;
        match roll {
            70..88 => {
                let at = rng.random_range(0..recent.len());
                identity_change(xml, &mut rng, &id, recent[at].ssin);
                counts.identity_changes += 1;
            }
            88..92 if recent.iter().any(|r| !r.deceased) => {
                let mut at = rng.random_range(0..recent.len());
                while recent[at].deceased {
                    at = (at + 1) % recent.len();
                }
                let date = decease_date(&mut rng, recent[at].birth, today);
                recent[at].deceased = true;
                decease(xml, &id, recent[at].ssin, date);
                counts.deceases += 1;
            }
            92..98 => {
                let old = recent.swap_remove(rng.random_range(0..recent.len()));
                let new = recent[rng.random_range(0..recent.len())];
                replacement(xml, &id, old.ssin, new.ssin);
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
                new_person(xml, &id, &person);
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
        writer.record_done(counts.records)?;
    }
    writer.finish(counts.records)?;
    Ok(counts)
}

/// The persons a feed over an existing source mutates, and the new persons that replace
/// some of them: see [`plan_existing`].
#[derive(Debug, Clone)]
pub struct ExistingPlan {
    /// Distinct numbers, in the order the feed mutates them.
    mutated: Vec<Niss>,
    /// Numbers the source does not know, one per replacement, ascending.
    new_persons: Vec<Person>,
}

impl ExistingPlan {
    /// How many persons the feed mutates.
    pub fn mutations(&self) -> u64 {
        self.mutated.len() as u64
    }
}

/// Out of each 100 mutations of existing persons: the positions (`index % 100`) of the
/// deceases and of the replacement; the others are identity changes.
const EXISTING_DECEASES: [u64; 2] = [49, 98];
const EXISTING_REPLACEMENT: u64 = 99;

/// How many replacements `mutations` mutations hold.
fn existing_replacements(mutations: u64) -> u64 {
    mutations / 100
}

/// Reads the numbers a source knows (`known`: one NISS a line, in ascending order; a line
/// holding the number alone names a person the feed may mutate, a number followed by a space
/// or a tab and anything else names one it must leave alone, e.g. a canceled number) and
/// draws `mutations` distinct persons to mutate, uniformly (reservoir sampling: memory in
/// `mutations`, not in the file's size), and the new persons of the replacements, with numbers
/// the file does not hold.
///
/// # Errors
/// A one-line message naming the line: a line that is not a NISS, numbers out of order, too
/// few persons to mutate; or the read error.
pub fn plan_existing(
    known: impl BufRead,
    mutations: u64,
    seed: u64,
    today: NaiveDate,
) -> Result<ExistingPlan, String> {
    let wanted =
        usize::try_from(mutations).map_err(|_| format!("{mutations} records is too many"))?;
    let replacements = existing_replacements(mutations);
    let invalid = |e: GenerateError| e.to_string();
    // Eight candidates per new person needed: room for those the source holds already.
    let mut candidates = Generator::new(replacements.saturating_mul(8) + 64, seed ^ 1, today)
        .map_err(invalid)?
        .peekable();
    let mut new_persons: Vec<Person> = Vec::new();
    let mut take_candidates_below = |bound: Option<&str>, new_persons: &mut Vec<Person>| {
        while (new_persons.len() as u64) < replacements {
            let Some(next) = candidates.peek() else { break };
            match bound {
                Some(b) if next.ssin.as_str() == b => {
                    candidates.next();
                }
                Some(b) if next.ssin.as_str() > b => break,
                _ => new_persons.extend(candidates.next()),
            }
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6578_6973_7469_6e67); // "existing"
    let mut mutated: Vec<Niss> = Vec::with_capacity(wanted.min(1 << 24));
    let mut eligible: u64 = 0;
    let mut previous: Option<Niss> = None;
    for (index, line) in known.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| format!("line {number}: {e}"))?;
        let mut words = line.split([' ', '\t']);
        let first = words.next().unwrap_or_default();
        if first.is_empty() && line.trim().is_empty() {
            continue;
        }
        let ssin = Niss::parse(first, today)
            .map_err(|e| format!("line {number}: {first:?} is not a NISS ({e})"))?;
        if let Some(before) = previous {
            if ssin.as_str() <= before.as_str() {
                return Err(format!(
                    "line {number}: {ssin} does not come after {before} (the numbers must be \
                     in ascending order, each once)"
                ));
            }
        }
        previous = Some(ssin);
        take_candidates_below(Some(ssin.as_str()), &mut new_persons);
        if words.all(str::is_empty) {
            // Reservoir sampling (algorithm R).
            if mutated.len() < wanted {
                mutated.push(ssin);
            } else {
                let at = rng.random_range(0..=eligible);
                if let Some(slot) = usize::try_from(at).ok().and_then(|at| mutated.get_mut(at)) {
                    *slot = ssin;
                }
            }
            eligible += 1;
        }
    }
    take_candidates_below(None, &mut new_persons);
    if mutated.len() < wanted {
        return Err(format!(
            "{} persons to mutate, {mutations} wanted",
            mutated.len()
        ));
    }
    if (new_persons.len() as u64) < replacements {
        return Err(format!(
            "only {} new numbers outside the file, {replacements} replacements wanted",
            new_persons.len()
        ));
    }
    mutated.shuffle(&mut rng);
    Ok(ExistingPlan {
        mutated,
        new_persons,
    })
}

/// Writes a feed of mutations of the persons of `plan` with `fileId` `file_id`: out of each
/// 100, 97 identity changes (a last name or an address), 2 deceases and 1 replacement by a
/// new person (its `newPerson` record just before), so it applies to the source `plan` was
/// drawn from.
///
/// # Errors
/// Those of `out`.
pub fn write_existing_feed(
    out: impl Write,
    file_id: &str,
    plan: &ExistingPlan,
    seed: u64,
    created_at: DateTime<Utc>,
    progress: impl FnMut(u64),
) -> io::Result<FeedCounts> {
    let today = created_at.date_naive();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e72_6d75_7461_7469); // "nrmutati"
    let mut counts = FeedCounts::default();
    let mut writer = FeedWriter::start(out, file_id, created_at, progress);
    let mut new_persons = plan.new_persons.iter();
    for (index, ssin) in (0u64..).zip(&plan.mutated) {
        let xml = &mut writer.xml;
        let slot = index % 100;
        let new = if slot == EXISTING_REPLACEMENT {
            new_persons.next()
        } else {
            None
        };
        if let Some(new) = new {
            counts.records += 1;
            new_person(xml, &format!("r{}", counts.records), new);
            counts.new_persons += 1;
            counts.records += 1;
            replacement(xml, &format!("r{}", counts.records), *ssin, new.ssin);
            counts.replacements += 1;
        } else if let Some(birth) = EXISTING_DECEASES
            .contains(&slot)
            .then(|| {
                ssin.birth_date()
                    .or_else(|| IncompleteDate::from_date(today))
            })
            .flatten()
        {
            counts.records += 1;
            let date = decease_date(&mut rng, birth, today);
            decease(xml, &format!("r{}", counts.records), *ssin, date);
            counts.deceases += 1;
        } else {
            counts.records += 1;
            identity_change(xml, &mut rng, &format!("r{}", counts.records), *ssin);
            counts.identity_changes += 1;
        }
        writer.record_done(counts.records)?;
    }
    writer.finish(counts.records)?;
    Ok(counts)
}

/// The feed's document, built in chunks handed to the writer.
struct FeedWriter<W: Write, P: FnMut(u64)> {
    out: W,
    xml: XmlOut,
    progress: P,
    reported: u64,
}

impl<W: Write, P: FnMut(u64)> FeedWriter<W, P> {
    fn start(out: W, file_id: &str, created_at: DateTime<Utc>, progress: P) -> Self {
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
        FeedWriter {
            out,
            xml,
            progress,
            reported: 0,
        }
    }

    /// After each record: hands a full chunk to the writer.
    fn record_done(&mut self, records: u64) -> io::Result<()> {
        if self.xml.len() >= CHUNK {
            self.out.write_all(self.xml.take().as_bytes())?;
            self.xml = XmlOut::fragment();
            if records - self.reported >= 16_384 {
                (self.progress)(records);
                self.reported = records;
            }
        }
        Ok(())
    }

    fn finish(mut self, records: u64) -> io::Result<()> {
        self.xml.raw("</nrMutations>\n");
        self.out.write_all(self.xml.take().as_bytes())?;
        self.out.flush()?;
        (self.progress)(records);
        Ok(())
    }
}

fn new_person(xml: &mut XmlOut, id: &str, person: &Person) {
    xml.raw(&format!("<newPerson id=\"{id}\"><person>"));
    write_person(xml, "p", person, false);
    xml.raw("</person></newPerson>\n");
}

/// A new last name or a new address.
fn identity_change<R: Rng + ?Sized>(xml: &mut XmlOut, rng: &mut R, id: &str, ssin: Niss) {
    let community = names::Community::ALL[rng.random_range(0..3)];
    xml.raw(&format!("<identityChange id=\"{id}\"><ssin>"))
        .raw(ssin.as_str())
        .raw("</ssin><changes>");
    if rng.random_bool(0.5) {
        xml.leaf_ns("p", "lastName", Some(&names::last_name(rng, community)));
    } else {
        let address = address::address(rng, community);
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
}

fn decease(xml: &mut XmlOut, id: &str, ssin: Niss, date: IncompleteDate) {
    xml.raw(&format!("<decease id=\"{id}\"><ssin>"))
        .raw(ssin.as_str())
        .raw("</ssin><deceaseDate>")
        .raw(&date.to_string())
        .raw("</deceaseDate></decease>\n");
}

fn replacement(xml: &mut XmlOut, id: &str, old: Niss, new: Niss) {
    xml.raw(&format!("<replacement id=\"{id}\"><oldSsin>"))
        .raw(old.as_str())
        .raw("</oldSsin><newSsin>")
        .raw(new.as_str())
        .raw("</newSsin></replacement>\n");
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

    /// The numbers of a generated population, as `plan_existing` reads them; every tenth
    /// marked as one to leave alone.
    fn known(persons: u64) -> (String, Vec<Niss>) {
        let mut text = String::new();
        let mut eligible = Vec::new();
        for (i, person) in Generator::new(persons, 5, created_at().date_naive())
            .unwrap()
            .enumerate()
        {
            text.push_str(person.ssin.as_str());
            if i % 10 == 0 {
                text.push_str("\tCANCELED");
            } else {
                eligible.push(person.ssin);
            }
            text.push('\n');
        }
        (text, eligible)
    }

    fn existing_feed(text: &str, mutations: u64, seed: u64) -> (Vec<u8>, FeedCounts) {
        let plan =
            plan_existing(text.as_bytes(), mutations, seed, created_at().date_naive()).unwrap();
        assert_eq!(plan.mutations(), mutations);
        let mut out = Vec::new();
        let counts =
            write_existing_feed(&mut out, "DAY", &plan, seed, created_at(), |_| {}).unwrap();
        (out, counts)
    }

    #[test]
    fn a_feed_over_existing_persons_mutates_distinct_listed_persons() {
        let (text, eligible) = known(3_000);
        let eligible: std::collections::HashSet<Niss> = eligible.into_iter().collect();
        let all: std::collections::HashSet<&str> = text.lines().map(|l| &l[..11]).collect();
        let (bytes, counts) = existing_feed(&text, 1_000, 11);
        assert_eq!(counts.identity_changes, 970, "{counts:?}");
        assert_eq!(counts.deceases, 20, "{counts:?}");
        assert_eq!(counts.replacements, 10, "{counts:?}");
        assert_eq!(counts.new_persons, 10, "{counts:?}");
        assert_eq!(counts.records, 1_010, "{counts:?}");
        let reader = FeedReader::new(bytes.as_slice(), created_at().date_naive()).unwrap();
        let mut mutated = std::collections::HashSet::new();
        let mut created = std::collections::HashSet::new();
        for record in reader {
            match record.unwrap().mutation {
                Mutation::NewPerson(person) => {
                    assert!(!all.contains(person.ssin.as_str()), "{}", person.ssin);
                    created.insert(person.ssin);
                }
                Mutation::Replacement { old, new } => {
                    assert!(
                        created.contains(&new),
                        "{new} replaces before it is created"
                    );
                    assert!(eligible.contains(&old) && mutated.insert(old), "{old}");
                }
                Mutation::IdentityChange { ssin, .. } | Mutation::Decease { ssin, .. } => {
                    assert!(eligible.contains(&ssin) && mutated.insert(ssin), "{ssin}");
                }
                Mutation::Cancellation { ssin } => panic!("cancellation of {ssin}"),
            }
        }
        assert_eq!(mutated.len(), 1_000);
        // Drawn from the whole file, not its beginning.
        let last_half = Generator::new(3_000, 5, created_at().date_naive())
            .unwrap()
            .skip(1_500)
            .filter(|p| mutated.contains(&p.ssin))
            .count();
        assert!((350..650).contains(&last_half), "{last_half}");
        assert_eq!(existing_feed(&text, 1_000, 11).0, bytes);
        assert_ne!(existing_feed(&text, 1_000, 12).0, bytes);
    }

    #[test]
    fn a_bad_list_of_existing_persons_is_refused_naming_the_line() {
        let today = created_at().date_naive();
        let (text, _) = known(30);
        let message = |text: &str, mutations| {
            plan_existing(text.as_bytes(), mutations, 1, today).unwrap_err()
        };
        assert_eq!(message(&text, 28), "27 persons to mutate, 28 wanted");
        let mut lines: Vec<&str> = text.lines().collect();
        lines.swap(3, 4);
        let swapped = lines.join("\n");
        assert!(
            message(&swapped, 1).starts_with("line 5: "),
            "{}",
            message(&swapped, 1)
        );
        let bad = format!("{}12345\n", &text);
        assert!(
            message(&bad, 1).starts_with("line 31: \"12345\" is not a NISS"),
            "{}",
            message(&bad, 1)
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        assert_eq!(generate(500, 3).0, generate(500, 3).0);
        assert_ne!(generate(500, 3).0, generate(500, 4).0);
    }
}
