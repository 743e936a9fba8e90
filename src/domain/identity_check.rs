//! Identity verification: does the identity an integrator claims fit the person the authentic
//! source knows under that number?
//!
//! A registration may carry `personData { lastName, firstName?, birthDate, gender? }`. [`check`]
//! compares it with the source's [`Identity`] and lists every field that differs, with the
//! value as sent; an empty list accepts the claim. The check guards against a *wrong number*
//! (another person's NISS), not against spelling. Members of one family share a last name,
//! so birth date, first name and gender are what tell persons apart; the name rules tolerate
//! what an honest integrator's data plausibly differ by (accents, case, particle spacing,
//! spelling variants, a slip of one letter) and refuse what makes another name.
//!
//! # Names: normalisation
//!
//! 1. Fold to ASCII (`deunicode`) and to lower case: accents go (Lefèvre → lefevre), ß → ss,
//!    æ → ae, œ → oe, ø → o, đ → d, ł → l; combining marks vanish, so a decomposed é
//!    (e + U+0301) is an e. Umlauts fold to the bare vowel: Müller = Muller exactly, and
//!    Müller / Mueller are one inserted letter apart (accepted below), not equal.
//! 2. Everything that is neither a letter nor a digit separates words: spaces, hyphens,
//!    apostrophes (`'`, `’`, `ʼ`), dots, other punctuation, symbols, emoji. Runs of separators
//!    count as one and the ends are trimmed. [`normalise_name`] returns this form:
//!    `D'Hondt` → `d hondt`, `Jean-Pierre` → `jean pierre`.
//! 3. The comparison key ([`NameKey`]) glues the words together and reads the Dutch digraph
//!    `ij` as `y`. Gluing makes every way of writing particles equal: Van den Berghe =
//!    Vandenberghe = VAN DEN BERGHE = Vanden Berghe, D'Hondt = Dhondt, De Smet = Desmet,
//!    Le Roy = Leroy; the digraph rule gives De Schrijver = De Schryver, Thijs = Thys.
//!
//! # Last name
//!
//! Equal keys match. Otherwise each name is split into *particles* and *core*:
//!
//! - The particles are the leading words found in [`PARTICLES`] (van, den, vanden, der, de,
//!   d', 't, ten, ter, le, la, du, des, della, di, von, zu, …) when another word follows
//!   them. A name written without separate particles has glued ones when it begins with
//!   `vanden`, `vander`, `vande` or `van` (Vandenberghe = vanden + berghe, Vanhove = van +
//!   hove); other glued particles are left in the core, as Denis, Leroy or Dupont must not
//!   be split.
//! - The particles must agree: the longer particle part is used if both keys start with it,
//!   else the shorter one, else the names differ. A different, missing or added particle
//!   makes another name: Van der Linden ≠ Van den Linden, De Smet ≠ Smet, Van den Berghe ≠
//!   Van Berghe.
//! - The cores must not differ by particles glued in front of one of them: Dumortier ≠
//!   Mortier, Dhondt ≠ Hondt.
//! - The cores are then compared as *similar words*:
//!   - shorter than [`MIN_FUZZY_LETTERS`] (4) letters: they must be equal (Vos ≠ Voss);
//!   - their first letters must be equal (Bauer ≠ Sauer, Brichard ≠ Richard): a different
//!     first letter makes another name far more often than a typo;
//!   - their lengths may differ by [`MAX_LENGTH_DIFFERENCE`] (2) letters at most (Michel ≠
//!     Michielsen): Jaro–Winkler rewards a shared beginning whatever follows it;
//!   - a word of four letters needs a Jaro–Winkler similarity of
//!     [`SHORT_NAME_MIN_SIMILARITY`] (0.95): Smet / Smets pass, Maes / Maas do not;
//!   - longer words match when they are *one letter apart* — a vowel replaced by another
//!     vowel (a e i o u y), a letter inserted or deleted, two neighbours swapped — or when
//!     their Jaro–Winkler similarity reaches [`LAST_NAME_MIN_SIMILARITY`] (0.92).
//!
//! The one-letter rule is there because Jaro–Winkler punishes a change near the start of a
//! short word much harder than one near the end (Peeters / Pieters 0.864, Vermeulen /
//! Vermeulem 0.956), while Belgian spelling variants mostly live in the vowels (ae / a / e,
//! ee / e / ie, ou / au, ey / ei / y). A consonant replaced by another one is left to
//! Jaro–Winkler, since it more often makes another name (Dupont / Dumont, Moons / Moors).
//!
//! | Claimed / source | Result | Why |
//! |---|---|---|
//! | Van den Berghe / Vandenberghe / VAN DEN BERGHE / Vanden Berghe | match | same key |
//! | D'Hondt / Dhondt, De Smet / Desmet, Le Roy / Leroy | match | same key |
//! | Lefèvre / Lefevre, Müller / Muller | match | same key (ASCII fold) |
//! | De Schrijver / De Schryver, Thijs / Thys | match | same key (ij = y) |
//! | De Smet / De Smedt, Claes / Claeys, Lefebvre / Lefevre, Hendrickx / Hendrikx | match | Jaro–Winkler ≥ 0.92 |
//! | Peeters / Pieters, Peeters / Peters, Mertens / Martens, Müller / Mueller | match | one letter apart |
//! | Van den Berghe / Vandenbergh | match | same particles, cores one letter apart |
//! | Smet / Smets | match | four letters, Jaro–Winkler 0.960 |
//! | Van Damme / Van den Berghe, Van den Bosch / Van den Broeck | refused | another name |
//! | Dupont / Dumont, Vermeulen / Vermeiren | refused | Jaro–Winkler 0.911, 0.911 |
//! | Smet / De Smet, Van der Linden / Van den Linden, Dumortier / Mortier | refused | particles |
//! | Vos / Voss, Maes / Maas | refused | short core |
//! | Bauer / Sauer, Janssens / Hanssens | refused | first letter |
//!
//! Spelling variants that are also separate families (Peeters / Pieters, Claes / Claeys,
//! Janssen / Janssens, Smet / Smets) pass on purpose: no string measure tells a variant from
//! a slip, and the other fields still tell the persons apart.
//!
//! # First name (optional)
//!
//! The source's first names are normalised and split into *parts* (words: a compound first
//! name such as Marie-Claire gives two parts). The claimed first name, glued like a last
//! name, matches when it is a similar word (rules above, with [`FIRST_NAME_MIN_SIMILARITY`])
//! to a run of consecutive parts glued together. So for the first names `[Jean, Pierre]`,
//! "Jean", "Pierre", "Jean Pierre", "Jean-Pierre" and "Jeanpierre" all match; for
//! `[Marie-Claire]`, "Marie", "Claire" and "Marie Claire" match. A part of a compound counts
//! like a first name of its own because systems differ in recording a compound as one first
//! name ("Marie-Claire") or as two ("Marie", "Claire"), and either way a caller may send the
//! one it uses. Parts must be consecutive and in order: "Pierre Jean", or "Jean Marie" for
//! `[Jean, Pierre, Marie]`, are refused, and so is a claim with a first name too many
//! ("Pieter Jan" for `[Pieter]`). Frédéric / Frederik and Peter / Pieter pass; Marc / Mark and
//! Anne / Ann do not (four and three letters). No particle rule applies.
//!
//! # Birth date
//!
//! Only the parts known on both sides are compared (`00` = unknown): the year always, the
//! month when both months are known, the day when both days are known. A claimed 1985-00-00
//! matches a source 1985-07-30; a claimed 1985-07-30 matches a source 1985-07-00; 1986 never
//! matches 1985 (no tolerance). A swapped day and month (1985-03-04 / 1985-04-03) is refused:
//! it is another date, and accepting swaps would double the dates a wrong person can match.
//!
//! # Gender
//!
//! Compared only when both the claim and the source know it.
//!
//! # Thresholds, chosen from data
//!
//! Measured on the Belgian name lists (the 500 most frequent nl_BE and fr_BE last names and
//! 400 German ones: 1,318 names; 2,893 first names), over every pair of *different* names
//! and every one-letter typo of every name (each substitution, insertion, deletion and
//! neighbour swap):
//!
//! | Jaro–Winkler threshold | 0.90 | **0.92** | 0.94 | 0.95 |
//! |---|---|---|---|---|
//! | different last-name pairs accepted (of 867,859) | 344 | **265** | 209 | 182 |
//! | different first-name pairs accepted (of 4,183,164) | 3,679 | **2,889** | 2,255 | 2,025 |
//! | consonant substitutions after the first letter accepted (last names ≥ 5 letters) | 86 % | **71 %** | 40 % | 22 % |
//!
//! Insertions, deletions, swaps and vowel substitutions after the first letter of a name of
//! five letters or more are accepted whatever the threshold (90–100 %; the rest fall in a
//! particle). Nearly all accepted pairs of different names are spelling variants (Janssen /
//! Janssens, Simon / Simons, Verhaegen / Verhaeghe, Lefebvre / Lefèvre). 0.92 keeps most
//! consonant slips of long names while holding different names to 0.03 % of pairs.
//!
//! # Cost
//!
//! No regex. A check builds two last-name keys, one key for the claimed first name and one
//! buffer of the source's first-name parts with their ends; Jaro–Winkler (one allocation
//! inside `strsim`) runs only when keys differ. ASCII input skips the transliteration table.

