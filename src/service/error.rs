//! What a use case can refuse, in words a caller can act on. The SOAP layer maps each to a
//! fault with a stable reason code; the CLI prints it.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("unknown username or wrong secret")]
    NotAuthenticated,
    #[error("too many failed logins for this username from this address: try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    #[error("{0}")]
    NotAllowed(String),
    #[error("the dossier type {0} is not defined for this organisation")]
    UnknownDossierType(String),
    #[error("the dossier type {0} is retired: no new registrations")]
    RetiredDossierType(String),
    #[error("no organisation has the enterprise number {0}")]
    UnknownOrganisation(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the NISS {0} is unknown to the authentic source")]
    UnknownSsin(String),
    #[error("the NISS {0} is canceled")]
    CanceledSsin(String),
    #[error("the NISS {ssin} is replaced: use {replaced_by}")]
    ReplacedSsin {
        ssin: String,
        /// The final number of the replacement chain.
        replaced_by: String,
    },
    #[error("the identity data do not match the authentic source: {}", .0.iter().map(|(field, _)| field.as_str()).collect::<Vec<_>>().join(", "))]
    IdentityMismatch(
        /// The differing fields: (field path, value as sent).
        Vec<(String, String)>,
    ),
    #[error("the organisation is not authorised for the operation {0}")]
    NotGranted(String),
    #[error("the NISS {0} is not a BIS number: only BIS identities can be updated here")]
    NotABisNumber(String),
    #[error("{0}")]
    InvalidInput(String),
    /// A field of an identity sent by a caller that the use case refuses (the SOAP layer
    /// checked its form already): `field` is its path, as in the request.
    #[error("{field}: {reason}")]
    InvalidIdentity {
        field: String,
        value: String,
        reason: String,
    },
    /// Every serial of every group a BIS number could come from is used.
    #[error("no BIS number is left for the birth date {birth_date} ({kind}): every serial of its groups is used")]
    NumbersExhausted {
        birth_date: String,
        /// `BIS` (+20) or `TER` (+40).
        kind: &'static str,
    },
    /// No delivery of that id is in the caller's mailbox (another organisation's is not
    /// told apart from none).
    #[error("no delivery {0} in this mailbox")]
    DeliveryUnknown(i64),
    #[error("the delivery {0} has no {1}")]
    NoSuchPart(i64, &'static str),
    #[error("the delivery {0} has expired: its file is no longer kept")]
    DeliveryExpired(i64),
    #[error("the delivery {id} is {size} bytes, more than the {limit} bytes a SOAP answer carries: download it from the REST API")]
    DeliveryTooLarge { id: i64, size: i64, limit: u64 },
    /// Overloaded, or the database out of reach: the same request may succeed later.
    #[error("the service is unavailable, try again later")]
    Unavailable,
    /// A storage failure that is not a matter of waiting (those are [`ServiceError::Unavailable`]).
    #[error("storage failure: {0}")]
    Storage(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// A database out of reach (no connection in time, a connection closed under the request,
/// SQLite still locked) is [`ServiceError::Unavailable`]; anything else is a storage failure.
impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            ServiceError::Unavailable
        } else {
            ServiceError::Storage(e)
        }
    }
}

impl ServiceError {
    /// A short stable word for the audit trail: the reason code of the fault the caller
    /// gets (`soap::fault` maps every variant to the same code).
    pub fn outcome(&self) -> &'static str {
        match self {
            ServiceError::NotAuthenticated => "NOT_AUTHENTICATED",
            ServiceError::Throttled { .. } => "AUTHENTICATION_THROTTLED",
            ServiceError::NotAllowed(_) => "NOT_ALLOWED",
            ServiceError::UnknownDossierType(_) => "UNKNOWN_DOSSIER_TYPE",
            ServiceError::RetiredDossierType(_) => "RETIRED_DOSSIER_TYPE",
            ServiceError::UnknownOrganisation(_) => "UNKNOWN_ORGANISATION",
            ServiceError::Conflict(_) => "CONFLICT",
            ServiceError::UnknownSsin(_) => "SSIN_UNKNOWN",
            ServiceError::CanceledSsin(_) => "SSIN_CANCELED",
            ServiceError::ReplacedSsin { .. } => "SSIN_REPLACED",
            ServiceError::IdentityMismatch(_) => "IDENTITY_MISMATCH",
            ServiceError::NotGranted(_) => "OPERATION_NOT_GRANTED",
            ServiceError::NotABisNumber(_) => "NOT_A_BIS_NUMBER",
            ServiceError::InvalidInput(_) => "INVALID_INPUT",
            ServiceError::InvalidIdentity { field, .. } if field.ends_with("Date") => {
                "INVALID_DATE"
            }
            ServiceError::InvalidIdentity { .. } => "INVALID_FIELD",
            ServiceError::NumbersExhausted { .. } => "NUMBERS_EXHAUSTED",
            ServiceError::DeliveryUnknown(_) => "DELIVERY_UNKNOWN",
            ServiceError::DeliveryExpired(_) => "DELIVERY_EXPIRED",
            ServiceError::NoSuchPart(..) => "DELIVERY_UNKNOWN",
            ServiceError::DeliveryTooLarge { .. } => "DELIVERY_TOO_LARGE",
            ServiceError::Unavailable => "SERVICE_UNAVAILABLE",
            ServiceError::Storage(_) | ServiceError::Internal(_) => "INTERNAL_ERROR",
        }
    }
}
