//! The measurement the phonetic encoder of `domain::name_search` was chosen by: for each
//! candidate encoder, with and without the spelling rewrites, on the last names of the
//! population generator (the Statbel lists and their long tail, weighted by how many
//! persons bear them):
//!
//! - the share of the DOMAIN.md §8 variant pairs, and of each last-name corruption kind
//!   (`corruption.rs`), whose query keeps a key shared with the person (the recall of the
//!   block — what the candidate scorer can never repair);
//! - the block size: the expected number of persons per million sharing a key with a query
//!   of a name drawn by frequency (before the birth-date window divides it);
//! - the keys per name (the index's size) and the cost of the codes of one name.
//!
//! Run: `cargo test --release --test search_quality -- --ignored --nocapture encoders`.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use raas::domain::name_search::{last_name_forms, spelling_rewrite};
use raas::population::names::{coverage, lists, tail_names, Community};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rphonetic::{
    Caverphone2, Cologne, DaitchMokotoffSoundex, DaitchMokotoffSoundexBuilder, DoubleMetaphone,
    Encoder, Metaphone, Nysiis, RefinedSoundex, Soundex,
};

use super::corruption::Kind;

/// The variant groups of DOMAIN.md §8: every name of a group must find every other one.
pub const VARIANT_GROUPS: &[&[&str]] = &[
    &["Van den Berghe", "Vandenberghe", "Berghe"],
    &["De Smet", "De Smedt", "Desmet"],
    &["D'Hondt", "Dhondt"],
    &["Claes", "Claeys"],
    &["Peeters", "Pieters"],
    &["Mertens", "Maertens", "Martens"],
    &["Hendrickx", "Hendrikx", "Hendriks"],
    &["Lefebvre", "Lefèvre", "Lefevre"],
    &["De Schrijver", "De Schryver"],
    &["Müller", "Mueller"],
    &["Peeters-Janssens", "Peeters"],
    &["Peeters-Janssens", "Janssens"],
];

/// The last names of the generated population with the share of persons bearing each.
pub fn last_name_shares() -> Vec<(String, f64)> {
    let mut shares: HashMap<String, f64> = HashMap::new();
    for community in Community::ALL {
        let share = community.share();
        let list = &lists(community).last;
        let covered = coverage(community);
        for (name, weight) in list.items().iter().zip(list.weights()) {
            *shares.entry(name.to_string()).or_default() += share * covered * weight / list.total();
        }
        if let Some(tail) = tail_names(community) {
            for (name, weight) in tail.items().iter().zip(tail.weights()) {
                *shares.entry(name.to_string()).or_default() +=
                    share * (1.0 - covered) * weight / tail.total();
            }
        }
    }
    let total: f64 = shares.values().sum();
    let mut out: Vec<(String, f64)> = shares.into_iter().map(|(n, s)| (n, s / total)).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A candidate: its codes for one normalised form.
struct Candidate {
    label: String,
    codes: Box<dyn Fn(&str) -> Vec<String>>,
}

fn rules_of_daitch_mokotoff() -> Option<DaitchMokotoffSoundex> {
    // The rule file ships in the crate's sources, not in its default build.
    let home = std::env::var("CARGO_HOME")
        .ok()
        .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.cargo")))?;
    let registry = std::fs::read_dir(format!("{home}/registry/src")).ok()?;
    for index in registry.flatten() {
        let path = index.path().join("rphonetic-4.0.0/rules/dmrules.txt");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let text: &'static str = Box::leak(text.into_boxed_str());
            return DaitchMokotoffSoundexBuilder::with_rules(text).build().ok();
        }
    }
    None
}

fn candidates() -> Vec<Candidate> {
    type Encode = Box<dyn Fn(&str) -> Vec<String>>;
    let mut encoders: Vec<(&str, Encode)> = vec![
        ("Cologne", Box::new(|s: &str| vec![Cologne.encode(s)])),
        (
            "Double Metaphone 4",
            Box::new(|s: &str| vec![DoubleMetaphone::default().encode(s)]),
        ),
        (
            "Double Metaphone 8",
            Box::new(|s: &str| vec![DoubleMetaphone::new(Some(8)).encode(s)]),
        ),
        (
            "Double Metaphone 8 + alternate",
            Box::new(|s: &str| {
                let r = DoubleMetaphone::new(Some(8)).double_metaphone(s);
                vec![r.primary(), r.alternate()]
            }),
        ),
        (
            "Metaphone 8",
            Box::new(|s: &str| vec![Metaphone::new(Some(8)).encode(s)]),
        ),
        (
            "NYSIIS",
            Box::new(|s: &str| vec![Nysiis::new(false).encode(s)]),
        ),
        (
            "Soundex",
            Box::new(|s: &str| vec![Soundex::default().encode(s)]),
        ),
        (
            "Refined Soundex",
            Box::new(|s: &str| vec![RefinedSoundex::default().encode(s)]),
        ),
        (
            "Caverphone 2",
            Box::new(|s: &str| vec![Caverphone2.encode(s)]),
        ),
        (
            "Cologne + Double Metaphone 8",
            Box::new(|s: &str| {
                vec![
                    format!("c{}", Cologne.encode(s)),
                    format!("m{}", DoubleMetaphone::new(Some(8)).encode(s)),
                ]
            }),
        ),
    ];
    if let Some(dm) = rules_of_daitch_mokotoff() {
        let dm2 = dm.clone();
        encoders.push((
            "Daitch-Mokotoff",
            Box::new(move |s: &str| dm.inner_soundex(s, false)),
        ));
        encoders.push((
            "Daitch-Mokotoff branching",
            Box::new(move |s: &str| dm2.inner_soundex(s, true)),
        ));
    }
    let mut out = Vec::new();
    for (label, encode) in encoders {
        let encode: std::rc::Rc<dyn Fn(&str) -> Vec<String>> = encode.into();
        let plain = encode.clone();
        out.push(Candidate {
            label: label.to_string(),
            codes: Box::new(move |s: &str| plain(s)),
        });
        out.push(Candidate {
            label: format!("{label} + rewrites"),
            codes: Box::new(move |s: &str| encode(&spelling_rewrite(s))),
        });
    }
    out
}

