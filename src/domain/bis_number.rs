//! The attribution of a new BIS number (DOMAIN.md §2): which six-digit groups `YYMMDD` it may
//! come from, in order, which serial of a group it takes, and its check digits.
//!
//! - The month field says the register and whether the gender was known: month + 40 when it
//!   was (the serial parity then gives it: odd for men 001–997, even for women 002–998),
//!   month + 20 when it was not (any serial 001–998). An unknown month is `00` + 20/40, an
//!   unknown day `00`.
//! - A serial is unique within its group whatever the century: 1925-06-15 and 2025-06-15 share
//!   the group `256615`, and only the check digits tell them apart (`population::numbers`
//!   generates the synthetic population under the same rule).
//! - When a group is full the number continues as `YY` + (`00` + 20/40) + `00`, then the
//!   sixth digit is bumped (`YY2001`, `YY2002`, … `YY2099`): the day digits are a counter, the
//!   number then says the birth year only. A day above 31 is fine there: with month `00` the
//!   day digits mean nothing.
//! - An entirely unknown birth date (`0000-00-00`, the one year no NISS can encode) takes the
//!   fictitious groups `002001` (+20) or `004001` (+40), then `002002`, `004002` and on. Only
//!   the first group reads back as "birth date unknown"; the ones after it read as born in
//!   1900, month unknown — the numbering scheme has no other way to go on. For the same
//!   reason a person born in 1900 or 2000 never takes the fictitious group of that year.
//! - The check digits follow the century rule (born in 2000 or later: `2` written before the
//!   nine digits), so every number attributed reads back, through [`Niss::parse`], as the
//!   kind, gender and birth date it was attributed for.

use chrono::NaiveDate;

use super::incomplete_date::IncompleteDate;
use super::niss::{digits, Gender, Niss, NissError, NissKind};

/// The year that stands for an entirely unknown birth date (`0000-00-00`).
pub const UNKNOWN_BIRTH_YEAR: i32 = 0;

/// The day counter's last value when a group overflows (`YY2099`).
const LAST_COUNTER: u32 = 99;

/// The day field of the fictitious groups (`002001`, `004001`).
const FICTITIOUS_DAY: u32 = 1;

/// A six-digit group `YYMMDD` (the month field with its +20/+40).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Group(u32);

impl Group {
    fn new(yy: u32, month_field: u32, day: u32) -> Group {
        Group(yy * 10_000 + month_field * 100 + day)
    }

    /// The six digits, as they begin every number of the group.
    pub fn digits(self) -> String {
        format!("{:06}", self.0)
    }

    /// The six digits of the group just after this one, as text: every number of this group
    /// sorts at or after [`Group::digits`] and before this (both are digit strings, so any
    /// collation agrees).
    pub fn next_digits(self) -> String {
        format!("{:06}", self.0 + 1)
    }

    /// The group as a number.
    pub fn value(self) -> u32 {
        self.0
    }
}

/// Why no number can be attributed for a birth date.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BisNumberError {
    /// A NISS encodes birth years 1900 to 2099 only.
    #[error("a BIS number encodes birth years 1900 to 2099 (0000-00-00 for an unknown birth date), not {0}")]
    BirthYear(i32),
    /// The known part of the birth date is after today.
    #[error("the birth date {} is in the future", .0.known_part())]
    FutureBirthDate(IncompleteDate),
}

/// What a new BIS number is attributed for: the birth date as far as known and the gender,
/// checked to be encodable ([`Attribution::new`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribution {
    /// `None`: entirely unknown.
    birth_date: Option<IncompleteDate>,
    gender: Option<Gender>,
    today: NaiveDate,
}

