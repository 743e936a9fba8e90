//! createBisNumber: a BIS number for a person the authentic source does not know. The search
//! runs first; likely existing persons are answered instead of a new number, unless the
//! caller forces the creation (recorded in the audit trail).

use super::error::ServiceError;
use super::phonetic_search::Candidate;
use super::{Call, Caller, Services};
use crate::domain::{Identity, Person};

/// What a createBisNumber call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BisCreation {
    /// Likely existing persons: nothing was created.
    Existing(Vec<Candidate>),
    /// The new number and the person stored under it.
    Created(Box<Person>),
}

impl Services {
    /// Creates a BIS number for `identity` unless likely existing persons are found (then
    /// answers them), or whatever is found when `force`.
    pub async fn create_bis_number(
        &self,
        call: &Call,
        caller: &Caller,
        identity: Identity,
        force: bool,
    ) -> Result<BisCreation, ServiceError> {
        let _ = (identity, force);
        let result = Err(ServiceError::Internal(
            "createBisNumber is not built yet".into(),
        ));
        self.conclude(call, caller, result, super::Success::Recorded)
            .await
    }
}
