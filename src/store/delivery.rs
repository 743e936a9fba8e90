//! Mailboxes: documents stored once (`documents`: a daily file with its voucher and signature,
//! or a broadcast), delivered to organisations (`deliveries`, with the proof of receipt), and
//! the mailbox events (`mailbox_events`), appended in commit order under the mailboxes' lock
//! so that a reader that remembers the last sequence number it saw misses nothing.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::max;
use diesel::prelude::*;

use super::schema::{batch_files, deliveries, documents, mailbox_events, organisations};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::delivery::Receipt;
use crate::domain::{Delivery, DeliveryQuery, DocumentType, MailboxEventKind};

type Backend = <DbConnection as diesel::Connection>::Backend;

/// "raasmail": the lock every appender of mailbox events takes first.
const MAILBOX_LOCK: i64 = 0x7261_6173_6d61_696c;

/// Proof that the current write transaction holds the mailboxes' lock.
#[derive(Debug)]
pub struct MailboxLock(());

/// Takes the mailboxes' lock for the rest of the transaction (nothing to do on SQLite: one
/// writer at a time).
pub fn lock(conn: &mut DbConnection) -> StoreResult<MailboxLock> {
    super::lock::take(conn, &[super::lock::Lock::Exclusive(MAILBOX_LOCK)])?;
    Ok(MailboxLock(()))
}

/// A document to store.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = documents)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewDocument {
    pub file_type: String,
    pub file_name: String,
    pub subject: Option<String>,
    /// Relative to the outbox.
    pub location: String,
    pub voucher_location: Option<String>,
    pub signature_location: Option<String>,
    pub batch_file_id: Option<i32>,
    pub reference_date: Option<NaiveDate>,
    pub sequence_number: Option<i64>,
    pub records: Option<i64>,
    pub size: i64,
    pub sha256: String,
    pub registered: bool,
    pub published_by: String,
    pub published_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// Where a delivery's files are, relative to the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Locations {
    pub file: String,
    pub voucher: Option<String>,
    pub signature: Option<String>,
}

/// A delivery with its document, as the queries read it.
#[derive(Debug, Clone, Queryable)]
struct DeliveryRow {
    id: i64,
    organisation_id: i32,
    file_type: String,
    file_name: String,
    subject: Option<String>,
    reference_date: Option<NaiveDate>,
    sequence_number: Option<i64>,
    records: Option<i64>,
    size: i64,
    sha256: String,
    registered: bool,
    published_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    first_downloaded_at: Option<NaiveDateTime>,
    first_downloaded_by: Option<String>,
    expired_at: Option<NaiveDateTime>,
}

macro_rules! delivery_columns {
    () => {
        (
            deliveries::id,
            deliveries::organisation_id,
            documents::file_type,
            documents::file_name,
            documents::subject,
            documents::reference_date,
            documents::sequence_number,
            documents::records,
            documents::size,
            documents::sha256,
            documents::registered,
            documents::published_at,
            documents::expires_at,
            deliveries::first_downloaded_at,
            deliveries::first_downloaded_by,
            documents::expired_at,
        )
    };
}

impl DeliveryRow {
    fn delivery(self) -> StoreResult<Delivery> {
        let kind: DocumentType = self
            .file_type
            .parse()
            .map_err(|e: String| StoreError::Corrupt(format!("document {}: {e}", self.id)))?;
        let receipt = match (self.first_downloaded_at, self.first_downloaded_by) {
            (Some(at), Some(by)) => Some(Receipt { at, by }),
            _ => None,
        };
        Ok(Delivery {
            id: self.id,
            organisation_id: self.organisation_id,
            kind,
            file_name: self.file_name,
            subject: self.subject,
            reference_date: self.reference_date,
            sequence_number: self.sequence_number,
            records: self.records,
            size: self.size,
            sha256: self.sha256,
            registered: self.registered,
            published_at: self.published_at,
            expires_at: self.expires_at,
            receipt,
            expired: self.expired_at.is_some(),
        })
    }
}

