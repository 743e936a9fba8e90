//! How close a candidate found by a phonetic search is to what was asked: a score from 0 to
//! 100, the weighted sum of four closenesses in 0–1 — last name ([`LAST_NAME_WEIGHT`]),
//! given names ([`GIVEN_NAME_WEIGHT`]), birth date ([`BIRTH_DATE_WEIGHT`]) and gender
//! ([`GENDER_WEIGHT`]).
//!
//! Names are compared on their normalised, glued forms (`identity_check::NameKey`):
//!
//! - the same name by the register's own rules (`identity_check::last_names_match`:
//!   accents, case, particle spacing, one vowel apart) is 1;
//! - written alike by the spelling rewrites of `name_search` ([`SAME_SOUND`]), or sharing
//!   their phonetic code (at least [`SAME_CODE`]);
//! - otherwise the better of two readings of the difference: the Jaro–Winkler similarity
//!   made steep (0.7 or less counts 0, 1 counts 1), because Jaro–Winkler gives 0.4–0.6 to
//!   names that have nothing in common, and the number of edits (one letter replaced,
//!   inserted, deleted or two neighbours swapped: 0.85 on names of four letters or more;
//!   two edits: 0.6 on names of seven letters or more), because Jaro–Winkler punishes a slip
//!   near the start of a short name hard (Maes / Mqes 0.83);
//! - a name found through one of its forms only (a double name's part, the name without
//!   its particles) counts [`PART_OF_NAME`] of that.
//!
//! Given names: each word asked is compared with the best of the person's given names (in
//! any order); an initial matches a name it begins ([`INITIAL`], less when it is not the
//! first given name); no given name asked counts [`NO_GIVEN_NAME`]. Birth dates: equal 1;
//! equal wherever both are known (an incomplete date) 0.9; day and month swapped, or the
//! same day a year off, [`DATE_SLIP`]; within the tolerance 1 − 0.3 × distance / tolerance;
//! else 0. Gender: equal 1, different 0, unknown on either side 0.8.
//!
//! The weights and thresholds were tuned with the search-quality benchmark
//! (`tests/bench/search_quality.sh`, report in `target/bench/search_quality.md`), looking
//! at recall and at the share of new persons blocked, never at single answers. Measured
//! with these values (1 000 000 generated persons, 500 queries for each of 22 corruption
//! kinds, 1 000 new persons): recall@1 0.997, recall@10 0.9999, 1.26 candidates answered on
//! average; corrupted duplicates whose best candidate reaches [`LIKELY_EXISTING_SCORE`]
//! 0.9998; new persons with a candidate proposed 3.3 %, blocked (≥
//! [`LIKELY_EXISTING_SCORE`]) 0.4 %.

use std::borrow::Borrow;
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::hash::Hash;

use strsim::{jaro_winkler, osa_distance};

use super::identity_check::{first_name_matches, NameKey};
use super::incomplete_date::IncompleteDate;
use super::name_search::{
    bounded, given_name_words, last_name_forms, phonetic_code, spelling_rewrite,
};
use super::person::Identity;
use super::search_criteria::{SearchCriteria, ToleranceUnit};

/// Candidates scoring below this are not answered: a different last name with the same
/// first name and birth date stays below it (0 + 25 + 22 + 8 = 55), the same last name with
/// the same birth date and another first name stays above (45 + 0 + 22 + 8 = 75).
pub const MIN_SCORE: u8 = 70;

/// A candidate scoring at least this is a likely existing person: `createBisNumber` answers
/// the candidates instead of creating a number. A namesake born the same day with another
/// first name (75) is not one; one corruption of a person's data (a slip in one name or in
/// the date) keeps the person above it.
pub const LIKELY_EXISTING_SCORE: u8 = 80;

pub const LAST_NAME_WEIGHT: f64 = 0.45;
pub const GIVEN_NAME_WEIGHT: f64 = 0.25;
pub const BIRTH_DATE_WEIGHT: f64 = 0.22;
pub const GENDER_WEIGHT: f64 = 0.08;