/// The codes of a last name: those of each of its forms, empty codes left out.
fn codes_of(candidate: &Candidate, last_name: &str) -> HashSet<String> {
    last_name_forms(last_name)
        .iter()
        .flat_map(|f| (candidate.codes)(f))
        .filter(|c| !c.is_empty())
        .collect()
}

struct Sampler {
    names: Vec<(String, f64)>,
    cumulative: Vec<f64>,
}

impl Sampler {
    fn new(names: Vec<(String, f64)>) -> Sampler {
        let mut total = 0.0;
        let cumulative = names
            .iter()
            .map(|(_, s)| {
                total += s;
                total
            })
            .collect();
        Sampler { names, cumulative }
    }

    fn draw<R: Rng>(&self, rng: &mut R) -> &str {
        let x = rng.random::<f64>() * self.cumulative[self.cumulative.len() - 1];
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.names[i.min(self.names.len() - 1)].0
    }
}

/// Query/person pairs of each last-name corruption kind, persons drawn by frequency
/// (double names made of two drawn names).
pub fn corrupted_pairs(samples: usize, seed: u64) -> Vec<(Kind, Vec<(String, String)>)> {
    let sampler = Sampler::new(last_name_shares());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Kind::LAST_NAME
        .iter()
        .map(|&kind| {
            let mut pairs = Vec::new();
            let mut attempts = 0;
            while pairs.len() < samples && attempts < samples * 2_000 {
                attempts += 1;
                let person = if kind == Kind::DoubleNameCut {
                    format!("{}-{}", sampler.draw(&mut rng), sampler.draw(&mut rng))
                } else {
                    sampler.draw(&mut rng).to_string()
                };
                if let Some(query) = kind.last_name(&person, &mut rng) {
                    if query != person {
                        pairs.push((query, person));
                    }
                }
            }
            (kind, pairs)
        })
        .collect()
}

pub fn compare_encoders() -> String {
    let shares = last_name_shares();
    let pairs = corrupted_pairs(1_000, 9);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let sampler = Sampler::new(shares.clone());
    let frequent_queries: Vec<String> = (0..2_000)
        .map(|_| sampler.draw(&mut rng).to_string())
        .collect();
    let variant_pairs: Vec<(&str, &str)> = VARIANT_GROUPS
        .iter()
        .flat_map(|g| {
            g.iter()
                .flat_map(move |a| g.iter().filter(move |b| *b != a).map(move |b| (*a, *b)))
        })
        .collect();

    let mut table = String::new();
    table.push_str(&format!(
        "{} last names, {} variant pairs, {} corrupted names per kind\n\n",
        shares.len(),
        variant_pairs.len(),
        pairs[0].1.len()
    ));
    table.push_str("| encoder | §8 pairs |");
    for (kind, _) in &pairs {
        table.push_str(&format!(" {} |", kind.label()));
    }
    table.push_str(" all kinds | block /1M | keys/name | µs/name |\n|---|---|");
    for _ in &pairs {
        table.push_str("---|");
    }
    table.push_str("---|---|---|---|\n");

    for candidate in candidates() {
        let started = Instant::now();
        let person_codes: Vec<HashSet<String>> = shares
            .iter()
            .map(|(n, _)| codes_of(&candidate, n))
            .collect();
        let micros = started.elapsed().as_secs_f64() * 1e6 / shares.len() as f64;
        let mut by_code: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, codes) in person_codes.iter().enumerate() {
            for c in codes {
                by_code.entry(c.as_str()).or_default().push(i);
            }
        }
        let keys_per_name: f64 = person_codes
            .iter()
            .zip(&shares)
            .map(|(c, (_, s))| c.len() as f64 * s)
            .sum();
        let shares_key = |query: &str, person: &str| {
            let q = codes_of(&candidate, query);
            codes_of(&candidate, person).iter().any(|c| q.contains(c))
        };
        let found = variant_pairs
            .iter()
            .filter(|(q, p)| shares_key(q, p))
            .count();
        table.push_str(&format!(
            "| {} | {}/{} |",
            candidate.label,
            found,
            variant_pairs.len()
        ));
        let (mut kept, mut all) = (0, 0);
        for (_, kind_pairs) in &pairs {
            let k = kind_pairs.iter().filter(|(q, p)| shares_key(q, p)).count();
            kept += k;
            all += kind_pairs.len();
            table.push_str(&format!(
                " {:.3} |",
                k as f64 / kind_pairs.len().max(1) as f64
            ));
        }
        let block: f64 = frequent_queries
            .iter()
            .map(|q| {
                let mut seen = HashSet::new();
                codes_of(&candidate, q)
                    .iter()
                    .flat_map(|c| by_code.get(c.as_str()).into_iter().flatten())
                    .filter(|&&i| seen.insert(i))
                    .map(|&i| shares[i].1)
                    .sum::<f64>()
            })
            .sum::<f64>()
            / frequent_queries.len() as f64;
        table.push_str(&format!(
            " {:.3} | {:.0} | {:.2} | {:.2} |\n",
            kept as f64 / all as f64,
            block * 1e6,
            keys_per_name,
            micros
        ));
    }
    table
}