use strsim::jaro_winkler;

use super::incomplete_date::IncompleteDate;
use super::niss::Gender;
use super::person::Identity;

/// Least Jaro–Winkler similarity of two last-name cores (after particles) that still counts
/// as the same name. Chosen from data (see the module documentation): it accepts De Smet /
/// De Smedt (0.953) and Claes / Claeys (0.967), refuses Van den Bosch / Van den Broeck (0.730
/// on the cores) and Vermeulen / Vermeiren (0.911).
pub const LAST_NAME_MIN_SIMILARITY: f64 = 0.92;

/// Least Jaro–Winkler similarity of a claimed first name and a run of the source's first-name
/// parts. Same value as for last names: first names show the same kind of variants
/// (Frédéric / Frederik, Nicolas / Nikolas) and the same risk on short names.
pub const FIRST_NAME_MIN_SIMILARITY: f64 = 0.92;

/// Names (last-name cores, first-name parts) with fewer letters than this must be equal:
/// Jaro–Winkler rates Vos / Voss 0.94 and Jan / Jana 0.94.
pub const MIN_FUZZY_LETTERS: usize = 4;

/// Names with at least this many letters (both of them) also match when they differ by one
/// letter after the same first letter: a vowel replaced by a vowel, a letter inserted or
/// deleted, two neighbours swapped. Peeters / Pieters (JW 0.864) and Mertens / Martens
/// (0.914) pass this way. Shorter names are held to [`SHORT_NAME_MIN_SIMILARITY`] instead.
pub const MIN_ONE_EDIT_LETTERS: usize = 5;

