//! The long tail of last names: the names below the 500 most frequent ones of each list.
//!
//! The frequent lists cover only part of the inhabitants (the 500 Flemish names about 23 %,
//! the 500 French ones about 15 %). The others bear rarer names, built here from the lists
//! themselves with Belgian morphology, so that they look and sound like real ones:
//!
//! - Flemish names with a particle: the particles of the list ("Van ", "Van de ", "Vanden",
//!   "Vander", "De ", "Ver", "Ten ", …) joined to the stems of the list's names and, for
//!   "Van ", to the Flemish place names ("Van Antwerpen");
//! - Flemish patronymics of the first names ("Willems", "Gerritsen", "Hendrickx") and
//!   spelling variants of the list's names ("Claes"/"Claas", "Peeters"/"Peters");
//! - French names: the endings of the list's names exchanged ("Collard", "Collart",
//!   "Collet", "Collin"), "Du"/"Le"/"De" joined to common nouns ("Duchêne", "Lemoulin"),
//!   a few "De "/"Le "/"Du " + noun, and a share of Flemish names (as in the French list).
//!
//! Every candidate that is already a list name is left out (the list holds its real count).
//! The tail keeps the list's share of names with a particle (by persons). Weights decrease
//! with a rank given by a stable hash (FNV-1a), so the table is the same in every build.
//! It is built once, on first use, and holds some tens of thousands of names.

use std::collections::HashSet;

use super::address::{self, Region};
use super::names::{Community, Weighted};

/// The particles of Flemish names, joined ("Vanden") or followed by a space ("Van den ").
const DUTCH_PARTICLES: [&str; 14] = [
    "Van de ", "Van den ", "Van der ", "Vande", "Vanden", "Vander", "Van ", "De ", "D'", "Ver",
    "Ten ", "Ter ", "Op de ", "Vd",
];

/// Whether a particle is written joined to the stem ("Vanden" + "berghe").
fn joined(particle: &str) -> bool {
    !particle.ends_with(' ') && particle != "D'"
}

/// French common nouns that make last names with "Du", "Le", "De" ("Dumoulin", "Lechêne").
const FRENCH_NOUNS: [&str; 40] = [
    "bois", "pont", "mont", "champ", "chêne", "moulin", "four", "fossé", "jardin", "pré", "val",
    "marais", "puits", "château", "bourg", "rieux", "fays", "sart", "mesnil", "ruisseau", "rocher",
    "buisson", "verger", "vivier", "thier", "pire", "longpré", "maret", "fosse", "chesne",
    "mortier", "rieu", "jonc", "houx", "tilleul", "frêne", "bus", "pas", "quesne", "faux",
];

/// Flemish words that names are made of (trades, nicknames, places in the landscape):
/// "De Wever", "Van den Broeck", "Bosmans".
const DUTCH_WORDS: [&str; 80] = [
    "Backer",
    "Bakker",
    "Beer",
    "Berg",
    "Berghe",
    "Bosch",
    "Bossche",
    "Broeck",
    "Brouwer",
    "Bruyn",
    "Cauwer",
    "Clerck",
    "Coster",
    "Cuyper",
    "Decker",
    "Donck",
    "Eycken",
    "Gheyn",
    "Graeve",
    "Groote",
    "Haes",
    "Hauwere",
    "Heyden",
    "Hoeck",
    "Houtte",
    "Kerckhove",
    "Keyser",
    "Kimpe",
    "Laere",
    "Leene",
    "Linden",
    "Loo",
    "Maele",
    "Meersch",
    "Meulen",
    "Mol",
    "Moortel",
    "Neve",
    "Paepe",
    "Plancke",
    "Poorter",
    "Putte",
    "Ridder",
    "Roo",
    "Ruysscher",
    "Ryck",
    "Schepper",
    "Schrijver",
    "Smedt",
    "Steen",
    "Straete",
    "Vijver",
    "Vos",
    "Waele",
    "Walle",
    "Weghe",
    "Wever",
    "Wilde",
    "Winkel",
    "Wulf",
    "Zande",
    "Zype",
    "Velde",
    "Veken",
    "Hove",
    "Hecke",
    "Eeckhout",
    "Acker",
    "Beke",
    "Brande",
    "Dycke",
    "Gucht",
    "Hende",
    "Hulle",
    "Lancker",
    "Poel",
    "Sype",
    "Voorde",
    "Hoeve",
    "Kamp",
];

