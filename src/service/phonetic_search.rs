//! searchPersonByPhoneticCriteria: the persons of the authentic source whose name sounds like
//! the one asked and whose birth date is near, best first. Candidates are blocked by search
//! keys within birth-date windows (`store::search_key`), then ranked in the domain
//! (`domain::candidate_score`). Only active numbers are candidates: a canceled number has no
//! keys, its final replacing number has its own.
//!
//! Every candidate answered is personal data read: one audit entry per candidate (its
//! number), all committed before the answer leaves; a search that finds nobody is recorded
//! once, without a number.

use super::error::ServiceError;
use super::execution::on_database;
use super::identification::{require_grant, Operation};
use super::register::OK;
use super::{Call, Caller, Services};
use crate::domain::candidate_score::{Scorer, MIN_SCORE};
use crate::domain::name_search::query_keys;
use crate::domain::search_criteria::{birth_code, birth_windows};
use crate::domain::{Person, PersonStatus, SearchCriteria};
use crate::store::audit::{self, AuditEntry};
use crate::store::{search_key, Database, DbConnection, StoreResult};

/// Most persons a search reads and ranks: the likeliest numbers of the index's answer
/// (`search_key::candidates`). Far more than the 80 candidates answered at most; it only
/// binds for a frequent name over a wide birth-date window.
pub const CANDIDATE_LIMIT: usize = 500;

/// A person found, with how close it is to the criteria (0–100).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub score: u8,
    pub person: Person,
}

/// The candidates of `criteria` scoring at least `min_score`, best first (then by number),
/// at most `criteria.maximum`.
pub fn find_candidates(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    min_score: u8,
) -> StoreResult<Vec<Candidate>> {
    let keys = query_keys(&criteria.last_name, criteria.given_names());
    let windows = birth_windows(criteria);
    let target = birth_code(criteria.birth_date);
    let rows = search_key::candidates(conn, &keys, &windows, target, CANDIDATE_LIMIT)?;
    let scorer = Scorer::new(criteria);
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let person = row.person()?;
        if person.status != PersonStatus::Active {
            continue;
        }
        let score = scorer.score(&person.identity);
        if score >= min_score {
            found.push(Candidate { score, person });
        }
    }
    found.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.person.ssin.as_str().cmp(b.person.ssin.as_str()))
    });
    found.truncate(usize::from(criteria.maximum));
    Ok(found)
}

/// The audit entries of a search's answer: one per candidate, or one without a number.
pub fn answer_entries(
    call: &Call,
    organisation_id: Option<i32>,
    found: &[Candidate],
) -> Vec<AuditEntry> {
    if found.is_empty() {
        return vec![call.audit_entry(organisation_id, "NO_RESULT")];
    }
    found
        .iter()
        .map(|c| {
            let mut entry = call.audit_entry(organisation_id, OK);
            entry.ssin = Some(c.person.ssin.as_str().to_string());
            entry
        })
        .collect()
}

impl Services {
    /// The candidates for `criteria` (none: `NO_RESULT`).
    pub async fn search_persons(
        &self,
        call: &Call,
        caller: &Caller,
        criteria: SearchCriteria,
    ) -> Result<Vec<Candidate>, ServiceError> {
        let (db, organisation_id) = (self.db.clone(), caller.organisation_id);
        let result = on_database(&self.db, move || {
            let mut conn = db.connection()?;
            require_grant(
                &mut conn,
                organisation_id,
                Operation::SearchPersonByPhoneticCriteria,
            )?;
            Ok(find_candidates(&mut conn, &criteria, MIN_SCORE)?)
        })
        .await;
        match result {
            Ok(found) => {
                self.audit
                    .record_all(answer_entries(call, Some(organisation_id), &found))
                    .await?;
                Ok(found)
            }
            Err(e) => {
                self.record_refusal(call, Some(caller), e.outcome()).await;
                Err(e)
            }
        }
    }
}

/// An operator's search from the command line (`raas search`): the same search, recorded
/// under the service `raas-admin` with the operator's name, in the same transaction.
pub fn operator_search(
    db: &Database,
    operator: &str,
    criteria: &SearchCriteria,
) -> Result<Vec<Candidate>, ServiceError> {
    db.write(|conn| {
        let found = find_candidates(conn, criteria, MIN_SCORE)?;
        let call = Call {
            service: "raas-admin",
            operation: "search".into(),
            server_ticket: uuid::Uuid::new_v4().to_string(),
            username: Some(operator.to_string()),
            ..Call::default()
        };
        audit::append(conn, &answer_entries(&call, None, &found))?;
        Ok(found)
    })
}
