//! A birth date of which the month and/or the day may be unknown.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// A date whose month and day may be unknown, as carried by NISS numbers and by the
/// KSZ-BCSS XML messages (`yyyy-mm-dd`, `yyyy-mm-00`, `yyyy-00-00`).
///
/// Invariants: the year is within `0..=9999` (so it always prints on four digits), a day is
/// only known when the month is known, and a fully known date exists in the calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IncompleteDate {
    year: i32,
    month: Option<u32>,
    day: Option<u32>,
}

impl IncompleteDate {
    /// Builds a date from its known parts, or `None` when they do not describe a possible
    /// date (year outside `0..=9999`, month outside `1..=12`, a day without a month, or a day
    /// that does not exist in that month).
    pub fn new(year: i32, month: Option<u32>, day: Option<u32>) -> Option<IncompleteDate> {
        if !(0..=9999).contains(&year) {
            return None;
        }
        match (month, day) {
            (None, None) => {}
            (None, Some(_)) => return None,
            (Some(m), None) if !(1..=12).contains(&m) => return None,
            (Some(_), None) => {}
            (Some(m), Some(d)) => {
                NaiveDate::from_ymd_opt(year, m, d)?;
            }
        }
        Some(IncompleteDate { year, month, day })
    }

    /// The fully known `date`.
    pub fn from_date(date: NaiveDate) -> Option<IncompleteDate> {
        IncompleteDate::new(date.year(), Some(date.month()), Some(date.day()))
    }

    /// Parses the XML form `yyyy-mm-dd` where `00` marks an unknown month or day
    /// (`1985-07-00`, `1985-00-00`). Returns `None` for anything else, including a known day
    /// with an unknown month (`1985-00-12`).
    pub fn parse(input: &str) -> Option<IncompleteDate> {
        let bytes = input.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape_ok {
            return None;
        }
        let number = |range: std::ops::Range<usize>| {
            bytes[range]
                .iter()
                .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
        };
        let year = i32::try_from(number(0..4)).ok()?;
        let month = Some(number(5..7)).filter(|&m| m != 0);
        let day = Some(number(8..10)).filter(|&d| d != 0);
        IncompleteDate::new(year, month, day)
    }

    /// The year, always known.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month (1–12), if known.
    pub fn month(&self) -> Option<u32> {
        self.month
    }

    /// The day of the month, if known (then the month is known too).
    pub fn day(&self) -> Option<u32> {
        self.day
    }

    /// The calendar date when the date is fully known.
    pub fn to_date(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month?, self.day?)
    }

    /// Whether the known parts of this date come after `today` (a birth date in the future).
    /// Only the known parts are compared: `2031-00-00` is after 2030-12-31, `2030-05-00` is
    /// not after 2030-05-01.
    pub fn is_after(&self, today: NaiveDate) -> bool {
        let known = (self.year, self.month.unwrap_or(0), self.day.unwrap_or(0));
        // Today cut down to the same known parts, unknown ones counting as 0 on both sides.
        let reference = (
            today.year(),
            self.month.map_or(0, |_| today.month()),
            self.day.map_or(0, |_| today.day()),
        );
        known > reference
    }

    /// Only the known parts: `2031`, `2031-05` or `2031-05-04` (for messages).
    pub fn known_part(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{:04}-{m:02}-{d:02}", self.year),
            (Some(m), None) => format!("{:04}-{m:02}", self.year),
            _ => format!("{:04}", self.year),
        }
    }
}

impl fmt::Display for IncompleteDate {
    /// The KSZ-BCSS form: `1985-07-30`, `1985-07-00`, `1985-00-00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year,
            self.month.unwrap_or(0),
            self.day.unwrap_or(0)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn displays_unknown_parts_as_zeros() {
        let full = IncompleteDate::new(1985, Some(7), Some(30)).expect("valid");
        let month = IncompleteDate::new(1985, Some(7), None).expect("valid");
        let year = IncompleteDate::new(1985, None, None).expect("valid");
        assert_eq!(full.to_string(), "1985-07-30");
        assert_eq!(month.to_string(), "1985-07-00");
        assert_eq!(year.to_string(), "1985-00-00");
    }

    #[test]
    fn refuses_impossible_dates() {
        assert_eq!(IncompleteDate::new(1985, Some(2), Some(29)), None);
        assert_eq!(IncompleteDate::new(1985, Some(13), None), None);
        assert_eq!(IncompleteDate::new(1985, Some(0), None), None);
        assert_eq!(IncompleteDate::new(1985, None, Some(3)), None);
        assert_eq!(IncompleteDate::new(10_000, None, None), None);
        assert_eq!(IncompleteDate::new(-1, None, None), None);
        assert!(IncompleteDate::new(1984, Some(2), Some(29)).is_some());
    }

    #[test]
    fn parses_the_xml_form_and_round_trips() {
        for text in ["1985-07-30", "1985-07-00", "1985-00-00", "2000-02-29"] {
            let parsed = IncompleteDate::parse(text).expect("valid");
            assert_eq!(parsed.to_string(), text);
        }
        for text in [
            "1985-00-12",
            "1985-13-00",
            "1985-02-30",
            "1985-7-30",
            "85-07-30",
            "1985/07/30",
            "1985-07-3é",
            "",
        ] {
            assert_eq!(IncompleteDate::parse(text), None, "{text}");
        }
    }

    #[test]
    fn converts_to_and_from_full_dates() {
        let d = date(1985, 7, 30);
        let incomplete = IncompleteDate::from_date(d).expect("valid");
        assert_eq!(incomplete.to_date(), Some(d));
        let partial = IncompleteDate::new(1985, Some(7), None).expect("valid");
        assert_eq!(partial.to_date(), None);
    }

    #[test]
    fn compares_only_known_parts_with_today() {
        let today = date(2030, 5, 1);
        let y = |year| IncompleteDate::new(year, None, None).expect("valid");
        let ym = |year, m| IncompleteDate::new(year, Some(m), None).expect("valid");
        let ymd = |year, m, d| IncompleteDate::new(year, Some(m), Some(d)).expect("valid");
        assert!(!y(2030).is_after(today));
        assert!(y(2031).is_after(today));
        assert!(!ym(2030, 5).is_after(today));
        assert!(ym(2030, 6).is_after(today));
        assert!(!ymd(2030, 5, 1).is_after(today));
        assert!(ymd(2030, 5, 2).is_after(today));
        assert!(!ymd(2029, 12, 31).is_after(today));
    }

    #[test]
    fn known_part_leaves_out_unknown_parts() {
        let ym = IncompleteDate::new(2031, Some(5), None).expect("valid");
        assert_eq!(ym.known_part(), "2031-05");
        let y = IncompleteDate::new(31, None, None).expect("valid");
        assert_eq!(y.known_part(), "0031");
    }
}
