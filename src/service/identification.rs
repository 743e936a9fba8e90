//! The identification use cases: identify a person by number, as the authentic source knows
//! it (a canceled number too, with the final number that replaces it), and update the
//! identity data of an active BIS number. An organisation calls them only when it is granted
//! the operation (`raas admin grant`); every call is recorded in the audit trail.

use chrono::NaiveDate;

use super::error::ServiceError;
use super::execution::on_database;
use super::identity_source;
use super::register::OK;
use super::{Call, Caller, Services, Success};
use crate::domain::PersonStatus;
use crate::domain::{FieldChange, IdentityChanges, IncompleteDate, Niss, NissKind, Person};
use crate::store::journal::{self, MutationKind, NewJournalEntry};
use crate::store::person::{self, PersonRow};
use crate::store::{audit, grant, DbConnection, StoreError};

/// The operations an organisation is granted one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    IdentifyPerson,
    UpdateBisIdentity,
    SearchPersonByPhoneticCriteria,
    CreateBisNumber,
}

impl Operation {
    pub const ALL: [Operation; 4] = [
        Operation::IdentifyPerson,
        Operation::UpdateBisIdentity,
        Operation::SearchPersonByPhoneticCriteria,
        Operation::CreateBisNumber,
    ];

    /// The operation's name, as in the WSDL and the grants.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::IdentifyPerson => "identifyPerson",
            Operation::UpdateBisIdentity => "updateBisIdentity",
            Operation::SearchPersonByPhoneticCriteria => "searchPersonByPhoneticCriteria",
            Operation::CreateBisNumber => "createBisNumber",
        }
    }

    pub fn parse(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.as_str() == name)
    }
}

/// What an identity update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityUpdate {
    /// The person as it is now.
    pub person: Person,
    /// The fields whose value changed; none when the identity already was as asked.
    pub changed: Vec<FieldChange>,
}

impl Services {
    /// The person behind a number. A canceled number is answered too: its status says so and
    /// `replaced_by` is the final number of its replacement chain.
    pub async fn identify_person(
        &self,
        call: &Call,
        caller: &Caller,
        ssin: Niss,
    ) -> Result<Person, ServiceError> {
        let (db, organisation_id) = (self.db.clone(), caller.organisation_id);
        let result = on_database(&self.db, move || {
            let mut conn = db.connection()?;
            require_grant(&mut conn, organisation_id, Operation::IdentifyPerson)?;
            let row = person::find(&mut conn, ssin.as_str())?
                .ok_or_else(|| ServiceError::UnknownSsin(ssin.to_string()))?;
            let mut found = row.person()?;
            if let Some(replaced_by) = found.status.replaced_by() {
                let last = person::final_number(&mut conn, replaced_by.as_str())?;
                found.status = PersonStatus::Canceled {
                    replaced_by: Some(stored_number(&last)?),
                };
            }
            Ok(found)
        })
        .await;
        self.conclude(call, caller, result, Success::ToRecord).await
    }

    /// Applies `changes` to the identity of an active BIS number. The row is rewritten, and
    /// one journal entry lists the changed fields, only when something changes: the same
    /// update sent twice changes nothing the second time.
    pub async fn update_bis_identity(
        &self,
        call: &Call,
        caller: &Caller,
        ssin: Niss,
        changes: IdentityChanges,
    ) -> Result<IdentityUpdate, ServiceError> {
        let (db, organisation_id) = (self.db.clone(), caller.organisation_id);
        let entry = call.audit_entry(Some(organisation_id), OK);
        let source = format!("{}:{}", call.service, caller.cbe_number);
        let journal_source = format!("{source}:{}", call.server_ticket);
        let result = on_database(&self.db, move || {
            db.write(|conn| {
                require_grant(conn, organisation_id, Operation::UpdateBisIdentity)?;
                if ssin.kind() == NissKind::Rn {
                    return Err(ServiceError::NotABisNumber(ssin.to_string()));
                }
                // The journal's lock first (see store::lock): identity updates of the source
                // run one after the other, each reading the row the previous one wrote.
                let journal_lock = journal::lock(conn)?;
                let row = person::find(conn, ssin.as_str())?;
                let current = row.as_ref().map(|r| r.person()).transpose()?;
                identity_source::check_status(
                    conn,
                    ssin.as_str(),
                    current.as_ref().map(|p| p.status),
                )?;
                let (row, mut updated) = row
                    .zip(current)
                    .ok_or_else(|| ServiceError::UnknownSsin(ssin.to_string()))?;
                check_against_number(&ssin, &changes)?;
                let changed = updated.identity.apply(&changes);
                if !changed.is_empty() {
                    let now = crate::store::now();
                    person::update(
                        conn,
                        &row,
                        &PersonRow::new(&updated, row.version + 1, &source, now),
                    )?;
                    let mutation = NewJournalEntry::new(
                        MutationKind::IdentityChanged,
                        ssin.as_str(),
                        &journal_source,
                    )
                    .with_changes(&changed);
                    journal::append(conn, &journal_lock, &[mutation])?;
                }
                audit::append(conn, &[entry])?;
                Ok(IdentityUpdate {
                    person: updated,
                    changed,
                })
            })
        })
        .await;
        self.conclude(call, caller, result, Success::Recorded).await
    }
}