fn deliveries_of(rows: Vec<DeliveryRow>) -> StoreResult<Vec<Delivery>> {
    rows.into_iter().map(DeliveryRow::delivery).collect()
}

/// Stores the daily files of a run as documents, each delivered to the organisation it was
/// made for, with one `delivery.available` event each (in the caller's transaction).
/// Tells how many deliveries were made.
pub fn publish_daily(
    conn: &mut DbConnection,
    held: &MailboxLock,
    documents: &[NewDocument],
) -> StoreResult<usize> {
    let events_before = super::webhook::last_event(conn)?;
    let documents_before = last_document(conn)?;
    super::insert_rows!(conn, documents::table, documents, 500);
    let deliveries_before = last_delivery(conn)?;
    let receivers = documents::table
        .inner_join(batch_files::table.on(documents::batch_file_id.eq(batch_files::id.nullable())))
        .filter(documents::id.gt(documents_before))
        .order(documents::id)
        .select((batch_files::organisation_id, documents::id));
    let delivered = diesel::insert_into(deliveries::table)
        .values(receivers)
        .into_columns((deliveries::organisation_id, deliveries::document_id))
        .execute(conn)?;
    announce(conn, held, deliveries_before, documents[0].published_at)?;
    super::webhook::enqueue(conn, events_before)?;
    Ok(delivered)
}

/// Stores one document and delivers it to each of `organisation_ids` (`None`: every
/// organisation), with one `delivery.available` event each. Tells the document's id and how
/// many mailboxes received it.
pub fn publish_broadcast(
    conn: &mut DbConnection,
    held: &MailboxLock,
    document: &NewDocument,
    organisation_ids: Option<&[i32]>,
) -> StoreResult<(i64, usize)> {
    let events_before = super::webhook::last_event(conn)?;
    let id: i64 = diesel::insert_into(documents::table)
        .values(document)
        .returning(documents::id)
        .get_result(conn)?;
    let deliveries_before = last_delivery(conn)?;
    let document_id = id.into_sql::<diesel::sql_types::BigInt>();
    let delivered = match organisation_ids {
        None => diesel::insert_into(deliveries::table)
            .values(
                organisations::table
                    .order(organisations::id)
                    .select((organisations::id, document_id)),
            )
            .into_columns((deliveries::organisation_id, deliveries::document_id))
            .execute(conn)?,
        Some(ids) => {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids.dedup();
            let mut delivered = 0;
            for chunk in ids.chunks(1000) {
                delivered += diesel::insert_into(deliveries::table)
                    .values(
                        organisations::table
                            .filter(organisations::id.eq_any(chunk))
                            .order(organisations::id)
                            .select((organisations::id, document_id)),
                    )
                    .into_columns((deliveries::organisation_id, deliveries::document_id))
                    .execute(conn)?;
            }
            delivered
        }
    };
    announce(conn, held, deliveries_before, document.published_at)?;
    super::webhook::enqueue(conn, events_before)?;
    Ok((id, delivered))
}

/// One `delivery.available` event for each delivery made after `before`, in their order.
fn announce(
    conn: &mut DbConnection,
    _held: &MailboxLock,
    before: i64,
    at: NaiveDateTime,
) -> StoreResult<()> {
    use diesel::sql_types::{Text, Timestamp};
    let kind = MailboxEventKind::Available.as_str().into_sql::<Text>();
    let new = deliveries::table
        .filter(deliveries::id.gt(before))
        .order(deliveries::id)
        .select((
            deliveries::organisation_id,
            deliveries::id,
            kind,
            at.into_sql::<Timestamp>(),
        ));
    diesel::insert_into(mailbox_events::table)
        .values(new)
        .into_columns((
            mailbox_events::organisation_id,
            mailbox_events::delivery_id,
            mailbox_events::kind,
            mailbox_events::recorded_at,
        ))
        .execute(conn)?;
    Ok(())
}

fn last_document(conn: &mut DbConnection) -> StoreResult<i64> {
    let last: Option<i64> = documents::table
        .select(max(documents::id))
        .get_result(conn)?;
    Ok(last.unwrap_or(0))
}

