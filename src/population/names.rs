//! The reference name lists and weighted sampling.
//!
//! The lists are embedded in the binary (`data/`, provenance in `data/README.md`): the 500
//! most frequent last names and male and female first names of the Dutch- and
//! French-speaking communities with their Statbel frequencies, and unweighted German lists
//! for the German-speaking community. They are parsed once, on first use.

use std::sync::LazyLock;

use rand::Rng;

use super::tail;

use crate::domain::Gender;

/// A language community of Belgium: it decides the name lists, and the language of the
/// address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Community {
    Dutch,
    French,
    German,
}

impl Community {
    /// The three communities, in the order of [`Community::index`].
    pub const ALL: [Community; 3] = [Community::Dutch, Community::French, Community::German];

    /// The community's share of the generated population: 58 %, 41 %, 0.6 %
    /// ([`super::address::community_share`]).
    pub fn share(self) -> f64 {
        super::address::community_share(self)
    }

    /// 0, 1, 2: an index into per-community tables.
    pub fn index(self) -> usize {
        match self {
            Community::Dutch => 0,
            Community::French => 1,
            Community::German => 2,
        }
    }
}

/// Items with weights, sampled by a binary search on the cumulative weights.
#[derive(Debug, Clone)]
pub struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<f64>,
}

impl<T> Weighted<T> {
    /// The items with a positive weight. Panics when there is none: the tables are fixed
    /// reference data, checked by the unit tests.
    pub fn new(pairs: impl IntoIterator<Item = (T, f64)>) -> Weighted<T> {
        let mut items = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0.0;
        for (item, weight) in pairs {
            if weight > 0.0 && weight.is_finite() {
                total += weight;
                items.push(item);
                cumulative.push(total);
            }
        }
        assert!(
            !items.is_empty(),
            "a weighted table needs a positive weight"
        );
        Weighted { items, cumulative }
    }

    /// One item, with a probability proportional to its weight.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> &T {
        &self.items[self.sample_index(rng)]
    }

    /// The index of one item, with a probability proportional to its weight.
    pub fn sample_index<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let total = self.cumulative[self.cumulative.len() - 1];
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.items.len() - 1)
    }

    /// The items, in their original order.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The weights, in the order of the items.
    pub fn weights(&self) -> impl Iterator<Item = f64> + '_ {
        self.cumulative
            .iter()
            .scan(0.0, |previous, &c| Some(c - std::mem::replace(previous, c)))
    }

    /// The sum of the weights.
    pub fn total(&self) -> f64 {
        self.cumulative[self.cumulative.len() - 1]
    }
}

/// The name lists of one community.
#[derive(Debug)]
pub struct NameLists {
    pub male: Weighted<&'static str>,
    pub female: Weighted<&'static str>,
    pub last: Weighted<&'static str>,
}

impl NameLists {
    /// The first-name list of a gender.
    pub fn first(&self, gender: Gender) -> &Weighted<&'static str> {
        match gender {
            Gender::Male => &self.male,
            Gender::Female => &self.female,
        }
    }
}

/// Parses a `name<TAB>weight` list with a header line.
fn tsv(text: &'static str) -> Weighted<&'static str> {
    Weighted::new(text.lines().skip(1).filter_map(|line| {
        let (name, weight) = line.split_once('\t')?;
        let weight: f64 = weight.trim().parse().ok()?;
        Some((name.trim(), weight))
    }))
}

static LISTS: LazyLock<[NameLists; 3]> = LazyLock::new(|| {
    [
        NameLists {
            male: tsv(include_str!("data/nl_BE.first_male.tsv")),
            female: tsv(include_str!("data/nl_BE.first_female.tsv")),
            last: tsv(include_str!("data/nl_BE.last.tsv")),
        },
        NameLists {
            male: tsv(include_str!("data/fr_BE.first_male.tsv")),
            female: tsv(include_str!("data/fr_BE.first_female.tsv")),
            last: tsv(include_str!("data/fr_BE.last.tsv")),
        },
        NameLists {
            male: tsv(include_str!("data/de.first_male.tsv")),
            female: tsv(include_str!("data/de.first_female.tsv")),
            last: tsv(include_str!("data/de.last.tsv")),
        },
    ]
});

/// The name lists of `community`.
pub fn lists(community: Community) -> &'static NameLists {
    &LISTS[community.index()]
}

/// The last names of a community: the frequent list, the share of the inhabitants it
/// covers, and the long tail of the others ([`super::tail`]).
struct LastNames {
    coverage: f64,
    tail: Option<Weighted<Box<str>>>,
}

static LAST: LazyLock<[LastNames; 3]> = LazyLock::new(|| {
    let dutch_lists = lists(Community::Dutch);
    let dutch_tail = tail::dutch(&dutch_lists.last, &dutch_lists.male);
    let french = lists(Community::French);
    let french_tail = tail::french(&french.last, &french.male, &dutch_tail);
    [
        LastNames {
            coverage: coverage(Community::Dutch),
            tail: Some(dutch_tail),
        },
        LastNames {
            coverage: coverage(Community::French),
            tail: Some(french_tail),
        },
        LastNames {
            coverage: 1.0,
            tail: None,
        },
    ]
});

/// The share of `community`'s inhabitants that bear a name of its frequent list: the
/// list's total count over the community's inhabitants (Dutch about 23 %, French 15 %).
/// The German list has no counts: it covers everyone.
pub fn coverage(community: Community) -> f64 {
    if !tail::has_tail(community) {
        return 1.0;
    }
    let inhabitants = community.share() * super::address::BELGIUM;
    (lists(community).last.total() / inhabitants).min(1.0)
}

