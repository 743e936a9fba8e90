//! The allocation of numbers, so that a population of any size streams in ascending number
//! order in constant memory.
//!
//! A NISS is `YYMMDD SSS CC`. Each six-digit prefix `YYMMDD` (a *slot*) offers the serials
//! 001–998 (000 and 999 are never attributed): 499 odd ones for men and 499 even ones for
//! women, or 998 without gender for a BCSS number attributed without it (month + 20). The
//! two centuries share a prefix (1925-06-15 and 2025-06-15 are both `250615`), so a serial
//! is attributed once per prefix whatever the century, and the nine first digits of every
//! generated number are unique.
//!
//! [`allocate`] lists the slots in ascending order (national register months 01–12, then
//! +20 months 20–32, then +40 months 40–52 within a year, month 00 or day 00 marking an
//! incomplete birth date of a BCSS number) with a weight from the age pyramid, and gives
//! each slot its number of persons by exact cumulative rounding, so that the total is
//! exactly the population asked. A slot can hold at most 998 persons: the excess is
//! carried to the next slot of the same kind (then, if any is left at the end, to the last
//! slots with room). The table is about 120,000 slots whatever the population.
//! The generator then walks the slots in order, draws distinct serials in each and sorts
//! them: the numbers come out in ascending order.

use chrono::{Datelike, NaiveDate};
use rand::Rng;

use super::demography::{age_density, kind_share, male_share, precision_share, Precision, MAX_AGE};
use crate::domain::NissKind;

/// Serials per prefix: 001–998.
pub const SERIALS: u16 = 998;

/// Serials per gender and prefix: 499 odd (men), 499 even (women).
const SERIALS_PER_GENDER: u16 = 499;

/// One six-digit prefix and the persons it gets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slot {
    /// `YYMMDD` as a number (the month field includes the +20/+40 of BCSS numbers).
    pub prefix: u32,
    pub kind: NissKind,
    pub precision: Precision,
    /// Weight of the birth year 1900 + YY in this slot (0 if outside the ages generated).
    pub weight_1900s: f64,
    /// Weight of the birth year 2000 + YY in this slot.
    pub weight_2000s: f64,
    /// Share of men among the persons of this slot.
    pub male_share: f64,
    /// How many persons get a number with this prefix.
    pub count: u16,
}

impl Slot {
    /// The two-digit year.
    pub fn yy(&self) -> u32 {
        self.prefix / 10_000
    }

    /// The real birth month (1–12), if known.
    pub fn month(&self) -> Option<u32> {
        let field = self.prefix / 100 % 100;
        let month = match self.kind {
            NissKind::Rn => field,
            NissKind::Bis => field - 20,
            NissKind::Ter => field - 40,
        };
        (month != 0).then_some(month)
    }

    /// The birth day, if known.
    pub fn day(&self) -> Option<u32> {
        let day = self.prefix % 100;
        (day != 0).then_some(day)
    }

    /// The probability that a person of this slot was born in the 2000s.
    pub fn share_2000s(&self) -> f64 {
        self.weight_2000s / (self.weight_1900s + self.weight_2000s)
    }

    fn weight(&self) -> f64 {
        self.weight_1900s + self.weight_2000s
    }

    /// Which carry group the slot belongs to (kind and precision).
    fn group(&self) -> usize {
        let kind = match self.kind {
            NissKind::Rn => 0,
            NissKind::Bis => 1,
            NissKind::Ter => 2,
        };
        let precision = match self.precision {
            Precision::Full => 0,
            Precision::Month => 1,
            Precision::Year => 2,
        };
        kind * 3 + precision
    }
}

/// Why a population cannot be allocated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    /// More persons than the numbering scheme offers for the ages generated.
    #[error(
        "{requested} persons exceed the capacity of the numbering scheme: at most {capacity} \
         numbers for birth dates from {first_year} to {today}"
    )]
    TooManyPersons {
        requested: u64,
        capacity: u64,
        first_year: i32,
        today: NaiveDate,
    },
    /// The date is outside the years a NISS can encode for the ages generated.
    #[error("cannot generate persons born from {first_year} to {today}: a NISS encodes birth years 1900 to 2099")]
    OutOfRange { first_year: i32, today: NaiveDate },
}

