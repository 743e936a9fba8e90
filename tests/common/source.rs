//! The authentic source in tests: feed files (xsd/NrMutations.xsd) built in code and applied
//! with the real `raas import nr-mutations`.

use std::fmt::Write as _;

use super::app::TestApp;

pub const FEED_NS: &str = "urn:be:raas:types:NrMutations:v1";
pub const PERSON_NS: &str = "urn:be:raas:types:Person:v1";

/// A person of the source as a test describes it. `first_names` in civil order.
#[derive(Debug, Clone)]
pub struct PersonData {
    pub ssin: String,
    pub last_name: String,
    pub first_names: Vec<String>,
    pub birth_date: String,
    pub gender: Option<String>,
    pub nationality: Option<String>,
    pub address: Option<[String; 5]>,
}

impl PersonData {
    /// A person with the birth date and gender the number encodes (RN numbers; for BIS +20
    /// the gender is left out).
    pub fn new(ssin: &str, last_name: &str, first_names: &[&str]) -> PersonData {
        let month: u32 = ssin[2..4].parse().expect("digits");
        let yy = &ssin[0..2];
        let body: u64 = ssin[0..9].parse().expect("digits");
        let check: u64 = ssin[9..11].parse().expect("digits");
        let century = if 97 - body % 97 == check { "19" } else { "20" };
        let serial: u32 = ssin[6..9].parse().expect("digits");
        let gender = match month {
            20..=32 => None,
            _ if serial % 2 == 1 => Some("M".to_string()),
            _ => Some("F".to_string()),
        };
        PersonData {
            ssin: ssin.to_string(),
            last_name: last_name.to_string(),
            first_names: first_names.iter().map(|s| s.to_string()).collect(),
            birth_date: format!("{century}{yy}-{:02}-{}", month % 20, &ssin[4..6]),
            gender,
            nationality: Some("BE".to_string()),
            address: Some([
                "Kerkstraat".into(),
                "12".into(),
                "9000".into(),
                "Gent".into(),
                "BE".into(),
            ]),
        }
    }

    pub fn birth_date(mut self, date: &str) -> PersonData {
        self.birth_date = date.to_string();
        self
    }

    /// The content of a `PersonType` with prefix `p`.
    pub fn xml(&self) -> String {
        let mut out = format!(
            "<p:ssin>{}</p:ssin><p:lastName>{}</p:lastName>",
            self.ssin,
            escape(&self.last_name)
        );
        for name in &self.first_names {
            let _ = write!(out, "<p:firstName>{}</p:firstName>", escape(name));
        }
        let _ = write!(out, "<p:birthDate>{}</p:birthDate>", self.birth_date);
        if let Some(gender) = &self.gender {
            let _ = write!(out, "<p:gender>{gender}</p:gender>");
        }
        if let Some(nationality) = &self.nationality {
            let _ = write!(out, "<p:nationality>{nationality}</p:nationality>");
        }
        if let Some([street, number, postal_code, municipality, country]) = &self.address {
            let _ = write!(
                out,
                "<p:address><p:street>{}</p:street><p:houseNumber>{}</p:houseNumber>\
                 <p:postalCode>{}</p:postalCode><p:municipality>{}</p:municipality>\
                 <p:country>{country}</p:country></p:address>",
                escape(street),
                escape(number),
                escape(postal_code),
                escape(municipality)
            );
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A feed file under construction: records in order, each with an id.
#[derive(Debug, Clone)]
pub struct Feed {
    file_id: String,
    records: Vec<String>,
}

impl Feed {
    pub fn new(file_id: &str) -> Feed {
        Feed {
            file_id: file_id.to_string(),
            records: Vec::new(),
        }
    }

    fn next_id(&self) -> String {
        format!("r{}", self.records.len() + 1)
    }

    pub fn new_person(mut self, person: &PersonData) -> Feed {
        let record = format!(
            r#"<newPerson id="{}"><person>{}</person></newPerson>"#,
            self.next_id(),
            person.xml()
        );
        self.records.push(record);
        self
    }

    /// `changes` is the content of an IdentityChangesType with prefix `p`, e.g.
    /// `<p:lastName>Peeters</p:lastName>`.
    pub fn identity_change(mut self, ssin: &str, changes: &str) -> Feed {
        let record = format!(
            r#"<identityChange id="{}"><ssin>{ssin}</ssin><changes>{changes}</changes></identityChange>"#,
            self.next_id()
        );
        self.records.push(record);
        self
    }

    pub fn decease(mut self, ssin: &str, date: &str) -> Feed {
        let record = format!(
            r#"<decease id="{}"><ssin>{ssin}</ssin><deceaseDate>{date}</deceaseDate></decease>"#,
            self.next_id()
        );
        self.records.push(record);
        self
    }

    pub fn replacement(mut self, old: &str, new: &str) -> Feed {
        let record = format!(
            r#"<replacement id="{}"><oldSsin>{old}</oldSsin><newSsin>{new}</newSsin></replacement>"#,
            self.next_id()
        );
        self.records.push(record);
        self
    }

    /// A record given as raw XML (for malformed records).
    pub fn raw(mut self, record: &str) -> Feed {
        self.records.push(record.to_string());
        self
    }

    pub fn xml(&self) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><nrMutations xmlns="{FEED_NS}" xmlns:p="{PERSON_NS}" fileId="{}" createdAt="2026-11-21T06:00:00Z">{}</nrMutations>"#,
            self.file_id,
            self.records.concat()
        )
    }
}

impl TestApp {
    /// Applies a feed with `raas import nr-mutations` and gives the command's output.
    pub fn import_feed(&self, feed: &Feed) -> std::process::Output {
        let path = self.path(&format!("feed-{}.xml", feed.file_id));
        std::fs::write(&path, feed.xml()).expect("the feed file is written");
        self.run(
            &["import", "nr-mutations", path.to_str().expect("UTF-8 path")],
            "",
        )
    }

