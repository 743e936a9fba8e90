//! The corruption model of the search-quality benchmark: how a query differs from the
//! person it looks for. Each kind is applied alone, so its recall is measured separately.
//!
//! | kind | what the query has instead of the person's data |
//! |---|---|
//! | `uncorrupted` | the last name, the first first name, the birth date |
//! | `particles split` | a glued particle written apart: Vandenberghe → Van den Berghe |
//! | `particles joined` | separate particles glued: De Smet → Desmet, D'Hondt → Dhondt |
//! | `particles dropped` | the particles left out: Van den Berghe → Berghe |
//! | `ij/y` | `ij` ↔ `y`: De Schrijver ↔ De Schryver |
//! | `ae/a` | `ae` → `a`, or an `a` followed by a consonant → `ae`: Maertens ↔ Martens |
//! | `ck/k` | `ck` → `k`, or a `k` → `ck`: Hendrickx ↔ Hendrikx |
//! | `dt/t` | `dt` → `t`, or a final `t` → `dt`: De Smedt ↔ De Smet |
//! | `ph/f` | `ph` → `f`, or an `f` → `ph` |
//! | `accents dropped` | the accents folded: Lefèvre → Lefevre (names with accents only) |
//! | `typo` | one letter (not the first) replaced by another letter |
//! | `transposition` | two neighbouring letters (not the first) swapped |
//! | `double name cut` | a double name given by one of its parts: Peeters-Janssens → Peeters |
//! | `first name initial` | the first name as its initial: `J.` |
//! | `first name missing` | no first name |
//! | `first names reordered` | all first names, in reverse order (persons with several) |
//! | `day/month swapped` | 1985-03-04 → 1985-04-03 (complete dates with a day ≤ 12) |
//! | `year off by one` | the same day a year before or after |
//! | `year off, tolerance` | `yyyy-00-00` a year off, tolerance 1 year |
//! | `days off, tolerance` | the date 1–5 days off, tolerance 5 days |
//! | `month known` | `yyyy-mm-00`, tolerance 1 month |
//! | `year known` | `yyyy-00-00`, tolerance 1 year |
//!
//! A kind that does not apply to a person (no particle, no `ck`, an incomplete date, …) is
//! not drawn for it: [`Kind::apply`] answers `None` and another person is drawn.
#![allow(dead_code)]

use raas::domain::{Gender, IncompleteDate};
use rand::Rng;

/// What a query asks, before it becomes `SearchCriteria`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub last_name: String,
    pub first_name: Option<String>,
    pub birth_date: IncompleteDate,
    pub tolerance: Option<u32>,
    pub gender: Option<Gender>,
}

/// The person a query is made from.
#[derive(Clone, Debug)]
pub struct Source<'a> {
    pub last_name: &'a str,
    pub first_names: &'a [String],
    pub birth_date: IncompleteDate,
    pub gender: Option<Gender>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Uncorrupted,
    ParticlesSplit,
    ParticlesJoined,
    ParticlesDropped,
    IjY,
    AeA,
    CkK,
    DtT,
    PhF,
    AccentsDropped,
    Typo,
    Transposition,
    DoubleNameCut,
    FirstNameInitial,
    FirstNameMissing,
    FirstNamesReordered,
    DayMonthSwapped,
    YearOffByOne,
    YearOffTolerance,
    DaysOffTolerance,
    MonthKnown,
    YearKnown,
}

/// Particles written glued in front of a Flemish name, longest first.
const GLUED: [(&str, &str); 4] = [
    ("vanden", "Van den "),
    ("vander", "Van der "),
    ("vande", "Van de "),
    ("van", "Van "),
];

/// Particles written as words, lower case.
const WORDS: [&str; 16] = [
    "van", "den", "der", "de", "d", "t", "ten", "ter", "te", "le", "la", "du", "des", "von", "op",
    "vanden",
];