/// What a name found through one of its forms only counts (Peeters for Peeters-Janssens).
pub const PART_OF_NAME: f64 = 0.9;
/// What an initial counts when it begins the first given name.
pub const INITIAL: f64 = 0.9;
/// What no given name asked counts.
pub const NO_GIVEN_NAME: f64 = 0.6;
/// Two words written alike by the spelling rewrites (`Fays` / `Phays`, `Thys` / `Tijs`).
pub const SAME_SOUND: f64 = 0.95;
/// Two words with the same phonetic code at least count this (`Claes` / `Klaas`).
pub const SAME_CODE: f64 = 0.7;
/// A swapped day and month, or the same day a year off.
pub const DATE_SLIP: f64 = 0.85;

/// The criteria of a search in the forms every comparison with a candidate reads (the names'
/// normalised words, their spelling rewrites and phonetic codes), worked out once for all
/// the candidates rather than once per candidate; and the similarities of the names already
/// compared (the hundreds of candidates of a frequent name over a wide window share a few
/// dozen last names and lists of given names).
pub struct Scorer<'a> {
    criteria: &'a SearchCriteria,
    last_name: AskedLastName,
    given_names: AskedGivenNames,
    last_names_seen: RefCell<HashMap<String, f64>>,
    given_names_seen: RefCell<HashMap<Vec<String>, f64>>,
}

impl<'a> Scorer<'a> {
    pub fn new(criteria: &'a SearchCriteria) -> Scorer<'a> {
        Scorer {
            criteria,
            last_name: AskedLastName::new(&criteria.last_name),
            given_names: AskedGivenNames::new(criteria),
            last_names_seen: RefCell::default(),
            given_names_seen: RefCell::default(),
        }
    }

    /// The score of `candidate`, 0–100.
    pub fn score(&self, candidate: &Identity) -> u8 {
        let criteria = self.criteria;
        let last_name = self.last_name_similarity(&candidate.last_name);
        let given_names = self.given_names_similarity(&candidate.first_names);
        let total = LAST_NAME_WEIGHT * last_name
            + GIVEN_NAME_WEIGHT * given_names
            + BIRTH_DATE_WEIGHT * birth_date_closeness(criteria, candidate.birth_date)
            + GENDER_WEIGHT * gender_agreement(criteria, candidate);
        (total * 100.0).round().clamp(0.0, 100.0) as u8
    }

    fn last_name_similarity(&self, last_name: &str) -> f64 {
        remembered(&self.last_names_seen, last_name, || {
            self.last_name.similarity(last_name)
        })
    }

    fn given_names_similarity(&self, first_names: &[String]) -> f64 {
        remembered(&self.given_names_seen, first_names, || {
            self.given_names.similarity(first_names)
        })
    }
}

/// What `compare` gives for `name`, from `seen` when it was compared before.
fn remembered<N>(
    seen: &RefCell<HashMap<N::Owned, f64>>,
    name: &N,
    compare: impl FnOnce() -> f64,
) -> f64
where
    N: ToOwned + Hash + Eq + ?Sized,
    N::Owned: Hash + Eq + Borrow<N>,
{
    if let Some(known) = seen.borrow().get(name) {
        return *known;
    }
    let similarity = compare();
    seen.borrow_mut().insert(name.to_owned(), similarity);
    similarity
}

/// A normalised word, with its spelling rewrite and phonetic code worked out when first
/// compared and kept for the next comparisons.
struct Word {
    text: String,
    rewritten: OnceCell<String>,
    code: OnceCell<String>,
}

impl Word {
    fn new(text: String) -> Word {
        Word {
            text,
            rewritten: OnceCell::new(),
            code: OnceCell::new(),
        }
    }

    fn rewritten(&self) -> &str {
        self.rewritten.get_or_init(|| spelling_rewrite(&self.text))
    }

    fn code(&self) -> &str {
        self.code.get_or_init(|| phonetic_code(&self.text))
    }

