//! Dossier types: defined per organisation before they are used, retired rather than deleted
//! (existing register lines keep pointing at them).

use diesel::prelude::*;

use super::schema::dossier_types;
use super::{now, DbConnection, StoreResult};

#[derive(Debug, Clone, Queryable)]
pub struct DossierTypeRow {
    pub id: i32,
    pub code: String,
    pub description: Option<String>,
    pub retired_at: Option<chrono::NaiveDateTime>,
}

const COLUMNS: (
    dossier_types::id,
    dossier_types::code,
    dossier_types::description,
    dossier_types::retired_at,
) = (
    dossier_types::id,
    dossier_types::code,
    dossier_types::description,
    dossier_types::retired_at,
);

pub fn find(
    conn: &mut DbConnection,
    organisation_id: i32,
    code: &str,
) -> StoreResult<Option<DossierTypeRow>> {
    Ok(dossier_types::table
        .filter(dossier_types::organisation_id.eq(organisation_id))
        .filter(dossier_types::code.eq(code))
        .select(COLUMNS)
        .first(conn)
        .optional()?)
}

/// All dossier types of an organisation, retired ones included, by code.
pub fn list(conn: &mut DbConnection, organisation_id: i32) -> StoreResult<Vec<DossierTypeRow>> {
    Ok(dossier_types::table
        .filter(dossier_types::organisation_id.eq(organisation_id))
        .order(dossier_types::code)
        .select(COLUMNS)
        .load(conn)?)
}

/// Defines a dossier type, or brings a retired one back with the new description.
pub fn upsert(
    conn: &mut DbConnection,
    organisation_id: i32,
    code: &str,
    description: Option<&str>,
) -> StoreResult<DossierTypeRow> {
    match find(conn, organisation_id, code)? {
        Some(row) => Ok(diesel::update(dossier_types::table.find(row.id))
            .set((
                dossier_types::description.eq(description.or(row.description.as_deref())),
                dossier_types::retired_at.eq(None::<chrono::NaiveDateTime>),
            ))
            .returning(COLUMNS)
            .get_result(conn)?),
        None => Ok(diesel::insert_into(dossier_types::table)
            .values((
                dossier_types::organisation_id.eq(organisation_id),
                dossier_types::code.eq(code),
                dossier_types::description.eq(description),
                dossier_types::created_at.eq(now()),
            ))
            .returning(COLUMNS)
            .get_result(conn)?),
    }
}

/// Retires a dossier type: no new registrations under it. Returns whether it was active.
pub fn retire(conn: &mut DbConnection, organisation_id: i32, code: &str) -> StoreResult<bool> {
    let n = diesel::update(
        dossier_types::table
            .filter(dossier_types::organisation_id.eq(organisation_id))
            .filter(dossier_types::code.eq(code))
            .filter(dossier_types::retired_at.is_null()),
    )
    .set(dossier_types::retired_at.eq(Some(now())))
    .execute(conn)?;
    Ok(n > 0)
}
