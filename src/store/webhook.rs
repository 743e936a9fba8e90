//! Webhooks: the organisations' endpoints and the durable outbox of the messages owed to
//! them (`webhook_messages`, one per endpoint and mailbox event), enqueued in the transaction
//! that appends the events, claimed for a lease by the process that sends them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub use super::outbox::AfterFailure;
use super::schema::{
    deliveries, documents, mailbox_events, organisations, webhook_endpoints, webhook_messages,
};
use super::{DbConnection, StoreResult};

/// An endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct EndpointRow {
    pub id: i64,
    pub organisation_id: i32,
    pub url: String,
    /// Space-separated event types, with a space before and after each.
    pub events: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub failing_since: Option<NaiveDateTime>,
    pub disabled_at: Option<NaiveDateTime>,
    pub removed_at: Option<NaiveDateTime>,
}

pub fn add_endpoint(
    conn: &mut DbConnection,
    organisation_id: i32,
    url: &str,
    events: &str,
    secret: &str,
    at: NaiveDateTime,
) -> StoreResult<i64> {
    Ok(diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::organisation_id.eq(organisation_id),
            webhook_endpoints::url.eq(url),
            webhook_endpoints::events.eq(format!(" {} ", events.trim())),
            webhook_endpoints::secret.eq(secret),
            webhook_endpoints::created_at.eq(at),
        ))
        .returning(webhook_endpoints::id)
        .get_result(conn)?)
}

/// An organisation's endpoints that are not removed, by id.
pub fn endpoints_of(
    conn: &mut DbConnection,
    organisation_id: i32,
) -> StoreResult<Vec<EndpointRow>> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::organisation_id.eq(organisation_id))
        .filter(webhook_endpoints::removed_at.is_null())
        .order(webhook_endpoints::id)
        .load(conn)?)
}

/// Removes an endpoint of an organisation (its pending messages are no longer sent).
pub fn remove(
    conn: &mut DbConnection,
    organisation_id: i32,
    id: i64,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    let n = diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq(id))
            .filter(webhook_endpoints::organisation_id.eq(organisation_id))
            .filter(webhook_endpoints::removed_at.is_null()),
    )
    .set(webhook_endpoints::removed_at.eq(at))
    .execute(conn)?;
    Ok(n > 0)
}

