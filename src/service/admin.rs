//! Onboarding: organisations, their credentials, their dossier types and the operations of
//! the identification service they are granted. Used by the administration CLI and by
//! `serve --demo`. Also the operators' reading of a number's history.

use super::authentication::hash_secret;
use super::error::ServiceError;
use super::identification::Operation;
use base64::Engine as _;

use crate::domain::{DossierTypeCode, EnterpriseNumber, Niss, Scopes};
use crate::store::audit::{self, AuditEntry};
use crate::store::credential::Upsert;
use crate::store::dossier_type::{self, DossierTypeRow};
use crate::store::journal::{self, JournalEntry};
use crate::store::organisation::{self, OrganisationRow};
use crate::store::{credential, grant, now, person, Database};

pub fn add_organisation(
    db: &Database,
    cbe: &EnterpriseNumber,
    name: &str,
) -> Result<OrganisationRow, ServiceError> {
    db.write(|conn| {
        if organisation::find_by_cbe(conn, cbe.as_str())?.is_some() {
            return Err(ServiceError::Conflict(format!(
                "the organisation {cbe} already exists"
            )));
        }
        Ok(organisation::insert(conn, cbe.as_str(), name)?)
    })
}

pub fn find_organisation(
    db: &Database,
    cbe: &EnterpriseNumber,
) -> Result<Option<OrganisationRow>, ServiceError> {
    Ok(organisation::find_by_cbe(
        &mut *db.connection()?,
        cbe.as_str(),
    )?)
}

pub fn list_organisations(db: &Database) -> Result<Vec<OrganisationRow>, ServiceError> {
    Ok(organisation::list(&mut *db.connection()?)?)
}

/// The id of the organisation of an enterprise number; an unknown one is refused.
pub fn organisation_id(db: &Database, cbe: &EnterpriseNumber) -> Result<i32, ServiceError> {
    find_organisation(db, cbe)?
        .map(|o| o.id)
        .ok_or_else(|| ServiceError::UnknownOrganisation(cbe.to_string()))
}

/// Adds a credential to an organisation, or sets a new secret for one of its credentials.
pub fn set_credential(
    db: &Database,
    cbe: &EnterpriseNumber,
    username: &str,
    secret: &str,
) -> Result<(), ServiceError> {
    if username.is_empty() || username.len() > 64 || username.chars().any(char::is_whitespace) {
        return Err(ServiceError::InvalidInput(
            "a username has 1 to 64 characters and no white space".into(),
        ));
    }
    if secret.chars().count() < 12 {
        return Err(ServiceError::InvalidInput(
            "a secret has at least 12 characters".into(),
        ));
    }
    let organisation_id = organisation_id(db, cbe)?;
    let hash = hash_secret(secret)?;
    let stored =
        db.write(|conn| credential::upsert(conn, organisation_id, username, &hash, None))?;
    match stored {
        Upsert::Stored => Ok(()),
        Upsert::OtherOrganisation => Err(ServiceError::Conflict(format!(
            "the username {username} belongs to another organisation"
        ))),
        Upsert::OtherKind => Err(ServiceError::Conflict(format!(
            "the username {username} is an OAuth client's (raas admin client …)"
        ))),
    }
}

/// An OAuth client as made: its id and its secret (shown once, stored hashed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Scopes,
}

/// Makes an OAuth client of the REST API for an organisation, with a random id and secret.
pub fn add_client(
    db: &Database,
    cbe: &EnterpriseNumber,
    scopes: Scopes,
) -> Result<NewClient, ServiceError> {
    if scopes.is_empty() {
        return Err(ServiceError::InvalidInput(
            "a client needs at least one scope".into(),
        ));
    }
    set_client(db, cbe, &format!("client-{}", random_token(12)), scopes)
}

/// Gives the OAuth client `client_id` of an organisation a new random secret and `scopes`
/// (making the client if it does not exist).
pub fn set_client(
    db: &Database,
    cbe: &EnterpriseNumber,
    client_id: &str,
    scopes: Scopes,
) -> Result<NewClient, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    let client = NewClient {
        client_id: client_id.to_owned(),
        client_secret: random_token(32),
        scopes,
    };
    let hash = hash_secret(&client.client_secret)?;
    let scopes = client.scopes.to_string();
    let stored = db.write(|conn| {
        credential::upsert(
            conn,
            organisation_id,
            &client.client_id,
            &hash,
            Some(&scopes),
        )
    })?;
    match stored {
        Upsert::Stored => Ok(client),
        Upsert::OtherOrganisation => Err(ServiceError::Conflict(format!(
            "the client id {client_id} belongs to another organisation"
        ))),
        Upsert::OtherKind => Err(ServiceError::Conflict(format!(
            "the client id {client_id} is a SOAP credential's"
        ))),
    }
}

/// Makes a client that authenticates with `private_key_jwt`: its assertions are checked with
/// `public_key` (PEM); it has a random secret that is never shown (no secret works for it).
pub fn add_key_client(
    db: &Database,
    cbe: &EnterpriseNumber,
    scopes: Scopes,
    public_key: &str,
) -> Result<String, ServiceError> {
    super::client_assertion::check_public_key(public_key)
        .map_err(|why| ServiceError::InvalidInput(format!("--public-key: {why}")))?;
    let client = add_client(db, cbe, scopes)?;
    db.write(|conn| credential::set_public_key(conn, &client.client_id, public_key))?;
    Ok(client.client_id)
}