/// Flemish endings of names without a particle ("Bosmans", "Wouters", "Reinaert").
const DUTCH_ENDINGS: [&str; 6] = ["mans", "s", "ers", "aert", "aerts", "kens"];

/// French last-name endings, exchanged with one another ("Collard" → "Collart", "Collet").
const FRENCH_ENDINGS: [&str; 12] = [
    "ard", "art", "ez", "ier", "et", "ot", "eau", "in", "on", "aux", "ay", "y",
];

/// Flemish spelling variants (a pattern and its replacement).
const DUTCH_VARIANTS: [(&str, &str); 12] = [
    ("ae", "aa"),
    ("aa", "ae"),
    ("ee", "e"),
    ("y", "ij"),
    ("ij", "y"),
    ("ck", "k"),
    ("dt", "t"),
    ("gh", "g"),
    ("ey", "ei"),
    ("oo", "oe"),
    ("ssens", "sens"),
    ("ts", "s"),
];

/// FNV-1a, stable between Rust versions.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn is_plain_word(word: &str) -> bool {
    word.chars().count() >= 3 && word.chars().all(char::is_alphabetic)
}

/// The particle and the stem of a Flemish name, if it has one of [`DUTCH_PARTICLES`].
fn split_particle(name: &str) -> Option<(&'static str, &str)> {
    let mut particles = DUTCH_PARTICLES;
    // The longest first: "Vanden" before "Vande", "Van de " before "Van ".
    particles.sort_by_key(|p| std::cmp::Reverse(p.len()));
    particles.iter().find_map(|p| {
        let rest = name.strip_prefix(p)?;
        let upper_next = rest.chars().next().is_some_and(char::is_uppercase);
        // "Vanden" + "berghe", but not "Verbeke" read as "Ver" + "Beke" nor "Deckers".
        let fits = if joined(p) {
            p == &"Ver" || !upper_next
        } else {
            upper_next
        };
        (fits && is_plain_word(rest)).then_some((*p, rest))
    })
}

/// Whether a name counts as one with a particle (the test of the generator's statistics).
pub fn has_particle(name: &str) -> bool {
    let lower = name.to_lowercase();
    [
        "de ", "van ", "vanden", "vander", "vande", "d'", "le ", "du ", "ver", "ten ", "ter ",
        "op de ", "vd",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
}

/// Candidates with ranks from a stable hash, weighted by a flat Zipf law: `1 / (rank + k)`
/// with k the number of candidates (the first twice as frequent as the last), so no tail name outweighs the rarest list names.
fn zipf(mut names: Vec<String>, total: f64) -> Vec<(Box<str>, f64)> {
    names.sort_by_key(|n| (stable_hash(n), n.clone()));
    let k = names.len().max(1) as f64;
    let raw: Vec<f64> = (0..names.len()).map(|r| 1.0 / (r as f64 + k)).collect();
    let sum: f64 = raw.iter().sum();
    names
        .into_iter()
        .zip(raw)
        .map(|(n, w)| (n.into_boxed_str(), w / sum * total))
        .collect()
}

/// Keeps the new, distinct names of `candidates`.
fn distinct(candidates: Vec<String>, taken: &mut HashSet<String>) -> Vec<String> {
    candidates
        .into_iter()
        .filter(|n| is_name(n) && taken.insert(n.clone()))
        .collect()
}

fn is_name(name: &str) -> bool {
    name.chars().count() >= 2
        && name.chars().count() <= 40
        && name
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '\'' | '-'))
}

/// The share of persons in `list` bearing a name with a particle.
fn particle_share(list: &Weighted<&'static str>) -> f64 {
    let lists = list.items().iter().zip(list.weights());
    let with: f64 = lists.filter(|(n, _)| has_particle(n)).map(|(_, w)| w).sum();
    with / list.total()
}