impl Kind {
    pub const ALL: [Kind; 22] = [
        Kind::Uncorrupted,
        Kind::ParticlesSplit,
        Kind::ParticlesJoined,
        Kind::ParticlesDropped,
        Kind::IjY,
        Kind::AeA,
        Kind::CkK,
        Kind::DtT,
        Kind::PhF,
        Kind::AccentsDropped,
        Kind::Typo,
        Kind::Transposition,
        Kind::DoubleNameCut,
        Kind::FirstNameInitial,
        Kind::FirstNameMissing,
        Kind::FirstNamesReordered,
        Kind::DayMonthSwapped,
        Kind::YearOffByOne,
        Kind::YearOffTolerance,
        Kind::DaysOffTolerance,
        Kind::MonthKnown,
        Kind::YearKnown,
    ];

    /// The kinds that change only the last name (what the encoder comparison measures).
    pub const LAST_NAME: [Kind; 12] = [
        Kind::ParticlesSplit,
        Kind::ParticlesJoined,
        Kind::ParticlesDropped,
        Kind::IjY,
        Kind::AeA,
        Kind::CkK,
        Kind::DtT,
        Kind::PhF,
        Kind::AccentsDropped,
        Kind::Typo,
        Kind::Transposition,
        Kind::DoubleNameCut,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Uncorrupted => "uncorrupted",
            Kind::ParticlesSplit => "particles split",
            Kind::ParticlesJoined => "particles joined",
            Kind::ParticlesDropped => "particles dropped",
            Kind::IjY => "ij/y",
            Kind::AeA => "ae/a",
            Kind::CkK => "ck/k",
            Kind::DtT => "dt/t",
            Kind::PhF => "ph/f",
            Kind::AccentsDropped => "accents dropped",
            Kind::Typo => "typo",
            Kind::Transposition => "transposition",
            Kind::DoubleNameCut => "double name cut",
            Kind::FirstNameInitial => "first name initial",
            Kind::FirstNameMissing => "first name missing",
            Kind::FirstNamesReordered => "first names reordered",
            Kind::DayMonthSwapped => "day/month swapped",
            Kind::YearOffByOne => "year off by one",
            Kind::YearOffTolerance => "year off, tolerance",
            Kind::DaysOffTolerance => "days off, tolerance",
            Kind::MonthKnown => "month known",
            Kind::YearKnown => "year known",
        }
    }

    /// The last name as this kind corrupts it, or `None` when it does not apply to it
    /// (the kinds that leave the last name alone give it unchanged).
    pub fn last_name<R: Rng + ?Sized>(self, name: &str, rng: &mut R) -> Option<String> {
        match self {
            Kind::ParticlesSplit => split_particles(name),
            Kind::ParticlesJoined => join_particles(name),
            Kind::ParticlesDropped => drop_particles(name),
            Kind::IjY => swap_either(name, "ij", "y", rng),
            Kind::AeA => either(name, "ae", "a", |s, i| {
                s[i + 1..].chars().next().is_some_and(is_consonant)
            }),
            Kind::CkK => either(name, "ck", "k", |s, i| !s[..i].ends_with(['c', 'C'])),
            Kind::DtT => either(name, "dt", "t", |s, i| i + 1 == s.len()),
            Kind::PhF => either(name, "ph", "f", |_, _| true),
            Kind::AccentsDropped => (!name.is_ascii()).then(|| deunicode::deunicode(name)),
            Kind::Typo => typo(name, rng),
            Kind::Transposition => transposition(name, rng),
            Kind::DoubleNameCut => {
                let parts: Vec<&str> = name.split('-').filter(|p| !p.is_empty()).collect();
                (parts.len() > 1).then(|| parts[rng.random_range(0..parts.len())].to_string())
            }
            _ => Some(name.to_string()),
        }
    }

    /// The query this kind makes of `source`, or `None` when it does not apply.
    pub fn apply<R: Rng + ?Sized>(self, source: &Source, rng: &mut R) -> Option<Query> {
        let first = source.first_names.first().cloned();
        let mut query = Query {
            last_name: self.last_name(source.last_name, rng)?,
            first_name: first.clone(),
            birth_date: source.birth_date,
            tolerance: None,
            gender: source.gender,
        };
        if query.last_name == source.last_name && Kind::LAST_NAME.contains(&self) {
            return None;
        }
        if source.birth_date.day().is_none() {
            // Incomplete dates are queried as they are, with the tolerance they require.
            query.tolerance = Some(1);
        }
        let date = source.birth_date;
        let complete = || {
            date.day()
                .map(|d| (date.year(), date.month().unwrap_or(1), d))
        };
        match self {
            Kind::FirstNameInitial => {
                query.first_name = Some(format!("{}.", first?.chars().next()?));
            }
            Kind::FirstNameMissing => query.first_name = None,
            Kind::FirstNamesReordered => {
                if source.first_names.len() < 2 {
                    return None;
                }
                let reversed: Vec<&str> = source
                    .first_names
                    .iter()
                    .rev()
                    .map(String::as_str)
                    .collect();
                query.first_name = Some(reversed.join(" "));
            }
            Kind::DayMonthSwapped => {
                let (y, m, d) = complete()?;
                if d > 12 || d == m {
                    return None;
                }
                query.birth_date = IncompleteDate::new(y, Some(d), Some(m))?;
            }
            Kind::YearOffByOne => {
                let (y, m, d) = complete()?;
                let other = if rng.random_bool(0.5) { y - 1 } else { y + 1 };
                query.birth_date = IncompleteDate::new(other, Some(m), Some(d))?;
            }
            Kind::YearOffTolerance => {
                let other = if rng.random_bool(0.5) {
                    date.year() - 1
                } else {
                    date.year() + 1
                };
                query.birth_date = IncompleteDate::new(other, None, None)?;
                query.tolerance = Some(1);
            }
            Kind::DaysOffTolerance => {
                let day = date.to_date()?;
                let shift = rng.random_range(1..=5u64);
                let moved = if rng.random_bool(0.5) {
                    day.checked_add_days(chrono::Days::new(shift))?
                } else {
                    day.checked_sub_days(chrono::Days::new(shift))?
                };
                query.birth_date = IncompleteDate::from_date(moved)?;
                query.tolerance = Some(5);
            }
            Kind::MonthKnown => {
                let (y, m, _) = complete()?;
                query.birth_date = IncompleteDate::new(y, Some(m), None)?;
                query.tolerance = Some(1);
            }
            Kind::YearKnown => {
                complete()?;
                query.birth_date = IncompleteDate::new(date.year(), None, None)?;
                query.tolerance = Some(1);
            }
            _ => {}
        }
        Some(query)
    }
}