/// Least Jaro–Winkler similarity when the shorter name has fewer than
/// [`MIN_ONE_EDIT_LETTERS`] letters (that is, four): one letter is a quarter of such a name.
/// Smet / Smets (0.960) and Adam / Adams pass; Jans / Jansen (0.933), Paul / Paulus,
/// Maes / Maas (0.867) and Marc / Mark (0.883) do not.
pub const SHORT_NAME_MIN_SIMILARITY: f64 = 0.95;

/// Names whose lengths differ by more letters than this never match, however similar:
/// Jaro–Winkler rewards a shared beginning whatever follows it (Michel / Michielsen 0.920,
/// Jacquemart / Jacquet 0.940, a claimed "Pieter Jan" for a person called Pieter 0.933).
/// A typo changes the length by one letter at most.
pub const MAX_LENGTH_DIFFERENCE: usize = 2;

/// Name particles, as normalised words (`d'` is `d`, `'t` is `t`). A leading run of them,
/// followed by another word, is the particle part of a last name.
pub const PARTICLES: &[&str] = &[
    "van", "vanden", "vander", "vande", "de", "den", "der", "d", "t", "het", "te", "ten", "ter",
    "op", "in", "uit", "le", "la", "les", "l", "du", "des", "di", "da", "del", "della", "dello",
    "dei", "degli", "do", "dos", "das", "von", "vom", "zu", "zum", "zur", "el", "al",
];

