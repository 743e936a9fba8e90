//! createBisNumber: a BIS number for a person the authentic source does not know. The search
//! runs first; likely existing persons are answered instead of a new number, unless the
//! caller forces the creation (recorded in the audit trail).
//!
//! - **The search** asks for the identity's last name, its first first name (first name)
//!   and the others (middle name), its birth date and gender, with the narrowest tolerance the
//!   date allows: none for a complete date (the search still looks at its slips: day and month
//!   swapped, a year off, the incomplete forms), one month around `yyyy-mm-00`, one year
//!   around `yyyy-00-00` (an incomplete date is a guess: the same person may have been given
//!   the neighbouring month or year elsewhere). Candidates scoring at least
//!   [`LIKELY_EXISTING_SCORE`] are likely existing persons: they are answered (one audit entry
//!   each, as a search's answer) and nothing is created.
//! - **The creation** runs in one write transaction that takes the journal's lock first: the
//!   search is made inside it, so two calls for the same person never both create (the
//!   second sees the first's person), and the serials used are read inside it, so two calls on
//!   any number of processes never take the same number. The number (`domain::bis_number`)
//!   is stored with the person (`person::insert`, which keeps the search keys current: the
//!   very next search finds it), journaled as `PERSON_CREATED` (as a new person of the feed:
//!   the daily files report no creation, nobody has the number in a register yet), and the
//!   call audited with the new number. The primary key stays the backstop: a number stored
//!   meanwhile by a writer outside the journal's lock makes the attribution run again.
//! - **force** skips the search. The creation's audit entry then has the outcome `FORCED`
//!   (`OK` otherwise): `raas admin audit` shows which numbers were created over the search.

use super::error::ServiceError;
use super::execution::on_database;
use super::identification::{require_grant, Operation};
use super::phonetic_search::{answer_entries, find_candidates, Candidate};
use super::register::OK;
use super::{latest_today as today, Call, Caller, Services, Success};
use crate::domain::bis_number::{Attribution, BisNumberError};
use crate::domain::candidate_score::LIKELY_EXISTING_SCORE;
use crate::domain::search_criteria::CriteriaError;
use crate::domain::{Identity, Niss, Person, PersonStatus, SearchCriteria};
use crate::store::journal::{self, MutationKind, NewJournalEntry};
use crate::store::person::{self, PersonRow};
use crate::store::{audit, bis_number, DbConnection};

/// The audit outcome of a creation made with `force`.
pub const FORCED: &str = "FORCED";

/// How many times the attribution runs when the primary key refuses its number.
const ATTEMPTS: usize = 3;

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
        let (db, organisation_id) = (self.db.clone(), caller.organisation_id);
        let call_owned = call.clone();
        let source = format!("{}:{}", call.service, caller.cbe_number);
        let journal_source = format!("{source}:{}", call.server_ticket);
        let result =
            match checked(&identity) {
                Err(e) => Err(e),
                Ok((attribution, criteria)) => on_database(&self.db, move || {
                    let creation = Creation {
                        call: &call_owned,
                        organisation_id,
                        identity: &identity,
                        attribution,
                        criteria: (!force).then_some(criteria),
                        source: &source,
                        journal_source: &journal_source,
                    };
                    let mut attempt = 1;
                    loop {
                        match db.write(|conn| creation.run(conn)) {
                            Err(ServiceError::Storage(e))
                                if bis_number::is_number_taken(&e) && attempt < ATTEMPTS =>
                            {
                                tracing::warn!(error = %e, attempt, "BIS number taken meanwhile");
                                attempt += 1;
                            }
                            Err(ServiceError::Storage(e)) if bis_number::is_number_taken(&e) => {
                                tracing::error!(error = %e, "BIS number taken meanwhile, again");
                                break Err(ServiceError::Unavailable);
                            }
                            other => break other,
                        }
                    }
                })
                .await,
            };
        self.conclude(call, caller, result, Success::Recorded).await
    }
}

/// One creation's inputs, for each attempt of its transaction.
struct Creation<'a> {
    call: &'a Call,
    organisation_id: i32,
    identity: &'a Identity,
    attribution: Attribution,
    /// The search to run first; `None` when forced.
    criteria: Option<SearchCriteria>,
    source: &'a str,
    journal_source: &'a str,
}