    /// How close two words are, 0–1 (see the module documentation).
    fn closeness(&self, other: &Word) -> f64 {
        let (a, b) = (self.text.as_str(), other.text.as_str());
        if a == b {
            return 1.0;
        }
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        if self.rewritten() == other.rewritten() {
            return SAME_SOUND;
        }
        let by_code = if self.code() == other.code() {
            SAME_CODE
        } else {
            0.0
        };
        let by_similarity = ((jaro_winkler(a, b) - 0.7) / 0.3).clamp(0.0, 1.0);
        let shorter = a.len().min(b.len());
        let by_edits = match osa_distance(a, b) {
            1 if shorter >= 4 => 0.85,
            2 if shorter >= 7 => 0.6,
            _ => 0.0,
        };
        by_similarity.max(by_edits).max(by_code)
    }
}

/// The last name asked: its key for the register's own rules and its forms. Its similarity
/// to a name found: 1 for the same name; otherwise the closeness of the whole glued names,
/// or of two of their forms ([`PART_OF_NAME`]).
struct AskedLastName {
    key: NameKey,
    forms: Vec<Word>,
}

impl AskedLastName {
    fn new(asked: &str) -> AskedLastName {
        let asked = bounded(asked);
        AskedLastName {
            key: NameKey::new(asked),
            forms: last_name_forms(asked).into_iter().map(Word::new).collect(),
        }
    }

    fn similarity(&self, found: &str) -> f64 {
        let found = bounded(found);
        if self.key.matches(&NameKey::new(found)) {
            return 1.0;
        }
        let found: Vec<Word> = last_name_forms(found).into_iter().map(Word::new).collect();
        let (Some(a0), Some(f0)) = (self.forms.first(), found.first()) else {
            return 0.0;
        };
        let mut best = a0.closeness(f0);
        for a in &self.forms {
            for f in &found {
                if a.text != a0.text || f.text != f0.text {
                    best = best.max(PART_OF_NAME * a.closeness(f));
                }
            }
        }
        best
    }
}

/// The given names asked, word by word and glued.
struct AskedGivenNames {
    words: Vec<Word>,
    glued: Word,
}

impl AskedGivenNames {
    fn new(criteria: &SearchCriteria) -> AskedGivenNames {
        let words: Vec<String> = criteria.given_names().flat_map(given_name_words).collect();
        AskedGivenNames {
            glued: Word::new(words.concat()),
            words: words.into_iter().map(Word::new).collect(),
        }
    }