/// Particles recognised at the start of a name written as one word, longest first.
const GLUED_PARTICLES: [&str; 4] = ["vanden", "vander", "vande", "van"];

/// Particles glued in front of a core are only looked for in heads this short (no particle
/// sequence is longer); this also bounds the search.
const MAX_PARTICLE_HEAD: usize = 16;

/// The identity data an integrator sends with a registration (`personData`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedIdentity {
    pub last_name: String,
    pub first_name: Option<String>,
    /// May be incomplete (`yyyy-00-00`, `yyyy-mm-00`).
    pub birth_date: IncompleteDate,
    pub gender: Option<Gender>,
}

/// One claimed field that does not fit the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// `lastName`, `firstName`, `birthDate` or `gender`, as in the XML.
    pub field: &'static str,
    /// The value as sent: the name as written, the date as `yyyy-mm-dd` with `00` for
    /// unknown parts, the gender as `M` or `F`.
    pub claimed: String,
}

/// Compares a claimed identity with the source's and lists the fields that differ, in the
/// order lastName, firstName, birthDate, gender. Empty means accepted. The rules are in the
/// module documentation.
pub fn check(claimed: &ClaimedIdentity, source: &Identity) -> Vec<Mismatch> {
    let mut mismatches = Vec::new();
    if !last_names_match(&claimed.last_name, &source.last_name) {
        mismatches.push(Mismatch {
            field: "lastName",
            claimed: claimed.last_name.clone(),
        });
    }
    if let Some(first_name) = &claimed.first_name {
        if !first_name_matches(first_name, &source.first_names) {
            mismatches.push(Mismatch {
                field: "firstName",
                claimed: first_name.clone(),
            });
        }
    }
    if !birth_dates_match(claimed.birth_date, source.birth_date) {
        mismatches.push(Mismatch {
            field: "birthDate",
            claimed: claimed.birth_date.to_string(),
        });
    }
    if let (Some(claimed_gender), Some(source_gender)) = (claimed.gender, source.gender) {
        if claimed_gender != source_gender {
            mismatches.push(Mismatch {
                field: "gender",
                claimed: claimed_gender.as_str().to_string(),
            });
        }
    }
    mismatches
}

/// The ASCII, lower-case form of a name with words separated by single spaces: accents off,
/// ß → ss, æ → ae, œ → oe, ø → o, đ → d; hyphens, apostrophes, dots and any other
/// non-alphanumeric character separate words. `"  Van den--Berghe. "` → `"van den berghe"`,
/// `"D'Hondt"` → `"d hondt"`.
pub fn normalise_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    fold(s, |byte| match byte {
        Some(b) => {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(char::from(b));
        }
        None => space = true,
    });
    out
}

/// The comparison key of a last name: the normalised words glued together with `ij` read as
/// `y`, and where its particle part ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameKey {
    glued: String,
    particles: usize,
}