/// The weight of the birth date (`year`, `month`, `day`), as far as known, for a number of
/// `kind`: 0 when outside the ages generated or after `today`.
fn date_weight(
    kind: NissKind,
    precision: Precision,
    year: i32,
    month: Option<u32>,
    day: Option<u32>,
    today: NaiveDate,
) -> f64 {
    let Ok(age) = u32::try_from(today.year() - year) else {
        return 0.0;
    };
    if age > MAX_AGE {
        return 0.0;
    }
    let per_date = match (month, day) {
        (Some(m), Some(d)) => match NaiveDate::from_ymd_opt(year, m, d) {
            Some(date) if date <= today => {
                let days = if NaiveDate::from_ymd_opt(year, 2, 29).is_some() {
                    366.0
                } else {
                    365.0
                };
                1.0 / days
            }
            _ => return 0.0,
        },
        (Some(m), None) if (year, m) <= (today.year(), today.month()) => 1.0 / 12.0,
        (Some(_), None) => return 0.0,
        _ => 1.0,
    };
    kind_share(kind) * precision_share(kind, precision) * age_density(kind, age) * per_date
}

/// The slots in ascending prefix order, with a positive weight, for the ages generated up
/// to `today`; their counts are still 0.
pub fn slots(today: NaiveDate) -> Result<Vec<Slot>, GenerateError> {
    let last_year = today.year();
    let first_year = last_year - MAX_AGE as i32;
    if first_year < 1900 || last_year > 2099 {
        return Err(GenerateError::OutOfRange { first_year, today });
    }
    let mut slots = Vec::with_capacity(130_000);
    for yy in 0..100u32 {
        for kind in [NissKind::Rn, NissKind::Bis, NissKind::Ter] {
            let offset = match kind {
                NissKind::Rn => 0,
                NissKind::Bis => 20,
                NissKind::Ter => 40,
            };
            for month in 0..=12u32 {
                for day in 0..=31u32 {
                    let precision = match (month, day) {
                        (0, 0) => Precision::Year,
                        (0, _) => continue,
                        (_, 0) => Precision::Month,
                        _ => Precision::Full,
                    };
                    if precision_share(kind, precision) == 0.0 {
                        continue;
                    }
                    let (m, d) = (Some(month).filter(|&m| m > 0), Some(day).filter(|&d| d > 0));
                    // yy < 100, so the casts are lossless.
                    let weight_1900s = date_weight(kind, precision, 1900 + yy as i32, m, d, today);
                    let weight_2000s = date_weight(kind, precision, 2000 + yy as i32, m, d, today);
                    if weight_1900s + weight_2000s <= 0.0 {
                        continue;
                    }
                    let age = |year: i32| u32::try_from(today.year() - year).unwrap_or(0);
                    let male = (weight_1900s * male_share(age(1900 + yy as i32))
                        + weight_2000s * male_share(age(2000 + yy as i32)))
                        / (weight_1900s + weight_2000s);
                    slots.push(Slot {
                        prefix: yy * 10_000 + (month + offset) * 100 + day,
                        kind,
                        precision,
                        weight_1900s,
                        weight_2000s,
                        male_share: male,
                        count: 0,
                    });
                }
            }
        }
    }
    Ok(slots)
}