fn last_delivery(conn: &mut DbConnection) -> StoreResult<i64> {
    let last: Option<i64> = deliveries::table
        .select(max(deliveries::id))
        .get_result(conn)?;
    Ok(last.unwrap_or(0))
}

/// The deliveries of a mailbox still in it that `query` selects (its page, oldest first),
/// and how many it selects in all.
pub fn list(
    conn: &mut DbConnection,
    organisation_id: i32,
    query: &DeliveryQuery,
) -> StoreResult<(i64, Vec<Delivery>)> {
    let total: i64 = selected(organisation_id, query).count().get_result(conn)?;
    let rows: Vec<DeliveryRow> = selected(organisation_id, query)
        .order(deliveries::id)
        .limit(i64::from(query.page_size))
        .offset(query.offset())
        .select(delivery_columns!())
        .load(conn)?;
    Ok((total, deliveries_of(rows)?))
}

/// The deliveries of a mailbox still in it that `query` selects, unordered.
fn selected(
    organisation_id: i32,
    query: &DeliveryQuery,
) -> diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::InnerJoin<deliveries::table, documents::table>,
    Backend,
> {
    let mut selected = deliveries::table
        .inner_join(documents::table)
        .filter(deliveries::organisation_id.eq(organisation_id))
        .filter(documents::expired_at.is_null())
        .into_boxed();
    if let Some(kind) = query.kind {
        selected = selected.filter(documents::file_type.eq(kind.as_str()));
    }
    if let Some(after) = query.received_after {
        selected = selected.filter(documents::published_at.gt(after));
    }
    match query.downloaded {
        Some(true) => selected = selected.filter(deliveries::first_downloaded_at.is_not_null()),
        Some(false) => selected = selected.filter(deliveries::first_downloaded_at.is_null()),
        None => {}
    }
    if let Some(after) = query.after_sequence {
        selected = selected.filter(documents::sequence_number.gt(after));
    }
    selected
}

/// One delivery of a mailbox (expired ones too) with where its files are.
pub fn find(
    conn: &mut DbConnection,
    organisation_id: i32,
    id: i64,
) -> StoreResult<Option<(Delivery, Locations)>> {
    let found: Option<(DeliveryRow, Locations)> = deliveries::table
        .inner_join(documents::table)
        .filter(deliveries::id.eq(id))
        .filter(deliveries::organisation_id.eq(organisation_id))
        .select((
            delivery_columns!(),
            (
                documents::location,
                documents::voucher_location,
                documents::signature_location,
            ),
        ))
        .first(conn)
        .optional()?;
    found
        .map(|(row, locations)| Ok((row.delivery()?, locations)))
        .transpose()
}

/// Records the first download of a delivery, with its `delivery.downloaded` event; false
/// (and nothing written) when one was recorded before.
pub fn record_receipt(
    conn: &mut DbConnection,
    held: &MailboxLock,
    delivery: &Delivery,
    receipt: &Receipt,
) -> StoreResult<bool> {
    let recorded = diesel::update(
        deliveries::table
            .filter(deliveries::id.eq(delivery.id))
            .filter(deliveries::first_downloaded_at.is_null()),
    )
    .set((
        deliveries::first_downloaded_at.eq(receipt.at),
        deliveries::first_downloaded_by.eq(&receipt.by),
    ))
    .execute(conn)?;
    if recorded == 0 {
        return Ok(false);
    }
    let events_before = super::webhook::last_event(conn)?;
    append_event(
        conn,
        held,
        delivery.organisation_id,
        delivery.id,
        MailboxEventKind::Downloaded,
        receipt.at,
    )?;
    super::webhook::enqueue(conn, events_before)?;
    Ok(true)
}

