//! A period of whole days with an inclusive end, possibly open, and its algebra (overlap,
//! merge, subtraction) as the register needs it.

use std::cmp::Ordering;
use std::fmt;

use chrono::NaiveDate;
use thiserror::Error;

/// Why a begin and an end do not make a period.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PeriodError {
    /// The end date is before the begin date.
    #[error("end date {end} is before begin date {begin}")]
    EndBeforeBegin {
        /// The begin date given.
        begin: NaiveDate,
        /// The end date given.
        end: NaiveDate,
    },
}

/// Whole days from `begin` to `end`, both included; no end means still active.
///
/// Ordered by begin, then by end with an open end after every date, so sorting a list of
/// periods puts them in calendar order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    begin: NaiveDate,
    end: Option<NaiveDate>,
}

impl Period {
    /// A period from `begin` to `end` (inclusive), or open when `end` is `None`.
    ///
    /// # Errors
    /// [`PeriodError::EndBeforeBegin`] when `end` is before `begin`.
    pub fn new(begin: NaiveDate, end: Option<NaiveDate>) -> Result<Period, PeriodError> {
        match end {
            Some(end) if end < begin => Err(PeriodError::EndBeforeBegin { begin, end }),
            _ => Ok(Period { begin, end }),
        }
    }

    /// The first day.
    pub fn begin(&self) -> NaiveDate {
        self.begin
    }

    /// The last day, or `None` while the period is open.
    pub fn end(&self) -> Option<NaiveDate> {
        self.end
    }

    /// Whether the period has no end.
    pub fn is_open(&self) -> bool {
        self.end.is_none()
    }

    /// Whether `day` belongs to the period.
    pub fn contains_day(&self, day: NaiveDate) -> bool {
        self.begin <= day && self.end.is_none_or(|end| day <= end)
    }

    /// Whether the two periods share at least one day.
    pub fn overlaps(&self, other: &Period) -> bool {
        self.end.is_none_or(|end| other.begin <= end)
            && other.end.is_none_or(|end| self.begin <= end)
    }

    /// The days both periods share, if any.
    pub fn intersection(&self, other: &Period) -> Option<Period> {
        if !self.overlaps(other) {
            return None;
        }
        Some(Period {
            begin: self.begin.max(other.begin),
            end: min_end(self.end, other.end),
        })
    }

    /// Merges periods that overlap or touch (one ends the day before the other begins) and
    /// returns the result sorted and pairwise disjoint, with a gap of at least one day
    /// between consecutive periods. The result covers exactly the days of the input.
    pub fn merge(periods: impl IntoIterator<Item = Period>) -> Vec<Period> {
        let mut sorted: Vec<Period> = periods.into_iter().collect();
        sorted.sort_unstable();
        let mut merged: Vec<Period> = Vec::with_capacity(sorted.len());
        for period in sorted {
            match merged.last_mut() {
                Some(last) if last.reaches(period.begin) => {
                    last.end = max_end(last.end, period.end);
                }
                _ => merged.push(period),
            }
        }
        merged
    }

    /// The days of `self` that are not in `removed`: nothing, `self` unchanged, a piece, or
    /// two pieces when `removed` lies strictly inside `self`.
    pub fn subtract(&self, removed: &Period) -> Vec<Period> {
        if !self.overlaps(removed) {
            return vec![*self];
        }
        let mut pieces = Vec::with_capacity(2);
        if removed.begin > self.begin {
            // `removed.begin` is after some date, so it has a predecessor.
            if let Some(before) = removed.begin.pred_opt() {
                pieces.push(Period {
                    begin: self.begin,
                    end: Some(before),
                });
            }
        }
        if let Some(removed_end) = removed.end {
            let keeps_days_after = self.end.is_none_or(|end| removed_end < end);
            // No day follows `NaiveDate::MAX`, so nothing is left after it.
            if let (true, Some(after)) = (keeps_days_after, removed_end.succ_opt()) {
                pieces.push(Period {
                    begin: after,
                    end: self.end,
                });
            }
        }
        pieces
    }

    /// Whether a period beginning on `begin` overlaps or touches `self`, assuming it does
    /// not begin before `self`.
    fn reaches(&self, begin: NaiveDate) -> bool {
        match self.end {
            None => true,
            // `succ_opt` is `None` only at `NaiveDate::MAX`, where `end >= begin` already holds.
            Some(end) => end >= begin || end.succ_opt() == Some(begin),
        }
    }
}

/// The later of two ends, an open end being the latest.
fn max_end(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Option<NaiveDate> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    }
}

/// The earlier of two ends, an open end being the latest.
fn min_end(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Option<NaiveDate> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (Some(x), None) | (None, Some(x)) => Some(x),
        (None, None) => None,
    }
}

