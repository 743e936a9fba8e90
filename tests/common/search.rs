//! Phonetic search in tests: the persons the search tests look for (a feed of their own, see
//! [`search_feed`]), searchPersonByPhoneticCriteria requests and the candidates of an answer.

use super::answer::Answer;
use super::app::{org_a, TestApp};
use super::db::Backend;
use super::niss;
use super::soap::{IdentRequest, Org, Request};
use super::source::{Feed, PersonData};
use super::xml::Node;

pub const OPERATION: &str = "searchPersonByPhoneticCriteria";

/// A server whose source also knows the search persons; org A is granted the search and
/// identifyPerson, org B nothing.
pub fn start(backend: Backend) -> TestApp {
    let app = TestApp::start(backend);
    app.apply_feed(&search_feed());
    app.grant(&org_a().cbe, OPERATION);
    app.grant(&org_a().cbe, "identifyPerson");
    app
}

/// A search for the Claeys of the search persons, on their birth date.
pub fn claeys_search() -> Search {
    Search::new(&org_a(), "Claeys", CLAEYS_BIRTH)
}

/// The first names of fourteen men named Claeys born on [`CLAEYS_BIRTH`] (Guy has no
/// address).
pub const CLAEYS_FIRST_NAMES: [&str; 14] = [
    "Jan", "Marc", "Luc", "Koen", "Bart", "Geert", "Dirk", "Tom", "Wim", "Peter", "Kris", "Filip",
    "Erik", "Guy",
];
pub const CLAEYS_BIRTH: &str = "1962-03-04";

/// The Claeys men, in the order of [`CLAEYS_FIRST_NAMES`].
pub fn claeys() -> Vec<PersonData> {
    CLAEYS_FIRST_NAMES
        .iter()
        .enumerate()
        .map(|(i, first)| {
            let mut person = PersonData::new(
                &niss("620304", 101 + 2 * i as u32, false),
                "Claeys",
                &[first],
            );
            if *first == "Guy" {
                person.address = None;
            }
            person
        })
        .collect()
}

/// Jan Claeys born 1962-04-03: the day and month of [`CLAEYS_BIRTH`] swapped.
pub fn claeys_swapped() -> PersonData {
    PersonData::new(&niss("620403", 201, false), "Claeys", &["Jan"])
}

/// More persons named Maes born on [`MAES_BIRTH`] than a search may answer (first names
/// `Aa`, `Ab`, …).
pub const MAES_COUNT: u32 = 85;
pub const MAES_BIRTH: &str = "1955-05-05";

pub fn maes() -> Vec<PersonData> {
    (0..MAES_COUNT)
        .map(|i| {
            let first: String = [
                char::from(b'A' + (i / 26) as u8),
                char::from(b'a' + (i % 26) as u8),
            ]
            .iter()
            .collect();
            PersonData::new(&niss("550505", 101 + i, false), "Maes", &[&first])
        })
        .collect()
}

/// Sofie Mertens born in 1979, 1980, 1981 and 1983.
pub fn mertens() -> Vec<PersonData> {
    [
        ("790820", 402),
        ("800615", 404),
        ("810210", 406),
        ("830101", 408),
    ]
    .iter()
    .map(|(date, serial)| PersonData::new(&niss(date, *serial, false), "Mertens", &["Sofie"]))
    .collect()
}

/// Lies Wouters born 1989-12-31, 1990-02-03, 1990-04-30, 1990-05 (day unknown), 1990-06-28
/// and 1990-07-01.
pub fn wouters() -> Vec<PersonData> {
    [
        ("891231", 510),
        ("900203", 502),
        ("900430", 504),
        ("900500", 512),
        ("900628", 506),
        ("900701", 508),
    ]
    .iter()
    .map(|(date, serial)| PersonData::new(&niss(date, *serial, false), "Wouters", &["Lies"]))
    .collect()
}

/// Annelies Dewulf born 1971-05-06 under three numbers: BIS +40, BIS +20 and RN — the chain
/// a replacement feed makes of them (see [`dewulf_replacements`]).
pub fn dewulf() -> [PersonData; 3] {
    [
        PersonData::new(&niss("714506", 302, false), "Dewulf", &["Annelies"]),
        PersonData::new(&niss("712506", 304, false), "Dewulf", &["Annelies"]),
        PersonData::new(&niss("710506", 306, false), "Dewulf", &["Annelies"]),
    ]
}

/// The feed replacing the first Dewulf number by the second, and the second by the third.
pub fn dewulf_replacements() -> Feed {
    let [a, b, c] = dewulf();
    Feed::new("SEARCH-REPLACE")
        .replacement(&a.ssin, &b.ssin)
        .replacement(&b.ssin, &c.ssin)
}