impl Attribution {
    /// The attribution for a person born on `birth_date` (`0000-00-00`: unknown), of
    /// `gender` when known. Refused when the year cannot be encoded or the date is after
    /// `today`.
    pub fn new(
        birth_date: IncompleteDate,
        gender: Option<Gender>,
        today: NaiveDate,
    ) -> Result<Attribution, BisNumberError> {
        let birth_date = if birth_date.year() == UNKNOWN_BIRTH_YEAR && birth_date.month().is_none()
        {
            None
        } else if (1900..=2099).contains(&birth_date.year()) {
            if birth_date.is_after(today) {
                return Err(BisNumberError::FutureBirthDate(birth_date));
            }
            Some(birth_date)
        } else {
            return Err(BisNumberError::BirthYear(birth_date.year()));
        };
        Ok(Attribution {
            birth_date,
            gender,
            today,
        })
    }

    /// `TER` (+40) when the gender is known, `BIS` (+20) otherwise.
    pub fn kind(&self) -> NissKind {
        match self.gender {
            Some(_) => NissKind::Ter,
            None => NissKind::Bis,
        }
    }

    fn month_offset(&self) -> u32 {
        match self.kind() {
            NissKind::Ter => 40,
            _ => 20,
        }
    }

    /// The groups a number may come from, in the order they are used: the birth date's own
    /// group, then its year's overflow groups `YY(20|40)00` to `YY(20|40)99`; for an unknown
    /// date the fictitious group and the ones after it.
    pub fn groups(&self) -> Vec<Group> {
        let offset = self.month_offset();
        let Some(date) = self.birth_date else {
            return (FICTITIOUS_DAY..=LAST_COUNTER)
                .map(|day| Group::new(0, offset, day))
                .collect();
        };
        // 1900..=2099: the remainder is the two-digit year.
        let yy = date.year().rem_euclid(100) as u32;
        let own = Group::new(
            yy,
            date.month().unwrap_or(0) + offset,
            date.day().unwrap_or(0),
        );
        let mut groups = vec![own];
        groups.extend(
            (0..=LAST_COUNTER)
                .filter(|&day| !(yy == 0 && day == FICTITIOUS_DAY))
                .map(|day| Group::new(yy, offset, day))
                .filter(|&group| group != own),
        );
        groups
    }

    /// The serial to take in a group whose numbers already use `used` (in any order): the
    /// smallest free one of the gender's parity (any for an unknown gender); `None` when the
    /// group is full for it.
    pub fn free_serial(&self, used: &[u16]) -> Option<u16> {
        let (first, step) = match self.gender {
            Some(Gender::Male) => (1, 2),
            Some(Gender::Female) => (2, 2),
            None => (1, 1),
        };
        let mut taken = [false; 1000];
        for &serial in used {
            if let Some(slot) = taken.get_mut(usize::from(serial)) {
                *slot = true;
            }
        }
        (first..=998)
            .step_by(step)
            .find(|&serial| !taken[usize::from(serial)])
    }

