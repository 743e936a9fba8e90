//! The records of a PERSON_MUTATIONS file (xsd/PersonMutations.xsd), made from journal
//! entries: identity changes (each field before → after), deceases, cancellations, and NISS
//! replacements with the receiver's register lines as they were moved and merged.

use std::collections::HashMap;
use std::io::{self, Write};

use chrono::NaiveDateTime;
use yaserde::YaSerialize;

use super::header::write_element;
use crate::domain::Subscription;
use crate::store::journal::{JournalEntry, MutationKind};

pub const ROOT: &str = "PersonMutations";
pub const NAMESPACE: &str = "urn:be:raas:batch:PersonMutations:v1";

#[derive(Debug, Clone, PartialEq, Eq, YaSerialize)]
#[yaserde(rename = "field")]
struct Field {
    name: String,
    before: Option<String>,
    after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, YaSerialize)]
#[yaserde(rename = "identityChange")]
struct IdentityChange {
    seq: i64,
    #[yaserde(rename = "recordedAt")]
    recorded_at: String,
    ssin: String,
    field: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq, YaSerialize)]
#[yaserde(rename = "decease")]
struct Decease {
    seq: i64,
    #[yaserde(rename = "recordedAt")]
    recorded_at: String,
    ssin: String,
    #[yaserde(rename = "deceaseDate")]
    decease_date: String,
}

#[derive(Debug, Clone, PartialEq, Eq, YaSerialize)]
#[yaserde(rename = "cancellation")]
struct Cancellation {
    seq: i64,
    #[yaserde(rename = "recordedAt")]
    recorded_at: String,
    ssin: String,
}

#[derive(Debug, Clone, PartialEq, Eq, YaSerialize)]
struct Line {
    begin: String,
    end: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, YaSerialize)]
#[yaserde(rename = "dossierType")]
struct DossierTypeLines {
    code: String,
    moved: Vec<Line>,
    merged: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Eq, YaSerialize)]
#[yaserde(rename = "replacement")]
struct Replacement {
    seq: i64,
    #[yaserde(rename = "recordedAt")]
    recorded_at: String,
    #[yaserde(rename = "oldSsin")]
    old_ssin: String,
    #[yaserde(rename = "newSsin")]
    new_ssin: String,
    #[yaserde(rename = "dossierType")]
    dossier_type: Vec<DossierTypeLines>,
}

/// A journal entry that does not read back as the journal writes it.
#[derive(Debug, thiserror::Error)]
#[error("journal entry {seq}: {reason}")]
pub struct UnreadableEntry {
    pub seq: i64,
    pub reason: String,
}