impl Ord for Period {
    fn cmp(&self, other: &Period) -> Ordering {
        // `Option`'s own order would put an open end first; an open end is the latest.
        let end_order = match (self.end, other.end) {
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        self.begin.cmp(&other.begin).then(end_order)
    }
}

impl PartialOrd for Period {
    fn partial_cmp(&self, other: &Period) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Period {
    /// `2024-01-01..2024-12-31`, or `2024-01-01..` when open.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            Some(end) => write!(f, "{}..{}", self.begin, end),
            None => write!(f, "{}..", self.begin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn closed(begin: NaiveDate, end: NaiveDate) -> Period {
        Period::new(begin, Some(end)).expect("valid test period")
    }

    fn open(begin: NaiveDate) -> Period {
        Period::new(begin, None).expect("valid test period")
    }

    #[test]
    fn refuses_an_end_before_the_begin() {
        assert_eq!(
            Period::new(d(2024, 2, 1), Some(d(2024, 1, 31))),
            Err(PeriodError::EndBeforeBegin {
                begin: d(2024, 2, 1),
                end: d(2024, 1, 31)
            })
        );
        assert_eq!(
            PeriodError::EndBeforeBegin {
                begin: d(2024, 2, 1),
                end: d(2024, 1, 31)
            }
            .to_string(),
            "end date 2024-01-31 is before begin date 2024-02-01"
        );
        assert!(Period::new(d(2024, 2, 1), Some(d(2024, 2, 1))).is_ok());
    }

    #[test]
    fn overlap_needs_a_shared_day() {
        let january = closed(d(2024, 1, 1), d(2024, 1, 31));
        let february = closed(d(2024, 2, 1), d(2024, 2, 29));
        assert!(!january.overlaps(&february));
        assert!(january.overlaps(&closed(d(2024, 1, 31), d(2024, 2, 5))));
        assert!(open(d(2023, 1, 1)).overlaps(&january));
        assert!(!open(d(2024, 2, 1)).overlaps(&january));
        assert!(open(d(2030, 1, 1)).overlaps(&open(d(2020, 1, 1))));
    }

    #[test]
    fn contains_day_includes_both_ends() {
        let january = closed(d(2024, 1, 1), d(2024, 1, 31));
        assert!(january.contains_day(d(2024, 1, 1)));
        assert!(january.contains_day(d(2024, 1, 31)));
        assert!(!january.contains_day(d(2024, 2, 1)));
        assert!(open(d(2024, 1, 1)).contains_day(NaiveDate::MAX));
    }

    #[test]
    fn merging_joins_overlapping_and_contiguous_periods() {
        let merged = Period::merge([
            closed(d(2024, 3, 1), d(2024, 3, 31)),
            closed(d(2024, 1, 1), d(2024, 1, 31)),
            closed(d(2024, 2, 1), d(2024, 2, 10)),
            closed(d(2024, 5, 1), d(2024, 5, 31)),
            closed(d(2024, 5, 10), d(2024, 5, 12)),
        ]);
        assert_eq!(
            merged,
            vec![
                closed(d(2024, 1, 1), d(2024, 2, 10)),
                closed(d(2024, 3, 1), d(2024, 3, 31)),
                closed(d(2024, 5, 1), d(2024, 5, 31)),
            ]
        );
    }

    #[test]
    fn merging_with_an_open_period_stays_open() {
        let merged = Period::merge([
            closed(d(2024, 1, 1), d(2024, 1, 31)),
            open(d(2024, 2, 1)),
            closed(d(2024, 3, 1), d(2024, 3, 31)),
        ]);
        assert_eq!(merged, vec![open(d(2024, 1, 1))]);
    }

    #[test]
    fn merging_at_the_end_of_time_does_not_overflow() {
        let last = closed(NaiveDate::MAX, NaiveDate::MAX);
        let before = closed(d(2024, 1, 1), NaiveDate::MAX);
        assert_eq!(Period::merge([last, before]), vec![before]);
        assert_eq!(Period::merge([last, last]), vec![last]);
        let first = closed(NaiveDate::MIN, NaiveDate::MIN);
        assert_eq!(Period::merge([first, last]), vec![first, last]);
    }

    #[test]
    fn removing_the_middle_leaves_two_periods() {
        let year = closed(d(2024, 1, 1), d(2024, 12, 31));
        let summer = closed(d(2024, 7, 1), d(2024, 8, 31));
        assert_eq!(
            year.subtract(&summer),
            vec![
                closed(d(2024, 1, 1), d(2024, 6, 30)),
                closed(d(2024, 9, 1), d(2024, 12, 31)),
            ]
        );
    }

    #[test]
    fn removing_from_an_open_period() {
        let active = open(d(2024, 1, 1));
        assert_eq!(
            active.subtract(&closed(d(2024, 3, 1), d(2024, 3, 31))),
            vec![closed(d(2024, 1, 1), d(2024, 2, 29)), open(d(2024, 4, 1))]
        );
        assert_eq!(
            active.subtract(&open(d(2024, 6, 1))),
            vec![closed(d(2024, 1, 1), d(2024, 5, 31))]
        );
        assert_eq!(active.subtract(&open(d(2000, 1, 1))), vec![]);
    }

    #[test]
    fn removing_a_disjoint_period_changes_nothing() {
        let january = closed(d(2024, 1, 1), d(2024, 1, 31));
        let march = closed(d(2024, 3, 1), d(2024, 3, 31));
        assert_eq!(january.subtract(&march), vec![january]);
    }

    #[test]
    fn subtracting_at_the_edges_of_time_does_not_overflow() {
        let all = closed(NaiveDate::MIN, NaiveDate::MAX);
        assert_eq!(all.subtract(&all), vec![]);
        assert_eq!(
            all.subtract(&closed(NaiveDate::MIN, NaiveDate::MIN)),
            vec![closed(
                NaiveDate::MIN.succ_opt().expect("exists"),
                NaiveDate::MAX
            )]
        );
        let forever = open(NaiveDate::MIN);
        assert_eq!(
            forever.subtract(&closed(d(2024, 1, 1), NaiveDate::MAX)),
            vec![closed(NaiveDate::MIN, d(2023, 12, 31))]
        );
    }

    #[test]
    fn orders_by_begin_then_end_with_open_last() {
        let mut periods = vec![
            open(d(2024, 1, 1)),
            closed(d(2024, 1, 1), NaiveDate::MAX),
            closed(d(2024, 1, 1), d(2024, 1, 5)),
            closed(d(2023, 1, 1), d(2030, 1, 1)),
        ];
        periods.sort();
        assert_eq!(
            periods,
            vec![
                closed(d(2023, 1, 1), d(2030, 1, 1)),
                closed(d(2024, 1, 1), d(2024, 1, 5)),
                closed(d(2024, 1, 1), NaiveDate::MAX),
                open(d(2024, 1, 1)),
            ]
        );
    }

    #[test]
    fn intersection_keeps_the_shared_days() {
        let january = closed(d(2024, 1, 1), d(2024, 1, 31));
        assert_eq!(
            january.intersection(&open(d(2024, 1, 20))),
            Some(closed(d(2024, 1, 20), d(2024, 1, 31)))
        );
        assert_eq!(january.intersection(&open(d(2024, 2, 1))), None);
    }

    #[test]
    fn displays_as_a_range() {
        assert_eq!(
            closed(d(2024, 1, 1), d(2024, 1, 31)).to_string(),
            "2024-01-01..2024-01-31"
        );
        assert_eq!(open(d(2024, 1, 1)).to_string(), "2024-01-01..");
    }

    // Model: days are small offsets from a base date; an open end is modelled as reaching
    // the horizon, which lies beyond every finite end the strategies produce.
    const HORIZON: i64 = 80;

    fn base() -> NaiveDate {
        d(2024, 2, 20) // crosses a leap day
    }

    fn day(offset: i64) -> NaiveDate {
        base() + chrono::Duration::days(offset)
    }

    fn period() -> impl Strategy<Value = Period> {
        (0i64..40, prop::option::weighted(0.85, 0i64..25)).prop_map(|(begin, length)| {
            Period::new(day(begin), length.map(|l| day(begin + l))).expect("end after begin")
        })
    }

    fn days_of(periods: &[Period]) -> BTreeSet<i64> {
        (0..HORIZON)
            .filter(|&offset| periods.iter().any(|p| p.contains_day(day(offset))))
            .collect()
    }

    proptest! {
        #[test]
        fn merge_is_sorted_disjoint_separated_and_covers_the_union(
            input in prop::collection::vec(period(), 0..12)
        ) {
            let merged = Period::merge(input.clone());
            for pair in merged.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                prop_assert!(a < b);
                // A gap of at least one day: `a` ends before the day before `b` begins.
                let a_end = a.end.ok_or_else(|| TestCaseError::fail("open period not last"))?;
                prop_assert!(a_end.succ_opt().is_some_and(|next| next < b.begin));
            }
            prop_assert_eq!(days_of(&merged), days_of(&input));
            prop_assert_eq!(
                merged.iter().any(Period::is_open),
                input.iter().any(Period::is_open)
            );
        }

        #[test]
        fn merge_is_idempotent_and_order_independent(
            input in prop::collection::vec(period(), 0..12)
        ) {
            let merged = Period::merge(input.clone());
            prop_assert_eq!(Period::merge(merged.clone()), merged.clone());
            let mut reversed = input;
            reversed.reverse();
            prop_assert_eq!(Period::merge(reversed), merged);
        }

        #[test]
        fn subtract_leaves_exactly_the_days_not_removed(a in period(), b in period()) {
            let pieces = a.subtract(&b);
            prop_assert!(pieces.len() <= 2);
            let expected: BTreeSet<i64> =
                days_of(&[a]).difference(&days_of(&[b])).copied().collect();
            prop_assert_eq!(days_of(&pieces), expected);
            prop_assert_eq!(Period::merge(pieces.clone()), pieces.clone());
            prop_assert!(pieces.iter().all(|p| !p.overlaps(&b)));
        }

        #[test]
        fn overlap_and_intersection_agree_with_the_days(a in period(), b in period()) {
            let shared: BTreeSet<i64> =
                days_of(&[a]).intersection(&days_of(&[b])).copied().collect();
            prop_assert_eq!(a.overlaps(&b), !shared.is_empty());
            prop_assert_eq!(b.overlaps(&a), a.overlaps(&b));
            let intersection: Vec<Period> = a.intersection(&b).into_iter().collect();
            prop_assert_eq!(days_of(&intersection), shared);
        }
    }
}
