//! Credentials: a username and the hash of its secret, belonging to one organisation.

use diesel::prelude::*;

use super::schema::{credentials, organisations};
use super::{now, DbConnection, StoreResult};

/// An active credential with the organisation it belongs to.
#[derive(Debug, Clone)]
pub struct CredentialRow {
    pub id: i32,
    pub username: String,
    pub secret_hash: String,
    pub organisation_id: i32,
    pub cbe_number: String,
    /// An OAuth client's scopes (space-separated); `None` for a SOAP credential.
    pub scopes: Option<String>,
}

pub fn find_active(conn: &mut DbConnection, username: &str) -> StoreResult<Option<CredentialRow>> {
    let row = credentials::table
        .inner_join(organisations::table)
        .filter(credentials::username.eq(username))
        .filter(credentials::revoked_at.is_null())
        .select((
            credentials::id,
            credentials::username,
            credentials::secret_hash,
            organisations::id,
            organisations::cbe_number,
            credentials::scopes,
        ))
        .first::<(i32, String, String, i32, String, Option<String>)>(conn)
        .optional()?;
    Ok(row.map(
        |(id, username, secret_hash, organisation_id, cbe_number, scopes)| CredentialRow {
            id,
            username,
            secret_hash,
            organisation_id,
            cbe_number,
            scopes,
        },
    ))
}

/// The secret hash of a credential that is not revoked, by its id.
pub fn active_secret_hash(conn: &mut DbConnection, id: i32) -> StoreResult<Option<String>> {
    Ok(credentials::table
        .find(id)
        .filter(credentials::revoked_at.is_null())
        .select(credentials::secret_hash)
        .first(conn)
        .optional()?)
}

/// Adds a credential, or gives an existing username of the same organisation a new secret
/// (and reactivates it), with `scopes` for an OAuth client (`None`: a SOAP credential).
/// Nothing is stored when the username belongs to another organisation, or is of the other
/// kind (a SOAP credential's name for a client, or a client's for a credential).
pub fn upsert(
    conn: &mut DbConnection,
    organisation_id: i32,
    username: &str,
    secret_hash: &str,
    scopes: Option<&str>,
) -> StoreResult<Upsert> {
    let existing = credentials::table
        .filter(credentials::username.eq(username))
        .select((
            credentials::id,
            credentials::organisation_id,
            credentials::scopes,
        ))
        .first::<(i32, i32, Option<String>)>(conn)
        .optional()?;
    match existing {
        Some((_, owner, _)) if owner != organisation_id => Ok(Upsert::OtherOrganisation),
        // A SOAP credential never becomes an OAuth client, nor a client a credential.
        Some((_, _, kind)) if kind.is_some() != scopes.is_some() => Ok(Upsert::OtherKind),
        Some((id, _, _)) => {
            diesel::update(credentials::table.find(id))
                .set((
                    credentials::secret_hash.eq(secret_hash),
                    credentials::revoked_at.eq(None::<chrono::NaiveDateTime>),
                    credentials::scopes.eq(scopes),
                ))
                .execute(conn)?;
            Ok(Upsert::Stored)
        }
        None => {
            diesel::insert_into(credentials::table)
                .values((
                    credentials::organisation_id.eq(organisation_id),
                    credentials::username.eq(username),
                    credentials::secret_hash.eq(secret_hash),
                    credentials::created_at.eq(now()),
                    credentials::scopes.eq(scopes),
                ))
                .execute(conn)?;
            Ok(Upsert::Stored)
        }
    }
}

/// What [`upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Stored,
    OtherOrganisation,
    OtherKind,
}

/// Revokes a credential of an organisation; returns whether one was revoked.
/// `client`: an OAuth client (with scopes), else a SOAP credential; the other kind is left.
pub fn revoke(
    conn: &mut DbConnection,
    organisation_id: i32,
    username: &str,
    client: bool,
) -> StoreResult<bool> {
    let n = diesel::update(
        credentials::table
            .filter(credentials::organisation_id.eq(organisation_id))
            .filter(credentials::username.eq(username))
            .filter(credentials::revoked_at.is_null())
            .filter(credentials::scopes.is_null().eq(!client)),
    )
    .set(credentials::revoked_at.eq(Some(now())))
    .execute(conn)?;
    Ok(n > 0)
}

/// An organisation's OAuth clients that are not revoked: (client id, scopes), by id.
pub fn clients_of(
    conn: &mut DbConnection,
    organisation_id: i32,
) -> StoreResult<Vec<(String, String)>> {
    let rows: Vec<(String, Option<String>)> = credentials::table
        .filter(credentials::organisation_id.eq(organisation_id))
        .filter(credentials::revoked_at.is_null())
        .filter(credentials::scopes.is_not_null())
        .order(credentials::id)
        .select((credentials::username, credentials::scopes))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, scopes)| (id, scopes.unwrap_or_default()))
        .collect())
}

/// Sets the PEM public key an OAuth client's assertions are checked with (`private_key_jwt`).
pub fn set_public_key(conn: &mut DbConnection, username: &str, pem: &str) -> StoreResult<()> {
    diesel::update(credentials::table.filter(credentials::username.eq(username)))
        .set(credentials::public_key.eq(Some(pem)))
        .execute(conn)?;
    Ok(())
}

/// An active OAuth client that authenticates with `private_key_jwt`, and its public key.
pub fn find_with_public_key(
    conn: &mut DbConnection,
    username: &str,
) -> StoreResult<Option<(CredentialRow, String)>> {
    let Some(row) = find_active(conn, username)? else {
        return Ok(None);
    };
    let key: Option<String> = credentials::table
        .find(row.id)
        .select(credentials::public_key)
        .first(conn)?;
    Ok(key.filter(|_| row.scopes.is_some()).map(|key| (row, key)))
}
