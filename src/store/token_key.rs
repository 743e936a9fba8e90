//! The keys that sign the access tokens of raas's own token endpoint (PEM PKCS#8 Ed25519),
//! shared by every process on the database.

use diesel::prelude::*;

use super::schema::token_keys;
use super::{DbConnection, StoreResult};

/// A stored key: its id (the tokens' `kid`), the private key's PEM, when it was made.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = token_keys)]
pub struct TokenKeyRow {
    pub kid: String,
    pub private_key: String,
    pub created_at: chrono::NaiveDateTime,
}

/// Every key, newest first.
pub fn all(conn: &mut DbConnection) -> StoreResult<Vec<TokenKeyRow>> {
    Ok(token_keys::table
        .order((token_keys::created_at.desc(), token_keys::kid))
        .load(conn)?)
}

/// Stores a new key.
pub fn insert(conn: &mut DbConnection, key: &TokenKeyRow) -> StoreResult<()> {
    diesel::insert_into(token_keys::table)
        .values(key)
        .execute(conn)?;
    Ok(())
}
