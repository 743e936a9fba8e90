//! Register lines: `organisation – NISS – dossier type – period`.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::{dossier_types, persons, relations};
use super::{now, person, DbConnection, StoreError, StoreResult};
use crate::domain::{Period, PersonStatus};

/// One stored line of a register for a known person and dossier type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationRow {
    pub id: i64,
    pub period: Period,
}

/// One line as a consultation returns it, with its dossier type's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterLine {
    pub dossier_type: String,
    pub period: Period,
}

/// A dossier type of an organisation with the lines of one person under it, and the
/// person's status in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLines {
    pub dossier_type_id: i32,
    pub retired: bool,
    pub lines: Vec<RelationRow>,
    /// `(status, replaced_by)` of the number, `None` when the source does not know it.
    pub person_status: Option<PersonStatus>,
}

/// The dossier type `code` of an organisation, the person's lines under it by begin date
/// and the number's status in the source, in one statement (one round trip for what every
/// register change reads); `None` when the organisation has no such dossier type.
pub fn key_lines(
    conn: &mut DbConnection,
    organisation_id: i32,
    code: &str,
    ssin: &str,
) -> StoreResult<Option<KeyLines>> {
    let rows = dossier_types::table
        .left_join(
            // The organisation and the person first: the index's prefix.
            relations::table.on(relations::organisation_id
                .eq(organisation_id)
                .and(relations::ssin.eq(ssin.to_owned()))
                .and(relations::dossier_type_id.eq(dossier_types::id))),
        )
        .left_join(persons::table.on(persons::ssin.eq(ssin.to_owned())))
        .filter(dossier_types::organisation_id.eq(organisation_id))
        .filter(dossier_types::code.eq(code))
        .order(relations::begin_date)
        .select((
            (
                dossier_types::id,
                dossier_types::retired_at.is_not_null(),
                relations::id.nullable(),
                relations::begin_date.nullable(),
                relations::end_date.nullable(),
            ),
            (persons::status.nullable(), persons::replaced_by.nullable()),
        ))
        .load::<(
            (i32, bool, Option<i64>, Option<NaiveDate>, Option<NaiveDate>),
            (Option<String>, Option<String>),
        )>(conn)?;
    let Some(((dossier_type_id, retired, ..), (status, replaced_by))) = rows.first().cloned()
    else {
        return Ok(None);
    };
    let person_status = status
        .map(|status| person::read_status(ssin, &status, replaced_by.as_deref()))
        .transpose()?;
    let lines = rows
        .into_iter()
        .filter_map(|((_, _, id, begin_date, end_date), _)| Some((id?, begin_date?, end_date)))
        .map(|(id, begin_date, end_date)| {
            Ok(RelationRow {
                id,
                period: stored_period(begin_date, end_date)?,
            })
        })
        .collect::<StoreResult<_>>()?;
    Ok(Some(KeyLines {
        dossier_type_id,
        retired,
        lines,
        person_status,
    }))
}

/// Replaces some lines by others, inside the caller's transaction.
pub fn replace_lines(
    conn: &mut DbConnection,
    organisation_id: i32,
    ssin: &str,
    dossier_type_id: i32,
    removed: &[i64],
    added: &[Period],
) -> StoreResult<()> {
    if !removed.is_empty() {
        diesel::delete(relations::table.filter(relations::id.eq_any(removed))).execute(conn)?;
    }
    if !added.is_empty() {
        let created_at = now();
        for period in added {
            diesel::insert_into(relations::table)
                .values((
                    relations::organisation_id.eq(organisation_id),
                    relations::ssin.eq(ssin),
                    relations::dossier_type_id.eq(dossier_type_id),
                    relations::begin_date.eq(period.begin()),
                    relations::end_date.eq(period.end()),
                    relations::created_at.eq(created_at),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// An organisation's lines for a person, of every dossier type, by dossier type code and
/// begin date. One static statement (prepared once per connection): a person has few lines,
/// so the caller filters them.
pub fn lines_of_person(
    conn: &mut DbConnection,
    organisation_id: i32,
    ssin: &str,
) -> StoreResult<Vec<RegisterLine>> {
    let rows = relations::table
        .inner_join(dossier_types::table)
        .filter(relations::organisation_id.eq(organisation_id))
        .filter(relations::ssin.eq(ssin))
        .order((dossier_types::code, relations::begin_date))
        .select((
            dossier_types::code,
            relations::begin_date,
            relations::end_date,
        ))
        .load::<(String, NaiveDate, Option<NaiveDate>)>(conn)?;
    rows.into_iter()
        .map(|(dossier_type, begin_date, end_date)| {
            Ok(RegisterLine {
                dossier_type,
                period: stored_period(begin_date, end_date)?,
            })
        })
        .collect()
}

/// One stored line with its register key, for moving lines between numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedLine {
    pub organisation_id: i32,
    pub dossier_type_id: i32,
    pub line: RelationRow,
}

/// Every line of a number in every organisation's register, by organisation, dossier type
/// and begin date.
pub fn lines_of_number(conn: &mut DbConnection, ssin: &str) -> StoreResult<Vec<KeyedLine>> {
    let rows = relations::table
        .filter(relations::ssin.eq(ssin))
        .order((
            relations::organisation_id,
            relations::dossier_type_id,
            relations::begin_date,
        ))
        .select((
            relations::organisation_id,
            relations::dossier_type_id,
            relations::id,
            relations::begin_date,
            relations::end_date,
        ))
        .load::<(i32, i32, i64, NaiveDate, Option<NaiveDate>)>(conn)?;
    rows.into_iter()
        .map(
            |(organisation_id, dossier_type_id, id, begin_date, end_date)| {
                Ok(KeyedLine {
                    organisation_id,
                    dossier_type_id,
                    line: RelationRow {
                        id,
                        period: stored_period(begin_date, end_date)?,
                    },
                })
            },
        )
        .collect()
}

/// The lines of one register key given by its dossier type's id, by begin date.
pub fn lines_of_key(
    conn: &mut DbConnection,
    organisation_id: i32,
    dossier_type_id: i32,
    ssin: &str,
) -> StoreResult<Vec<RelationRow>> {
    let rows = relations::table
        .filter(relations::organisation_id.eq(organisation_id))
        .filter(relations::ssin.eq(ssin))
        .filter(relations::dossier_type_id.eq(dossier_type_id))
        .order(relations::begin_date)
        .select((relations::id, relations::begin_date, relations::end_date))
        .load::<(i64, NaiveDate, Option<NaiveDate>)>(conn)?;
    rows.into_iter()
        .map(|(id, begin_date, end_date)| {
            Ok(RelationRow {
                id,
                period: stored_period(begin_date, end_date)?,
            })
        })
        .collect()
}

/// A stored line's period: lines were valid when written, so one that is not is a storage
/// fault.
fn stored_period(begin: NaiveDate, end: Option<NaiveDate>) -> StoreResult<Period> {
    Period::new(begin, end)
        .map_err(|e| StoreError::Corrupt(format!("a stored register line is invalid: {e}")))
}
