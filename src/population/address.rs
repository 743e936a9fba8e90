//! Places: Belgian municipalities (embedded list, `data/be.cities.txt`), streets, house
//! numbers, synthetic postal codes, nationalities and foreign birth places.
//!
//! The municipality list carries neither a language nor a postal code. The language is
//! guessed from the name (a few explicit lists for Brussels and the German-speaking
//! municipalities, then Dutch and French spelling cues), which is good enough to give
//! Dutch speakers mostly Flemish addresses with Dutch street names and French speakers
//! Walloon ones. The postal code is **synthetic**: a stable hash of the name within the
//! ranges of the guessed region (Brussels 1000–1299, Flanders 1500–3999 and 8000–9992,
//! Wallonia 1300–1499 and 4000–7999, German-speaking 4700–4799).

use std::sync::LazyLock;

use rand::Rng;

use super::names::{Community, Weighted};
use crate::domain::Address;

/// The language region of a municipality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    Flemish,
    Walloon,
    /// The 19 municipalities of Brussels (bilingual, mostly French-speaking).
    Brussels,
    German,
}

/// Statbel, population by region on 1 January 2024: Belgium 11 763 650 inhabitants.
pub const BELGIUM: f64 = 11_763_650.0;

impl Region {
    /// The four regions, in the order of [`Region::index`].
    pub const ALL: [Region; 4] = [
        Region::Flemish,
        Region::Walloon,
        Region::Brussels,
        Region::German,
    ];

    /// 0 to 3: an index into per-region tables.
    pub fn index(self) -> usize {
        match self {
            Region::Flemish => 0,
            Region::Walloon => 1,
            Region::Brussels => 2,
            Region::German => 3,
        }
    }

    /// Inhabitants (Statbel, 1 January 2024): Flemish Region 6 821 770, Walloon Region
    /// 3 692 283 of which about 79 000 in the German-speaking community, Brussels-Capital
    /// 1 249 597.
    pub fn inhabitants(self) -> f64 {
        match self {
            Region::Flemish => 6_821_770.0,
            Region::Walloon => 3_692_283.0 - 79_000.0,
            Region::Brussels => 1_249_597.0,
            Region::German => 79_000.0,
        }
    }

    /// The share of the region's residents in each language community (by their names):
    /// Brussels is mostly French-speaking with a Dutch minority, a few French speakers
    /// live in Flanders (the facility municipalities) and Dutch speakers in Wallonia.
    pub fn community_mix(self) -> [(Community, f64); 3] {
        let (dutch, french, german) = match self {
            Region::Flemish => (0.97, 0.03, 0.0),
            Region::Walloon => (0.015, 0.985, 0.0),
            Region::Brussels => (0.15, 0.85, 0.0),
            Region::German => (0.0, 0.10, 0.90),
        };
        [
            (Community::Dutch, dutch),
            (Community::French, french),
            (Community::German, german),
        ]
    }

    /// The share of Belgians among the region's residents with a National Register
    /// number. Statbel, 1 January 2023: 13.4 % of the inhabitants are not Belgian, about
    /// a third of them in Brussels (where 36 % are foreigners), 10–11 % in Flanders and
    /// Wallonia, about a fifth in the German-speaking community.
    pub fn belgian_share(self) -> f64 {
        match self {
            Region::Flemish => 0.895,
            Region::Walloon => 0.89,
            Region::Brussels => 0.64,
            Region::German => 0.80,
        }
    }
}

/// The share of the population in `community`: the regions' inhabitants spread over the
/// communities by [`Region::community_mix`] (Dutch 58 %, French 41 %, German 0.6 %).
pub fn community_share(community: Community) -> f64 {
    Region::ALL
        .iter()
        .map(|region| {
            let share = region.community_mix()[community.index()].1;
            region.inhabitants() * share
        })
        .sum::<f64>()
        / BELGIUM
}

/// A Belgian municipality or section of one.
#[derive(Clone, Debug)]
pub struct Municipality {
    pub name: &'static str,
    pub region: Region,
    /// Synthetic, see the module documentation.
    pub postal_code: u16,
}