/// Gives an endpoint a new secret; the current one keeps signing until `overlap_until`.
pub fn rotate(
    conn: &mut DbConnection,
    organisation_id: i32,
    id: i64,
    secret: &str,
    overlap_until: NaiveDateTime,
) -> StoreResult<bool> {
    let target = webhook_endpoints::table
        .filter(webhook_endpoints::id.eq(id))
        .filter(webhook_endpoints::organisation_id.eq(organisation_id))
        .filter(webhook_endpoints::removed_at.is_null());
    let current: Option<String> = target
        .select(webhook_endpoints::secret)
        .first(conn)
        .optional()?;
    let Some(current) = current else {
        return Ok(false);
    };
    diesel::update(target)
        .set((
            webhook_endpoints::previous_secret.eq(Some(current)),
            webhook_endpoints::previous_until.eq(Some(overlap_until)),
            webhook_endpoints::secret.eq(secret),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Enables an endpoint again (after it was disabled for failing).
pub fn enable(conn: &mut DbConnection, organisation_id: i32, id: i64) -> StoreResult<bool> {
    let n = diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq(id))
            .filter(webhook_endpoints::organisation_id.eq(organisation_id))
            .filter(webhook_endpoints::removed_at.is_null()),
    )
    .set((
        webhook_endpoints::disabled_at.eq(None::<NaiveDateTime>),
        webhook_endpoints::failing_since.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// The last mailbox event's number (0: none), to [`enqueue`] what comes after it.
pub fn last_event(conn: &mut DbConnection) -> StoreResult<i64> {
    let last: Option<i64> = mailbox_events::table
        .select(diesel::dsl::max(mailbox_events::seq))
        .get_result(conn)?;
    Ok(last.unwrap_or(0))
}

/// One message for each mailbox event numbered after `before` and each enabled endpoint of
/// its organisation that wants its type, due at once (in the caller's transaction).
pub fn enqueue(conn: &mut DbConnection, before: i64) -> StoreResult<usize> {
    // Only a number is spliced into the text.
    Ok(diesel::sql_query(format!(
        "INSERT INTO webhook_messages (endpoint_id, event_seq, attempts, next_attempt_at) \
         SELECT e.id, m.seq, 0, m.recorded_at FROM mailbox_events m \
         JOIN webhook_endpoints e ON e.organisation_id = m.organisation_id \
         WHERE m.seq > {before} AND e.disabled_at IS NULL AND e.removed_at IS NULL \
         AND e.events LIKE ('% ' || m.kind || ' %') ORDER BY m.seq, e.id"
    ))
    .execute(conn)?)
}

/// A due message as read: (message), (endpoint), (event), file type, organisation.
type DueRow = (
    (i64, i32, i64, i64),
    EndpointSecrets,
    (String, i64, NaiveDateTime),
    String,
    (String, i32),
);
type EndpointSecrets = (
    String,
    String,
    Option<String>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

/// Whether any message is due at `now` (a read: the dispatcher takes the write lock only
/// when there is something to claim).
pub fn any_due(conn: &mut DbConnection, now: NaiveDateTime) -> StoreResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        webhook_messages::table
            .filter(webhook_messages::delivered_at.is_null())
            .filter(webhook_messages::gave_up_at.is_null())
            .filter(webhook_messages::next_attempt_at.le(now)),
    ))
    .get_result(conn)?)
}

/// A message to send now: what its body and headers are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueMessage {
    pub id: i64,
    pub attempts: i32,
    pub endpoint_id: i64,
    pub url: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<NaiveDateTime>,
    pub failing_since: Option<NaiveDateTime>,
    pub event_seq: i64,
    pub kind: String,
    pub delivery_id: i64,
    pub at: NaiveDateTime,
    pub file_type: String,
    /// The enterprise number of the endpoint's organisation.
    pub organisation: String,
    pub organisation_id: i32,
}

/// Claims up to `limit` messages due at `now` that no process holds, until `lease_until`,
/// and gives them (on PostgreSQL `FOR UPDATE SKIP LOCKED`: two processes never claim the
/// same message; SQLite has one writer at a time). Call inside a write transaction.
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> StoreResult<Vec<DueMessage>> {
    // Messages of a removed or disabled endpoint wait (a removed one's for ever).
    let due = "delivered_at IS NULL AND gave_up_at IS NULL \
               AND endpoint_id IN (SELECT id FROM webhook_endpoints \
               WHERE removed_at IS NULL AND disabled_at IS NULL)";
    let ids = super::outbox::claim(conn, "webhook_messages", due, now, lease_until, limit)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<DueRow> = webhook_messages::table
        .inner_join(webhook_endpoints::table.inner_join(organisations::table))
        .inner_join(
            mailbox_events::table.inner_join(deliveries::table.inner_join(documents::table)),
        )
        .filter(webhook_messages::id.eq_any(&ids))
        .order(webhook_messages::id)
        .select((
            (
                webhook_messages::id,
                webhook_messages::attempts,
                webhook_messages::endpoint_id,
                webhook_messages::event_seq,
            ),
            (
                webhook_endpoints::url,
                webhook_endpoints::secret,
                webhook_endpoints::previous_secret,
                webhook_endpoints::previous_until,
                webhook_endpoints::failing_since,
            ),
            (
                mailbox_events::kind,
                mailbox_events::delivery_id,
                mailbox_events::recorded_at,
            ),
            documents::file_type,
            (organisations::cbe_number, organisations::id),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                (id, attempts, endpoint_id, event_seq),
                (url, secret, previous_secret, previous_until, failing_since),
                (kind, delivery_id, at),
                file_type,
                (organisation, organisation_id),
            )| DueMessage {
                id,
                attempts,
                endpoint_id,
                url,
                secret,
                previous_secret,
                previous_until,
                failing_since,
                event_seq,
                kind,
                delivery_id,
                at,
                file_type,
                organisation,
                organisation_id,
            },
        )
        .collect())
}

