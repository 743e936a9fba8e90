//! E-mail notifications: the organisations' contact addresses (`organisation_contacts`), the
//! durable outbox of the e-mails owed to them (`email_messages`, composed and enqueued in
//! the transaction that decides them, claimed for a lease by the process that sends them),
//! and how far each organisation's daily summary has read its mailbox's events
//! (`mail_summaries`).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::outbox::AfterFailure;
use super::schema::{
    deliveries, documents, email_messages, mail_summaries, mailbox_events, organisation_contacts,
};
use super::{DbConnection, StoreResult};
use crate::domain::MailboxEventKind;

/// Adds a contact address to an organisation; `false` when it has it already.
pub fn add_contact(
    conn: &mut DbConnection,
    organisation_id: i32,
    address: &str,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    let known: i64 = organisation_contacts::table
        .filter(organisation_contacts::organisation_id.eq(organisation_id))
        .filter(organisation_contacts::address.eq(address))
        .count()
        .get_result(conn)?;
    if known > 0 {
        return Ok(false);
    }
    diesel::insert_into(organisation_contacts::table)
        .values((
            organisation_contacts::organisation_id.eq(organisation_id),
            organisation_contacts::address.eq(address),
            organisation_contacts::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Removes a contact address of an organisation; `false` when it had none such.
pub fn remove_contact(
    conn: &mut DbConnection,
    organisation_id: i32,
    address: &str,
) -> StoreResult<bool> {
    let n = diesel::delete(
        organisation_contacts::table
            .filter(organisation_contacts::organisation_id.eq(organisation_id))
            .filter(organisation_contacts::address.eq(address)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// An organisation's contact addresses, in the order they were added.
pub fn contacts_of(conn: &mut DbConnection, organisation_id: i32) -> StoreResult<Vec<String>> {
    Ok(organisation_contacts::table
        .filter(organisation_contacts::organisation_id.eq(organisation_id))
        .order(organisation_contacts::id)
        .select(organisation_contacts::address)
        .load(conn)?)
}

/// The contact addresses of each of `organisation_ids` that has some.
pub fn contacts_of_many(
    conn: &mut DbConnection,
    organisation_ids: &[i32],
) -> StoreResult<BTreeMap<i32, Vec<String>>> {
    let mut contacts: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for chunk in organisation_ids.chunks(1000) {
        let rows: Vec<(i32, String)> = organisation_contacts::table
            .filter(organisation_contacts::organisation_id.eq_any(chunk))
            .order((
                organisation_contacts::organisation_id,
                organisation_contacts::id,
            ))
            .select((
                organisation_contacts::organisation_id,
                organisation_contacts::address,
            ))
            .load(conn)?;
        for (organisation_id, address) in rows {
            contacts.entry(organisation_id).or_default().push(address);
        }
    }
    Ok(contacts)
}

/// An e-mail to enqueue: one stored e-mail per recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmail {
    pub organisation_id: i32,
    pub kind: &'static str,
    pub recipients: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// Enqueues e-mails, due at once (in the caller's transaction): one to each recipient, each
/// sent and retried on its own (an address the SMTP server refuses holds back no other).
/// Tells how many were stored.
pub fn enqueue(
    conn: &mut DbConnection,
    emails: &[NewEmail],
    at: NaiveDateTime,
) -> StoreResult<usize> {
    let mut stored = 0;
    for email in emails {
        for recipient in &email.recipients {
            stored += diesel::insert_into(email_messages::table)
                .values((
                    email_messages::organisation_id.eq(email.organisation_id),
                    email_messages::kind.eq(email.kind),
                    email_messages::recipient.eq(recipient),
                    email_messages::subject.eq(&email.subject),
                    email_messages::body.eq(&email.body),
                    email_messages::created_at.eq(at),
                    email_messages::attempts.eq(0),
                    email_messages::next_attempt_at.eq(at),
                ))
                .execute(conn)?;
        }
    }
    Ok(stored)
}

/// Whether any e-mail is due at `now` (a read: the mailer takes the write lock only when
/// there is something to claim).
pub fn any_due(conn: &mut DbConnection, now: NaiveDateTime) -> StoreResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        email_messages::table
            .filter(email_messages::sent_at.is_null())
            .filter(email_messages::gave_up_at.is_null())
            .filter(email_messages::next_attempt_at.le(now)),
    ))
    .get_result(conn)?)
}

/// An e-mail as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct EmailRow {
    pub id: i64,
    pub organisation_id: i32,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub gave_up_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

/// Claims up to `limit` e-mails due at `now` that no process holds, until `lease_until`,
/// and gives them. Call inside a write transaction.
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> StoreResult<Vec<EmailRow>> {
    let due = "sent_at IS NULL AND gave_up_at IS NULL";
    let ids = super::outbox::claim(conn, "email_messages", due, now, lease_until, limit)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(email_messages::table
        .filter(email_messages::id.eq_any(&ids))
        .order(email_messages::id)
        .load(conn)?)
}

/// An e-mail was accepted by the SMTP server.
pub fn sent(conn: &mut DbConnection, email: &EmailRow, at: NaiveDateTime) -> StoreResult<()> {
    diesel::update(email_messages::table.find(email.id))
        .set((
            email_messages::sent_at.eq(Some(at)),
            email_messages::attempts.eq(email.attempts + 1),
            email_messages::claimed_until.eq(None::<NaiveDateTime>),
            email_messages::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// An e-mail's attempt failed: why, and when to try again (or that it is given up).
pub fn failed(
    conn: &mut DbConnection,
    email: &EmailRow,
    error: &str,
    after: AfterFailure,
    at: NaiveDateTime,
) -> StoreResult<()> {
    let (next, gave_up) = after.next(at);
    diesel::update(email_messages::table.find(email.id))
        .set((
            email_messages::attempts.eq(email.attempts + 1),
            email_messages::next_attempt_at.eq(next),
            email_messages::gave_up_at.eq(gave_up),
            email_messages::claimed_until.eq(None::<NaiveDateTime>),
            email_messages::last_error.eq(Some(super::outbox::error_text(error))),
        ))
        .execute(conn)?;
    Ok(())
}

/// The e-mails of an organisation, newest first, at most `limit`.
pub fn emails_of(
    conn: &mut DbConnection,
    organisation_id: i32,
    limit: i64,
) -> StoreResult<Vec<EmailRow>> {
    Ok(email_messages::table
        .filter(email_messages::organisation_id.eq(organisation_id))
        .order(email_messages::id.desc())
        .limit(limit)
        .load(conn)?)
}

/// What an organisation's next daily summary counts: its `delivery.available` events after
/// the ones its last summary covered (none yet: those recorded since `first_since`), up to
/// event `until`, by file type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeliveries {
    pub organisation_id: i32,
    /// (file type, count), by file type.
    pub counts: Vec<(String, i64)>,
    /// When the last summary was made (`None`: this is the first).
    pub since: Option<NaiveDateTime>,
}

/// The new deliveries of every organisation with a contact address, up to event `until`
/// (those with none are left out). Call with the mailboxes' lock held, with
/// [`summarised`] in the same transaction.
pub fn new_deliveries(
    conn: &mut DbConnection,
    until: i64,
    first_since: NaiveDateTime,
) -> StoreResult<Vec<NewDeliveries>> {
    let organisations: Vec<i32> = organisation_contacts::table
        .select(organisation_contacts::organisation_id)
        .distinct()
        .order(organisation_contacts::organisation_id)
        .load(conn)?;
    let mut found = Vec::new();
    for organisation_id in organisations {
        let last: Option<(i64, NaiveDateTime)> = mail_summaries::table
            .find(organisation_id)
            .select((
                mail_summaries::last_event_seq,
                mail_summaries::summarised_at,
            ))
            .first(conn)
            .optional()?;
        let events = mailbox_events::table
            .inner_join(deliveries::table.inner_join(documents::table))
            .filter(mailbox_events::organisation_id.eq(organisation_id))
            .filter(mailbox_events::kind.eq(MailboxEventKind::Available.as_str()))
            .filter(mailbox_events::seq.le(until))
            .into_boxed();
        let events = match last {
            Some((seq, _)) => events.filter(mailbox_events::seq.gt(seq)),
            None => events.filter(mailbox_events::recorded_at.ge(first_since)),
        };
        let file_types: Vec<String> = events.select(documents::file_type).load(conn)?;
        let mut counted: BTreeMap<String, i64> = BTreeMap::new();
        for file_type in file_types {
            *counted.entry(file_type).or_default() += 1;
        }
        let counts: Vec<(String, i64)> = counted.into_iter().collect();
        if !counts.is_empty() {
            found.push(NewDeliveries {
                organisation_id,
                counts,
                since: last.map(|(_, at)| at),
            });
        }
    }
    Ok(found)
}

/// Every organisation with a contact address has had its summary up to event `until`.
pub fn summarised(conn: &mut DbConnection, until: i64, at: NaiveDateTime) -> StoreResult<()> {
    let organisations: Vec<i32> = organisation_contacts::table
        .select(organisation_contacts::organisation_id)
        .distinct()
        .load(conn)?;
    for organisation_id in organisations {
        let updated = diesel::update(mail_summaries::table.find(organisation_id))
            .set((
                mail_summaries::last_event_seq.eq(until),
                mail_summaries::summarised_at.eq(at),
            ))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(mail_summaries::table)
                .values((
                    mail_summaries::organisation_id.eq(organisation_id),
                    mail_summaries::last_event_seq.eq(until),
                    mail_summaries::summarised_at.eq(at),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}