/// The Flemish tail.
pub fn dutch(last: &Weighted<&'static str>, first: &Weighted<&'static str>) -> Weighted<Box<str>> {
    let mut taken: HashSet<String> = last.items().iter().map(|n| n.to_string()).collect();
    let mut stems: Vec<&str> = Vec::new();
    let mut plain: Vec<&str> = Vec::new();
    for name in last.items() {
        match split_particle(name) {
            Some((_, stem)) => stems.push(stem),
            None if is_plain_word(name) => plain.push(name),
            None => {}
        }
    }
    let places: Vec<&str> = address::municipalities()
        .iter()
        .filter(|m| m.region == Region::Flemish && is_plain_word(m.name))
        .map(|m| m.name)
        .collect();

    let mut with_particle = Vec::new();
    for particle in DUTCH_PARTICLES {
        if particle == "Vd" {
            continue;
        }
        for stem in &stems {
            let stem = if joined(particle) {
                stem.to_lowercase()
            } else {
                capitalised(stem)
            };
            if particle == "D'" && !stem.starts_with(|c: char| "AEIOUH".contains(c)) {
                continue;
            }
            with_particle.push(format!("{particle}{stem}"));
        }
    }
    for place in &places {
        with_particle.push(format!("Van {place}"));
    }
    for particle in DUTCH_PARTICLES {
        if particle == "Vd" || particle == "D'" {
            continue;
        }
        for word in DUTCH_WORDS {
            let word = if joined(particle) {
                word.to_lowercase()
            } else {
                word.to_string()
            };
            with_particle.push(format!("{particle}{word}"));
        }
    }
    let mut without = Vec::new();
    {
        let list = first;
        // Patronymics of the traditional first names: those the list's names are made of
        // ("Willems", "Janssens", "Hendrickx", "Gerritsen").
        for name in list.items().iter() {
            if !name.is_ascii() {
                continue;
            }
            let lower = name.to_lowercase();
            let traditional = plain.iter().any(|last| {
                let last = last.to_lowercase();
                last.len() > lower.len() && last.starts_with(&lower[..lower.len() - 1])
            });
            if !is_plain_word(name)
                || !traditional
                || name.ends_with(|c: char| "aeiouy".contains(c))
            {
                continue;
            }
            without.push(format!("{name}s"));
            without.push(format!("{name}sen"));
            if name.chars().count() <= 4 {
                without.push(format!("{name}ssens"));
            }
            without.push(format!("{name}ens"));
            if let Some(root) = name.strip_suffix('k').or_else(|| name.strip_suffix('c')) {
                without.push(format!("{root}ckx"));
                without.push(format!("{root}x"));
            }
        }
    }
    for name in plain.iter().chain(stems.iter()) {
        for (pattern, replacement) in DUTCH_VARIANTS {
            if name.contains(pattern) {
                without.push(capitalised(&name.replacen(pattern, replacement, 1)));
            }
        }
    }
    for word in DUTCH_WORDS
        .iter()
        .chain(plain.iter().filter(|n| n.len() <= 6))
    {
        let root = word.trim_end_matches(['e', 's']);
        for ending in DUTCH_ENDINGS {
            without.push(format!("{root}{ending}"));
        }
    }
    // Spelling variants of every candidate ("Vandenberghe", "Vandenberge").
    for pool in [&mut with_particle, &mut without] {
        let variants: Vec<String> = pool
            .iter()
            .flat_map(|name| {
                DUTCH_VARIANTS
                    .iter()
                    .filter(|(pattern, _)| name.contains(pattern))
                    .map(|(pattern, replacement)| name.replacen(pattern, replacement, 1))
                    .collect::<Vec<_>>()
            })
            .collect();
        pool.extend(variants);
    }
    // Variants with a particle are names with a particle.
    let (variant_particles, without): (Vec<String>, Vec<String>) =
        without.into_iter().partition(|n| has_particle(n));
    with_particle.extend(variant_particles);
    let share = particle_share(last);
    let mut pairs = zipf(distinct(with_particle, &mut taken), share);
    pairs.extend(zipf(distinct(without, &mut taken), 1.0 - share));
    Weighted::new(pairs)
}