/// A message was received (2xx): done, and its endpoint is no longer failing.
pub fn delivered(
    conn: &mut DbConnection,
    message: &DueMessage,
    at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(webhook_messages::table.find(message.id))
        .set((
            webhook_messages::delivered_at.eq(Some(at)),
            webhook_messages::attempts.eq(message.attempts + 1),
            webhook_messages::claimed_until.eq(None::<NaiveDateTime>),
            webhook_messages::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    diesel::update(webhook_endpoints::table.find(message.endpoint_id))
        .set(webhook_endpoints::failing_since.eq(None::<NaiveDateTime>))
        .execute(conn)?;
    Ok(())
}

/// A message's attempt failed: records why, when to try again (or that it is given up),
/// the endpoint's first failure, and disables the endpoint when `disable` says so. Tells
/// whether this disabled it (it was not already).
pub fn failed(
    conn: &mut DbConnection,
    message: &DueMessage,
    error: &str,
    after: AfterFailure,
    at: NaiveDateTime,
    disable: bool,
) -> StoreResult<bool> {
    let error = super::outbox::error_text(error);
    let (next, gave_up) = after.next(at);
    diesel::update(webhook_messages::table.find(message.id))
        .set((
            webhook_messages::attempts.eq(message.attempts + 1),
            webhook_messages::next_attempt_at.eq(next),
            webhook_messages::gave_up_at.eq(gave_up),
            webhook_messages::claimed_until.eq(None::<NaiveDateTime>),
            webhook_messages::last_error.eq(Some(error)),
        ))
        .execute(conn)?;
    let endpoint = webhook_endpoints::table.find(message.endpoint_id);
    diesel::update(endpoint.filter(webhook_endpoints::failing_since.is_null()))
        .set(webhook_endpoints::failing_since.eq(Some(at)))
        .execute(conn)?;
    if !disable {
        return Ok(false);
    }
    let disabled = diesel::update(endpoint.filter(webhook_endpoints::disabled_at.is_null()))
        .set(webhook_endpoints::disabled_at.eq(Some(at)))
        .execute(conn)?;
    Ok(disabled > 0)
}

/// A message as an operator or its organisation sees it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct MessageRow {
    pub id: i64,
    pub endpoint_id: i64,
    pub event_seq: i64,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
    pub gave_up_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

/// The messages of an organisation's endpoints, newest first, at most `limit`.
pub fn messages_of(
    conn: &mut DbConnection,
    organisation_id: i32,
    limit: i64,
) -> StoreResult<Vec<MessageRow>> {
    Ok(webhook_messages::table
        .inner_join(webhook_endpoints::table)
        .filter(webhook_endpoints::organisation_id.eq(organisation_id))
        .order(webhook_messages::id.desc())
        .limit(limit)
        .select((
            webhook_messages::id,
            webhook_messages::endpoint_id,
            webhook_messages::event_seq,
            webhook_messages::attempts,
            webhook_messages::next_attempt_at,
            webhook_messages::delivered_at,
            webhook_messages::gave_up_at,
            webhook_messages::last_error,
        ))
        .load(conn)?)
}

/// Makes a message of an organisation due again now, whatever became of it (a replay sends
/// the same body under the same webhook-id).
pub fn replay(
    conn: &mut DbConnection,
    organisation_id: i32,
    id: i64,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    let owned: Option<i64> = webhook_messages::table
        .inner_join(webhook_endpoints::table)
        .filter(webhook_messages::id.eq(id))
        .filter(webhook_endpoints::organisation_id.eq(organisation_id))
        .select(webhook_messages::id)
        .first(conn)
        .optional()?;
    if owned.is_none() {
        return Ok(false);
    }
    diesel::update(webhook_messages::table.find(id))
        .set((
            webhook_messages::next_attempt_at.eq(at),
            // A replay has the whole schedule of retries again.
            webhook_messages::attempts.eq(0),
            webhook_messages::delivered_at.eq(None::<NaiveDateTime>),
            webhook_messages::gave_up_at.eq(None::<NaiveDateTime>),
            webhook_messages::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(true)
}