/// An instant as the files write it: RFC 3339 in UTC.
pub fn timestamp(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn unreadable(entry: &JournalEntry, reason: impl Into<String>) -> UnreadableEntry {
    UnreadableEntry {
        seq: entry.seq,
        reason: reason.into(),
    }
}

fn changes(entry: &JournalEntry) -> Result<serde_json::Value, UnreadableEntry> {
    let text = entry
        .changes
        .as_deref()
        .ok_or_else(|| unreadable(entry, "no changes recorded"))?;
    serde_json::from_str(text).map_err(|e| unreadable(entry, e.to_string()))
}

fn text(value: &serde_json::Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn fields(entry: &JournalEntry) -> Result<Vec<Field>, UnreadableEntry> {
    let value = changes(entry)?;
    let list = value
        .as_array()
        .ok_or_else(|| unreadable(entry, "changes are not a list"))?;
    list.iter()
        .map(|c| {
            Ok(Field {
                name: text(&c["field"])
                    .ok_or_else(|| unreadable(entry, "a change has no field"))?,
                before: text(&c["before"]),
                after: text(&c["after"]),
            })
        })
        .collect()
}

/// Writes the record of an entry about a person (identity change, decease, cancellation):
/// the same for every receiver. Returns `false` for an entry of another kind.
pub fn write_person_record<W: Write>(
    out: &mut W,
    entry: &JournalEntry,
) -> Result<bool, RecordError> {
    let recorded_at = timestamp(entry.recorded_at);
    let seq = entry.seq;
    let ssin = entry.ssin.clone();
    if entry.kind == MutationKind::IdentityChanged.as_str() {
        let field = fields(entry)?;
        write_element(
            out,
            &IdentityChange {
                seq,
                recorded_at,
                ssin,
                field,
            },
        )?;
    } else if entry.kind == MutationKind::Deceased.as_str() {
        let decease_date = fields(entry)?
            .into_iter()
            .find(|f| f.name == "deceaseDate")
            .and_then(|f| f.after)
            .ok_or_else(|| unreadable(entry, "a decease without its date"))?;
        write_element(
            out,
            &Decease {
                seq,
                recorded_at,
                ssin,
                decease_date,
            },
        )?;
    } else if entry.kind == MutationKind::SsinCanceled.as_str() {
        write_element(
            out,
            &Cancellation {
                seq,
                recorded_at,
                ssin,
            },
        )?;
    } else {
        return Ok(false);
    }
    Ok(true)
}

/// The record of a replacement in one receiver's register, with the lines of the dossier
/// types `subscription` covers (`None` when it covers none of them: no record).
pub fn replacement_record(
    entry: &JournalEntry,
    subscription: &Subscription,
    codes: &HashMap<i32, String>,
) -> Result<Option<Vec<u8>>, RecordError> {
    let value = changes(entry)?;
    let list = value
        .as_array()
        .ok_or_else(|| unreadable(entry, "changes are not a list"))?;
    let lines = |v: &serde_json::Value| -> Vec<Line> {
        v.as_array()
            .map(|periods| {
                periods
                    .iter()
                    .filter_map(|p| {
                        Some(Line {
                            begin: text(&p["begin"])?,
                            end: text(&p["end"]),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut dossier_type = Vec::new();
    for item in list {
        let id = item["dossier_type_id"]
            .as_i64()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| unreadable(entry, "a register replacement without its dossier type"))?;
        if !subscription.covers(id) {
            continue;
        }
        let code = codes
            .get(&id)
            .cloned()
            .ok_or_else(|| unreadable(entry, format!("unknown dossier type {id}")))?;
        dossier_type.push(DossierTypeLines {
            code,
            moved: lines(&item["moved"]),
            merged: lines(&item["merged"]),
        });
    }
    if dossier_type.is_empty() {
        return Ok(None);
    }
    let record = Replacement {
        seq: entry.seq,
        recorded_at: timestamp(entry.recorded_at),
        old_ssin: entry.ssin.clone(),
        new_ssin: entry
            .new_ssin
            .clone()
            .ok_or_else(|| unreadable(entry, "a replacement without its new number"))?,
        dossier_type,
    };
    let mut bytes = Vec::new();
    write_element(&mut bytes, &record)?;
    Ok(Some(bytes))
}

/// Why a record could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Unreadable(#[from] UnreadableEntry),
    #[error(transparent)]
    Io(#[from] io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: MutationKind, changes: &str) -> JournalEntry {
        JournalEntry {
            seq: 7,
            recorded_at: chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap(),
            source: "test".into(),
            kind: kind.as_str().into(),
            ssin: "85073003328".into(),
            new_ssin: Some("85073003427".into()),
            organisation_id: Some(1),
            changes: Some(changes.into()),
        }
    }

    #[test]
    fn an_identity_change_lists_each_field_and_leaves_absent_values_out() {
        let mut out = Vec::new();
        let e = entry(
            MutationKind::IdentityChanged,
            r#"[{"field":"lastName","before":"Dupont & <Fils>","after":"Dupond"},{"field":"nationality","before":null,"after":"BE"}]"#,
        );
        assert!(write_person_record(&mut out, &e).unwrap());
        let xml = String::from_utf8(out).unwrap();
        assert_eq!(
            xml,
            "<identityChange><seq>7</seq><recordedAt>2026-11-30T10:00:00.000000Z</recordedAt><ssin>85073003328</ssin>\
             <field><name>lastName</name><before>Dupont &amp; &lt;Fils&gt;</before><after>Dupond</after></field>\
             <field><name>nationality</name><after>BE</after></field></identityChange>\n"
        );
    }

    #[test]
    fn a_replacement_keeps_only_the_covered_dossier_types() {
        let e = entry(
            MutationKind::RegisterReplacement,
            r#"[{"dossier_type_id":3,"moved":[{"begin":"2020-01-01","end":null}],"merged":[{"begin":"2019-01-01","end":null}]},{"dossier_type_id":4,"moved":[],"merged":[]}]"#,
        );
        let codes = HashMap::from([(3, "A".to_string()), (4, "B".to_string())]);
        let mut subscription = Subscription {
            id: 1,
            organisation_id: 1,
            file_type: crate::domain::FileType::PersonMutations,
            dossier_type_ids: vec![3],
            authorisation: None,
            starts_on: chrono::NaiveDate::MIN,
            ends_on: None,
        };
        let xml = String::from_utf8(
            replacement_record(&e, &subscription, &codes)
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert!(xml.contains("<oldSsin>85073003328</oldSsin><newSsin>85073003427</newSsin><dossierType><code>A</code><moved><begin>2020-01-01</begin></moved><merged><begin>2019-01-01</begin></merged></dossierType></replacement>"), "{xml}");
        subscription.dossier_type_ids = vec![9];
        assert!(replacement_record(&e, &subscription, &codes)
            .unwrap()
            .is_none());
    }
}
