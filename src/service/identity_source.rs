//! The authentic source as the services see it: which numbers may be used, and the person
//! behind a number.

use crate::service::ServiceError;
use crate::store::{person, DbConnection};

/// Refuses a number the source does not know, or that is canceled (naming the final
/// replacing number when it was replaced). What every register operation checks first.
pub fn require_active(conn: &mut DbConnection, ssin: &str) -> Result<(), ServiceError> {
    match person::status(conn, ssin)? {
        None => Err(ServiceError::UnknownSsin(ssin.to_string())),
        Some((status, _)) if status == "ACTIVE" => Ok(()),
        Some((_, None)) => Err(ServiceError::CanceledSsin(ssin.to_string())),
        Some((_, Some(replaced_by))) => Err(ServiceError::ReplacedSsin {
            ssin: ssin.to_string(),
            replaced_by: person::final_number(conn, &replaced_by)?,
        }),
    }
}