/// The slots with the number of persons each gets: `persons` in all, in proportion to
/// the weights, at most [`SERIALS`] per slot.
pub fn allocate(persons: u64, today: NaiveDate) -> Result<Vec<Slot>, GenerateError> {
    let mut slots = slots(today)?;
    let capacity = slots.len() as u64 * u64::from(SERIALS);
    if persons > capacity {
        return Err(GenerateError::TooManyPersons {
            requested: persons,
            capacity,
            first_year: today.year() - MAX_AGE as i32,
            today,
        });
    }
    let total: f64 = slots.iter().map(Slot::weight).sum();
    let mut cumulative = 0.0;
    let mut allocated = 0u64;
    let mut carry = [0u64; 9];
    let last = slots.len().saturating_sub(1);
    for (i, slot) in slots.iter_mut().enumerate() {
        cumulative += slot.weight();
        // Exact cumulative rounding: the running total is the rounded share of the running
        // weight, so the counts add up to `persons` exactly (the last slot takes the rest
        // whatever the floating-point sum says).
        let target_total = if i == last {
            persons
        } else {
            ((persons as f64) * (cumulative / total)).round() as u64
        }
        .clamp(allocated, persons);
        let wanted = target_total - allocated + carry[slot.group()];
        allocated = target_total;
        let count = wanted.min(u64::from(SERIALS));
        carry[slot.group()] = wanted - count;
        // At most SERIALS, so it fits.
        slot.count = count as u16;
    }
    // The last slot targeted the whole population: only the carries are left.
    let mut left: u64 = carry.iter().sum();
    // What could not be carried forward goes to the last slots with room, of the same group
    // first.
    for (group, rest) in carry.iter_mut().enumerate() {
        for slot in slots.iter_mut().rev().filter(|s| s.group() == group) {
            if *rest == 0 {
                break;
            }
            let room = u64::from(SERIALS - slot.count).min(*rest);
            // room ≤ SERIALS: fits.
            slot.count += room as u16;
            *rest -= room;
            left -= room;
        }
    }
    for slot in slots.iter_mut().rev() {
        if left == 0 {
            break;
        }
        let room = u64::from(SERIALS - slot.count).min(left);
        slot.count += room as u16;
        left -= room;
    }
    debug_assert_eq!(left, 0, "the capacity was checked");
    Ok(slots)
}

/// `k` distinct indices out of `0..pool` (`pool` ≤ 1024), in ascending order.
pub fn distinct_sorted<R: Rng + ?Sized>(rng: &mut R, pool: u16, k: u16) -> Vec<u16> {
    debug_assert!(k <= pool && pool <= 1024);
    let mut bits = [0u64; 16];
    let is_set = |bits: &[u64; 16], i: u16| bits[usize::from(i / 64)] >> (i % 64) & 1 == 1;
    // Draw the smaller of the chosen and the left-out set by rejection.
    let complement = k > pool / 2;
    let draws = if complement { pool - k } else { k };
    let mut drawn = 0;
    while drawn < draws {
        let i = rng.random_range(0..pool);
        if !is_set(&bits, i) {
            bits[usize::from(i / 64)] |= 1 << (i % 64);
            drawn += 1;
        }
    }
    (0..pool)
        .filter(|&i| is_set(&bits, i) != complement)
        .collect()
}

/// The serials of a slot's persons, ascending: for a gendered slot, each person is a man
/// with the slot's male share (within the 499 serials per gender).
pub fn draw_serials<R: Rng + ?Sized>(rng: &mut R, slot: &Slot) -> Vec<u16> {
    let k = slot.count;
    if slot.kind == NissKind::Bis {
        return distinct_sorted(rng, SERIALS, k)
            .into_iter()
            .map(|i| i + 1)
            .collect();
    }
    let mut men = 0u16;
    for _ in 0..k {
        if rng.random_bool(slot.male_share.clamp(0.0, 1.0)) {
            men += 1;
        }
    }
    let men = men.clamp(
        k.saturating_sub(SERIALS_PER_GENDER),
        SERIALS_PER_GENDER.min(k),
    );
    let odd = distinct_sorted(rng, SERIALS_PER_GENDER, men);
    let even = distinct_sorted(rng, SERIALS_PER_GENDER, k - men);
    let mut serials: Vec<u16> = odd
        .into_iter()
        .map(|i| 2 * i + 1)
        .chain(even.into_iter().map(|i| 2 * i + 2))
        .collect();
    serials.sort_unstable();
    serials
}

