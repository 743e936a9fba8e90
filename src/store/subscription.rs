//! Subscriptions to the daily files and the dossier types they are limited to.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::{subscription_dossier_types, subscriptions};
use super::{now, DbConnection, StoreError, StoreResult};
use crate::domain::{Authorisation, FileType, Subscription};

/// A subscription as stored, before its dossier types are attached.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
struct SubscriptionRow {
    id: i32,
    organisation_id: i32,
    file_type: String,
    authorisation: Option<String>,
    authorised_from: Option<NaiveDate>,
    authorised_to: Option<NaiveDate>,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
}

/// A link of a subscription to a dossier type; links are read in this order.
const LINK: (
    subscription_dossier_types::subscription_id,
    subscription_dossier_types::dossier_type_id,
) = (
    subscription_dossier_types::subscription_id,
    subscription_dossier_types::dossier_type_id,
);

/// The subscription's days include `day`: `starts_on ≤ day ≤ ends_on` (no end: open).
#[diesel::dsl::auto_type]
fn includes(day: NaiveDate) -> _ {
    let ends: not_ended_by = not_ended_by(day);
    subscriptions::starts_on.le(day).and(ends)
}

/// The subscription is not ended before `day`: no end, or ending on `day` or later.
#[diesel::dsl::auto_type]
fn not_ended_by(day: NaiveDate) -> _ {
    subscriptions::ends_on
        .is_null()
        .or(subscriptions::ends_on.ge(day))
}

impl SubscriptionRow {
    /// The domain value, with no dossier type yet; a stored value that does not read back
    /// is `Corrupt`.
    fn into_subscription(self) -> StoreResult<Subscription> {
        let file_type: FileType = self
            .file_type
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("subscription {}: {e}", self.id)))?;
        let authorisation = match (self.authorisation, self.authorised_from) {
            (Some(reference), Some(valid_from)) => Some(Authorisation {
                reference,
                valid_from,
                valid_to: self.authorised_to,
            }),
            (None, None) if self.authorised_to.is_none() => None,
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "subscription {}: an authorisation needs both a reference and a first day",
                    self.id
                )))
            }
        };
        Ok(Subscription {
            id: self.id,
            organisation_id: self.organisation_id,
            file_type,
            dossier_type_ids: Vec::new(),
            authorisation,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
        })
    }
}

/// Attaches to each subscription (ordered by id) its dossier types from `links`
/// ((subscription id, dossier type id), ordered by subscription id): one pass over both.
fn attach(rows: Vec<SubscriptionRow>, links: Vec<(i32, i32)>) -> StoreResult<Vec<Subscription>> {
    let mut links = links.into_iter().peekable();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut subscription = row.into_subscription()?;
        while let Some((id, _)) = links.peek() {
            if *id > subscription.id {
                break;
            }
            let (id, dossier_type_id) = links.next().unwrap_or_default();
            if id == subscription.id {
                subscription.dossier_type_ids.push(dossier_type_id);
            }
        }
        out.push(subscription);
    }
    Ok(out)
}

/// Every subscription whose days include `day` (`starts_on ≤ day ≤ ends_on`), of every
/// organisation, ordered by id. Two queries whatever the number of subscriptions.
pub fn active_on(conn: &mut DbConnection, day: NaiveDate) -> StoreResult<Vec<Subscription>> {
    let rows: Vec<SubscriptionRow> = subscriptions::table
        .filter(includes(day))
        .order(subscriptions::id)
        .select(SubscriptionRow::as_select())
        .load(conn)?;
    let links: Vec<(i32, i32)> = subscription_dossier_types::table
        .inner_join(subscriptions::table)
        .filter(includes(day))
        .order(LINK)
        .select(LINK)
        .load(conn)?;
    attach(rows, links)
}

/// Every subscription of an organisation, ended ones included, ordered by id.
pub fn of_organisation(
    conn: &mut DbConnection,
    organisation_id: i32,
) -> StoreResult<Vec<Subscription>> {
    let rows: Vec<SubscriptionRow> = subscriptions::table
        .filter(subscriptions::organisation_id.eq(organisation_id))
        .order(subscriptions::id)
        .select(SubscriptionRow::as_select())
        .load(conn)?;
    let links: Vec<(i32, i32)> = subscription_dossier_types::table
        .inner_join(subscriptions::table)
        .filter(subscriptions::organisation_id.eq(organisation_id))
        .order(LINK)
        .select(LINK)
        .load(conn)?;
    attach(rows, links)
}

/// The subscription `id`, if there is one.
pub fn find(conn: &mut DbConnection, id: i32) -> StoreResult<Option<Subscription>> {
    let Some(row) = subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .first::<SubscriptionRow>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let links: Vec<(i32, i32)> = subscription_dossier_types::table
        .filter(subscription_dossier_types::subscription_id.eq(id))
        .order(LINK)
        .select(LINK)
        .load(conn)?;
    Ok(attach(vec![row], links)?.pop())
}

/// The first (by id) subscription of the organisation to `file_type` whose days include
/// `day` or come after it (not ended, or ended on `day` or later).
pub fn first_not_ended_by(
    conn: &mut DbConnection,
    organisation_id: i32,
    file_type: FileType,
    day: NaiveDate,
) -> StoreResult<Option<i32>> {
    Ok(subscriptions::table
        .filter(subscriptions::organisation_id.eq(organisation_id))
        .filter(subscriptions::file_type.eq(file_type.as_str()))
        .filter(not_ended_by(day))
        .order(subscriptions::id)
        .select(subscriptions::id)
        .first(conn)
        .optional()?)
}

/// Stores a new subscription (its `id` is ignored) with its dossier types; gives its id.
pub fn insert(conn: &mut DbConnection, subscription: &Subscription) -> StoreResult<i32> {
    let authorisation = subscription.authorisation.as_ref();
    let id: i32 = diesel::insert_into(subscriptions::table)
        .values((
            subscriptions::organisation_id.eq(subscription.organisation_id),
            subscriptions::file_type.eq(subscription.file_type.as_str()),
            subscriptions::authorisation.eq(authorisation.map(|a| a.reference.as_str())),
            subscriptions::authorised_from.eq(authorisation.map(|a| a.valid_from)),
            subscriptions::authorised_to.eq(authorisation.and_then(|a| a.valid_to)),
            subscriptions::starts_on.eq(subscription.starts_on),
            subscriptions::ends_on.eq(subscription.ends_on),
            subscriptions::created_at.eq(now()),
        ))
        .returning(subscriptions::id)
        .get_result(conn)?;
    // A handful of rows: one statement each (multi-row inserts are not portable here).
    for dossier_type_id in &subscription.dossier_type_ids {
        diesel::insert_into(subscription_dossier_types::table)
            .values((
                subscription_dossier_types::subscription_id.eq(id),
                subscription_dossier_types::dossier_type_id.eq(*dossier_type_id),
            ))
            .execute(conn)?;
    }
    Ok(id)
}

/// Ends a subscription not ended yet: `day` is the last day it gets a file. Returns whether
/// it was not ended.
pub fn end(conn: &mut DbConnection, id: i32, day: NaiveDate) -> StoreResult<bool> {
    let changed = diesel::update(
        subscriptions::table
            .find(id)
            .filter(subscriptions::ends_on.is_null()),
    )
    .set(subscriptions::ends_on.eq(Some(day)))
    .execute(conn)?;
    Ok(changed > 0)
}