fn append_event(
    conn: &mut DbConnection,
    _held: &MailboxLock,
    organisation_id: i32,
    delivery_id: i64,
    kind: MailboxEventKind,
    at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(mailbox_events::table)
        .values((
            mailbox_events::organisation_id.eq(organisation_id),
            mailbox_events::delivery_id.eq(delivery_id),
            mailbox_events::kind.eq(kind.as_str()),
            mailbox_events::recorded_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A document whose retention is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredDocument {
    pub id: i64,
    pub locations: Locations,
}

/// Takes the documents whose expiry is at or before `now` out of every mailbox (at most
/// `limit` of them): marks them expired and appends a `delivery.expired` event for each of
/// their deliveries. Their files are the caller's to remove once this commits
/// ([`to_remove`], [`mark_removed`]). Tells how many documents expired.
pub fn expire_due(
    conn: &mut DbConnection,
    held: &MailboxLock,
    now: NaiveDateTime,
    limit: i64,
) -> StoreResult<usize> {
    let events_before = super::webhook::last_event(conn)?;
    let due: Vec<i64> = documents::table
        .filter(documents::expired_at.is_null())
        .filter(documents::expires_at.le(now))
        .order(documents::id)
        .limit(limit)
        .select(documents::id)
        .load(conn)?;
    for chunk in due.chunks(500) {
        diesel::update(documents::table.filter(documents::id.eq_any(chunk)))
            .set(documents::expired_at.eq(now))
            .execute(conn)?;
        let gone: Vec<(i32, i64)> = deliveries::table
            .filter(deliveries::document_id.eq_any(chunk))
            .order(deliveries::id)
            .select((deliveries::organisation_id, deliveries::id))
            .load(conn)?;
        for (organisation_id, delivery_id) in gone {
            append_event(
                conn,
                held,
                organisation_id,
                delivery_id,
                MailboxEventKind::Expired,
                now,
            )?;
        }
    }
    super::webhook::enqueue(conn, events_before)?;
    Ok(due.len())
}

/// A notice of a delivery still not downloaded, given at most once per delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Published before the due time and never downloaded.
    Unread,
    /// Expiring before the due time and never downloaded.
    Expiring,
}

impl Notice {
    /// The mailbox event the notice appends.
    pub fn event(self) -> MailboxEventKind {
        match self {
            Notice::Unread => MailboxEventKind::Unread,
            Notice::Expiring => MailboxEventKind::Expiring,
        }
    }
}

/// A delivery a notice was given of.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Noticed {
    pub delivery_id: i64,
    pub organisation_id: i32,
    pub file_type: String,
    pub published_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// Gives `notice` of up to `limit` deliveries still in their mailbox and never downloaded,
/// published (`Unread`) or expiring (`Expiring`) at `due` or before, that had none: one
/// event each (and their webhooks), the delivery marked (in the caller's transaction).
pub fn give_notices(
    conn: &mut DbConnection,
    held: &MailboxLock,
    notice: Notice,
    due: NaiveDateTime,
    at: NaiveDateTime,
    limit: i64,
) -> StoreResult<Vec<Noticed>> {
    let events_before = super::webhook::last_event(conn)?;
    let owed = deliveries::table
        .inner_join(documents::table)
        .filter(deliveries::first_downloaded_at.is_null())
        .filter(documents::expired_at.is_null())
        .into_boxed();
    let owed = match notice {
        Notice::Unread => owed
            .filter(deliveries::unread_notice_at.is_null())
            .filter(documents::published_at.le(due)),
        Notice::Expiring => owed
            .filter(deliveries::expiry_notice_at.is_null())
            .filter(documents::expires_at.le(due)),
    };
    let noticed: Vec<Noticed> = owed
        .order(deliveries::id)
        .limit(limit)
        .select((
            deliveries::id,
            deliveries::organisation_id,
            documents::file_type,
            documents::published_at,
            documents::expires_at,
        ))
        .load(conn)?;
    for delivery in &noticed {
        append_event(
            conn,
            held,
            delivery.organisation_id,
            delivery.delivery_id,
            notice.event(),
            at,
        )?;
    }
    let ids: Vec<i64> = noticed.iter().map(|d| d.delivery_id).collect();
    for chunk in ids.chunks(500) {
        let marked = deliveries::table.filter(deliveries::id.eq_any(chunk));
        match notice {
            Notice::Unread => diesel::update(marked)
                .set(deliveries::unread_notice_at.eq(at))
                .execute(conn)?,
            Notice::Expiring => diesel::update(marked)
                .set(deliveries::expiry_notice_at.eq(at))
                .execute(conn)?,
        };
    }
    super::webhook::enqueue(conn, events_before)?;
    Ok(noticed)
}

/// Expired documents whose files are not yet removed.
pub fn to_remove(conn: &mut DbConnection, limit: i64) -> StoreResult<Vec<ExpiredDocument>> {
    let rows: Vec<(i64, Locations)> = documents::table
        .filter(documents::expired_at.is_not_null())
        .filter(documents::removed_at.is_null())
        .order(documents::id)
        .limit(limit)
        .select((
            documents::id,
            (
                documents::location,
                documents::voucher_location,
                documents::signature_location,
            ),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, locations)| ExpiredDocument { id, locations })
        .collect())
}

/// Records that the files of documents are removed.
pub fn mark_removed(conn: &mut DbConnection, ids: &[i64], at: NaiveDateTime) -> StoreResult<()> {
    for chunk in ids.chunks(500) {
        diesel::update(documents::table.filter(documents::id.eq_any(chunk)))
            .set(documents::removed_at.eq(at))
            .execute(conn)?;
    }
    Ok(())
}

/// Every delivery of a mailbox, expired ones too, newest first, at most `limit`: the sender's
/// view (`raas admin deliveries`).
pub fn ledger(
    conn: &mut DbConnection,
    organisation_id: i32,
    limit: i64,
) -> StoreResult<Vec<Delivery>> {
    let rows: Vec<DeliveryRow> = deliveries::table
        .inner_join(documents::table)
        .filter(deliveries::organisation_id.eq(organisation_id))
        .order(deliveries::id.desc())
        .limit(limit)
        .select(delivery_columns!())
        .load(conn)?;
    deliveries_of(rows)
}

/// A mailbox at a glance: deliveries in it, those never downloaded, the last event's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub deliveries: i64,
    pub not_downloaded: i64,
    pub last_event: i64,
}