fn is_consonant(c: char) -> bool {
    c.is_ascii_alphabetic() && !"aeiouyAEIOUY".contains(c)
}

/// `Vandenberghe` → `Van den Berghe` (a name written as one word beginning with a glued
/// particle).
fn split_particles(name: &str) -> Option<String> {
    if name.contains([' ', '\'', '-']) {
        return None;
    }
    let lower = name.to_lowercase();
    GLUED.iter().find_map(|(glued, apart)| {
        let rest = name.get(glued.len()..)?;
        (lower.starts_with(glued) && rest.chars().count() > 2).then(|| {
            let mut chars = rest.chars();
            let head: String = chars.next()?.to_uppercase().collect();
            Some(format!("{apart}{head}{}", chars.as_str()))
        })?
    })
}

/// The leading particle words of a name and where they end, if the name has some and
/// another word follows them.
fn leading_particles(name: &str) -> Option<usize> {
    let mut end = 0;
    let mut rest = name;
    loop {
        let Some(word_end) = rest.find([' ', '\'']) else {
            break;
        };
        let word = rest[..word_end].to_lowercase();
        if !WORDS.contains(&word.as_str()) {
            break;
        }
        let skip = rest[word_end..]
            .char_indices()
            .find(|(_, c)| *c != ' ' && *c != '\'')
            .map_or(rest.len() - word_end, |(i, _)| i);
        end += word_end + skip;
        rest = &name[end..];
    }
    (end > 0 && end < name.len()).then_some(end)
}

