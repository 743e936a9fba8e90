//! Reading a feed file one record at a time: each record is read as a small tree, checked and
//! handed out, so memory does not grow with the file. The SHA-256 of the bytes read is
//! computed on the way ([`FeedReader::digest`]); [`digest`] computes it beforehand, in a first
//! pass, so a file applied already is recognised before any record is read. The file's frame
//! (root, `fileId`, record ids, digest) is [`crate::xml::record_file`]'s.

use chrono::NaiveDate;

use super::{Mutation, Record, FEED_NS};
use crate::xml::person::{self, FieldError};
pub use crate::xml::record_file::{digest, ReadError};
use crate::xml::record_file::{RecordFile, RecordFormat};
use crate::xml::{Element, Limits};

/// The records of a feed file, in order, each checked (see [`RecordFile`]).
pub type FeedReader<R> = RecordFile<R, NrMutations>;

/// The feed file's format (NrMutations.xsd).
pub struct NrMutations;

impl RecordFormat for NrMutations {
    const NAMESPACE: &'static str = FEED_NS;
    const ROOT: &'static str = "nrMutations";
    /// A new person with ten first names and an address is ~20 elements.
    const LIMITS: Limits = Limits {
        max_depth: 16,
        max_elements: 256,
    };
    type Value = Mutation;
    type Record = Record;

    fn read(element: &Element, today: NaiveDate) -> Result<Mutation, FieldError> {
        mutation(element, today)
    }

    fn record(id: String, position: usize, mutation: Mutation) -> Record {
        Record {
            id,
            position,
            mutation,
        }
    }
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
        "cancellation" => Mutation::Cancellation {
            ssin: ssin("ssin")?,
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
            "{} is not a record: expected newPerson, identityChange, decease, replacement or cancellation in {FEED_NS}",
            element.expanded_name()
        ),
        is_ssin: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::person::PERSON_NS;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    #[derive(Debug)]
    struct FeedFile {
        file_id: String,
        digest: String,
        records: Vec<Record>,
    }

    fn read(bytes: &[u8], today: NaiveDate) -> Result<FeedFile, ReadError> {
        let mut reader = FeedReader::new(bytes, today)?;
        let records = reader.by_ref().collect::<Result<Vec<_>, _>>()?;
        assert_eq!(reader.digest(), digest(bytes).unwrap());
        Ok(FeedFile {
            file_id: reader.file_id().to_string(),
            digest: reader.digest(),
            records,
        })
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
            r#"<cancellation id="e"><ssin>98472899765</ssin></cancellation>"#,
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
                Mutation::Cancellation { .. } => "cancellation",
            })
            .collect();
        assert_eq!(
            kinds,
            ["new", "change", "decease", "replacement", "cancellation"]
        );
        assert_eq!(file.digest, digest(xml.as_bytes()).unwrap());
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