/// Brussels municipalities as named in the list (Dutch names), with their sections.
const BRUSSELS: [&str; 22] = [
    "Anderlecht",
    "Brussel",
    "Elsene",
    "Etterbeek",
    "Evere",
    "Ganshoren",
    "Haren",
    "Jette",
    "Koekelberg",
    "Laken",
    "Neder-Over-Heembeek",
    "Oudergem",
    "Schaarbeek",
    "Sint-Agatha-Berchem",
    "Sint-Gillis",
    "Sint-Jans-Molenbeek",
    "Sint-Joost-ten-Node",
    "Sint-Lambrechts-Woluwe",
    "Sint-Pieters-Woluwe",
    "Ukkel",
    "Vorst",
    "Watermaal-Bosvoorde",
];

/// German-speaking municipalities and sections.
const GERMAN: [&str; 30] = [
    "Amel",
    "Büllingen",
    "Burg-Reuland",
    "Bütgenbach",
    "Crombach",
    "Elsenborn",
    "Eupen",
    "Eynatten",
    "Hauset",
    "Heppenbach",
    "Hergenrath",
    "Kelmis",
    "Kettenis",
    "Lommersweiler",
    "Lontzen",
    "Manderfeld",
    "Meyerode",
    "Mürringen",
    "Neu-Moresnet",
    "Raeren",
    "Recht",
    "Reuland",
    "Rocherath",
    "Sankt-Vith",
    "Schönberg",
    "Thommen",
    "Walhorn",
    "Weywertz",
    "Wirtzfeld",
    "Gemmenich",
];

/// Inhabitants (thousands) and region of the largest municipalities; the others count 4.
const LARGE: [(&str, f64, Region); 46] = [
    ("Antwerpen", 530.0, Region::Flemish),
    ("Gent", 265.0, Region::Flemish),
    ("Charleroi", 200.0, Region::Walloon),
    ("Liège", 195.0, Region::Walloon),
    ("Brussel", 185.0, Region::Brussels),
    ("Schaarbeek", 130.0, Region::Brussels),
    ("Anderlecht", 120.0, Region::Brussels),
    ("Brugge", 118.0, Region::Flemish),
    ("Namur", 113.0, Region::Walloon),
    ("Leuven", 102.0, Region::Flemish),
    ("Sint-Jans-Molenbeek", 97.0, Region::Brussels),
    ("Mons", 95.0, Region::Walloon),
    ("Aalst", 88.0, Region::Flemish),
    ("Elsene", 87.0, Region::Brussels),
    ("Mechelen", 87.0, Region::Flemish),
    ("Ukkel", 83.0, Region::Brussels),
    ("La Louvière", 80.0, Region::Walloon),
    ("Hasselt", 80.0, Region::Flemish),
    ("Kortrijk", 78.0, Region::Flemish),
    ("Sint-Niklaas", 78.0, Region::Flemish),
    ("Oostende", 72.0, Region::Flemish),
    ("Tournai", 69.0, Region::Walloon),
    ("Genk", 67.0, Region::Flemish),
    ("Seraing", 64.0, Region::Walloon),
    ("Roeselare", 64.0, Region::Flemish),
    ("Mouscron", 59.0, Region::Walloon),
    ("Sint-Lambrechts-Woluwe", 58.0, Region::Brussels),
    ("Vorst", 56.0, Region::Brussels),
    ("Verviers", 55.0, Region::Walloon),
    ("Jette", 53.0, Region::Brussels),
    ("Etterbeek", 48.0, Region::Brussels),
    ("Beveren", 48.0, Region::Flemish),
    ("Dendermonde", 46.0, Region::Flemish),
    ("Turnhout", 45.0, Region::Flemish),
    ("Vilvoorde", 45.0, Region::Flemish),
    ("Evere", 43.0, Region::Brussels),
    ("Dilbeek", 43.0, Region::Flemish),
    ("Lokeren", 42.0, Region::Flemish),
    ("Sint-Truiden", 41.0, Region::Flemish),
    ("Herstal", 40.0, Region::Walloon),
    ("Mol", 37.0, Region::Flemish),
    ("Châtelet", 36.0, Region::Walloon),
    ("Wavre", 35.0, Region::Walloon),
    ("Arlon", 30.0, Region::Walloon),
    ("Waterloo", 30.0, Region::Walloon),
    ("Eupen", 20.0, Region::German),
];

