//! The generator: an iterator of synthetic persons in ascending number order, and the
//! writer of the population file (`xsd/Population.xsd`).
//!
//! Deterministic: the same number of persons, seed and `today` give the same persons (one
//! `ChaCha8Rng` stream, consumed in a fixed order). Constant memory: the only table is the
//! slot allocation of [`super::numbers`] (about 120,000 prefixes) and the serials of the
//! current prefix.

use std::io::{self, Write};

use chrono::{DateTime, Datelike, Days, NaiveDate, SecondsFormat, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::address::{self, Country};
use super::demography::deceased_probability;
use super::names;
use super::numbers::{self, Slot};
use crate::domain::{Gender, Identity, IncompleteDate, Niss, NissKind, Person, PersonStatus};
use crate::xml::person::{write_person, PERSON_NS};
use crate::xml::XmlOut;

pub use super::numbers::GenerateError;

/// The namespace of Population.xsd.
pub const POPULATION_NS: &str = "urn:be:raas:types:Population:v1";

/// The `source` attribute of a generated file.
pub const SOURCE: &str = "raas generate population";

/// Share of Belgians among the holders of a BCSS number.
const BELGIAN_BIS: f64 = 0.10;
/// Share of BCSS number holders with a Belgian address.
const BIS_WITH_ADDRESS: f64 = 0.5;
/// Deceased persons are kept for this long in the register.
const DECEASED_KEPT_DAYS: u64 = 25 * 365;

/// Synthetic persons in ascending number order. Build with [`Generator::new`].
pub struct Generator {
    today: NaiveDate,
    persons: u64,
    remaining: u64,
    slots: Vec<Slot>,
    next_slot: usize,
    current: Option<Slot>,
    serials: Vec<u16>,
    position: usize,
    rng: ChaCha8Rng,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("today", &self.today)
            .field("persons", &self.persons)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl Generator {
    /// A generator of `persons` persons born up to `today`, reproducible from `seed`.
    ///
    /// # Errors
    /// [`GenerateError::TooManyPersons`] when the numbering scheme cannot hold that many
    /// (about 110 million for the ages generated), [`GenerateError::OutOfRange`] when
    /// `today` is outside the years a NISS can encode.
    pub fn new(persons: u64, seed: u64, today: NaiveDate) -> Result<Generator, GenerateError> {
        Ok(Generator {
            today,
            persons,
            remaining: persons,
            slots: numbers::allocate(persons, today)?,
            next_slot: 0,
            current: None,
            serials: Vec::with_capacity(usize::from(numbers::SERIALS)),
            position: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        })
    }

    /// How many persons the generator yields in all.
    pub fn persons(&self) -> u64 {
        self.persons
    }

    /// The day the population is generated for: no birth or decease after it.
    pub fn today(&self) -> NaiveDate {
        self.today
    }

    /// The person with `serial` in `slot`.
    fn person(&mut self, slot: &Slot, serial: u16) -> Person {
        let rng = &mut self.rng;
        let born_2000s = match (slot.weight_1900s > 0.0, slot.weight_2000s > 0.0) {
            (true, true) => rng.random_bool(slot.share_2000s()),
            (false, true) => true,
            _ => false,
        };
        let century = if born_2000s { 2000 } else { 1900 };
        // yy < 100: lossless.
        let year = century + slot.yy() as i32;
        let birth_date =
            IncompleteDate::new(year, slot.month(), slot.day()).expect("slots hold possible dates");
        let digits = numbers::digits(slot.prefix, serial, born_2000s);
        let ssin = std::str::from_utf8(&digits)
            .ok()
            .and_then(|text| Niss::parse(text, self.today).ok())
            .expect("slots and check digits give valid numbers");
        debug_assert_eq!(ssin.birth_date(), Some(birth_date));
        let gender = ssin.gender();
        let name_gender = gender.unwrap_or(if rng.random_bool(0.5) {
            Gender::Male
        } else {
            Gender::Female
        });
        let age = u32::try_from(self.today.year() - year).unwrap_or(0);
        let bcss = slot.kind != NissKind::Rn;

        // The region of residence first (Statbel's shares), then the language of the
        // names and the nationality as they are in that region.
        let region = address::region_of_residence(rng);
        let community = address::community_in(rng, region);
        let belgian = rng.random_bool(if bcss {
            BELGIAN_BIS
        } else {
            region.belgian_share()
        });
        let country: Option<&Country> =
            (!belgian).then(|| address::foreign_country(rng, community));
        let born_abroad = match country {
            None => rng.random_bool(0.06),
            Some(_) => rng.random_bool(if bcss { 0.95 } else { 0.7 }),
        };
        let birth_place = if born_abroad {
            let of = match country {
                Some(country) => country,
                None => address::foreign_country(rng, community),
            };
            address::foreign_city(rng, of).to_string()
        } else {
            address::municipality(rng, community).name.to_string()
        };
        let last_name = names::last_name(rng, community);
        let first_names = names::first_names(rng, community, name_gender);
        let with_address = !bcss || rng.random_bool(BIS_WITH_ADDRESS);
        let address = with_address.then(|| address::address_in(rng, region));
        let deceased_probability = deceased_probability(age) * if bcss { 0.5 } else { 1.0 };
        let decease_date = if rng.random_bool(deceased_probability.clamp(0.0, 1.0)) {
            decease_date(rng, birth_date, self.today)
        } else {
            None
        };
        Person {
            ssin,
            status: PersonStatus::Active,
            identity: Identity {
                last_name,
                first_names,
                birth_date,
                gender,
                nationality: Some(country.map_or("BE", |c| c.code).to_string()),
                birth_place: Some(birth_place),
                address,
                decease_date,
            },
        }
    }
}

impl Iterator for Generator {
    type Item = Person;

    fn next(&mut self) -> Option<Person> {
        while self.position == self.serials.len() {
            let slot = *self.slots.get(self.next_slot)?;
            self.next_slot += 1;
            if slot.count == 0 {
                continue;
            }
            self.serials = numbers::draw_serials(&mut self.rng, &slot);
            self.position = 0;
            self.current = Some(slot);
        }
        let slot = self.current?;
        let serial = self.serials[self.position];
        self.position += 1;
        self.remaining -= 1;
        Some(self.person(&slot, serial))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match usize::try_from(self.remaining) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }
}

/// A decease date after the last possible birth day and not after `today`, within the
/// years the register keeps the deceased; `None` if there is no such day.
fn decease_date<R: Rng + ?Sized>(
    rng: &mut R,
    birth: IncompleteDate,
    today: NaiveDate,
) -> Option<IncompleteDate> {
    let last_birth_day = match (birth.month(), birth.day()) {
        (Some(_), Some(_)) => birth.to_date()?,
        (Some(m), None) => {
            let (y, m) = if m == 12 {
                (birth.year() + 1, 1)
            } else {
                (birth.year(), m + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()?
        }
        _ => NaiveDate::from_ymd_opt(birth.year(), 12, 31)?,
    };
    let earliest = last_birth_day
        .succ_opt()?
        .max(today.checked_sub_days(Days::new(DECEASED_KEPT_DAYS))?);
    if earliest > today {
        return None;
    }
    let span = u64::try_from((today - earliest).num_days()).ok()?;
    let day = earliest.checked_add_days(Days::new(rng.random_range(0..=span)))?;
    IncompleteDate::from_date(day)
}

/// How many bytes are built before they are handed to the writer: below the 64 KiB that
/// `XmlOut::fragment` reserves, so a chunk never reallocates (a person takes well under
/// 4 KiB).
const CHUNK: usize = 60 * 1024;

/// Writes the population file: the `population` root with `createdAt` and `seed`, then
/// every person of `generator`. Returns the number of persons written.
///
/// # Errors
/// Those of `out`.
pub fn write_population(
    out: impl Write,
    generator: Generator,
    seed: u64,
    created_at: DateTime<Utc>,
) -> io::Result<u64> {
    write_population_with_progress(out, generator, seed, created_at, |_| {})
}

/// [`write_population`], calling `progress` now and then (every 16,384 persons or so) with
/// the number of persons written so far, and at the end.
///
/// # Errors
/// Those of `out`.
pub fn write_population_with_progress(
    mut out: impl Write,
    generator: Generator,
    seed: u64,
    created_at: DateTime<Utc>,
    mut progress: impl FnMut(u64),
) -> io::Result<u64> {
    let mut xml = XmlOut::fragment();
    xml.raw(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
        .raw("\n<population xmlns=\"")
        .raw(POPULATION_NS)
        .raw("\" xmlns:p=\"")
        .raw(PERSON_NS)
        .raw("\" source=\"")
        .attribute_value(SOURCE)
        .raw("\" createdAt=\"")
        .attribute_value(&created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .raw("\" seed=\"")
        .raw(&seed.to_string())
        .raw("\">\n");
    let mut written = 0u64;
    let mut reported = 0u64;
    for person in generator {
        xml.raw("<person>");
        write_person(&mut xml, "p", &person, false);
        xml.raw("</person>\n");
        written += 1;
        if xml.len() >= CHUNK {
            out.write_all(xml.take().as_bytes())?;
            xml = XmlOut::fragment();
            if written - reported >= 16_384 {
                progress(written);
                reported = written;
            }
        }
    }
    xml.raw("</population>\n");
    out.write_all(xml.take().as_bytes())?;
    out.flush()?;
    progress(written);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
    }

    #[test]
    fn yields_exactly_the_persons_asked_in_ascending_order() {
        for persons in [0u64, 1, 2, 999, 5_000] {
            let generator = Generator::new(persons, 42, today()).unwrap();
            assert_eq!(
                generator.size_hint(),
                (persons as usize, Some(persons as usize))
            );
            let people: Vec<Person> = generator.collect();
            assert_eq!(people.len() as u64, persons);
            assert!(people
                .windows(2)
                .all(|w| w[0].ssin.as_str() < w[1].ssin.as_str()));
        }
    }

    #[test]
    fn numbers_agree_with_the_identity() {
        let mut nines = HashSet::new();
        for person in Generator::new(20_000, 7, today()).unwrap() {
            let ssin = Niss::parse(person.ssin.as_str(), today()).unwrap();
            assert_eq!(ssin.birth_date(), Some(person.identity.birth_date));
            assert_eq!(ssin.gender(), person.identity.gender);
            assert!(nines.insert(person.ssin.as_str()[..9].to_string()));
            assert!(!person.identity.first_names.is_empty());
            if let Some(decease) = person.identity.decease_date {
                let day = decease.to_date().unwrap();
                assert!(day <= today());
                assert!(decease > person.identity.birth_date);
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_persons() {
        let a: Vec<Person> = Generator::new(2_000, 3, today()).unwrap().collect();
        let b: Vec<Person> = Generator::new(2_000, 3, today()).unwrap().collect();
        let c: Vec<Person> = Generator::new(2_000, 4, today()).unwrap().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn decease_dates_follow_the_last_possible_birth_day() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let year_only = IncompleteDate::new(2024, None, None).unwrap();
        for _ in 0..100 {
            let d = decease_date(&mut rng, year_only, today()).unwrap();
            assert!(d.year() == 2025 && d.to_date().unwrap() <= today(), "{d}");
        }
        let this_year = IncompleteDate::new(2025, None, None).unwrap();
        assert_eq!(decease_date(&mut rng, this_year, today()), None);
        let june = IncompleteDate::new(2025, Some(6), None).unwrap();
        assert_eq!(decease_date(&mut rng, june, today()), None);
        let may = IncompleteDate::new(2025, Some(5), None).unwrap();
        let d = decease_date(&mut rng, may, today()).unwrap();
        assert_eq!(d.month(), Some(6));
    }

    #[test]
    fn writes_the_root_and_the_persons() {
        let mut out = Vec::new();
        let created_at = DateTime::parse_from_rfc3339("2025-06-15T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let generator = Generator::new(3, 9, today()).unwrap();
        let written = write_population(&mut out, generator, 9, created_at).unwrap();
        assert_eq!(written, 3);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<population xmlns=\"urn:be:raas:types:Population:v1\" xmlns:p=\"urn:be:raas:types:Person:v1\" source=\"raas generate population\" createdAt=\"2025-06-15T10:00:00Z\" seed=\"9\">\n<person><p:ssin>"
        ), "{text}");
        assert_eq!(text.matches("<person>").count(), 3);
        assert!(text.ends_with("</person>\n</population>\n"));
    }
}