/// The French tail (`dutch_tail` lends it its Flemish names).
pub fn french(
    last: &Weighted<&'static str>,
    french_male: &Weighted<&'static str>,
    dutch_tail: &Weighted<Box<str>>,
) -> Weighted<Box<str>> {
    let mut taken: HashSet<String> = last.items().iter().map(|n| n.to_string()).collect();
    let mut with_particle = Vec::new();
    let mut without = Vec::new();
    for noun in FRENCH_NOUNS {
        for particle in ["Du", "Le", "De"] {
            without.push(format!("{particle}{noun}"));
        }
        with_particle.push(format!("Du {}", capitalised(noun)));
        with_particle.push(format!("Le {}", capitalised(noun)));
    }
    for noun in FRENCH_NOUNS {
        for particle in ["Del", "Des", "Dela", "Dé"] {
            without.push(format!("{particle}{noun}"));
        }
    }
    // Male first names and their diminutives ("Jacquet", "Jacquot", "Colin", "Guillaume").
    {
        let list = french_male;
        for name in list.items().iter().take(300) {
            if !is_plain_word(name) {
                continue;
            }
            without.push((*name).to_string());
            let root = name.trim_end_matches(['e', 's']);
            if root.chars().count() >= 3 && root.ends_with(|c: char| !"aeiouyéè".contains(c)) {
                for ending in [
                    "et", "ot", "in", "on", "ard", "eau", "ez", "y", "art", "ier",
                ] {
                    without.push(format!("{root}{ending}"));
                }
            }
        }
    }
    for name in last.items() {
        if !is_plain_word(name) || has_particle(name) {
            continue;
        }
        if let Some(root) = FRENCH_ENDINGS
            .iter()
            .find_map(|e| name.strip_suffix(e))
            .filter(|r| r.chars().count() >= 3 && r.ends_with(|c: char| !"aeiouyéè".contains(c)))
        {
            for ending in FRENCH_ENDINGS {
                without.push(format!("{root}{ending}"));
            }
        } else {
            without.push(format!("{name}et"));
            without.push(format!("{name}ot"));
        }
        with_particle.push(format!("De {name}"));
    }
    let share = particle_share(last);
    let flemish = 0.10;
    let mut pairs = zipf(distinct(with_particle, &mut taken), share * (1.0 - flemish));
    pairs.extend(zipf(
        distinct(without, &mut taken),
        (1.0 - share) * (1.0 - flemish),
    ));
    // Flemish names of the tail, as the French list has its share of them.
    let total = dutch_tail.total();
    pairs.extend(
        dutch_tail
            .items()
            .iter()
            .zip(dutch_tail.weights())
            .filter(|(n, _)| !taken.contains(&***n))
            .map(|(n, w)| (n.clone(), w / total * flemish)),
    );
    Weighted::new(pairs)
}

/// Whether `community` has a tail (the German lists carry no frequencies: no tail).
pub fn has_tail(community: Community) -> bool {
    community != Community::German
}

#[cfg(test)]
mod tests {
    use super::super::names::{coverage, lists, tail_names};
    use super::*;

    #[test]
    fn the_tail_is_long_and_never_outweighs_the_frequent_lists() {
        for community in [Community::Dutch, Community::French] {
            let list = &lists(community).last;
            let tail = tail_names(community).expect("a tail");
            let inhabitants = community.share() * address::BELGIUM;
            let persons = (1.0 - coverage(community)) * inhabitants;
            let rarest = list.weights().fold(f64::MAX, f64::min);
            let heaviest = tail.weights().fold(0.0, f64::max) / tail.total() * persons;
            eprintln!(
                "{community:?}: coverage {:.3}, {} tail names, heaviest {heaviest:.0} persons, rarest listed {rarest:.0}",
                coverage(community),
                tail.items().len()
            );
            assert!(tail.items().len() > 3_000, "{community:?}");
            // Of the order of the rarest listed names, not more.
            assert!(
                heaviest < 2.0 * rarest,
                "{community:?}: {heaviest}, {rarest}"
            );
            assert!(tail
                .items()
                .iter()
                .all(|n| is_name(n) && !list.items().contains(&&**n)));
            assert!(tail.items().iter().all(|n| !n.contains('-')));
        }
        // The list's share of names with a particle, by persons, is the tail's too.
        let dutch = tail_names(Community::Dutch).expect("a tail");
        let with: f64 = dutch
            .items()
            .iter()
            .zip(dutch.weights())
            .filter(|(n, _)| has_particle(n))
            .map(|(_, w)| w)
            .sum();
        let share = particle_share(&lists(Community::Dutch).last);
        assert!(
            (with / dutch.total() - share).abs() < 0.01,
            "{with} {share}"
        );
        assert!(dutch.items().iter().any(|n| &**n == "Van Antwerpen"));
    }
}