/// Guesses the language of a municipality name from Dutch and French spelling cues:
/// positive is Dutch, negative French.
fn dutch_score(name: &str) -> i32 {
    let lower = name.to_lowercase();
    let mut score = 0;
    if lower.chars().any(|c| "éèêëâàçôûîï".contains(c)) {
        score -= 3;
    }
    let french_word = [
        "sur", "lez", "les", "en", "la", "le", "aux", "sous", "de", "du", "des",
    ]
    .iter()
    .any(|w| lower.contains(&format!("-{w}-")));
    if lower.starts_with("saint")
        || lower.starts_with("mont-")
        || lower.starts_with("la ")
        || lower.starts_with("le ")
        || lower.contains("-saint")
        || french_word
    {
        score -= 3;
    }
    if [
        "sint-",
        "'s",
        "oud",
        "nieuw",
        "groot-",
        "klein-",
        "neder",
        "over",
        "onze-lieve",
        "oost",
        "west",
        "noord",
        "zuid",
        "ter",
        "ten",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
        || lower.contains("-sint-")
    {
        score += 3;
    }
    const DUTCH_ENDINGS: [&str; 44] = [
        "kerke", "kerk", "gem", "hem", "hout", "beek", "berg", "broek", "dijk", "donk", "zele",
        "rode", "laar", "lo", "loo", "hove", "dorp", "meer", "zaal", "kapelle", "werp", "stad",
        "veld", "heide", "vliet", "wijk", "oord", "burg", "wezel", "ende", "inge", "ingen", "dam",
        "sel", "el", "ert", "ken", "ik", "eek", "ke", "aat", "oek", "ode", "aar",
    ];
    const FRENCH_ENDINGS: [&str; 43] = [
        "cq", "effe", "gre", "sart", "ine", "ville", "court", "mont", "ies", "eux", "aux", "oux",
        "ière", "elle", "ette", "age", "ange", "ain", "ay", "oy", "ée", "ois", "ont", "ines", "in",
        "ize", "val", "ry", "ri", "ly", "gny", "ieu", "ais", "ille", "ire", "on", "ant", "et",
        "ot", "es", "sse", "che", "ce",
    ];
    if DUTCH_ENDINGS.iter().any(|e| lower.ends_with(e)) {
        score += 2;
    }
    if FRENCH_ENDINGS.iter().any(|e| lower.ends_with(e)) {
        score -= 2;
    }
    if lower.starts_with('z') {
        score += 2;
    }
    let count = |pattern: &str| lower.matches(pattern).count() as i32;
    score += ["k", "w", "ij", "aa", "oo", "uu", "ae", "v"]
        .iter()
        .map(|p| count(p))
        .sum::<i32>();
    score -= ["qu", "x", "eu", "ou", "ai", "ch", "y", "gn"]
        .iter()
        .map(|p| count(p))
        .sum::<i32>();
    score
}

/// FNV-1a: a hash that never changes between Rust versions (postal codes must be stable).
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A synthetic postal code in the ranges of the region.
fn postal_code(name: &str, region: Region) -> u16 {
    let ranges: &[(u16, u16)] = match region {
        Region::Brussels => &[(1000, 1299)],
        Region::German => &[(4700, 4799)],
        Region::Flemish => &[(1500, 3999), (8000, 9992)],
        Region::Walloon => &[(1300, 1499), (4000, 4699), (4800, 7999)],
    };
    let size: u64 = ranges.iter().map(|(a, b)| u64::from(b - a + 1)).sum();
    let mut index = stable_hash(name) % size;
    for (first, last) in ranges {
        let span = u64::from(last - first + 1);
        if index < span {
            // index < span ≤ 10,000: fits.
            return first + index as u16;
        }
        index -= span;
    }
    ranges[0].0
}

fn region(name: &str) -> Region {
    if let Some((_, _, region)) = LARGE.iter().find(|(n, _, _)| *n == name) {
        *region
    } else if BRUSSELS.contains(&name) {
        Region::Brussels
    } else if GERMAN.contains(&name) {
        Region::German
    } else {
        let score = dutch_score(name);
        if score > 0 || (score == 0 && stable_hash(name).is_multiple_of(2)) {
            Region::Flemish
        } else {
            Region::Walloon
        }
    }
}

struct Places {
    municipalities: Vec<Municipality>,
    /// Municipalities (indices) for each community, weighted by size.
    by_community: [Weighted<usize>; 3],
    /// Municipalities (indices) of each region, weighted by size.
    by_region: [Weighted<usize>; 4],
}

static PLACES: LazyLock<Places> = LazyLock::new(|| {
    let municipalities: Vec<Municipality> = include_str!("data/be.cities.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|name| {
            let region = region(name);
            Municipality {
                name,
                region,
                postal_code: postal_code(name, region),
            }
        })
        .collect();
    let size = |m: &Municipality| {
        LARGE
            .iter()
            .find(|(n, _, _)| *n == m.name)
            .map_or(4.0, |(_, size, _)| *size)
    };
    let table = |community: Community| {
        Weighted::new(municipalities.iter().enumerate().map(|(i, m)| {
            let share = match (community, m.region) {
                (Community::Dutch, Region::Flemish)
                | (Community::French, Region::Walloon)
                | (Community::German, Region::German) => 1.0,
                (Community::French, Region::Brussels) => 0.9,
                (Community::Dutch, Region::Brussels) => 0.1,
                _ => 0.0,
            };
            (i, size(m) * share)
        }))
    };
    let by_community = [
        table(Community::Dutch),
        table(Community::French),
        table(Community::German),
    ];
    let by_region = Region::ALL.map(|region| {
        Weighted::new(
            municipalities
                .iter()
                .enumerate()
                .map(|(i, m)| (i, if m.region == region { size(m) } else { 0.0 })),
        )
    });
    Places {
        municipalities,
        by_community,
        by_region,
    }
});

