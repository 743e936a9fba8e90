//! The `jti` of the client assertions (`private_key_jwt`) accepted, kept until they expire:
//! an assertion is accepted once.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::client_assertions;
use super::{DbConnection, StoreResult};

/// Records an assertion's `jti` (and forgets those expired at `now`); `false` when it was
/// seen already. Call inside a write transaction.
pub fn record_once(
    conn: &mut DbConnection,
    jti: &str,
    client_id: &str,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    diesel::delete(client_assertions::table.filter(client_assertions::expires_at.lt(now)))
        .execute(conn)?;
    let seen: i64 = client_assertions::table
        .filter(client_assertions::jti.eq(jti))
        .count()
        .get_result(conn)?;
    if seen > 0 {
        return Ok(false);
    }
    diesel::insert_into(client_assertions::table)
        .values((
            client_assertions::jti.eq(jti),
            client_assertions::client_id.eq(client_id),
            client_assertions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(true)
}