    fn similarity(&self, first_names: &[String]) -> f64 {
        if self.words.is_empty() {
            return NO_GIVEN_NAME;
        }
        let first_names: Vec<String> = first_names.iter().map(|n| bounded(n).to_string()).collect();
        let found: Vec<Word> = first_names
            .iter()
            .flat_map(|n| given_name_words(n))
            .map(Word::new)
            .collect();
        if found.is_empty() {
            return 0.0;
        }
        let per_word: f64 = self
            .words
            .iter()
            .map(|a| {
                if a.text.len() == 1 {
                    match found
                        .iter()
                        .position(|f| f.text.starts_with(a.text.as_str()))
                    {
                        Some(0) => INITIAL,
                        Some(_) => INITIAL - 0.1,
                        None => 0.0,
                    }
                } else if first_name_matches(&a.text, &first_names) {
                    1.0
                } else {
                    found.iter().map(|f| a.closeness(f)).fold(0.0, f64::max)
                }
            })
            .sum::<f64>()
            / self.words.len() as f64;
        let glued: String = found.iter().map(|f| f.text.as_str()).collect();
        per_word.max(self.glued.closeness(&Word::new(glued)))
    }
}

fn birth_date_closeness(criteria: &SearchCriteria, found: IncompleteDate) -> f64 {
    let asked = criteria.birth_date;
    if asked == found {
        return 1.0;
    }
    if crate_compatible(asked, found) {
        return 0.9;
    }
    if let (Some(am), Some(ad), Some(fm), Some(fd)) =
        (asked.month(), asked.day(), found.month(), found.day())
    {
        if asked.year() == found.year() && am == fd && ad == fm {
            return DATE_SLIP;
        }
        if (asked.year() - found.year()).abs() == 1 && am == fm && ad == fd {
            return DATE_SLIP;
        }
    }
    let tolerance = f64::from(criteria.tolerance.max(1));
    let distance = match criteria.tolerance_unit() {
        ToleranceUnit::Days => match (asked.to_date(), found.to_date()) {
            (Some(a), Some(f)) => (a - f).num_days().unsigned_abs() as f64,
            _ => f64::from(u32::MAX),
        },
        ToleranceUnit::Months => {
            let months = |d: IncompleteDate| d.year() * 12 + d.month().unwrap_or(6) as i32;
            f64::from((months(asked) - months(found)).unsigned_abs())
        }
        ToleranceUnit::Years => f64::from((asked.year() - found.year()).unsigned_abs()),
    };
    if distance <= tolerance {
        1.0 - 0.3 * distance / tolerance
    } else {
        0.0
    }
}

/// Equal wherever both dates are known.
fn crate_compatible(a: IncompleteDate, b: IncompleteDate) -> bool {
    super::identity_check::birth_dates_match(a, b)
}

fn gender_agreement(criteria: &SearchCriteria, candidate: &Identity) -> f64 {
    match (criteria.gender, candidate.gender) {
        (Some(a), Some(f)) if a == f => 1.0,
        (Some(_), Some(_)) => 0.0,
        _ => 0.8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(criteria: &SearchCriteria, candidate: &Identity) -> u8 {
        Scorer::new(criteria).score(candidate)
    }

    fn last_name_similarity(asked: &str, found: &str) -> f64 {
        AskedLastName::new(asked).similarity(found)
    }
    use crate::domain::name_search::{
        person_keys, query_keys, MAX_GIVEN_NAME_KEYS, MAX_LAST_NAME_FORMS,
    };
    use crate::domain::search_criteria::birth_windows;
    use crate::domain::Gender;
    use proptest::prelude::*;

    fn identity(last: &str, first: &[&str], birth: &str, gender: Option<Gender>) -> Identity {
        Identity {
            last_name: last.into(),
            first_names: first.iter().map(|s| s.to_string()).collect(),
            birth_date: IncompleteDate::parse(birth).unwrap(),
            gender,
            nationality: None,
            birth_place: None,
            address: None,
            decease_date: None,
        }
    }

    fn criteria(last: &str, first: Option<&str>, birth: &str) -> SearchCriteria {
        SearchCriteria::new(
            last,
            first,
            None,
            IncompleteDate::parse(birth).unwrap(),
            None,
            None,
            None,
        )
        .unwrap()
    }

    #[test]
    fn the_same_person_scores_high_and_another_low() {
        let jan = identity("Vandenberghe", &["Jan"], "1985-07-30", Some(Gender::Male));
        let asked = criteria("Van den Berghe", Some("Jan"), "1985-07-30");
        assert!(score(&asked, &jan) >= 95);
        let other = identity("Van Damme", &["Marie"], "1985-07-30", Some(Gender::Female));
        assert!(score(&asked, &other) < MIN_SCORE);
    }

    #[test]
    fn one_slip_keeps_a_person_likely_existing() {
        let jan = identity("Maes", &["Jan", "Pieter"], "1985-03-04", Some(Gender::Male));
        for (last, first, birth) in [
            ("Mqes", Some("Jan"), "1985-03-04"),
            ("Maes", Some("J."), "1985-03-04"),
            ("Maes", Some("Pieter Jan"), "1985-03-04"),
            ("Maes", None, "1985-03-04"),
            ("Maes", Some("Jan"), "1986-03-04"),
            ("Maes", Some("Jan"), "1985-04-03"),
        ] {
            let asked = criteria(last, first, birth);
            assert!(
                score(&asked, &jan) >= LIKELY_EXISTING_SCORE,
                "{last} {first:?} {birth}"
            );
        }
    }

    #[test]
    fn a_namesake_born_the_same_day_is_proposed_but_not_likely() {
        let jan = identity("Peeters", &["Jan"], "1985-03-04", Some(Gender::Male));
        let marc = criteria("Peeters", Some("Marc"), "1985-03-04");
        let s = score(&marc, &jan);
        assert!((MIN_SCORE..LIKELY_EXISTING_SCORE).contains(&s), "{s}");
        let dupont = criteria("Dupont", Some("Jan"), "1985-03-04");
        assert!(score(&dupont, &jan) < MIN_SCORE);
    }

    #[test]
    fn parts_and_particles_score_near_the_whole_name() {
        assert_eq!(last_name_similarity("Van den Berghe", "Vandenberghe"), 1.0);
        assert!(last_name_similarity("Peeters", "Peeters-Janssens") >= 0.85);
        assert!(last_name_similarity("Berghe", "Van den Berghe") >= 0.85);
        assert!(last_name_similarity("Lefebvre", "Lefèvre") >= 0.85);
        assert!(last_name_similarity("Van Damme", "Van den Berghe") < 0.5);
    }

    proptest! {
        /// Anything at all, through every step of a search's domain side, never panics.
        #[test]
        fn arbitrary_text_never_panics(
            last in any::<String>(),
            first in proptest::collection::vec(any::<String>(), 0..4),
            noise in "[\\PC\\p{Cc}]{0,300}",
            year in 1u32..9999, month in 0u32..13, day in 0u32..32, tolerance in 0u32..31,
        ) {
            let Some(date) = IncompleteDate::new(
                year as i32,
                (month > 0).then_some(month),
                (month > 0 && day > 0).then_some(day),
            ) else {
                return Ok(());
            };
            let last = format!("{last}{noise}");
            let firsts: Vec<&str> = first.iter().map(String::as_str).collect();
            let keys = person_keys(&last, &firsts).keys;
            prop_assert!(keys.len() <= MAX_LAST_NAME_FORMS + MAX_GIVEN_NAME_KEYS);
            let asked = query_keys(&last, firsts.iter().copied());
            prop_assert!(asked.given_names.len() <= MAX_GIVEN_NAME_KEYS);
            if let Ok(c) = SearchCriteria::new(
                &last,
                firsts.first().copied(),
                firsts.get(1).copied(),
                date,
                Some(tolerance),
                None,
                None,
            ) {
                let windows = birth_windows(&c);
                prop_assert!(windows.len() <= 6);
                let mut person = identity(&noise, &firsts, "2000-01-01", None);
                person.birth_date = date;
                prop_assert!(score(&c, &person) <= 100);
            }
        }
    }

    proptest! {
        /// One scorer for many candidates (remembering the names it compared) scores each
        /// as a scorer of its own would.
        #[test]
        fn a_scorer_remembers_nothing_but_the_scores(
            candidates in proptest::collection::vec(
                (prop::sample::select(vec!["Peeters", "Pieters", "Peters", "Van den Berghe", "Claes"]),
                 prop::sample::select(vec!["Jan", "Marie", "Jan Marie", "J", ""])),
                1..20,
            )
        ) {
            let asked = criteria("Peeters", Some("Jan"), "1985-03-04");
            let scorer = Scorer::new(&asked);
            for (last, first) in candidates {
                let firsts: Vec<&str> = first.split(' ').filter(|w| !w.is_empty()).collect();
                let found = identity(last, &firsts, "1985-03-04", None);
                prop_assert_eq!(scorer.score(&found), score(&asked, &found));
            }
        }
    }

    #[test]
    fn huge_names_are_bounded() {
        let huge = "Van den Berghe-Peeters ".repeat(20_000);
        assert!(
            person_keys(&huge, &[&huge]).keys.len() <= MAX_LAST_NAME_FORMS + MAX_GIVEN_NAME_KEYS
        );
        let c = criteria(&huge, Some(&huge), "1985-03-04");
        let _ = score(&c, &identity(&huge, &[&huge], "1985-03-04", None));
    }

    #[test]
    fn a_swapped_date_is_near() {
        let jan = identity("Peeters", &["Jan"], "1985-03-04", Some(Gender::Male));
        assert!(score(&criteria("Peeters", Some("Jan"), "1985-04-03"), &jan) >= 90);
    }
}