/// All municipalities of the list.
pub fn municipalities() -> &'static [Municipality] {
    &PLACES.municipalities
}

/// A municipality where a person of `community` lives or was born: in the community's
/// region for 95 %, weighted by size (Antwerpen, Gent, Charleroi, Liège, Brussel…).
pub fn municipality<R: Rng + ?Sized>(rng: &mut R, community: Community) -> &'static Municipality {
    let community = if rng.random_bool(0.95) {
        community
    } else {
        // Dutch speakers in Wallonia and the other way round.
        match community {
            Community::Dutch => Community::French,
            Community::French | Community::German => Community::Dutch,
        }
    };
    let places = &*PLACES;
    &places.municipalities[*places.by_community[community.index()].sample(rng)]
}

/// Dutch street-name stems, to which a suffix of `data/nl_BE.street_suffixes.txt` is
/// joined ("Kerkstraat", "Molenweg", "Koning Albertlaan").
const DUTCH_STREETS: [&str; 48] = [
    "Kerk",
    "Molen",
    "Stations",
    "School",
    "Dorps",
    "Kapel",
    "Beek",
    "Linde",
    "Eiken",
    "Berken",
    "Populieren",
    "Wilgen",
    "Kastanje",
    "Bloemen",
    "Rozen",
    "Veld",
    "Heide",
    "Bos",
    "Zand",
    "Hoog",
    "Nieuw",
    "Kasteel",
    "Hof",
    "Brug",
    "Meer",
    "Markt",
    "Sint-Jans",
    "Sint-Pieters",
    "Koning Albert",
    "Koningin Astrid",
    "Leopold",
    "Gemeente",
    "Pastorij",
    "Klooster",
    "Abdij",
    "Akker",
    "Boomgaard",
    "Dries",
    "Kouter",
    "Nachtegalen",
    "Leeuweriken",
    "Zwaluwen",
    "Hazel",
    "Esdoorn",
    "Beuken",
    "Spoorweg",
    "Vaart",
    "Dijk",
];

/// How common each Dutch suffix is (the others count 1).
const DUTCH_SUFFIX_WEIGHTS: [(&str, f64); 6] = [
    ("straat", 55.0),
    ("laan", 12.0),
    ("weg", 12.0),
    ("baan", 5.0),
    ("dreef", 4.0),
    ("steeg", 2.0),
];

/// French street types and how common they are.
const FRENCH_TYPES: [(&str, f64); 9] = [
    ("Rue", 60.0),
    ("Avenue", 15.0),
    ("Chemin", 7.0),
    ("Chaussée", 5.0),
    ("Place", 3.0),
    ("Allée", 3.0),
    ("Boulevard", 2.0),
    ("Clos", 2.0),
    ("Sentier", 1.0),
];