/// The long tail of `community`'s last names, if it has one.
pub fn tail_names(community: Community) -> Option<&'static Weighted<Box<str>>> {
    LAST[community.index()].tail.as_ref()
}

/// One last name: of the frequent list with the probability of its coverage, otherwise of
/// the tail.
fn single_last_name<R: Rng + ?Sized>(rng: &mut R, community: Community) -> &'static str {
    let last = &LAST[community.index()];
    match &last.tail {
        Some(tail) if !rng.random_bool(last.coverage) => tail.sample(rng),
        _ => lists(community).last.sample(rng),
    }
}

/// Share of double-barrelled last names ("Peeters-Janssens").
const DOUBLE_BARRELLED: f64 = 0.015;

/// A last name: one of the community's frequent list for the share of the inhabitants
/// the list covers, otherwise one of the long tail (a third of the Flemish ones carry a
/// particle: "De Smet", "Van Damme", "Vandeberghe"), or for 1.5 % two of them joined by
/// a hyphen.
pub fn last_name<R: Rng + ?Sized>(rng: &mut R, community: Community) -> String {
    let first = single_last_name(rng, community);
    if rng.random_bool(DOUBLE_BARRELLED) {
        for _ in 0..4 {
            let second = single_last_name(rng, community);
            if second != first {
                return format!("{first}-{second}");
            }
        }
    }
    first.to_string()
}

/// The first names of a person in civil order: one for 60 %, two for 30 %, three for 10 %,
/// never twice the same. Compound first names come with their Statbel frequencies from the
/// lists: "Jean-Pierre", "Anne-Marie", "Marie-Christine" make about 3 % of the French
/// speakers' first names, "Pieter-Jan", "Anne-Sophie" about 1 % of the Dutch speakers'.
pub fn first_names<R: Rng + ?Sized>(
    rng: &mut R,
    community: Community,
    gender: Gender,
) -> Vec<String> {
    let list = lists(community).first(gender);
    let count = match rng.random::<f64>() {
        x if x < 0.60 => 1,
        x if x < 0.90 => 2,
        _ => 3,
    };
    let mut names: Vec<String> = Vec::with_capacity(count);
    let mut attempts = 0;
    while names.len() < count && attempts < 20 {
        attempts += 1;
        let name = *list.sample(rng);
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn is_name(name: &str) -> bool {
        !name.is_empty()
            && name.chars().count() <= 100
            && name
                .chars()
                .all(|c| c.is_alphabetic() || matches!(c, ' ' | '\'' | '.' | '-'))
    }

    #[test]
    fn lists_are_complete_and_fit_the_name_type() {
        for community in Community::ALL {
            let lists = lists(community);
            for list in [&lists.male, &lists.female, &lists.last] {
                assert!(list.items().len() >= 400, "{community:?}");
                assert!(list.items().iter().all(|n| is_name(n)), "{community:?}");
            }
        }
        // Statbel frequencies: the most frequent Flemish last name is far ahead of the 500th.
        assert!(lists(Community::Dutch).last.total() > 1_000_000.0);
        assert!(lists(Community::French).male.items().contains(&"Jean"));
    }

    #[test]
    fn particles_are_frequent_in_the_flemish_list() {
        let list = &lists(Community::Dutch).last;
        let with_particle = list
            .items()
            .iter()
            .filter(|n| {
                let lower = n.to_lowercase();
                [
                    "de ", "van ", "vande", "vander", "d'", "ver", "ten ", "ter ",
                ]
                .iter()
                .any(|p| lower.starts_with(p))
            })
            .count();
        assert!(with_particle > 100, "{with_particle}");
    }

    #[test]
    fn weighted_sampling_follows_the_weights() {
        let table = Weighted::new([("a", 1.0), ("b", 0.0), ("c", 3.0)]);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut counts = [0u32; 2];
        for _ in 0..40_000 {
            match *table.sample(&mut rng) {
                "a" => counts[0] += 1,
                "c" => counts[1] += 1,
                other => panic!("{other} has no weight"),
            }
        }
        let share = f64::from(counts[0]) / 40_000.0;
        assert!((share - 0.25).abs() < 0.01, "{share}");
    }

    #[test]
    fn first_names_are_distinct_names_of_the_list() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0u32; 4];
        let mut compounds = 0;
        for i in 0..10_000 {
            let gender = if i % 2 == 0 {
                Gender::Male
            } else {
                Gender::Female
            };
            let names = first_names(&mut rng, Community::French, gender);
            counts[names.len()] += 1;
            assert!(names.iter().all(|n| is_name(n)), "{names:?}");
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len(), "{names:?}");
            if names[0].contains('-') {
                compounds += 1;
            }
        }
        assert_eq!(counts[0], 0);
        assert!((5_500..6_500).contains(&counts[1]), "{counts:?}");
        assert!((2_500..3_500).contains(&counts[2]), "{counts:?}");
        assert!((700..1_300).contains(&counts[3]), "{counts:?}");
        // "Jean-Pierre", "Marie-Christine": about 3 % in the French lists.
        assert!((150..500).contains(&compounds), "{compounds}");
    }

    #[test]
    fn some_last_names_are_double_barrelled() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let double = (0..20_000)
            .map(|_| last_name(&mut rng, Community::Dutch))
            .filter(|n| {
                n.contains('-') && !lists(Community::Dutch).last.items().contains(&n.as_str())
            })
            .count();
        assert!((150..500).contains(&double), "{double}");
    }
}
