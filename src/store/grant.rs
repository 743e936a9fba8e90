//! Grants: which operations of the identification service an organisation may call.

use diesel::prelude::*;

use super::schema::grants;
use super::{now, DbConnection, StoreResult};

/// Grants `operation` to an organisation; granting twice changes nothing. Returns whether
/// the grant is new.
pub fn add(conn: &mut DbConnection, organisation_id: i32, operation: &str) -> StoreResult<bool> {
    if is_granted(conn, organisation_id, operation)? {
        return Ok(false);
    }
    diesel::insert_into(grants::table)
        .values((
            grants::organisation_id.eq(organisation_id),
            grants::operation.eq(operation),
            grants::granted_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Withdraws a grant. Returns whether there was one.
pub fn revoke(conn: &mut DbConnection, organisation_id: i32, operation: &str) -> StoreResult<bool> {
    let removed = diesel::delete(grants::table.find((organisation_id, operation))).execute(conn)?;
    Ok(removed > 0)
}

/// Whether the organisation may call `operation`.
pub fn is_granted(
    conn: &mut DbConnection,
    organisation_id: i32,
    operation: &str,
) -> StoreResult<bool> {
    let found: i64 = grants::table
        .filter(grants::organisation_id.eq(organisation_id))
        .filter(grants::operation.eq(operation))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// The operations granted to an organisation, sorted.
pub fn of_organisation(conn: &mut DbConnection, organisation_id: i32) -> StoreResult<Vec<String>> {
    Ok(grants::table
        .filter(grants::organisation_id.eq(organisation_id))
        .order(grants::operation)
        .select(grants::operation)
        .load(conn)?)
}