/// What follows the French street type ("Rue de l'Église", "Avenue des Tilleuls").
const FRENCH_STREETS: [&str; 40] = [
    "de l'Église",
    "du Moulin",
    "de la Gare",
    "de la Station",
    "des Écoles",
    "du Centre",
    "du Château",
    "des Champs",
    "du Bois",
    "de la Fontaine",
    "des Prés",
    "de la Paix",
    "du Cimetière",
    "des Fleurs",
    "des Combattants",
    "de la Libération",
    "du Village",
    "des Alliés",
    "Haute",
    "Neuve",
    "Saint-Pierre",
    "Saint-Martin",
    "Albert Ier",
    "Reine Astrid",
    "Léopold II",
    "Victor Hugo",
    "Émile Vandervelde",
    "Jules Destrée",
    "de la Croix",
    "des Tilleuls",
    "des Hêtres",
    "des Chênes",
    "des Peupliers",
    "de la Chapelle",
    "du Pont",
    "du Marché",
    "Royale",
    "de la Ferme",
    "du Stade",
    "des Vergers",
];

/// Where a "Chaussée de …" leads.
const CHAUSSEE_TO: [&str; 10] = [
    "Bruxelles",
    "Namur",
    "Mons",
    "Liège",
    "Charleroi",
    "Louvain",
    "Wavre",
    "Tournai",
    "Marche",
    "Nivelles",
];

/// German street-name stems ("Kirchstraße", "Mühlenweg").
const GERMAN_STREETS: [&str; 16] = [
    "Kirch", "Haupt", "Bahnhof", "Schul", "Dorf", "Mühlen", "Berg", "Wald", "Garten", "Linden",
    "Birken", "Eichen", "Feld", "Wiesen", "Markt", "Kloster",
];

struct Streets {
    dutch_suffixes: Weighted<&'static str>,
    french_types: Weighted<&'static str>,
}

static STREETS: LazyLock<Streets> = LazyLock::new(|| Streets {
    dutch_suffixes: Weighted::new(
        include_str!("data/nl_BE.street_suffixes.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|suffix| {
                let weight = DUTCH_SUFFIX_WEIGHTS
                    .iter()
                    .find(|(s, _)| *s == suffix)
                    .map_or(1.0, |(_, w)| *w);
                (suffix, weight)
            }),
    ),
    french_types: Weighted::new(FRENCH_TYPES),
});

fn pick<'a, R: Rng + ?Sized>(rng: &mut R, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// A street name in the language of the region (Brussels: French for 80 %).
pub fn street<R: Rng + ?Sized>(rng: &mut R, region: Region) -> String {
    let french = match region {
        Region::Walloon => true,
        Region::Flemish => false,
        Region::Brussels => rng.random_bool(0.8),
        Region::German => {
            let stem = pick(rng, &GERMAN_STREETS);
            let suffix = if rng.random_bool(0.75) {
                "straße"
            } else {
                "weg"
            };
            return format!("{stem}{suffix}");
        }
    };
    if french {
        let kind = *STREETS.french_types.sample(rng);
        if kind == "Chaussée" {
            format!("Chaussée de {}", pick(rng, &CHAUSSEE_TO))
        } else {
            format!("{kind} {}", pick(rng, &FRENCH_STREETS))
        }
    } else {
        let stem = pick(rng, &DUTCH_STREETS);
        format!("{stem}{}", STREETS.dutch_suffixes.sample(rng))
    }
}

/// A house number: small numbers are the most common, a few carry a letter ("12A").
pub fn house_number<R: Rng + ?Sized>(rng: &mut R) -> String {
    let u: f64 = rng.random();
    // Exponential with mean ~35, capped; at least 1. The cast of a value in 1..=400 is exact.
    let number = (1.0 - (1.0 - u).ln() * 35.0).min(400.0) as u32;
    if rng.random_bool(0.04) {
        format!("{number}{}", pick(rng, &["A", "B", "C"]))
    } else {
        number.to_string()
    }
}

/// A box number for 12 % of the addresses (flats): "3", "12", "101".
pub fn post_box<R: Rng + ?Sized>(rng: &mut R) -> Option<String> {
    if !rng.random_bool(0.12) {
        return None;
    }
    Some(if rng.random_bool(0.2) {
        format!(
            "{}0{}",
            rng.random_range(1..=6u32),
            rng.random_range(1..=4u32)
        )
    } else {
        rng.random_range(1..=20u32).to_string()
    })
}