    /// Applies a feed and asserts it succeeded.
    #[track_caller]
    pub fn apply_feed(&self, feed: &Feed) -> String {
        let output = self.import_feed(feed);
        assert!(
            output.status.success(),
            "raas import nr-mutations failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }
}

/// The persons every test application's source knows (see `TestApp::start_with`): the
/// numbers of tests/common/mod.rs with names.
pub fn standard_persons() -> Vec<PersonData> {
    use super::{NISS_1, NISS_2, NISS_3, NISS_BIS, NISS_BIS_20};
    vec![
        PersonData::new(NISS_1, "Van den Berghe", &["Jan", "Pieter"]),
        PersonData::new(NISS_2, "Peeters", &["Lucas"]),
        PersonData::new(NISS_3, "Lefèvre", &["Marie-Claire", "Anne"]),
        PersonData::new(NISS_BIS, "Kowalski", &["Piotr"]),
        PersonData::new(NISS_BIS_20, "Nowak", &["Ewa"]),
    ]
}

/// A feed creating the standard persons.
pub fn standard_feed() -> Feed {
    standard_persons()
        .iter()
        .fold(Feed::new("STANDARD"), |feed, person| {
            feed.new_person(person)
        })
}

/// The tables the authentic source and its feeds write, each as sorted lines of text (NULL
/// shown as `-`): what "nothing changed" is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTables {
    pub persons: Vec<String>,
    pub relations: Vec<String>,
    pub journal: Vec<String>,
    pub applied_files: Vec<String>,
}

#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

const PERSONS_SQL: &str = "SELECT ssin || '|' || status || '|' || COALESCE(replaced_by, '-') || '|' \
     || last_name || '|' || first_names || '|' || birth_date || '|' || COALESCE(street, '-') \
     || '|' || COALESCE(postal_code, '-') || '|' || COALESCE(decease_date, '-') || '|' \
     || CAST(version AS TEXT) || '|' || source || '|' || CAST(updated_at AS TEXT) AS line FROM persons";
const RELATIONS_SQL: &str = "SELECT CAST(organisation_id AS TEXT) || '|' || ssin || '|' \
     || CAST(dossier_type_id AS TEXT) || '|' || CAST(begin_date AS TEXT) || '|' \
     || COALESCE(CAST(end_date AS TEXT), '-') AS line FROM relations";
const JOURNAL_SQL: &str = "SELECT CAST(seq AS TEXT) || '|' || kind || '|' || ssin || '|' \
     || COALESCE(new_ssin, '-') || '|' || COALESCE(CAST(organisation_id AS TEXT), '-') || '|' \
     || source || '|' || COALESCE(changes, '-') AS line FROM mutation_journal";
const APPLIED_SQL: &str = "SELECT file_id || '|' || kind || '|' || digest || '|' \
     || CAST(records AS TEXT) || '|' || CAST(applied_at AS TEXT) AS line FROM applied_files";

impl TestApp {
    /// The source's tables as they are now (read directly from the database).
    pub fn source_tables(&self) -> SourceTables {
        use diesel::{Connection, RunQueryDsl};
        fn lines<C>(conn: &mut C, sql: &str) -> Vec<String>
        where
            C: Connection,
            diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, Line>,
        {
            let mut lines: Vec<String> = diesel::sql_query(sql)
                .load::<Line>(conn)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .into_iter()
                .map(|l| l.line)
                .collect();
            lines.sort();
            lines
        }
        let url = self.database_url();
        let all = |f: &mut dyn FnMut(&str) -> Vec<String>| SourceTables {
            persons: f(PERSONS_SQL),
            relations: f(RELATIONS_SQL),
            journal: f(JOURNAL_SQL),
            applied_files: f(APPLIED_SQL),
        };
        if url.starts_with("postgres") {
            let mut conn = diesel::pg::PgConnection::establish(url).expect("the test database");
            all(&mut |sql| lines(&mut conn, sql))
        } else {
            let mut conn =
                diesel::sqlite::SqliteConnection::establish(url).expect("the test database");
            all(&mut |sql| lines(&mut conn, sql))
        }
    }
}
