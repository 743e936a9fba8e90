//! The keys a phonetic search blocks candidates by.
//!
//! A person gets one *search key* per form of its last name and one for its first given
//! name; a search computes the same keys from its criteria and looks for persons sharing
//! one of them within its birth-date windows (`search_criteria::birth_windows`). Ranking
//! the candidates found is `candidate_score`'s business.
//!
//! Every name is folded to ASCII first (`identity_check::normalise_name`), so an encoder
//! never sees anything but `a`–`z` and digits.

use rphonetic::{Cologne, Encoder};

use super::identity_check::{normalise_name, NameKey, PARTICLES};

/// The version of the key derivation: the index is rebuilt when it changes. Bump it with
/// every change to what [`person_keys`] gives for a person.
pub const KEY_VERSION: i32 = 2;

/// Characters of a name looked at: a longer one is cut there (no register name comes
/// close), so comparing names stays cheap whatever a request holds.
pub const MAX_NAME_CHARS: usize = 120;

/// `name` cut to its first [`MAX_NAME_CHARS`] characters.
pub fn bounded(name: &str) -> &str {
    match name.char_indices().nth(MAX_NAME_CHARS) {
        Some((end, _)) => &name[..end],
        None => name,
    }
}

/// Last-name forms kept at most (a name of many words gives no more keys than this).
pub const MAX_LAST_NAME_FORMS: usize = 6;

/// The forms under which a last name can be looked for, normalised and glued (`ij` = `y`):
/// the whole name (`vandenberghe`), the name without its particles (`berghe`), and each
/// part of a double name (`Peeters-Janssens` → `peeters`, `janssens`).
pub fn last_name_forms(last_name: &str) -> Vec<String> {
    let last_name = bounded(last_name);
    let mut forms = Vec::new();
    let mut add = |form: &str| {
        if !form.is_empty() && forms.len() < MAX_LAST_NAME_FORMS && !forms.iter().any(|f| f == form)
        {
            forms.push(form.to_string());
        }
    };
    let whole = NameKey::new(last_name);
    add(whole.glued());
    add(whole.core());
    let normalised = normalise_name(last_name);
    let words: Vec<&str> = normalised
        .split(' ')
        .filter(|w| !w.is_empty() && !PARTICLES.contains(w))
        .collect();
    if words.len() > 1 {
        for part in last_name.split(['-', '/']) {
            let key = NameKey::new(part);
            add(key.glued());
            add(key.core());
        }
        for word in &words {
            add(NameKey::new(word).glued());
        }
    }
    forms
}

/// The words of given names, normalised: `Jean-Pierre Marie` → `jean`, `pierre`, `marie`.
pub fn given_name_words(names: &str) -> Vec<String> {
    normalise_name(bounded(names))
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Dutch, French and German spellings of one sound, written alike before encoding, in this
/// order (on the normalised, glued form): see the module documentation for what each one
/// gains.
pub const SPELLING_REWRITES: &[(&str, &str)] = &[
    ("ij", "y"),
    ("ae", "a"),
    ("ue", "u"),
    ("ck", "k"),
    ("dt", "t"),
    ("ph", "f"),
    ("gh", "g"),
    ("th", "t"),
    ("bv", "v"),
];

/// `form` (ASCII) with [`SPELLING_REWRITES`] applied.
pub fn spelling_rewrite(form: &str) -> String {
    let mut out: String = form.chars().filter(char::is_ascii_alphanumeric).collect();
    out.make_ascii_lowercase();
    for (from, to) in SPELLING_REWRITES {
        if out.contains(from) {
            out = out.replace(from, to);
        }
    }
    out
}

/// The phonetic code of a normalised form: Dutch and French spellings of one sound are
/// written alike first ([`spelling_rewrite`]), then encoded.
pub fn phonetic_code(form: &str) -> String {
    let rewritten = spelling_rewrite(form);
    if rewritten.is_empty() {
        return String::new();
    }
    Cologne.encode(&rewritten)
}

/// Which name a key is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    LastName = 1,
    FirstName = 2,
}

