//! Reading a feed file: the whole file is checked before anything is applied.

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::{FeedFile, Mutation, Record, FEED_NS};
use crate::xml::person::{self, FieldError};
use crate::xml::{self, Element, Limits};

/// Why a file cannot be read; the message names the record and the field.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Xml(#[from] xml::XmlError),
    #[error("{0}")]
    Structure(String),
    #[error("record {id} (#{position}): {error}")]
    Field {
        id: String,
        position: usize,
        error: FieldError,
    },
}

/// A feed holds at most this many elements (about 100 000 records of identity data).
const MAX_ELEMENTS: usize = 5_000_000;

/// Parses and checks a feed file. `today` bounds birth dates.
pub fn read(bytes: &[u8], today: NaiveDate) -> Result<FeedFile, ReadError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ReadError::Structure(format!("the file is not UTF-8: {e}")))?;
    let root = xml::parse(
        text,
        Limits {
            max_depth: 16,
            max_elements: MAX_ELEMENTS,
        },
    )?;
    if !root.is(FEED_NS, "nrMutations") {
        return Err(ReadError::Structure(format!(
            "the root element is {}, expected {{{FEED_NS}}}nrMutations",
            root.expanded_name()
        )));
    }
    let file_id = root
        .attribute("fileId")
        .filter(|id| is_record_id(id))
        .ok_or_else(|| {
            ReadError::Structure(
                "the attribute fileId is missing or not 1 to 64 letters, digits or _.:-".into(),
            )
        })?
        .to_string();
    let mut records = Vec::with_capacity(root.children.len());
    let mut ids = std::collections::HashSet::new();
    for (index, element) in root.children.iter().enumerate() {
        let position = index + 1;
        let id = element.attribute("id").unwrap_or_default().to_string();
        let field_error = |error: FieldError| ReadError::Field {
            id: id.clone(),
            position,
            error,
        };
        if !is_record_id(&id) {
            return Err(ReadError::Structure(format!(
                "record #{position}: the attribute id is missing or not 1 to 64 letters, digits or _.:-"
            )));
        }
        if !ids.insert(id.clone()) {
            return Err(ReadError::Structure(format!(
                "record {id} (#{position}): the id is used twice in the file"
            )));
        }
        let mutation = mutation(element, today).map_err(field_error)?;
        records.push(Record {
            id,
            position,
            mutation,
        });
    }
    Ok(FeedFile {
        file_id,
        digest: hex(&Sha256::digest(bytes)),
        records,
    })
}

fn mutation(element: &Element, today: NaiveDate) -> Result<Mutation, FieldError> {
    let name = element.name.as_str();
    if element.namespace.as_deref() != Some(FEED_NS) {
        return Err(unknown_record(element));
    }
    let child = |local: &str| {
        element.child(FEED_NS, local).ok_or_else(|| FieldError {
            field: local.to_string(),
            value: String::new(),
            reason: "is missing".into(),
            is_ssin: false,
        })
    };
    let ssin = |local: &str| person::read_ssin(child(local)?, local, today);
    Ok(match name {
        "newPerson" => {
            let read =
                person::read_person(child("person")?, today).map_err(|e| e.under("person"))?;
            Mutation::NewPerson(read)
        }
        "identityChange" => {
            let changes = person::read_identity_changes(child("changes")?, today)
                .map_err(|e| e.under("changes"))?;
            if changes.is_empty() {
                return Err(FieldError {
                    field: "changes".into(),
                    value: String::new(),
                    reason: "no identity field to change".into(),
                    is_ssin: false,
                });
            }
            Mutation::IdentityChange {
                ssin: ssin("ssin")?,
                changes,
            }
        }
        "decease" => Mutation::Decease {
            ssin: ssin("ssin")?,
            date: read_feed_date(child("deceaseDate")?)?,
        },
        "replacement" => Mutation::Replacement {
            old: ssin("oldSsin")?,
            new: ssin("newSsin")?,
        },
        _ => return Err(unknown_record(element)),
    })
}

/// A date in the feed's own namespace, with the Person.xsd rules.
fn read_feed_date(element: &Element) -> Result<crate::domain::IncompleteDate, FieldError> {
    // Person.xsd's reader looks at the element itself, whatever its namespace.
    person::read_date(element, "deceaseDate")
}

fn unknown_record(element: &Element) -> FieldError {
    FieldError {
        field: element.name.clone(),
        value: String::new(),
        reason: format!(
            "{} is not a record: expected newPerson, identityChange, decease or replacement in {FEED_NS}",
            element.expanded_name()
        ),
        is_ssin: false,
    }
}

fn is_record_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::person::PERSON_NS;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    fn feed(records: &str) -> String {
        format!(
            r#"<nrMutations xmlns="{FEED_NS}" xmlns:p="{PERSON_NS}" fileId="F-1" createdAt="2026-11-21T06:00:00Z">{records}</nrMutations>"#
        )
    }

    #[test]
    fn reads_every_kind_of_record() {
        let xml = feed(concat!(
            r#"<newPerson id="a"><person><p:ssin>85073003328</p:ssin><p:lastName>Peeters</p:lastName>"#,
            r#"<p:firstName>Jan</p:firstName><p:birthDate>1985-07-30</p:birthDate></person></newPerson>"#,
            r#"<identityChange id="b"><ssin>85073003328</ssin><changes><p:lastName>Pieters</p:lastName></changes></identityChange>"#,
            r#"<decease id="c"><ssin>85073003328</ssin><deceaseDate>2026-01-00</deceaseDate></decease>"#,
            r#"<replacement id="d"><oldSsin>98472899765</oldSsin><newSsin>85073003328</newSsin></replacement>"#,
        ));
        let file = read(xml.as_bytes(), today()).unwrap();
        assert_eq!(file.file_id, "F-1");
        assert_eq!(file.digest.len(), 64);
        let kinds: Vec<&str> = file
            .records
            .iter()
            .map(|r| match r.mutation {
                Mutation::NewPerson(_) => "new",
                Mutation::IdentityChange { .. } => "change",
                Mutation::Decease { .. } => "decease",
                Mutation::Replacement { .. } => "replacement",
            })
            .collect();
        assert_eq!(kinds, ["new", "change", "decease", "replacement"]);
    }

    #[test]
    fn errors_name_the_record_and_field() {
        let xml = feed(concat!(
            r#"<decease id="ok"><ssin>85073003328</ssin><deceaseDate>2026-01-00</deceaseDate></decease>"#,
            r#"<decease id="bad"><ssin>85073003329</ssin><deceaseDate>2026-01-00</deceaseDate></decease>"#,
        ));
        let e = read(xml.as_bytes(), today()).unwrap_err().to_string();
        assert!(e.starts_with("record bad (#2): ssin"), "{e}");
        let e = read(
            feed(r#"<decease id="x"><ssin>85073003328</ssin></decease>"#).as_bytes(),
            today(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("deceaseDate: is missing"), "{e}");
        let e = read(feed(r#"<birth id="x"/>"#).as_bytes(), today())
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a record"), "{e}");
        let twice = r#"<decease id="x"><ssin>85073003328</ssin><deceaseDate>2026-01-00</deceaseDate></decease>"#;
        let e = read(feed(&twice.repeat(2)).as_bytes(), today())
            .unwrap_err()
            .to_string();
        assert!(e.contains("used twice"), "{e}");
    }
}
