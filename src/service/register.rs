//! The register use cases: register, unregister and consult a person's lines, list the
//! dossier types. Writers of one (organisation, person, dossier type) are serialised, the
//! merge is computed by the domain and only the lines that change are rewritten.

use super::error::ServiceError;
use super::execution::on_database;
use super::identity_source;
use super::{Call, Caller, Services, Success};
use crate::domain::identity_check::ClaimedIdentity;
use crate::domain::{DossierTypeCode, Niss, Period};
use crate::store::dossier_type::{self, DossierTypeRow};
use crate::store::lock::{self, Lock};
use crate::store::relation::{self, RelationRow};
use crate::store::{audit, DbConnection};

/// A line of a register as the use cases return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub dossier_type: String,
    pub period: Period,
}

/// Which register key a change is about, and whether it may add lines (a retired dossier
/// type takes no new registrations, but its lines can still be removed).
struct KeyChange {
    ssin: Niss,
    code: DossierTypeCode,
    new_lines_allowed: bool,
    /// The identity the caller claims, checked against the source before any change.
    claimed: Option<ClaimedIdentity>,
}

/// What an unregistration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unregistered {
    /// Whether any line overlapped what was to be removed.
    pub changed: bool,
    pub remaining: Vec<Period>,
}

/// A dossier type as a caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierType {
    pub code: String,
    pub description: Option<String>,
}

pub const OK: &str = "OK";

impl Services {
    /// Adds `period` to the caller's register for the person and dossier type, merged with
    /// the lines already there, once the number is known to be active and, when the caller
    /// gives one, its claimed identity matches the source. Returns the lines after merging.
    pub async fn register_person(
        &self,
        call: &Call,
        caller: &Caller,
        ssin: Niss,
        code: DossierTypeCode,
        period: Period,
        claimed: Option<ClaimedIdentity>,
    ) -> Result<Vec<Period>, ServiceError> {
        let change = KeyChange {
            ssin,
            code,
            new_lines_allowed: true,
            claimed,
        };
        let result = self
            .change_key(call, caller, change, move |existing| {
                Period::merge(existing.iter().copied().chain([period]))
            })
            .await;
        self.conclude(
            call,
            caller,
            result.map(|(_, merged)| merged),
            Success::Recorded,
        )
        .await
    }

    /// Removes the person's lines of a dossier type, or only `period` of them.
    pub async fn unregister_person(
        &self,
        call: &Call,
        caller: &Caller,
        ssin: Niss,
        code: DossierTypeCode,
        period: Option<Period>,
    ) -> Result<Unregistered, ServiceError> {
        let change = KeyChange {
            ssin,
            code,
            new_lines_allowed: false,
            claimed: None,
        };
        let result = self
            .change_key(call, caller, change, move |existing| match period {
                Some(removed) => existing.iter().flat_map(|p| p.subtract(&removed)).collect(),
                None => Vec::new(),
            })
            .await;
        let result = result.map(|(existing, remaining)| Unregistered {
            changed: remaining != existing,
            remaining,
        });
        self.conclude(call, caller, result, Success::Recorded).await
    }