impl NameKey {
    /// The key of a last name: `Van den Berghe` and `Vandenberghe` both give `vandenberghe`
    /// with particles `vanden` and core `berghe`; `D'Hondt` gives `dhondt` = `d` + `hondt`,
    /// but `Dhondt` has no particles (only `van…` is recognised glued).
    pub fn new(last_name: &str) -> NameKey {
        let mut glued = String::with_capacity(last_name.len());
        // End of the leading particle words: `pending` counts the last word read, `confirmed`
        // only the words followed by another one.
        let (mut leading, mut confirmed, mut pending) = (true, 0, 0);
        glue(last_name, &mut glued, |glued, start| {
            if leading && is_particle(&glued[start..]) {
                confirmed = pending;
                pending = glued.len();
            } else {
                leading = false;
            }
        });
        let mut particles = if leading { confirmed } else { pending };
        if particles == 0 {
            particles = GLUED_PARTICLES
                .iter()
                .find(|p| glued.len() > p.len() && glued.starts_with(*p))
                .map_or(0, |p| p.len());
        }
        NameKey { glued, particles }
    }

    /// The whole key: `vandenberghe`.
    pub fn glued(&self) -> &str {
        &self.glued
    }

    /// The particle part: `vanden`, or empty.
    pub fn particles(&self) -> &str {
        &self.glued[..self.particles]
    }

    /// What follows the particles: `berghe`.
    pub fn core(&self) -> &str {
        &self.glued[self.particles..]
    }

    /// Whether two last names are the same name by the rules of the module documentation.
    pub fn matches(&self, other: &NameKey) -> bool {
        if self.glued == other.glued {
            return true;
        }
        let Some(split) = common_particles(self, other) else {
            return false;
        };
        let (a, b) = (&self.glued[split..], &other.glued[split..]);
        !adds_particles(a, b) && !adds_particles(b, a) && similar(a, b, LAST_NAME_MIN_SIMILARITY)
    }
}

/// Whether two last names are the same name (see the module documentation).
pub fn last_names_match(claimed: &str, source: &str) -> bool {
    NameKey::new(claimed).matches(&NameKey::new(source))
}

/// Whether a claimed first name fits the source's first names: it is similar to one of
/// them, to a part of a compound one, or to several consecutive ones written together
/// (see the module documentation).
pub fn first_name_matches(claimed: &str, first_names: &[String]) -> bool {
    let mut claim = String::with_capacity(claimed.len());
    glue(claimed, &mut claim, |_, _| {});
    // All parts glued in one buffer; a run of consecutive parts is a slice of it.
    let mut parts = String::with_capacity(first_names.iter().map(String::len).sum());
    let mut ends = Vec::with_capacity(first_names.len() + 2);
    for name in first_names {
        glue(name, &mut parts, |parts, _| ends.push(parts.len()));
    }
    if ends.is_empty() {
        return claim.is_empty();
    }
    any_run(&parts, &ends, |run| run == claim)
        || any_run(&parts, &ends, |run| {
            similar(&claim, run, FIRST_NAME_MIN_SIMILARITY)
        })
}

/// Whether `accept` holds for a run of consecutive parts, `parts` holding them glued and
/// `ends` where each one ends.
fn any_run(parts: &str, ends: &[usize], accept: impl Fn(&str) -> bool) -> bool {
    (0..ends.len()).any(|first| {
        let start = if first == 0 { 0 } else { ends[first - 1] };
        ends[first..].iter().any(|&end| accept(&parts[start..end]))
    })
}

/// Whether the parts of two birth dates known on both sides are equal; the year is always
/// known and must be equal.
pub fn birth_dates_match(claimed: IncompleteDate, source: IncompleteDate) -> bool {
    let agree = |a: Option<u32>, b: Option<u32>| match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    claimed.year() == source.year()
        && agree(claimed.month(), source.month())
        && agree(claimed.day(), source.day())
}

/// Feeds the ASCII fold of `s` to `emit`: a lower-case letter or digit as `Some`, a word
/// separator as `None`. Combining marks and other characters that transliterate to nothing
/// are dropped.
fn fold(s: &str, mut emit: impl FnMut(Option<u8>)) {
    let ascii = |b: u8| b.is_ascii_alphanumeric().then(|| b.to_ascii_lowercase());
    for c in s.chars() {
        if c.is_ascii() {
            emit(ascii(c as u8));
        } else if c.is_alphanumeric() {
            match deunicode::deunicode_char(c) {
                Some(text) => text.bytes().for_each(|b| emit(ascii(b))),
                None => emit(None),
            }
        } else if deunicode::deunicode_char(c) != Some("") {
            emit(None);
        }
    }
}