/// A search key as stored: a 64-bit FNV-1a hash of the kind and the phonetic code.
fn key(kind: KeyKind, code: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in std::iter::once(kind as u8).chain(code.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// Given-name words a person is indexed under at most (its first names in civil order).
pub const MAX_GIVEN_NAME_KEYS: usize = 4;

/// The keys a person is found by: its last-name forms and the words of its given names
/// (at most [`MAX_GIVEN_NAME_KEYS`], initials left out), so that any of its given names
/// finds it in a narrow birth-date window, in whatever order they are asked.
pub fn person_keys(last_name: &str, first_names: &[&str]) -> Vec<i64> {
    let mut keys: Vec<i64> = last_name_forms(last_name)
        .iter()
        .map(|f| phonetic_code(f))
        .filter(|c| !c.is_empty())
        .map(|c| key(KeyKind::LastName, &c))
        .collect();
    keys.extend(
        first_names
            .iter()
            .flat_map(|n| given_name_words(n))
            .filter(|w| w.len() > 1)
            .take(MAX_GIVEN_NAME_KEYS)
            .map(|w| phonetic_code(&w))
            .filter(|c| !c.is_empty())
            .map(|c| key(KeyKind::FirstName, &c)),
    );
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The keys a search looks under: its last-name keys (every birth-date window), and its
/// given-name keys (narrow windows only: a first name alone is shared by too many).
pub struct QueryKeys {
    pub last_name: Vec<i64>,
    pub given_names: Vec<i64>,
}

/// The keys of a search for `last_name` with the given names `given` (first and middle
/// names; an initial gives no key).
pub fn query_keys<'a>(last_name: &str, given: impl Iterator<Item = &'a str>) -> QueryKeys {
    let mut last: Vec<i64> = last_name_forms(last_name)
        .iter()
        .map(|f| phonetic_code(f))
        .filter(|c| !c.is_empty())
        .map(|c| key(KeyKind::LastName, &c))
        .collect();
    last.sort_unstable();
    last.dedup();
    let mut given_names: Vec<i64> = given
        .flat_map(given_name_words)
        .filter(|w| w.len() > 1)
        .take(MAX_GIVEN_NAME_KEYS)
        .map(|w| phonetic_code(&w))
        .filter(|c| !c.is_empty())
        .map(|c| key(KeyKind::FirstName, &c))
        .collect();
    given_names.sort_unstable();
    given_names.dedup();
    QueryKeys {
        last_name: last,
        given_names,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn particles_and_double_names_give_their_forms() {
        assert_eq!(
            last_name_forms("Van den Berghe"),
            ["vandenberghe", "berghe"]
        );
        assert_eq!(last_name_forms("Vandenberghe"), ["vandenberghe", "berghe"]);
        let double = last_name_forms("Peeters-Janssens");
        assert!(double.contains(&"peeters".to_string()));
        assert!(double.contains(&"janssens".to_string()));
    }

    #[test]
    fn a_person_is_found_under_the_keys_of_its_variants() {
        let person = person_keys("Vandenberghe", &["Jan"]);
        for variant in ["Van den Berghe", "Berghe", "VAN DEN BERGHE"] {
            let q = query_keys(variant, std::iter::empty());
            assert!(q.last_name.iter().any(|k| person.contains(k)), "{variant}");
        }
    }

    /// The variant groups of DOMAIN.md §8: every name of a group is found by every other.
    const VARIANT_GROUPS: &[&[&str]] = &[
        &["Van den Berghe", "Vandenberghe", "Berghe", "Vanden Berghe"],
        &["De Smet", "De Smedt", "Desmet"],
        &["D'Hondt", "Dhondt"],
        &["Claes", "Claeys"],
        &["Peeters", "Pieters"],
        &["Mertens", "Maertens", "Martens"],
        &["Hendrickx", "Hendrikx", "Hendriks"],
        &["Lefebvre", "Lefèvre", "Lefevre"],
        &["De Schrijver", "De Schryver"],
        &["Müller", "Mueller"],
    ];

    fn finds(asked: &str, person: &str) -> bool {
        let keys = person_keys(person, &[]);
        query_keys(asked, std::iter::empty())
            .last_name
            .iter()
            .any(|k| keys.contains(k))
    }

    #[test]
    fn every_variant_finds_its_twins() {
        for group in VARIANT_GROUPS {
            for asked in *group {
                for person in *group {
                    assert!(finds(asked, person), "{asked} → {person}");
                }
            }
        }
    }

    #[test]
    fn a_double_name_is_found_by_either_part() {
        for asked in [
            "Peeters",
            "Janssens",
            "Peeters Janssens",
            "Peeters-Janssens",
        ] {
            assert!(finds(asked, "Peeters-Janssens"), "{asked}");
        }
        assert!(finds("Peeters-Janssens", "Peeters"));
    }

    #[test]
    fn different_names_keep_different_keys() {
        for (a, b) in [
            ("Van den Berghe", "Van Damme"),
            ("Peeters", "Claes"),
            ("Dupont", "Lambert"),
        ] {
            assert!(!finds(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn an_initial_gives_no_given_name_key_but_a_name_does() {
        assert!(query_keys("Peeters", ["J."].into_iter())
            .given_names
            .is_empty());
        let jan = query_keys("Peeters", ["Marie Jan"].into_iter()).given_names;
        let person = person_keys("Peeters", &["Jan", "Marie"]);
        assert!(jan.iter().any(|k| person.contains(k)));
    }

    #[test]
    fn anything_at_all_gives_keys_without_panicking() {
        for name in [
            "Øster",
            "Đorđević",
            "Müller",
            "",
            "🙂",
            "\u{0}",
            "ß",
            "'t Hooft",
        ] {
            let _ = person_keys(name, &[name]);
            let _ = query_keys(name, [name].into_iter());
        }
    }
}
