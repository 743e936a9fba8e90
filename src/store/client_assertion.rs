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
    // A jti seen already (even by a transaction committing now) inserts nothing.
    use diesel::sql_types::{Text, Timestamp};
    let insert = |placeholders: &str| {
        format!(
            "INSERT INTO client_assertions (jti, client_id, expires_at) VALUES ({placeholders}) \
             ON CONFLICT (jti) DO NOTHING"
        )
    };
    let inserted = match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(insert("$1, $2, $3"))
            .bind::<Text, _>(jti)
            .bind::<Text, _>(client_id)
            .bind::<Timestamp, _>(expires_at)
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::sql_query(insert("?1, ?2, ?3"))
            .bind::<Text, _>(jti)
            .bind::<Text, _>(client_id)
            .bind::<Timestamp, _>(expires_at)
            .execute(sqlite)?,
    };
    Ok(inserted == 1)
}
