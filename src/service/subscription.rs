//! Subscriptions to the daily files: adding one (an organisation has at most one active
//! subscription per file type), listing an organisation's, ending one. Used by the
//! administration CLI; the daily run reads them through `store::subscription::active_on`.

use chrono::NaiveDate;

use super::error::ServiceError;
use crate::domain::{Authorisation, DossierTypeCode, EnterpriseNumber, FileType, Subscription};
use crate::store::lock::{self, Lock};
use crate::store::{dossier_type, organisation, subscription, Database};

/// What `add` is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub file_type: FileType,
    /// The dossier types it is limited to; empty: every dossier type of the organisation.
    pub dossier_types: Vec<DossierTypeCode>,
    pub authorisation: Option<Authorisation>,
}

/// A subscription as the operators read it: with its organisation's enterprise number and
/// its dossier types' codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionView {
    pub subscription: Subscription,
    pub cbe: String,
    /// The codes of `subscription.dossier_type_ids`, sorted; empty: every dossier type.
    pub dossier_types: Vec<String>,
}

/// The longest authorisation reference kept.
const MAX_REFERENCE_CHARS: usize = 100;

/// Checks what an authorisation may be, for the file type asked.
fn check_authorisation(new: &NewSubscription) -> Result<(), ServiceError> {
    match (&new.file_type, &new.authorisation) {
        (FileType::DimonaMutations, None) => Err(ServiceError::InvalidInput(
            "a DIMONA_MUTATIONS subscription needs an authorisation: give --authorisation \
             and --valid-from"
                .into(),
        )),
        (FileType::PersonMutations, Some(_)) => Err(ServiceError::InvalidInput(
            "a PERSON_MUTATIONS subscription takes no authorisation (only DIMONA_MUTATIONS does)"
                .into(),
        )),
        (_, Some(a)) => {
            let reference = a.reference.as_str();
            if reference.trim().is_empty()
                || reference.trim() != reference
                || reference.chars().count() > MAX_REFERENCE_CHARS
                || reference.chars().any(char::is_control)
            {
                return Err(ServiceError::InvalidInput(format!(
                    "the authorisation reference {reference:?} must have 1 to \
                     {MAX_REFERENCE_CHARS} characters, no control character and no leading \
                     or trailing space"
                )));
            }
            match a.valid_to {
                Some(to) if to < a.valid_from => Err(ServiceError::InvalidInput(format!(
                    "the authorisation ends ({to}) before it starts ({})",
                    a.valid_from
                ))),
                _ => Ok(()),
            }
        }
        (FileType::PersonMutations, None) => Ok(()),
    }
}

fn organisation_id(
    conn: &mut crate::store::DbConnection,
    cbe: &EnterpriseNumber,
) -> Result<i32, ServiceError> {
    organisation::find_by_cbe(conn, cbe.as_str())?
        .map(|o| o.id)
        .ok_or_else(|| ServiceError::UnknownOrganisation(cbe.to_string()))
}

/// Adds a subscription of the organisation starting on `today`, open-ended. Refused, with
/// nothing changed: an unknown organisation, a dossier type it does not have (or retired),
/// a Dimona subscription without authorisation or a person one with, an authorisation that
/// ends before it starts, and a second subscription to the same file type whose days would
/// overlap one not ended before `today`. Gives the new subscription's id.
pub fn add(
    db: &Database,
    cbe: &EnterpriseNumber,
    new: &NewSubscription,
    today: NaiveDate,
) -> Result<i32, ServiceError> {
    check_authorisation(new)?;
    // Two adds of the same organisation and file type run one after the other (PostgreSQL;
    // SQLite has one writer anyway), so the overlap check below holds at commit.
    let key = lock::key(&[
        b"subscription",
        cbe.as_str().as_bytes(),
        new.file_type.as_str().as_bytes(),
    ]);
    db.write_locked(&[Lock::Exclusive(key)], |conn| {
        let organisation_id = organisation_id(conn, cbe)?;
        let mut dossier_type_ids = Vec::with_capacity(new.dossier_types.len());
        for code in &new.dossier_types {
            let row = dossier_type::find(conn, organisation_id, code.as_str())?
                .ok_or_else(|| ServiceError::UnknownDossierType(code.to_string()))?;
            if row.retired_at.is_some() {
                return Err(ServiceError::InvalidInput(format!(
                    "the dossier type {code} of {cbe} is retired: a subscription cannot \
                     name it"
                )));
            }
            if !dossier_type_ids.contains(&row.id) {
                dossier_type_ids.push(row.id);
            }
        }
        dossier_type_ids.sort_unstable();
        if let Some(existing) =
            subscription::first_not_ended_by(conn, organisation_id, new.file_type, today)?
        {
            return Err(ServiceError::Conflict(format!(
                "{cbe} already has the {} subscription {existing} on {today}: end it before \
                 this day first",
                new.file_type
            )));
        }
        Ok(subscription::insert(
            conn,
            &Subscription {
                id: 0,
                organisation_id,
                file_type: new.file_type,
                dossier_type_ids,
                authorisation: new.authorisation.clone(),
                starts_on: today,
                ends_on: None,
            },
        )?)
    })
}

/// Every subscription of the organisation, ended ones included, ordered by id.
pub fn list(db: &Database, cbe: &EnterpriseNumber) -> Result<Vec<SubscriptionView>, ServiceError> {
    let mut conn = db.connection()?;
    let organisation_id = organisation_id(&mut conn, cbe)?;
    let codes: std::collections::HashMap<i32, String> =
        dossier_type::list(&mut conn, organisation_id)?
            .into_iter()
            .map(|row| (row.id, row.code))
            .collect();
    subscription::of_organisation(&mut conn, organisation_id)?
        .into_iter()
        .map(|subscription| {
            let mut dossier_types = subscription
                .dossier_type_ids
                .iter()
                .map(|id| {
                    codes.get(id).cloned().ok_or_else(|| {
                        ServiceError::Internal(format!(
                            "subscription {} names the dossier type {id} of another \
                             organisation",
                            subscription.id
                        ))
                    })
                })
                .collect::<Result<Vec<String>, ServiceError>>()?;
            dossier_types.sort();
            Ok(SubscriptionView {
                subscription,
                cbe: cbe.to_string(),
                dossier_types,
            })
        })
        .collect()
}

/// Ends the organisation's subscription `id`: `day` is the last reference date it gets a
/// file for. Refused: an id that is not one of the organisation's, a subscription already
/// ended, a day before its first day. Gives the subscription as it now is.
pub fn end(
    db: &Database,
    cbe: &EnterpriseNumber,
    id: i32,
    day: NaiveDate,
) -> Result<Subscription, ServiceError> {
    db.write(|conn| {
        let organisation_id = organisation_id(conn, cbe)?;
        let found = subscription::find(conn, id)?
            .filter(|s| s.organisation_id == organisation_id)
            .ok_or_else(|| ServiceError::InvalidInput(format!("{cbe} has no subscription {id}")))?;
        if let Some(ended) = found.ends_on {
            return Err(ServiceError::Conflict(format!(
                "the subscription {id} is already ended (its last day is {ended})"
            )));
        }
        if day < found.starts_on {
            return Err(ServiceError::InvalidInput(format!(
                "the subscription {id} starts on {}: it cannot end on {day}, before that",
                found.starts_on
            )));
        }
        if !subscription::end(conn, id, day)? {
            return Err(ServiceError::Conflict(format!(
                "the subscription {id} is already ended"
            )));
        }
        Ok(Subscription {
            ends_on: Some(day),
            ..found
        })
    })
}
