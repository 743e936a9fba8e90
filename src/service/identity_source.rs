//! The authentic source as the services see it: which numbers may be used, and whether an
//! identity a caller claims is the one the source knows.

use crate::domain::identity_check::{self, ClaimedIdentity};
use crate::service::ServiceError;
use crate::store::{person, DbConnection};

/// Refuses a number the source does not know, or that is canceled (naming the final
/// replacing number when it was replaced). What every register operation checks first.
pub fn require_active(conn: &mut DbConnection, ssin: &str) -> Result<(), ServiceError> {
    let status = person::status(conn, ssin)?;
    check_status(conn, ssin, status)
}

/// [`require_active`], then compares `claimed` with the source's identity: refuses with
/// the differing fields (`personData/<field>`, the value as sent).
pub fn require_active_matching(
    conn: &mut DbConnection,
    ssin: &str,
    claimed: &ClaimedIdentity,
) -> Result<(), ServiceError> {
    let row = person::find(conn, ssin)?;
    let status = row
        .as_ref()
        .map(|r| (r.status.clone(), r.replaced_by.clone()));
    check_status(conn, ssin, status)?;
    let Some(row) = row else {
        return Err(ServiceError::UnknownSsin(ssin.to_string()));
    };
    let mismatches = identity_check::check(claimed, &row.person()?.identity);
    if mismatches.is_empty() {
        return Ok(());
    }
    Err(ServiceError::IdentityMismatch(
        mismatches
            .into_iter()
            .map(|m| (format!("personData/{}", m.field), m.claimed))
            .collect(),
    ))
}

/// Refuses a number by its `(status, replaced_by)` as read from the source (`None`: unknown).
pub fn check_status(
    conn: &mut DbConnection,
    ssin: &str,
    status: Option<(String, Option<String>)>,
) -> Result<(), ServiceError> {
    match status {
        None => Err(ServiceError::UnknownSsin(ssin.to_string())),
        Some((status, _)) if status == "ACTIVE" => Ok(()),
        Some((_, None)) => Err(ServiceError::CanceledSsin(ssin.to_string())),
        Some((_, Some(replaced_by))) => Err(ServiceError::ReplacedSsin {
            ssin: ssin.to_string(),
            replaced_by: person::final_number(conn, &replaced_by)?,
        }),
    }
}