/// A region of residence, with the regions' shares of the inhabitants.
pub fn region_of_residence<R: Rng + ?Sized>(rng: &mut R) -> Region {
    static REGIONS: LazyLock<Weighted<Region>> =
        LazyLock::new(|| Weighted::new(Region::ALL.map(|r| (r, r.inhabitants()))));
    *REGIONS.sample(rng)
}

/// The language community of a resident of `region`, by [`Region::community_mix`].
pub fn community_in<R: Rng + ?Sized>(rng: &mut R, region: Region) -> Community {
    static MIX: LazyLock<[Weighted<Community>; 4]> =
        LazyLock::new(|| Region::ALL.map(|r| Weighted::new(r.community_mix())));
    *MIX[region.index()].sample(rng)
}

/// A Belgian address in `region`, in a municipality drawn by size.
pub fn address_in<R: Rng + ?Sized>(rng: &mut R, region: Region) -> Address {
    let places = &*PLACES;
    let municipality = &places.municipalities[*places.by_region[region.index()].sample(rng)];
    Address {
        street: street(rng, municipality.region),
        house_number: house_number(rng),
        post_box: post_box(rng),
        postal_code: municipality.postal_code.to_string(),
        municipality: municipality.name.to_string(),
        country: "BE".to_string(),
    }
}

/// A Belgian address of a person of `community`.
pub fn address<R: Rng + ?Sized>(rng: &mut R, community: Community) -> Address {
    let municipality = municipality(rng, community);
    Address {
        street: street(rng, municipality.region),
        house_number: house_number(rng),
        post_box: post_box(rng),
        postal_code: municipality.postal_code.to_string(),
        municipality: municipality.name.to_string(),
        country: "BE".to_string(),
    }
}

/// A foreign nationality: its weight among the foreigners living in Belgium, and cities
/// where its nationals are born.
pub struct Country {
    pub code: &'static str,
    pub weight: f64,
    pub cities: &'static [&'static str],
}

/// The most frequent foreign nationalities in Belgium (order of magnitude of the Statbel
/// figures) and a few of their cities.
pub const COUNTRIES: [Country; 22] = [
    Country {
        code: "FR",
        weight: 15.0,
        cities: &["Paris", "Lille", "Lyon", "Marseille", "Reims", "Metz"],
    },
    Country {
        code: "NL",
        weight: 14.0,
        cities: &[
            "Amsterdam",
            "Rotterdam",
            "Maastricht",
            "Eindhoven",
            "Breda",
            "Den Haag",
        ],
    },
    Country {
        code: "RO",
        weight: 10.0,
        cities: &["București", "Cluj-Napoca", "Iași", "Constanța", "Timișoara"],
    },
    Country {
        code: "IT",
        weight: 10.0,
        cities: &["Roma", "Milano", "Napoli", "Palermo", "Torino", "Bari"],
    },
    Country {
        code: "MA",
        weight: 8.0,
        cities: &[
            "Casablanca",
            "Rabat",
            "Tanger",
            "Nador",
            "Al Hoceïma",
            "Oujda",
        ],
    },
    Country {
        code: "ES",
        weight: 6.0,
        cities: &["Madrid", "Barcelona", "Valencia", "Sevilla"],
    },
    Country {
        code: "PL",
        weight: 6.0,
        cities: &["Warszawa", "Kraków", "Wrocław", "Poznań", "Gdańsk"],
    },
    Country {
        code: "PT",
        weight: 5.0,
        cities: &["Lisboa", "Porto", "Braga", "Coimbra"],
    },
    Country {
        code: "BG",
        weight: 4.0,
        cities: &["Sofia", "Plovdiv", "Varna"],
    },
    Country {
        code: "DE",
        weight: 4.0,
        cities: &["Aachen", "Köln", "Berlin", "München", "Düsseldorf"],
    },
    Country {
        code: "TR",
        weight: 3.0,
        cities: &["İstanbul", "Ankara", "Emirdağ", "Kayseri"],
    },
    Country {
        code: "UA",
        weight: 3.0,
        cities: &["Kyiv", "Lviv", "Kharkiv"],
    },
    Country {
        code: "SY",
        weight: 2.0,
        cities: &["Damascus", "Aleppo"],
    },
    Country {
        code: "IN",
        weight: 2.0,
        cities: &["Mumbai", "Delhi", "Bengaluru"],
    },
    Country {
        code: "CD",
        weight: 2.0,
        cities: &["Kinshasa", "Lubumbashi"],
    },
    Country {
        code: "GR",
        weight: 1.0,
        cities: &["Athína", "Thessaloníki"],
    },
    Country {
        code: "LU",
        weight: 1.0,
        cities: &["Luxembourg", "Esch-sur-Alzette"],
    },
    Country {
        code: "US",
        weight: 1.0,
        cities: &["New York", "Chicago"],
    },
    Country {
        code: "CM",
        weight: 1.0,
        cities: &["Douala", "Yaoundé"],
    },
    Country {
        code: "AF",
        weight: 1.0,
        cities: &["Kabul"],
    },
    Country {
        code: "DZ",
        weight: 1.0,
        cities: &["Alger", "Oran"],
    },
    Country {
        code: "BR",
        weight: 1.0,
        cities: &["São Paulo", "Rio de Janeiro"],
    },
];