pub(crate) fn require_grant(
    conn: &mut DbConnection,
    organisation_id: i32,
    operation: Operation,
) -> Result<(), ServiceError> {
    if grant::is_granted(conn, organisation_id, operation.as_str())? {
        Ok(())
    } else {
        Err(ServiceError::NotGranted(operation.as_str().to_string()))
    }
}

/// A stored number (valid when it was written: no birth date bound applies).
fn stored_number(ssin: &str) -> Result<Niss, StoreError> {
    Niss::parse(ssin, NaiveDate::MAX)
        .map_err(|e| StoreError::Corrupt(format!("stored number {ssin}: {e}")))
}

/// A BIS number says part of the identity it was attributed to: the birth date as far as it
/// was known (both forms) and, in the +40 form, the gender (serial parity). A change that
/// contradicts the number is refused: the number would then tell another identity than the
/// register holds. Such a correction is a new number replacing this one, through the source.
/// Making a birth date more precise (1975-00-00 → 1975-06-08) or giving the gender of a +20
/// number (attributed without it) is allowed.
fn check_against_number(ssin: &Niss, changes: &IdentityChanges) -> Result<(), ServiceError> {
    let mut mismatches = Vec::new();
    if let (Some(sent), Some(encoded)) = (changes.gender, ssin.gender()) {
        if sent != encoded {
            mismatches.push(("changes/gender".to_string(), sent.as_str().to_string()));
        }
    }
    if let (Some(sent), Some(encoded)) = (changes.birth_date, ssin.birth_date()) {
        if !compatible(sent, encoded) {
            mismatches.push(("changes/birthDate".to_string(), sent.to_string()));
        }
    }
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::IdentityMismatch(mismatches))
    }
}

/// Whether two incomplete dates can be the same day: equal wherever both are known.
fn compatible(a: IncompleteDate, b: IncompleteDate) -> bool {
    crate::domain::identity_check::birth_dates_match(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Gender;

    fn niss(s: &str) -> Niss {
        Niss::parse(s, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()).unwrap()
    }

    fn date(s: &str) -> Option<IncompleteDate> {
        IncompleteDate::parse(s)
    }

    fn refused_fields(ssin: &str, changes: IdentityChanges) -> Vec<String> {
        match check_against_number(&niss(ssin), &changes) {
            Ok(()) => Vec::new(),
            Err(ServiceError::IdentityMismatch(fields)) => {
                fields.into_iter().map(|(f, _)| f).collect()
            }
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn a_plus_40_number_keeps_its_gender_and_birth_date() {
        // 98472899765: +40, male, 1998-07-28.
        let ter = "98472899765";
        let ok = IdentityChanges {
            gender: Some(Gender::Male),
            birth_date: date("1998-07-28"),
            last_name: Some("Kowalski".into()),
            ..IdentityChanges::default()
        };
        assert!(refused_fields(ter, ok).is_empty());
        let less_precise = IdentityChanges {
            birth_date: date("1998-07-00"),
            ..IdentityChanges::default()
        };
        assert!(refused_fields(ter, less_precise).is_empty());
        let contradicting = IdentityChanges {
            gender: Some(Gender::Female),
            birth_date: date("1998-08-28"),
            ..IdentityChanges::default()
        };
        assert_eq!(
            refused_fields(ter, contradicting),
            ["changes/gender", "changes/birthDate"]
        );
    }

    #[test]
    fn a_plus_20_number_takes_any_gender_but_keeps_its_birth_date() {
        // 75260898052: +20, gender unknown, 1975-06-08.
        let bis = "75260898052";
        for gender in [Gender::Male, Gender::Female] {
            let changes = IdentityChanges {
                gender: Some(gender),
                ..IdentityChanges::default()
            };
            assert!(refused_fields(bis, changes).is_empty());
        }
        let other_year = IdentityChanges {
            birth_date: date("1976-06-08"),
            ..IdentityChanges::default()
        };
        assert_eq!(refused_fields(bis, other_year), ["changes/birthDate"]);
    }

    #[test]
    fn an_unknown_birth_date_in_the_number_accepts_any_date() {
        // 00200100112: +20 with the fictitious prefix 002001 (birth date unknown).
        let changes = IdentityChanges {
            birth_date: date("1961-03-04"),
            ..IdentityChanges::default()
        };
        assert!(refused_fields("00200100112", changes).is_empty());
    }

    #[test]
    fn operation_names_read_back() {
        for op in Operation::ALL {
            assert_eq!(Operation::parse(op.as_str()), Some(op));
        }
        assert_eq!(Operation::parse("registerPerson"), None);
    }
}