    /// Changes the lines of one register key in one transaction: takes the key's lock, reads
    /// its lines, lets `wanted` compute the new lines from them, rewrites only the lines that
    /// differ and records the call. Returns the lines before and after.
    async fn change_key(
        &self,
        call: &Call,
        caller: &Caller,
        change: KeyChange,
        wanted: impl FnOnce(&[Period]) -> Vec<Period> + Send + 'static,
    ) -> Result<(Vec<Period>, Vec<Period>), ServiceError> {
        let (db, organisation_id) = (self.db.clone(), caller.organisation_id);
        let entry = call.audit_entry(Some(organisation_id), OK);
        let KeyChange {
            ssin,
            code,
            new_lines_allowed,
            claimed,
        } = change;
        let locks = [
            Lock::Exclusive(lock::register_key(
                organisation_id,
                code.as_str(),
                ssin.as_str(),
            )),
            Lock::Shared(lock::person_key(ssin.as_str())),
        ];
        on_database(&self.db, move || {
            // The locks come first: the key's lines are read after the previous writer of
            // the key committed, and the number stays active until this change commits.
            db.write_locked(&locks, |conn| {
                let key = relation::key_lines(conn, organisation_id, code.as_str(), ssin.as_str())?;
                let Some(key) = key else {
                    // The number's standing is told first, as for a known dossier type.
                    identity_source::require_active(conn, ssin.as_str())?;
                    return Err(ServiceError::UnknownDossierType(code.to_string()));
                };
                match &claimed {
                    None => identity_source::check_status(conn, ssin.as_str(), key.person_status)?,
                    Some(claimed) => {
                        identity_source::require_active_matching(conn, ssin.as_str(), claimed)?
                    }
                }
                if new_lines_allowed && key.retired {
                    return Err(ServiceError::RetiredDossierType(code.to_string()));
                }
                let rows = key.lines;
                let existing = periods_of(&rows);
                let wanted = wanted(&existing);
                let removed: Vec<i64> = rows
                    .iter()
                    .zip(&existing)
                    .filter(|(_, p)| !wanted.contains(p))
                    .map(|(r, _)| r.id)
                    .collect();
                let added: Vec<Period> = wanted
                    .iter()
                    .filter(|p| !existing.contains(p))
                    .copied()
                    .collect();
                relation::replace_lines(
                    conn,
                    organisation_id,
                    ssin.as_str(),
                    key.dossier_type_id,
                    &removed,
                    &added,
                )?;
                audit::append(conn, &[entry])?;
                Ok((existing, wanted))
            })
        })
        .await
    }

    /// The caller's lines for a person, optionally of one dossier type and/or overlapping a
    /// period.
    pub async fn consult_register(
        &self,
        call: &Call,
        caller: &Caller,
        ssin: Niss,
        code: Option<DossierTypeCode>,
        period: Option<Period>,
    ) -> Result<Vec<Line>, ServiceError> {
        let (db, organisation_id) = (self.db.clone(), caller.organisation_id);
        let result = on_database(&self.db, move || {
            let mut conn = db.connection()?;
            identity_source::require_active(&mut conn, ssin.as_str())?;
            if let Some(code) = &code {
                known_dossier_type(&mut conn, organisation_id, code)?;
            }
            let mut lines = Vec::new();
            for line in relation::lines_of_person(&mut conn, organisation_id, ssin.as_str())? {
                let line = Line {
                    period: line.period,
                    dossier_type: line.dossier_type,
                };
                let of_type = code
                    .as_ref()
                    .is_none_or(|c| c.as_str() == line.dossier_type);
                let in_period = period.is_none_or(|p| p.overlaps(&line.period));
                if of_type && in_period {
                    lines.push(line);
                }
            }
            Ok(lines)
        })
        .await;
        self.conclude(call, caller, result, Success::ToRecord).await
    }

    /// The caller's active dossier types.
    pub async fn list_dossier_types(
        &self,
        call: &Call,
        caller: &Caller,
    ) -> Result<Vec<DossierType>, ServiceError> {
        let (db, organisation_id) = (self.db.clone(), caller.organisation_id);
        let result = on_database(&self.db, move || {
            let mut conn = db.connection()?;
            Ok(dossier_type::list(&mut conn, organisation_id)?
                .into_iter()
                .filter(|t| t.retired_at.is_none())
                .map(|t| DossierType {
                    code: t.code,
                    description: t.description,
                })
                .collect())
        })
        .await;
        self.conclude(call, caller, result, Success::ToRecord).await
    }
}

fn known_dossier_type(
    conn: &mut DbConnection,
    organisation_id: i32,
    code: &DossierTypeCode,
) -> Result<DossierTypeRow, ServiceError> {
    dossier_type::find(conn, organisation_id, code.as_str())?
        .ok_or_else(|| ServiceError::UnknownDossierType(code.to_string()))
}

fn periods_of(rows: &[RelationRow]) -> Vec<Period> {
    rows.iter().map(|r| r.period).collect()
}