/// `Van den Berghe` → `Vandenberghe`, `D'Hondt` → `Dhondt`.
fn join_particles(name: &str) -> Option<String> {
    let end = leading_particles(name)?;
    let particles: String = name[..end].chars().filter(|c| c.is_alphabetic()).collect();
    Some(format!("{particles}{}", name[end..].to_lowercase()))
}

/// `Van den Berghe` → `Berghe`; `Vandenberghe` → `Berghe`.
fn drop_particles(name: &str) -> Option<String> {
    if let Some(end) = leading_particles(name) {
        return Some(name[end..].to_string());
    }
    let split = split_particles(name)?;
    let end = leading_particles(&split)?;
    Some(split[end..].to_string())
}

/// Replaces a `from` by `to` (a random occurrence), else a `to` by `from`.
fn swap_either<R: Rng + ?Sized>(name: &str, from: &str, to: &str, rng: &mut R) -> Option<String> {
    let lower = name.to_lowercase();
    for (a, b) in [(from, to), (to, from)] {
        let found: Vec<usize> = lower.match_indices(a).map(|(i, _)| i).collect();
        if !found.is_empty() {
            let i = found[rng.random_range(0..found.len())];
            return Some(replace_at(name, i, a.len(), b));
        }
    }
    None
}

/// Replaces the first `long` by `short`; otherwise the first `short` where `fits` by `long`.
fn either(
    name: &str,
    long: &str,
    short: &str,
    fits: impl Fn(&str, usize) -> bool,
) -> Option<String> {
    let lower = name.to_lowercase();
    if let Some(i) = lower.find(long) {
        return Some(replace_at(name, i, long.len(), short));
    }
    let i = lower
        .match_indices(short)
        .map(|(i, _)| i)
        .find(|&i| i > 0 && fits(&lower, i))?;
    Some(replace_at(name, i, short.len(), long))
}

/// `name` with the `len` bytes at `i` replaced by `by` (lower case, or capitalised at the
/// start of the name).
fn replace_at(name: &str, i: usize, len: usize, by: &str) -> String {
    let by = if i == 0 {
        let mut c = by.chars();
        c.next()
            .map_or(String::new(), |h| h.to_uppercase().chain(c).collect())
    } else {
        by.to_string()
    };
    format!("{}{by}{}", &name[..i], &name[i + len..])
}

/// The positions of the letters after the first (as char indices).
fn letters_after_first(chars: &[char]) -> Vec<usize> {
    (1..chars.len())
        .filter(|&i| chars[i].is_alphabetic())
        .collect()
}

fn typo<R: Rng + ?Sized>(name: &str, rng: &mut R) -> Option<String> {
    let mut chars: Vec<char> = name.chars().collect();
    let positions = letters_after_first(&chars);
    if positions.is_empty() {
        return None;
    }
    let i = positions[rng.random_range(0..positions.len())];
    let old = chars[i].to_ascii_lowercase();
    let replacement = loop {
        let c = char::from(b'a' + rng.random_range(0..26u8));
        if c != old {
            break c;
        }
    };
    chars[i] = replacement;
    Some(chars.into_iter().collect())
}

fn transposition<R: Rng + ?Sized>(name: &str, rng: &mut R) -> Option<String> {
    let mut chars: Vec<char> = name.chars().collect();
    let pairs: Vec<usize> = (1..chars.len().saturating_sub(1))
        .filter(|&i| {
            chars[i].is_alphabetic()
                && chars[i + 1].is_alphabetic()
                && chars[i].to_lowercase().ne(chars[i + 1].to_lowercase())
        })
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let i = pairs[rng.random_range(0..pairs.len())];
    chars.swap(i, i + 1);
    Some(chars.into_iter().collect())
}
