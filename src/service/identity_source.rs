//! The authentic source as the services see it: which numbers may be used, and whether an
//! identity a caller claims is the one the source knows.

use crate::domain::identity_check::{self, ClaimedIdentity};
use crate::domain::PersonStatus;
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
    let person = person::find(conn, ssin)?
        .map(|row| row.person())
        .transpose()?;
    check_status(conn, ssin, person.as_ref().map(|p| p.status))?;
    let Some(person) = person else {
        return Err(ServiceError::UnknownSsin(ssin.to_string()));
    };
    let mismatches = identity_check::check(claimed, &person.identity);
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

/// Refuses a number by its status in the source (`None`: unknown).
pub fn check_status(
    conn: &mut DbConnection,
    ssin: &str,
    status: Option<PersonStatus>,
) -> Result<(), ServiceError> {
    match status {
        None => Err(ServiceError::UnknownSsin(ssin.to_string())),
        Some(PersonStatus::Active) => Ok(()),
        Some(PersonStatus::Canceled { replaced_by: None }) => {
            Err(ServiceError::CanceledSsin(ssin.to_string()))
        }
        Some(PersonStatus::Canceled {
            replaced_by: Some(replaced_by),
        }) => Err(ServiceError::ReplacedSsin {
            ssin: ssin.to_string(),
            replaced_by: person::final_number(conn, replaced_by.as_str())?,
        }),
    }
}