/// `bytes` random bytes in base64url.
fn random_token(bytes: usize) -> String {
    let random: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
}

/// An organisation's OAuth clients that are not revoked, with their scopes.
pub fn clients(
    db: &Database,
    cbe: &EnterpriseNumber,
) -> Result<Vec<(String, String)>, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    let mut conn = db.connection()?;
    Ok(credential::clients_of(&mut conn, organisation_id)?)
}

pub fn revoke_credential(
    db: &Database,
    cbe: &EnterpriseNumber,
    username: &str,
) -> Result<bool, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    db.write(|conn| Ok(credential::revoke(conn, organisation_id, username, false)?))
}

/// Revokes an OAuth client of an organisation (a SOAP credential of that name is left).
pub fn revoke_client(
    db: &Database,
    cbe: &EnterpriseNumber,
    client_id: &str,
) -> Result<bool, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    db.write(|conn| Ok(credential::revoke(conn, organisation_id, client_id, true)?))
}

pub fn add_dossier_type(
    db: &Database,
    cbe: &EnterpriseNumber,
    code: &DossierTypeCode,
    description: Option<&str>,
) -> Result<DossierTypeRow, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    db.write(|conn| {
        Ok(dossier_type::upsert(
            conn,
            organisation_id,
            code.as_str(),
            description,
        )?)
    })
}

pub fn list_dossier_types(
    db: &Database,
    cbe: &EnterpriseNumber,
) -> Result<Vec<DossierTypeRow>, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    Ok(dossier_type::list(&mut *db.connection()?, organisation_id)?)
}

pub fn retire_dossier_type(
    db: &Database,
    cbe: &EnterpriseNumber,
    code: &DossierTypeCode,
) -> Result<bool, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    db.write(|conn| Ok(dossier_type::retire(conn, organisation_id, code.as_str())?))
}

/// Grants an operation to an organisation (`granted`) or withdraws it. Returns whether
/// that changed anything: granting twice, or withdrawing what is not granted, does not.
pub fn set_grant(
    db: &Database,
    cbe: &EnterpriseNumber,
    operation: Operation,
    granted: bool,
) -> Result<bool, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    let operation = operation.as_str();
    db.write(|conn| {
        Ok(if granted {
            grant::add(conn, organisation_id, operation)?
        } else {
            grant::revoke(conn, organisation_id, operation)?
        })
    })
}

/// The operations an organisation is granted, sorted.
pub fn granted_operations(
    db: &Database,
    cbe: &EnterpriseNumber,
) -> Result<Vec<String>, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    Ok(grant::of_organisation(
        &mut *db.connection()?,
        organisation_id,
    )?)
}

/// Audit entries, newest first, optionally only those about one person.
pub fn audit_entries(
    db: &Database,
    ssin: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditEntry>, ServiceError> {
    let mut conn = db.connection()?;
    Ok(match ssin {
        Some(ssin) => audit::latest_for_ssin(&mut conn, ssin, limit)?,
        None => audit::latest(&mut conn, limit)?,
    })
}

/// A number's history as the operators read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonHistory {
    /// Its mutation journal entries, oldest first; none for a person of the baseline load
    /// that nothing changed since.
    pub entries: Vec<JournalEntry>,
    /// The source of the person's current state (the population file of the baseline load
    /// when nothing changed since) and when it was stored.
    pub source: String,
    pub updated_at: chrono::NaiveDateTime,
    pub version: i32,
}

/// The history of a number. Reading personal data: the access is recorded in the audit
/// trail (service `raas-admin`, operation `history`) in the same transaction, also when the
/// number is unknown to the source (outcome `SSIN_UNKNOWN`, then refused).
pub fn person_history(db: &Database, ssin: &Niss) -> Result<PersonHistory, ServiceError> {
    let found = db.write(|conn| {
        let found = match person::find(conn, ssin.as_str())? {
            Some(row) => Some(PersonHistory {
                entries: journal::history(conn, ssin.as_str())?,
                source: row.source,
                updated_at: row.updated_at,
                version: row.version,
            }),
            None => None,
        };
        let outcome = match found {
            Some(_) => "OK",
            None => ServiceError::UnknownSsin(String::new()).outcome(),
        };
        let entry = AuditEntry {
            recorded_at: now(),
            service: "raas-admin".into(),
            operation: "history".into(),
            organisation_id: None,
            claimed_cbe_number: None,
            username: None,
            ssin: Some(ssin.to_string()),
            legal_context: None,
            client_ticket: None,
            server_ticket: uuid::Uuid::new_v4().to_string(),
            outcome: outcome.into(),
            target: None,
        };
        audit::append(conn, &[entry])?;
        Ok::<_, ServiceError>(found)
    })?;
    found.ok_or_else(|| ServiceError::UnknownSsin(ssin.to_string()))
}