/// The 11 digits of a number (the check-digit rule lives with the number itself).
pub use crate::domain::niss::digits;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Niss;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
    }

    #[test]
    fn check_digits_match_the_documented_examples() {
        assert_eq!(&digits(850730, 33, false), b"85073003328");
        assert_eq!(&digits(170730, 33, true), b"17073003384");
        assert_eq!(&digits(750608, 980, false), b"75060898009");
        assert_eq!(&digits(984728, 997, false), b"98472899765");
    }

    #[test]
    fn slots_are_ascending_and_within_the_ages() {
        let slots = slots(today()).unwrap();
        assert!(slots.windows(2).all(|w| w[0].prefix < w[1].prefix));
        // Nothing after today: 2025-06-16 has no slot, 1925-06-16 has one.
        let find = |p: u32| slots.iter().find(|s| s.prefix == p);
        assert_eq!(find(250615).map(|s| s.weight_2000s > 0.0), Some(true));
        let june_16 = find(250616).unwrap();
        assert_eq!(june_16.weight_2000s, 0.0);
        assert!(june_16.weight_1900s > 0.0);
        // Older than MAX_AGE (1919) is not generated, 2019 is.
        assert_eq!(find(190101).map(|s| s.weight_1900s), Some(0.0));
        // BCSS numbers with incomplete dates: year only, month only.
        assert_eq!(find(752000).map(|s| s.precision), Some(Precision::Year));
        assert_eq!(find(754600).map(|s| s.precision), Some(Precision::Month));
        assert!(
            find(750600).is_none(),
            "national register dates are complete"
        );
    }

    #[test]
    fn allocation_is_exact_and_within_capacity() {
        for persons in [0, 1, 7, 1_000, 123_457, 30_000_000] {
            let slots = allocate(persons, today()).unwrap();
            let total: u64 = slots.iter().map(|s| u64::from(s.count)).sum();
            assert_eq!(total, persons);
            assert!(slots.iter().all(|s| s.count <= SERIALS));
        }
    }

    #[test]
    fn refuses_more_than_the_capacity() {
        let capacity = slots(today()).unwrap().len() as u64 * u64::from(SERIALS);
        assert!(capacity >= 30_000_000);
        assert!(allocate(capacity, today()).is_ok());
        let error = allocate(capacity + 1, today()).unwrap_err();
        assert!(error.to_string().contains("exceed the capacity"), "{error}");
    }

    #[test]
    fn serials_are_distinct_sorted_and_split_by_gender() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let slots = slots(today()).unwrap();
        for (count, slot) in [(998, 0), (500, 1), (3, 2), (0, 3)] {
            let mut slot = slots[slot];
            slot.count = count;
            let serials = draw_serials(&mut rng, &slot);
            assert_eq!(serials.len(), usize::from(count));
            assert!(serials.windows(2).all(|w| w[0] < w[1]));
            assert!(serials.iter().all(|&s| (1..=998).contains(&s)));
        }
    }

    proptest! {
        #[test]
        fn generated_numbers_are_valid(prefix_index in 0usize..100_000, serial in 1u16..=998) {
            static SLOTS: std::sync::LazyLock<Vec<Slot>> =
                std::sync::LazyLock::new(|| slots(today()).unwrap());
            let slots = &*SLOTS;
            let slot = slots[prefix_index % slots.len()];
            for born_2000s in [false, true] {
                let weight = if born_2000s { slot.weight_2000s } else { slot.weight_1900s };
                if weight == 0.0 {
                    continue;
                }
                let digits = digits(slot.prefix, serial, born_2000s);
                let text = std::str::from_utf8(&digits).unwrap();
                let niss = Niss::parse(text, today()).unwrap();
                prop_assert_eq!(niss.kind(), slot.kind);
                let birth = niss.birth_date().unwrap();
                prop_assert_eq!(birth.year(), if born_2000s { 2000 } else { 1900 } + slot.yy() as i32);
                prop_assert_eq!(birth.month(), slot.month());
                prop_assert_eq!(birth.day(), slot.day());
            }
        }
    }
}