impl Creation<'_> {
    fn run(&self, conn: &mut DbConnection) -> Result<BisCreation, ServiceError> {
        require_grant(conn, self.organisation_id, Operation::CreateBisNumber)?;
        // The journal's lock first (see store::lock): creations run one after the other,
        // each seeing the persons the previous one stored.
        let journal_lock = journal::lock(conn)?;
        if let Some(criteria) = &self.criteria {
            let found = find_candidates(conn, criteria, LIKELY_EXISTING_SCORE)?;
            if !found.is_empty() {
                audit::append(
                    conn,
                    &answer_entries(self.call, Some(self.organisation_id), &found),
                )?;
                return Ok(BisCreation::Existing(found));
            }
        }
        let ssin = attribute(conn, &self.attribution, self.identity)?;
        let person = Person {
            ssin,
            status: PersonStatus::Active,
            identity: self.identity.clone(),
        };
        person::insert(
            conn,
            &PersonRow::new(&person, 1, self.source, crate::store::now()),
        )?;
        journal::append(
            conn,
            &journal_lock,
            &[NewJournalEntry::new(
                MutationKind::PersonCreated,
                ssin.as_str(),
                self.journal_source,
            )],
        )?;
        let outcome = if self.criteria.is_none() { FORCED } else { OK };
        let mut entry = self.call.audit_entry(Some(self.organisation_id), outcome);
        entry.ssin = Some(ssin.as_str().to_string());
        audit::append(conn, &[entry])?;
        Ok(BisCreation::Created(Box::new(person)))
    }
}

/// The first free number of the attribution's groups, in their order.
fn attribute(
    conn: &mut DbConnection,
    attribution: &Attribution,
    identity: &Identity,
) -> Result<Niss, ServiceError> {
    for group in attribution.groups() {
        let used = bis_number::serials_used(conn, group)?;
        if let Some(serial) = attribution.free_serial(&used) {
            return attribution.number(group, serial).map_err(|e| {
                ServiceError::Internal(format!(
                    "the number of serial {serial} in group {} does not read back: {e}",
                    group.digits()
                ))
            });
        }
    }
    Err(ServiceError::NumbersExhausted {
        birth_date: identity.birth_date.to_string(),
        kind: attribution.kind().as_str(),
    })
}

/// The identity checked for an attribution: a birth date a number can encode and not in the
/// future, a decease date neither in the future nor before the birth, a last name with a
/// letter; and the search it needs.
fn checked(identity: &Identity) -> Result<(Attribution, SearchCriteria), ServiceError> {
    let today = today();
    let refuse = |field: &str, value: String, reason: String| ServiceError::InvalidIdentity {
        field: format!("person/{field}"),
        value,
        reason,
    };
    let birth = identity.birth_date;
    let attribution = Attribution::new(birth, identity.gender, today).map_err(|e| match e {
        BisNumberError::BirthYear(_) | BisNumberError::FutureBirthDate(_) => {
            refuse("birthDate", birth.to_string(), e.to_string())
        }
    })?;
    if let Some(decease) = identity.decease_date {
        if decease.is_after(today) {
            return Err(refuse(
                "deceaseDate",
                decease.to_string(),
                "is in the future".into(),
            ));
        }
        if decease.year() < birth.year()
            || (decease.year() == birth.year()
                && decease
                    .month()
                    .zip(birth.month())
                    .is_some_and(|(d, b)| d < b))
        {
            return Err(refuse(
                "deceaseDate",
                decease.to_string(),
                format!("is before the birth date {birth}"),
            ));
        }
    }
    let (first, middle) = match identity.first_names.split_first() {
        Some((first, rest)) => (Some(first.as_str()), Some(rest.join(" "))),
        None => (None, None),
    };
    let tolerance = match (birth.month(), birth.day()) {
        (Some(_), Some(_)) => 0,
        _ => 1,
    };
    let criteria = SearchCriteria::new(
        &identity.last_name,
        first,
        middle.as_deref().filter(|m| !m.is_empty()),
        birth,
        Some(tolerance),
        identity.gender,
        None,
    )
    .map_err(|e| match e {
        CriteriaError::LastName => refuse(
            "lastName",
            identity.last_name.clone(),
            "must contain at least one letter".into(),
        ),
        other => ServiceError::Internal(format!("the search of a creation is refused: {other}")),
    })?;
    Ok((attribution, criteria))
}
