//! Organisations: the users of the register, known by their enterprise number.

use diesel::prelude::*;

use super::schema::organisations;
use super::{now, DbConnection, StoreResult};

#[derive(Debug, Clone, Queryable)]
pub struct OrganisationRow {
    pub id: i32,
    pub cbe_number: String,
    pub name: String,
}

const COLUMNS: (
    organisations::id,
    organisations::cbe_number,
    organisations::name,
) = (
    organisations::id,
    organisations::cbe_number,
    organisations::name,
);

pub fn find_by_cbe(conn: &mut DbConnection, cbe: &str) -> StoreResult<Option<OrganisationRow>> {
    Ok(organisations::table
        .filter(organisations::cbe_number.eq(cbe))
        .select(COLUMNS)
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, cbe: &str, name: &str) -> StoreResult<OrganisationRow> {
    Ok(diesel::insert_into(organisations::table)
        .values((
            organisations::cbe_number.eq(cbe),
            organisations::name.eq(name),
            organisations::created_at.eq(now()),
        ))
        .returning(COLUMNS)
        .get_result(conn)?)
}

pub fn list(conn: &mut DbConnection) -> StoreResult<Vec<OrganisationRow>> {
    Ok(organisations::table
        .order(organisations::cbe_number)
        .select(COLUMNS)
        .load(conn)?)
}

/// The organisations of `ids`, by id.
pub fn by_ids(
    conn: &mut DbConnection,
    ids: &[i32],
) -> StoreResult<std::collections::BTreeMap<i32, OrganisationRow>> {
    let mut found = std::collections::BTreeMap::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<OrganisationRow> = organisations::table
            .filter(organisations::id.eq_any(chunk))
            .select(COLUMNS)
            .load(conn)?;
        found.extend(rows.into_iter().map(|row| (row.id, row)));
    }
    Ok(found)
}
