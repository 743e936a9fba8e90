//! What a phonetic search asks for: a last name spelled as heard, optional first and middle
//! names, a birth date (possibly incomplete, then with a tolerance), a gender and how many
//! candidates at most; and the birth-date windows a search looks in.

use chrono::{Datelike, Days, Months, NaiveDate};

use super::incomplete_date::IncompleteDate;
use super::niss::Gender;

/// Most candidates one search answers.
pub const MAX_CANDIDATES: u8 = 80;
/// Candidates answered when the request does not say.
pub const DEFAULT_CANDIDATES: u8 = 10;
/// Largest tolerance accepted, in the unit the date gives (days, months or years).
pub const MAX_TOLERANCE: u32 = 30;

/// A search request, valid by construction ([`SearchCriteria::new`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchCriteria {
    pub last_name: String,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub birth_date: IncompleteDate,
    /// In days for a complete date, months for `yyyy-mm-00`, years for `yyyy-00-00`.
    pub tolerance: u32,
    pub gender: Option<Gender>,
    /// 1–80.
    pub maximum: u8,
}

/// Why criteria are refused, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CriteriaError {
    #[error("lastName must contain at least one letter")]
    LastName,
    #[error("an incomplete birthDate needs a tolerance (in months for yyyy-mm-00, in years for yyyy-00-00)")]
    ToleranceRequired,
    #[error("tolerance must be at most {MAX_TOLERANCE}")]
    Tolerance,
    #[error("maximum must be between 1 and {MAX_CANDIDATES}")]
    Maximum,
}

impl CriteriaError {
    /// The request field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            CriteriaError::LastName => "lastName",
            CriteriaError::ToleranceRequired | CriteriaError::Tolerance => "tolerance",
            CriteriaError::Maximum => "maximum",
        }
    }
}

/// The unit a tolerance is counted in, given by what the birth date says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToleranceUnit {
    Days,
    Months,
    Years,
}

impl SearchCriteria {
    /// Checks the criteria: a last name with a letter, a tolerance when the date is
    /// incomplete, at most [`MAX_TOLERANCE`], a maximum in 1–80 (default 10).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        last_name: &str,
        first_name: Option<&str>,
        middle_name: Option<&str>,
        birth_date: IncompleteDate,
        tolerance: Option<u32>,
        gender: Option<Gender>,
        maximum: Option<u32>,
    ) -> Result<SearchCriteria, CriteriaError> {
        if !last_name.chars().any(char::is_alphanumeric) {
            return Err(CriteriaError::LastName);
        }
        let complete = birth_date.day().is_some();
        let tolerance = match tolerance {
            None if !complete => return Err(CriteriaError::ToleranceRequired),
            None => 0,
            Some(t) if t > MAX_TOLERANCE => return Err(CriteriaError::Tolerance),
            Some(t) => t,
        };
        let maximum = match maximum {
            None => DEFAULT_CANDIDATES,
            Some(m) if (1..=u32::from(MAX_CANDIDATES)).contains(&m) => m as u8,
            Some(_) => return Err(CriteriaError::Maximum),
        };
        let given = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| s.chars().any(char::is_alphanumeric))
                .map(str::to_string)
        };
        Ok(SearchCriteria {
            last_name: last_name.trim().to_string(),
            first_name: given(first_name),
            middle_name: given(middle_name),
            birth_date,
            tolerance,
            gender,
            maximum,
        })
    }

    /// The unit of the tolerance.
    pub fn tolerance_unit(&self) -> ToleranceUnit {
        match (self.birth_date.month(), self.birth_date.day()) {
            (Some(_), Some(_)) => ToleranceUnit::Days,
            (Some(_), None) => ToleranceUnit::Months,
            _ => ToleranceUnit::Years,
        }
    }

    /// The first and middle names given, in order.
    pub fn given_names(&self) -> impl Iterator<Item = &str> {
        self.first_name
            .as_deref()
            .into_iter()
            .chain(self.middle_name.as_deref())
    }
}

/// A birth date as one sortable number `yyyymmdd`, `00` for an unknown month or day:
/// 1985-07-30 → 19850730, 1985-07-00 → 19850700, 1985-00-00 → 19850000.
pub fn birth_code(date: IncompleteDate) -> i32 {
    date.year() * 10_000 + date.month().unwrap_or(0) as i32 * 100 + date.day().unwrap_or(0) as i32
}

/// An inclusive range of birth codes a search looks in. A *narrow* window holds a few days
/// of the date asked (the date itself within a tolerance of at most three days, the
/// incomplete forms of the date): the search looks in it under the given names' keys too,
/// which catch a last name misspelt beyond its key. The other windows (a wider tolerance,
/// and the slips of a complete date: its day and month swapped, the same day a year off)
/// are looked in under the last name's keys only: a person found there by a first name alone
/// would have both its date and its last name wrong, and at 20 million persons a first name
/// over those four days holds a hundred persons to read for one that rarely is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BirthWindow {
    pub from: i32,
    pub to: i32,
    pub narrow: bool,
}

impl BirthWindow {
    /// The day or the incomplete date `code` alone.
    fn point(code: i32, narrow: bool) -> BirthWindow {
        BirthWindow {
            from: code,
            to: code,
            narrow,
        }
    }
}

