//! The phonetic search's index (`person_search_keys`): the keys of every active number, kept
//! in the same transaction as the person's row (`person::insert`, `insert_new`, `update`
//! call [`replace`]), so a search on any process sees a change as soon as it is committed.

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::person::{PersonRow, FIRST_NAME_SEPARATOR};
use super::schema::person_search_keys;
use super::{DbConnection, StoreResult};
use crate::domain::name_search::{KeyMemo, QueryKeys};
use crate::domain::search_criteria::{birth_code, BirthWindow};
use crate::domain::IncompleteDate;

/// One row of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Insertable)]
#[diesel(table_name = person_search_keys)]
pub struct KeyRow<'a> {
    pub search_key: i64,
    pub birth: i32,
    pub ssin: &'a str,
}

/// The index rows of a person as stored: none for a canceled number (never a candidate) or a
/// row whose birth date does not read (left to `PersonRow::person` to report).
pub fn rows_of(row: &PersonRow) -> Vec<KeyRow<'_>> {
    rows_remembered(&mut KeyMemo::default(), row)
}

/// [`rows_of`] for one of many persons, with the names' keys remembered in `memo`.
pub fn rows_remembered<'a>(memo: &mut KeyMemo, row: &'a PersonRow) -> Vec<KeyRow<'a>> {
    rows_of_fields(
        memo,
        &row.ssin,
        &row.status,
        &row.last_name,
        &row.first_names,
        &row.birth_date,
    )
}

/// [`rows_remembered`] from the columns the keys depend on, for readers that load only those
/// (a rebuild, a check).
pub fn rows_of_fields<'a>(
    memo: &mut KeyMemo,
    ssin: &'a str,
    status: &str,
    last_name: &str,
    first_names: &str,
    birth_date: &str,
) -> Vec<KeyRow<'a>> {
    if status != "ACTIVE" {
        return Vec::new();
    }
    let Some(birth) = IncompleteDate::parse(birth_date).map(birth_code) else {
        return Vec::new();
    };
    memo.person_keys(last_name, first_names, FIRST_NAME_SEPARATOR)
        .into_iter()
        .map(|search_key| KeyRow {
            search_key,
            birth,
            ssin,
        })
        .collect()
}

/// Adds the index rows of persons just stored.
pub fn insert(conn: &mut DbConnection, rows: &[PersonRow]) -> StoreResult<()> {
    let keys: Vec<KeyRow> = rows.iter().flat_map(rows_of).collect();
    super::insert_rows!(conn, person_search_keys::table, keys, 5_000);
    Ok(())
}

/// Replaces the index rows of a person whose row changes from `old` to `new` (only the rows
/// that differ are written).
pub fn replace(conn: &mut DbConnection, old: &PersonRow, new: &PersonRow) -> StoreResult<()> {
    let before = rows_of(old);
    let after = rows_of(new);
    for gone in before.iter().filter(|k| !after.contains(k)) {
        diesel::delete(person_search_keys::table.find((gone.search_key, gone.birth, gone.ssin)))
            .execute(conn)?;
    }
    let added: Vec<KeyRow> = after.into_iter().filter(|k| !before.contains(k)).collect();
    super::insert_rows!(conn, person_search_keys::table, added, 5_000);
    Ok(())
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Text)]
    ssin: String,
}

/// Given-name keys are probed in a wide window too when it spans at most this many birth
/// codes (about four calendar years): a first name alone is shared by too many persons over
/// decades for its rows to be worth reading.
const WIDE_GIVEN_NAME_SPAN: i32 = 40_000;

/// The numbers having one of `keys` with a birth date in one of `windows`, at most `limit`,
/// the likeliest first. One index range per key and window. A row found by a last-name key,
/// or by a given-name key in a narrow window, is a *strong* match (weight 2); a given-name
/// key in a wide window only adds weight 1 to a number found otherwise. Numbers are ordered
/// by their total weight (a person sharing the last name *and* a given name comes before one
/// sharing the last name only), then by how near their birth code is to `target`: when a
/// frequent name over a wide window gives more numbers than `limit`, those read further are
/// the likeliest ones, not an arbitrary part.
pub fn candidates(
    conn: &mut DbConnection,
    keys: &QueryKeys,
    windows: &[BirthWindow],
    target: i32,
    limit: usize,
) -> StoreResult<Vec<String>> {
    let mut terms = Vec::new();
    let mut probe = |key: i64, weight: u8, window: &BirthWindow| {
        // Integers computed here, never text from outside.
        terms.push(format!(
            "SELECT ssin, {weight} AS weight, birth FROM person_search_keys \
             WHERE search_key = {key} AND birth BETWEEN {} AND {}",
            window.from, window.to
        ));
    };
    for window in windows {
        for &key in &keys.last_name {
            probe(key, 2, window);
        }
        let given_weight = if window.narrow {
            Some(2)
        } else if window.to - window.from <= WIDE_GIVEN_NAME_SPAN {
            Some(1)
        } else {
            None
        };
        if let Some(weight) = given_weight {
            for &key in &keys.given_names {
                probe(key, weight, window);
            }
        }
    }
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT ssin FROM ({}) AS found GROUP BY ssin HAVING MAX(weight) = 2 \
         ORDER BY SUM(weight) DESC, MIN(ABS(birth - {target})), ssin LIMIT {limit}",
        terms.join(" UNION ALL ")
    );
    let found: Vec<Found> = diesel::sql_query(sql).load(conn)?;
    Ok(found.into_iter().map(|f| f.ssin).collect())
}
