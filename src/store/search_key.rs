//! The phonetic search's index (`person_search_keys`): the keys of every active number, kept
//! in the same transaction as the person's row (`person::insert`, `insert_new`, `update`
//! call [`replace`]), so a search on any process sees a change as soon as it is committed.

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::person::{PersonRow, FIRST_NAME_SEPARATOR};
use super::schema::person_search_keys;
use super::{DbConnection, StoreResult};
use crate::domain::name_search::{person_keys, QueryKeys};
use crate::domain::search_criteria::{birth_code, BirthWindow};
use crate::domain::IncompleteDate;

/// One row of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyRow<'a> {
    pub search_key: i64,
    pub birth: i32,
    pub ssin: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = person_search_keys)]
struct NewKeyRow<'a> {
    search_key: i64,
    birth: i32,
    ssin: &'a str,
}

/// The index rows of a person as stored: none for a canceled number (never a candidate) or a
/// row whose birth date does not read (left to `PersonRow::person` to report).
pub fn rows_of(row: &PersonRow) -> Vec<KeyRow<'_>> {
    rows_of_fields(
        &row.ssin,
        &row.status,
        &row.last_name,
        &row.first_names,
        &row.birth_date,
    )
}

/// [`rows_of`] from the columns the keys depend on, for readers that load only those (a
/// rebuild, a check).
pub fn rows_of_fields<'a>(
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
    let first_names: Vec<&str> = first_names.split(FIRST_NAME_SEPARATOR).collect();
    person_keys(last_name, &first_names)
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
    let keys: Vec<NewKeyRow> = rows
        .iter()
        .flat_map(rows_of)
        .map(|k| NewKeyRow {
            search_key: k.search_key,
            birth: k.birth,
            ssin: k.ssin,
        })
        .collect();
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
    let added: Vec<NewKeyRow> = after
        .iter()
        .filter(|k| !before.contains(k))
        .map(|k| NewKeyRow {
            search_key: k.search_key,
            birth: k.birth,
            ssin: k.ssin,
        })
        .collect();
    super::insert_rows!(conn, person_search_keys::table, added, 5_000);
    Ok(())
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Text)]
    ssin: String,
}

/// The numbers having one of `keys` with a birth date in one of `windows` (given-name keys
/// only in narrow windows), at most `limit`. One index range per key and window.
pub fn candidates(
    conn: &mut DbConnection,
    keys: &QueryKeys,
    windows: &[BirthWindow],
    limit: usize,
) -> StoreResult<Vec<String>> {
    let mut terms = Vec::new();
    for window in windows {
        let given: &[i64] = if window.narrow {
            &keys.given_names
        } else {
            &[]
        };
        for key in keys.last_name.iter().chain(given) {
            // Integers computed here, never text from outside.
            terms.push(format!(
                "SELECT ssin FROM person_search_keys WHERE search_key = {key} \
                 AND birth BETWEEN {} AND {}",
                window.from, window.to
            ));
        }
    }
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT DISTINCT ssin FROM ({}) AS found LIMIT {limit}",
        terms.join(" UNION ALL ")
    );
    let found: Vec<Found> = diesel::sql_query(sql).load(conn)?;
    Ok(found.into_iter().map(|f| f.ssin).collect())
}