    /// The number with `serial` in `group`, check digits by the century of the birth date
    /// (an unknown date counts as the 1900s). Refused (never expected) when it would not read
    /// back as a valid number.
    pub fn number(&self, group: Group, serial: u16) -> Result<Niss, NissError> {
        let born_2000s = self.birth_date.is_some_and(|d| d.year() >= 2000);
        let digits = digits(group.value(), serial, born_2000s);
        // Digits only: always UTF-8.
        let text = std::str::from_utf8(&digits).unwrap_or_default();
        Niss::parse(text, self.today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn attribution(date: &str, gender: Option<Gender>) -> Attribution {
        Attribution::new(IncompleteDate::parse(date).unwrap(), gender, today()).unwrap()
    }

    fn first_number(date: &str, gender: Option<Gender>) -> String {
        let a = attribution(date, gender);
        let group = a.groups()[0];
        a.number(group, a.free_serial(&[]).unwrap())
            .unwrap()
            .to_string()
    }

    const M: Option<Gender> = Some(Gender::Male);
    const F: Option<Gender> = Some(Gender::Female);

    #[test]
    fn the_month_says_whether_the_gender_was_known() {
        // Check digits worked out by hand: 97 − (984728001 mod 97) = 91, and so on.
        assert_eq!(first_number("1998-07-28", M), "98472800191");
        assert_eq!(first_number("1998-07-28", F), "98472800290");
        assert_eq!(first_number("1975-06-08", None), "75260800161");
        for (number, kind, gender) in [
            ("98472800191", NissKind::Ter, M),
            ("98472800290", NissKind::Ter, F),
            ("75260800161", NissKind::Bis, None),
        ] {
            let niss = Niss::parse(number, today()).unwrap();
            assert_eq!((niss.kind(), niss.gender()), (kind, gender), "{number}");
        }
    }

    #[test]
    fn incomplete_dates_keep_their_zeros() {
        assert_eq!(&first_number("1985-07-00", M)[..6], "854700");
        assert_eq!(&first_number("1985-00-00", M)[..6], "854000");
        assert_eq!(&first_number("1985-00-00", None)[..6], "852000");
        assert_eq!(&first_number("0000-00-00", M)[..6], "004001");
        assert_eq!(&first_number("0000-00-00", None)[..6], "002001");
    }

    #[test]
    fn a_birth_in_the_2000s_takes_the_century_check_digits() {
        let number = first_number("2003-05-17", F);
        assert_eq!(&number[..9], "034517002");
        let nine: u64 = number[..9].parse().unwrap();
        assert_eq!(
            number[9..].parse::<u64>().unwrap(),
            97 - (2_000_000_000 + nine) % 97
        );
        let niss = Niss::parse(&number, today()).unwrap();
        assert_eq!(niss.birth_date(), IncompleteDate::parse("2003-05-17"));
    }

    #[test]
    fn serials_keep_the_parity_of_the_gender() {
        let man = attribution("1990-01-02", M);
        assert_eq!(man.free_serial(&[1, 2, 3, 7]), Some(5));
        let woman = attribution("1990-01-02", F);
        assert_eq!(woman.free_serial(&[1, 2, 3, 4]), Some(6));
        let unknown = attribution("1990-01-02", None);
        assert_eq!(unknown.free_serial(&[1, 2, 4]), Some(3));
        let odd: Vec<u16> = (1..=997).step_by(2).collect();
        assert_eq!(man.free_serial(&odd), None);
        assert_eq!(woman.free_serial(&odd), Some(2));
        let all: Vec<u16> = (1..=998).collect();
        assert_eq!(unknown.free_serial(&all), None);
    }

    #[test]
    fn a_full_group_continues_with_the_years_counter() {
        let groups: Vec<String> = attribution("1985-07-30", M)
            .groups()
            .into_iter()
            .map(Group::digits)
            .collect();
        assert_eq!(groups[..4], ["854730", "854000", "854001", "854002"]);
        assert_eq!(groups.last().map(String::as_str), Some("854099"));
        assert_eq!(groups.len(), 101);
        // A year-only date starts on the counter: no group twice.
        let year_only = attribution("1985-00-00", None).groups();
        assert_eq!(year_only.len(), 100);
        assert_eq!(year_only[0].digits(), "852000");
        // 1900 and 2000 never take the fictitious group 004001.
        let born_2000 = attribution("2000-03-04", M).groups();
        assert!(born_2000.iter().all(|g| g.digits() != "004001"));
        assert_eq!(born_2000[2].digits(), "004002");
        // An unknown date: the fictitious group and on.
        let unknown = attribution("0000-00-00", None).groups();
        assert_eq!(unknown[0].digits(), "002001");
        assert_eq!(unknown[1].digits(), "002002");
    }

    #[test]
    fn a_counter_group_reads_back_as_the_year() {
        let a = attribution("1985-07-30", F);
        let niss = a.number(Group::new(85, 40, 57), 2).unwrap();
        assert_eq!(niss.kind(), NissKind::Ter);
        assert_eq!(niss.gender(), F);
        assert_eq!(niss.birth_date(), IncompleteDate::parse("1985-00-00"));
    }

    #[test]
    fn refuses_what_cannot_be_encoded() {
        let refuse = |date: &str| {
            Attribution::new(IncompleteDate::parse(date).unwrap(), None, today()).unwrap_err()
        };
        assert_eq!(refuse("1899-12-31"), BisNumberError::BirthYear(1899));
        assert_eq!(refuse("0000-01-00"), BisNumberError::BirthYear(0));
        assert_eq!(refuse("2100-00-00"), BisNumberError::BirthYear(2100));
        assert!(matches!(
            refuse("2026-12-02"),
            BisNumberError::FutureBirthDate(_)
        ));
        assert_eq!(
            refuse("2027-00-00").to_string(),
            "the birth date 2027 is in the future"
        );
        assert!(
            Attribution::new(IncompleteDate::parse("2026-12-01").unwrap(), None, today()).is_ok()
        );
    }

    fn birth_date() -> impl Strategy<Value = IncompleteDate> {
        (1900i32..=2026, 0u32..=12, 0u32..=31).prop_filter_map("a past date", |(y, m, d)| {
            let date = match (m, d) {
                (0, _) => IncompleteDate::new(y, None, None),
                (m, 0) => IncompleteDate::new(y, Some(m), None),
                (m, d) => IncompleteDate::new(y, Some(m), Some(d)),
            }?;
            (!date.is_after(today())).then_some(date)
        })
    }

    fn gender() -> impl Strategy<Value = Option<Gender>> {
        prop_oneof![Just(None), Just(M), Just(F)]
    }

    proptest! {
        /// Every number of every group of the chain, whatever serials are used already, is a
        /// valid number of the right kind, gender, century and birth date.
        #[test]
        fn every_number_attributed_reads_back(
            date in birth_date(),
            gender in gender(),
            group_index in 0usize..101,
            used in proptest::collection::vec(1u16..=998, 0..1200),
        ) {
            let a = Attribution::new(date, gender, today()).unwrap();
            let groups = a.groups();
            let group = groups[group_index % groups.len()];
            let Some(serial) = a.free_serial(&used) else {
                // Full only when every serial of the parity is used.
                let step = if gender.is_some() { 2 } else { 1 };
                let first = if gender == F { 2 } else { 1 };
                prop_assert!((first..=998).step_by(step).all(|s| used.contains(&s)));
                return Ok(());
            };
            prop_assert!(!used.contains(&serial));
            prop_assert!((1..=998).contains(&serial));
            let niss = a.number(group, serial).unwrap();
            prop_assert_eq!(niss.serial(), serial);
            prop_assert_eq!(&niss.as_str()[..6], group.digits());
            prop_assert_eq!(niss.kind(), a.kind());
            prop_assert_eq!(niss.gender(), gender);
            let read = niss.birth_date().unwrap();
            prop_assert_eq!(read.year(), date.year(), "the century of {}", niss);
            if group == groups[0] {
                prop_assert_eq!(read, date);
            } else {
                prop_assert_eq!(read.month(), None);
            }
        }

        /// The chain never holds a group twice, and an unknown date's numbers are valid too.
        #[test]
        fn unknown_dates_and_chains(date in birth_date(), gender in gender(), serial in 1u16..=998) {
            let a = Attribution::new(date, gender, today()).unwrap();
            let mut groups = a.groups();
            let len = groups.len();
            groups.sort();
            groups.dedup();
            prop_assert_eq!(groups.len(), len);
            let unknown = Attribution::new(IncompleteDate::new(0, None, None).unwrap(), gender, today()).unwrap();
            let serial = unknown.free_serial(&(1..serial).collect::<Vec<_>>()).unwrap_or(1);
            let first = unknown.number(unknown.groups()[0], serial).unwrap();
            prop_assert_eq!(first.birth_date(), None);
            prop_assert_eq!(first.kind(), unknown.kind());
            prop_assert_eq!(first.gender(), gender);
        }
    }
}
