//! How close a candidate found by a phonetic search is to what was asked: a score from 0 to
//! 100 made of the similarity of the last names (Jaro–Winkler on the normalised forms), of
//! the given names (an initial matches the names it begins), the distance of the birth dates
//! (a swapped day and month or a year off by one is near) and the gender.

use strsim::jaro_winkler;

use super::incomplete_date::IncompleteDate;
use super::name_search::{given_name_words, last_name_forms};
use super::person::Identity;
use super::search_criteria::{SearchCriteria, ToleranceUnit};

/// Candidates scoring below this are not answered.
pub const MIN_SCORE: u8 = 70;

/// A candidate scoring at least this is a likely existing person: `createBisNumber` answers
/// the candidates instead of creating a number.
pub const LIKELY_EXISTING_SCORE: u8 = 80;

const LAST_NAME_WEIGHT: f64 = 0.45;
const GIVEN_NAME_WEIGHT: f64 = 0.25;
const BIRTH_DATE_WEIGHT: f64 = 0.22;
const GENDER_WEIGHT: f64 = 0.08;

/// The score of `candidate` for `criteria`, 0–100.
pub fn score(criteria: &SearchCriteria, candidate: &Identity) -> u8 {
    let total = LAST_NAME_WEIGHT * last_name_similarity(&criteria.last_name, &candidate.last_name)
        + GIVEN_NAME_WEIGHT * given_name_similarity(criteria, &candidate.first_names)
        + BIRTH_DATE_WEIGHT * birth_date_closeness(criteria, candidate.birth_date)
        + GENDER_WEIGHT * gender_agreement(criteria, candidate);
    (total * 100.0).round().clamp(0.0, 100.0) as u8
}

/// 1 for the same name; the best Jaro–Winkler similarity between the forms (a form that is
/// only part of the name counts a little less).
pub fn last_name_similarity(asked: &str, found: &str) -> f64 {
    let asked = last_name_forms(asked);
    let found = last_name_forms(found);
    let (Some(a0), Some(f0)) = (asked.first(), found.first()) else {
        return 0.0;
    };
    let mut best = jaro_winkler(a0, f0);
    for a in &asked {
        for f in &found {
            best = best.max(0.95 * jaro_winkler(a, f));
        }
    }
    best
}

fn given_name_similarity(criteria: &SearchCriteria, first_names: &[String]) -> f64 {
    let asked: Vec<String> = criteria.given_names().flat_map(given_name_words).collect();
    if asked.is_empty() {
        return 0.8;
    }
    let found: Vec<String> = first_names
        .iter()
        .flat_map(|n| given_name_words(n))
        .collect();
    if found.is_empty() {
        return 0.0;
    }
    let per_word: f64 = asked
        .iter()
        .map(|a| {
            if a.len() == 1 {
                if found.iter().any(|f| f.starts_with(a.as_str())) {
                    0.9
                } else {
                    0.0
                }
            } else {
                found.iter().map(|f| jaro_winkler(a, f)).fold(0.0, f64::max)
            }
        })
        .sum::<f64>()
        / asked.len() as f64;
    let glued = jaro_winkler(&asked.concat(), &found.concat());
    per_word.max(glued)
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
            return 0.85;
        }
        if (asked.year() - found.year()).abs() == 1 && am == fm && ad == fd {
            return 0.85;
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
    use crate::domain::Gender;

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
    fn a_swapped_date_is_near() {
        let jan = identity("Peeters", &["Jan"], "1985-03-04", Some(Gender::Male));
        assert!(score(&criteria("Peeters", Some("Jan"), "1985-04-03"), &jan) >= 90);
    }
}