pub fn summary(conn: &mut DbConnection, organisation_id: i32) -> StoreResult<Summary> {
    let present = || {
        deliveries::table
            .inner_join(documents::table)
            .filter(deliveries::organisation_id.eq(organisation_id))
            .filter(documents::expired_at.is_null())
    };
    let deliveries: i64 = present().count().get_result(conn)?;
    let not_downloaded: i64 = present()
        .filter(deliveries::first_downloaded_at.is_null())
        .count()
        .get_result(conn)?;
    let last_event: Option<i64> = mailbox_events::table
        .filter(mailbox_events::organisation_id.eq(organisation_id))
        .select(max(mailbox_events::seq))
        .get_result(conn)?;
    Ok(Summary {
        deliveries,
        not_downloaded,
        last_event: last_event.unwrap_or(0),
    })
}

/// One event of a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxEvent {
    pub sequence: i64,
    pub kind: MailboxEventKind,
    pub delivery_id: i64,
    pub at: NaiveDateTime,
}

/// The events of a mailbox numbered after `after`, in order, at most `limit`.
pub fn events_after(
    conn: &mut DbConnection,
    organisation_id: i32,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<MailboxEvent>> {
    let rows: Vec<(i64, String, i64, NaiveDateTime)> = mailbox_events::table
        .filter(mailbox_events::organisation_id.eq(organisation_id))
        .filter(mailbox_events::seq.gt(after))
        .order(mailbox_events::seq)
        .limit(limit)
        .select((
            mailbox_events::seq,
            mailbox_events::kind,
            mailbox_events::delivery_id,
            mailbox_events::recorded_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(sequence, kind, delivery_id, at)| {
            let kind = MailboxEventKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("mailbox event {sequence}: {kind}")))?;
            Ok(MailboxEvent {
                sequence,
                kind,
                delivery_id,
                at,
            })
        })
        .collect()
}