/// Appends the words of `name` to `out` glued together, with `ij` as `y`, and calls
/// `word_end(out, start)` after each word, `start` being where it begins in `out`.
fn glue(name: &str, out: &mut String, mut word_end: impl FnMut(&str, usize)) {
    let mut start = None;
    fold(name, |byte| match (byte, start) {
        (Some(b'j'), Some(_)) if out.ends_with('i') => {
            out.pop();
            out.push('y');
        }
        (Some(b), _) => {
            start.get_or_insert(out.len());
            out.push(char::from(b));
        }
        (None, Some(s)) => {
            word_end(out, s);
            start = None;
        }
        (None, None) => {}
    });
    if let Some(s) = start {
        word_end(out, s);
    }
}

fn is_particle(word: &str) -> bool {
    PARTICLES.contains(&word)
}

/// Where the particles both keys share end, or `None` when their particles differ.
fn common_particles(a: &NameKey, b: &NameKey) -> Option<usize> {
    let (pa, pb) = (a.particles(), b.particles());
    if pa == pb {
        return Some(pa.len());
    }
    let (longer, shorter) = if pa.len() >= pb.len() {
        (pa, pb)
    } else {
        (pb, pa)
    };
    [longer, shorter]
        .into_iter()
        .find(|p| !p.is_empty() && a.glued.starts_with(p) && b.glued.starts_with(p))
        .map(str::len)
}

/// Whether `longer` is `shorter` with particles glued in front (`dumortier` / `mortier`).
fn adds_particles(longer: &str, shorter: &str) -> bool {
    !shorter.is_empty()
        && longer.len() > shorter.len()
        && longer.len() - shorter.len() <= MAX_PARTICLE_HEAD
        && longer.ends_with(shorter)
        && is_particle_sequence(&longer[..longer.len() - shorter.len()])
}

fn is_particle_sequence(s: &str) -> bool {
    s.is_empty()
        || PARTICLES
            .iter()
            .any(|p| s.starts_with(p) && is_particle_sequence(&s[p.len()..]))
}

/// Whether two keys (ASCII) are the same name: equal, or long enough, with the same first
/// letter, and either one letter apart or similar enough by Jaro–Winkler.
fn similar(a: &str, b: &str, min_similarity: f64) -> bool {
    if a == b {
        return true;
    }
    let shorter = a.len().min(b.len());
    if shorter < MIN_FUZZY_LETTERS
        || a.len().abs_diff(b.len()) > MAX_LENGTH_DIFFERENCE
        || a.as_bytes()[0] != b.as_bytes()[0]
    {
        return false;
    }
    // Jaro's greedy matching can depend on the order: fix it so that matching is symmetric.
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    if shorter < MIN_ONE_EDIT_LETTERS {
        return jaro_winkler(a, b) >= SHORT_NAME_MIN_SIMILARITY;
    }
    one_letter_apart(a.as_bytes(), b.as_bytes()) || jaro_winkler(a, b) >= min_similarity
}

/// Whether two different words with the same first letter differ by one letter: a vowel
/// replaced by another vowel, a letter inserted or deleted, or two neighbours swapped.
fn one_letter_apart(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if b.len() - a.len() > 1 || a.first() != b.first() {
        return false;
    }
    let i = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if a.len() < b.len() {
        return a[i..] == b[i + 1..];
    }
    if i == a.len() {
        return false;
    }
    let vowel = |c: u8| matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y');
    (vowel(a[i]) && vowel(b[i]) && a[i + 1..] == b[i + 1..])
        || (i + 1 < a.len() && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..])
}

#[cfg(test)]
mod tests;