/// Every person above, each its own number, all active.
pub fn search_feed() -> Feed {
    claeys()
        .into_iter()
        .chain([claeys_swapped()])
        .chain(maes())
        .chain(mertens())
        .chain(wouters())
        .chain(dewulf())
        .fold(Feed::new("SEARCH"), |feed, person| feed.new_person(&person))
}

/// The numbers of persons, in order.
pub fn numbers(persons: &[PersonData]) -> Vec<String> {
    persons.iter().map(|p| p.ssin.clone()).collect()
}

/// The elements of `criteria`, in the order of PhoneticCriteriaType.
const CRITERIA: [&str; 7] = [
    "lastName",
    "firstName",
    "middleName",
    "birthDate",
    "tolerance",
    "gender",
    "maximum",
];

/// One searchPersonByPhoneticCriteria request: the shared fields in `request`, the criteria
/// as (element, text) pairs written in PhoneticCriteriaType's order, and `extra_criteria`
/// as raw XML after them (for hostile requests; the prefix `reg` is the identification
/// namespace).
#[derive(Debug, Clone)]
pub struct Search {
    pub request: Request,
    pub criteria: Vec<(&'static str, String)>,
    pub extra_criteria: String,
}

impl Search {
    pub fn new(org: &Org, last_name: &str, birth_date: &str) -> Search {
        Search {
            request: Request {
                operation: OPERATION,
                ..Request::list_dossier_types(org)
            },
            criteria: vec![
                ("lastName", last_name.into()),
                ("birthDate", birth_date.into()),
            ],
            extra_criteria: String::new(),
        }
    }

    /// Sets a criterion (`firstName`, `tolerance`, …), replacing what was there.
    pub fn set(mut self, name: &'static str, value: &str) -> Search {
        assert!(CRITERIA.contains(&name), "{name} is not a criterion");
        self.criteria.retain(|(n, _)| *n != name);
        self.criteria.push((name, value.into()));
        self
    }

    /// Leaves a criterion out.
    pub fn without(mut self, name: &str) -> Search {
        self.criteria.retain(|(n, _)| *n != name);
        self
    }

    /// Raw XML added inside `criteria`, after the criteria.
    pub fn extra(mut self, xml: &str) -> Search {
        self.extra_criteria.push_str(xml);
        self
    }

    /// The same request with its shared fields changed: `.with(|r| r.legal_context(None))`.
    pub fn with(mut self, change: impl FnOnce(Request) -> Request) -> Search {
        self.request = change(self.request);
        self
    }

    /// The `criteria` element.
    pub fn criteria_xml(&self) -> String {
        let mut xml = String::from("<reg:criteria>");
        for name in CRITERIA {
            for (_, value) in self.criteria.iter().filter(|(n, _)| *n == name) {
                xml += &format!("<reg:{name}>{}</reg:{name}>", escape(value));
            }
        }
        xml + &self.extra_criteria + "</reg:criteria>"
    }

    /// The whole SOAP 1.1 envelope.
    pub fn to_xml(&self) -> String {
        let ident = IdentRequest {
            request: self.request.clone(),
            changes: None,
        };
        let end = format!("</reg:{OPERATION}Request>");
        ident
            .to_xml()
            .replacen(&end, &format!("{}{end}", self.criteria_xml()), 1)
    }
}

/// Markup characters escaped; everything else (control characters too) sent as it is.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A candidate of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub score: u8,
    pub ssin: String,
    /// (element, text) of each child of `person`, the address flattened to `address/…`.
    pub person: Vec<(String, String)>,
}

/// The candidates of an answer, in order.
pub fn candidates(answer: &Answer) -> Vec<Found> {
    answer
        .doc()
        .all("candidate")
        .into_iter()
        .map(|candidate| {
            let score = candidate.child_text("score").unwrap_or_default();
            let person = candidate
                .child("person")
                .unwrap_or_else(|| panic!("a candidate without person: {}", answer.body));
            Found {
                score: score
                    .parse()
                    .unwrap_or_else(|_| panic!("score {score:?} is not 0–255")),
                ssin: person.child_text("ssin").unwrap_or_default(),
                person: person_fields(person),
            }
        })
        .collect()
}

/// (element, text) of each child of a person element, the address flattened.
pub fn person_fields(person: &Node) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for child in &person.children {
        if child.children.is_empty() {
            found.push((child.name.clone(), child.text.trim().to_owned()));
        }
        for grandchild in &child.children {
            found.push((
                format!("{}/{}", child.name, grandchild.name),
                grandchild.text.trim().to_owned(),
            ));
        }
    }
    found
}

impl super::app::TestApp {
    /// Sends a searchPersonByPhoneticCriteria request.
    pub fn search(&self, search: &Search) -> Answer {
        self.post_ident(search.to_xml())
    }
}