static FOREIGN: LazyLock<[Weighted<usize>; 3]> = LazyLock::new(|| {
    // Neighbours are more frequent in the community that speaks their language.
    let table = |community: Community| {
        Weighted::new(COUNTRIES.iter().enumerate().map(|(i, c)| {
            let boost = match (community, c.code) {
                (Community::Dutch, "NL") | (Community::French, "FR" | "LU") => 3.0,
                (Community::German, "DE") => 20.0,
                (Community::Dutch, "FR") | (Community::French, "NL") => 0.3,
                _ => 1.0,
            };
            (i, c.weight * boost)
        }))
    };
    [
        table(Community::Dutch),
        table(Community::French),
        table(Community::German),
    ]
});

/// A foreign country, as frequent among the foreigners of `community`'s region.
pub fn foreign_country<R: Rng + ?Sized>(rng: &mut R, community: Community) -> &'static Country {
    &COUNTRIES[*FOREIGN[community.index()].sample(rng)]
}

/// A city of `country` (a foreign birth place).
pub fn foreign_city<R: Rng + ?Sized>(rng: &mut R, country: &Country) -> &'static str {
    pick(rng, country.cities)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn municipalities_are_classified_plausibly() {
        let region_of = |name: &str| {
            municipalities()
                .iter()
                .find(|m| m.name == name)
                .unwrap_or_else(|| panic!("{name} missing"))
                .region
        };
        for name in [
            "Antwerpen",
            "Gent",
            "Brugge",
            "Kortrijk",
            "Sint-Niklaas",
            "'s-Gravenwezel",
            "Westrozebeke",
        ] {
            assert_eq!(region_of(name), Region::Flemish, "{name}");
        }
        for name in [
            "Liège",
            "Namur",
            "Saint-Ghislain",
            "Mons-lez-Liège",
            "Péronnes-lez-Binche",
            "Waterloo",
            "Aywaille",
        ] {
            assert_eq!(region_of(name), Region::Walloon, "{name}");
        }
        assert_eq!(region_of("Eupen"), Region::German);
        assert_eq!(region_of("Schaarbeek"), Region::Brussels);
        let flemish = municipalities()
            .iter()
            .filter(|m| m.region == Region::Flemish)
            .count();
        let share = flemish as f64 / municipalities().len() as f64;
        assert!((0.35..0.65).contains(&share), "{share}");
    }

    #[test]
    fn postal_codes_are_stable_and_in_range() {
        for m in municipalities() {
            assert!((1000..=9992).contains(&m.postal_code), "{}", m.name);
            assert_eq!(m.postal_code, postal_code(m.name, m.region));
        }
        // The hash must not change between versions: the same file for the same seed.
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c); // FNV-1a test vector
    }

    #[test]
    fn streets_speak_the_language_of_the_region() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for _ in 0..200 {
            let dutch = street(&mut rng, Region::Flemish);
            assert!(
                DUTCH_STREETS.iter().any(|s| dutch.starts_with(s)),
                "{dutch}"
            );
            let french = street(&mut rng, Region::Walloon);
            assert!(
                FRENCH_TYPES.iter().any(|(t, _)| french.starts_with(t)),
                "{french}"
            );
            let number = house_number(&mut rng);
            assert!(
                number.starts_with(|c: char| c.is_ascii_digit() && c != '0'),
                "{number}"
            );
        }
    }

    #[test]
    fn foreign_cities_are_texts() {
        for country in &COUNTRIES {
            assert_eq!(country.code.len(), 2);
            assert!(!country.cities.is_empty());
        }
    }
}