/// The birth-date windows of a search, without overlaps.
///
/// - The tolerance range: days around a complete date, months around `yyyy-mm-00` (any day
///   of those months), years around `yyyy-00-00` (any date of those years).
/// - Persons whose birth date is only partly known and fits: `yyyy-mm-00`, `yyyy-00-00`.
/// - For a complete date: the day and month swapped (when that is a date), and the same day
///   one year before and after — the slips of a date typed or heard.
pub fn birth_windows(criteria: &SearchCriteria) -> Vec<BirthWindow> {
    let date = criteria.birth_date;
    let t = criteria.tolerance;
    let year = date.year();
    let mut windows = Vec::new();
    match (date.month(), date.day()) {
        (Some(month), Some(day)) => {
            let Some(d) = NaiveDate::from_ymd_opt(year, month, day) else {
                return windows;
            };
            let lo = d.checked_sub_days(Days::new(u64::from(t))).unwrap_or(d);
            let hi = d.checked_add_days(Days::new(u64::from(t))).unwrap_or(d);
            windows.push(BirthWindow {
                from: ymd(lo),
                to: ymd(hi),
                narrow: t <= 3,
            });
            windows.push(BirthWindow::point(year * 10_000 + month as i32 * 100, true));
            windows.push(BirthWindow::point(year * 10_000, true));
            // A swapped date is the date itself when the day is the month: not a slip.
            if let Some(swapped) = NaiveDate::from_ymd_opt(year, day, month).filter(|s| *s != d) {
                windows.push(BirthWindow::point(ymd(swapped), false));
            }
            for other in [year - 1, year + 1] {
                if let Some(near) = NaiveDate::from_ymd_opt(other, month, day) {
                    windows.push(BirthWindow::point(ymd(near), false));
                }
            }
        }
        (Some(month), None) => {
            let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN);
            let lo = first.checked_sub_months(Months::new(t)).unwrap_or(first);
            let hi = first.checked_add_months(Months::new(t)).unwrap_or(first);
            windows.push(BirthWindow {
                from: lo.year() * 10_000 + lo.month() as i32 * 100,
                to: hi.year() * 10_000 + hi.month() as i32 * 100 + 99,
                narrow: false,
            });
            windows.push(BirthWindow::point(year * 10_000, true));
        }
        _ => {
            let t = t as i32;
            windows.push(BirthWindow {
                from: (year - t) * 10_000,
                to: (year + t) * 10_000 + 1299,
                narrow: false,
            });
        }
    }
    merge(windows)
}

fn ymd(d: NaiveDate) -> i32 {
    d.year() * 10_000 + d.month() as i32 * 100 + d.day() as i32
}

/// Sorts windows and joins those that overlap (a joined window is narrow only if both were:
/// a slip inside a wide tolerance is part of it).
fn merge(mut windows: Vec<BirthWindow>) -> Vec<BirthWindow> {
    windows.sort_by_key(|w| (w.from, w.to));
    let mut out: Vec<BirthWindow> = Vec::with_capacity(windows.len());
    for w in windows {
        match out.last_mut() {
            Some(last) if w.from <= last.to => {
                last.to = last.to.max(w.to);
                last.narrow &= w.narrow;
            }
            _ => out.push(w),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criteria(date: &str, tolerance: Option<u32>) -> SearchCriteria {
        SearchCriteria::new(
            "Peeters",
            None,
            None,
            IncompleteDate::parse(date).unwrap(),
            tolerance,
            None,
            None,
        )
        .unwrap()
    }

    #[test]
    fn a_complete_date_looks_at_its_slips() {
        let windows = birth_windows(&criteria("1985-03-04", None));
        let codes: Vec<(i32, i32)> = windows.iter().map(|w| (w.from, w.to)).collect();
        assert_eq!(
            codes,
            [
                (19840304, 19840304),
                (19850000, 19850000),
                (19850300, 19850300),
                (19850304, 19850304),
                (19850403, 19850403),
                (19860304, 19860304)
            ]
        );
        let narrow: Vec<i32> = windows
            .iter()
            .filter(|w| w.narrow)
            .map(|w| w.from)
            .collect();
        assert_eq!(narrow, [19850000, 19850300, 19850304]);
        // The day is the month: the date has no swapped slip, and stays narrow.
        let same = birth_windows(&criteria("1985-03-03", None));
        assert_eq!(same.len(), 5);
        assert!(same.iter().any(|w| w.from == 19850303 && w.narrow));
    }

    #[test]
    fn tolerances_widen_in_the_unit_of_the_date() {
        let days = birth_windows(&criteria("1985-12-30", Some(5)));
        assert!(days.iter().any(|w| w.from == 19851225 && w.to == 19860104));
        let months = birth_windows(&criteria("1985-12-00", Some(2)));
        assert!(months
            .iter()
            .any(|w| w.from == 19851000 && w.to == 19860299));
        let years = birth_windows(&criteria("1985-00-00", Some(1)));
        assert_eq!((years[0].from, years[0].to), (19840000, 19861299));
    }

    #[test]
    fn refusals_name_their_field() {
        let date = IncompleteDate::parse("1985-00-00").unwrap();
        let err = SearchCriteria::new("Peeters", None, None, date, None, None, None).unwrap_err();
        assert_eq!(err.field(), "tolerance");
        let err = SearchCriteria::new("--", None, None, date, Some(1), None, None).unwrap_err();
        assert_eq!(err.field(), "lastName");
        let err =
            SearchCriteria::new("Peeters", None, None, date, Some(1), None, Some(81)).unwrap_err();
        assert_eq!(err.field(), "maximum");
    }
}
