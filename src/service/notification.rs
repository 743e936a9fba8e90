//! Notifications of the mailboxes: the notices given of deliveries never downloaded (a
//! reminder after [`NoticePolicy::unread_after_days`], an alert
//! [`NoticePolicy::expiry_alert_days`] before expiry — each a mailbox event, its webhooks
//! and an e-mail), the daily summary of new deliveries, and the e-mail telling that a
//! webhook endpoint was disabled. The e-mails go to the organisation's contact addresses
//! and are written to the durable outbox in the transaction that decides them (the mailer,
//! [`super::mail`], sends them); they carry counts, file types and delivery numbers, never
//! a file's content nor personal data. An organisation without a contact address gets the
//! events and webhooks, no e-mail.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use super::admin::organisation_id;
use super::error::ServiceError;
use crate::domain::delivery::utc_text;
use crate::domain::{ContactAddress, EnterpriseNumber, NoticePolicy};
use crate::store::delivery::{self as mailbox, Notice, Noticed};
use crate::store::mail::{self, EmailRow, NewEmail};
use crate::store::webhook::DueMessage;
use crate::store::{organisation, Database, DbConnection, StoreError, StoreResult};

/// Deliveries noticed in one transaction.
const NOTICE_BATCH: i64 = 1000;

/// The kinds of e-mail, as the outbox names them.
pub const DAILY_SUMMARY: &str = "daily-summary";
pub const UNREAD_REMINDER: &str = "unread-reminder";
pub const EXPIRY_ALERT: &str = "expiry-alert";
pub const ENDPOINT_DISABLED: &str = "webhook-endpoint-disabled";

/// How to reach an organisation's people, in the words of the e-mails' last lines.
const HOW_TO_FETCH: &str = "Fetch them with DeliveryService (SOAP, getDelivery) or the REST API \
                            (GET /api/v1/deliveries/{id}/content).";
const NO_PERSONAL_DATA: &str = "This message carries no personal data.";

/// Adds a contact address to an organisation; `false` when it had it already.
pub fn add_contact(
    db: &Database,
    cbe: &EnterpriseNumber,
    address: &ContactAddress,
) -> Result<bool, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    Ok(db.write(|conn| {
        mail::add_contact(conn, organisation_id, address.as_str(), crate::store::now())
    })?)
}

/// Removes a contact address of an organisation; `false` when it had none such.
pub fn remove_contact(
    db: &Database,
    cbe: &EnterpriseNumber,
    address: &ContactAddress,
) -> Result<bool, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    Ok(db.write(|conn| mail::remove_contact(conn, organisation_id, address.as_str()))?)
}

pub fn contacts(db: &Database, cbe: &EnterpriseNumber) -> Result<Vec<String>, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    Ok(mail::contacts_of(&mut *db.connection()?, organisation_id)?)
}

/// The e-mails owed or sent to an organisation, newest first.
pub fn emails(
    db: &Database,
    cbe: &EnterpriseNumber,
    limit: i64,
) -> Result<Vec<EmailRow>, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    Ok(mail::emails_of(
        &mut *db.connection()?,
        organisation_id,
        limit,
    )?)
}

/// What a notice sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notices {
    /// Deliveries reminded of (never downloaded since their publication).
    pub unread: usize,
    /// Deliveries alerted of (expiring soon, never downloaded).
    pub expiring: usize,
    /// E-mails enqueued.
    pub emails: usize,
}

/// Gives at `now` the notices owed: a reminder of each delivery never downloaded published
/// long enough ago, an alert of each expiring soon; an e-mail to each contact of an organisation per kind
/// (per batch of deliveries).
pub fn give_notices(
    db: &Database,
    policy: &NoticePolicy,
    now: NaiveDateTime,
) -> Result<Notices, ServiceError> {
    let mut notices = Notices::default();
    for (notice, due) in [
        (Notice::Unread, policy.unread_due(now)),
        (Notice::Expiring, policy.expiring_due(now)),
    ] {
        loop {
            let (noticed, emails) = db.write(|conn| {
                let held = mailbox::lock(conn)?;
                let noticed = mailbox::give_notices(conn, &held, notice, due, now, NOTICE_BATCH)?;
                let emails = notice_emails(conn, notice, policy, &noticed)?;
                let emails = mail::enqueue(conn, &emails, now)?;
                Ok::<_, StoreError>((noticed.len(), emails))
            })?;
            match notice {
                Notice::Unread => notices.unread += noticed,
                Notice::Expiring => notices.expiring += noticed,
            }
            notices.emails += emails;
            if (noticed as i64) < NOTICE_BATCH {
                break;
            }
        }
    }
    Ok(notices)
}

/// One e-mail per organisation with a contact address of the deliveries noticed.
fn notice_emails(
    conn: &mut DbConnection,
    notice: Notice,
    policy: &NoticePolicy,
    noticed: &[Noticed],
) -> StoreResult<Vec<NewEmail>> {
    let mut by_organisation: BTreeMap<i32, Vec<&Noticed>> = BTreeMap::new();
    for delivery in noticed {
        by_organisation
            .entry(delivery.organisation_id)
            .or_default()
            .push(delivery);
    }
    let ids: Vec<i32> = by_organisation.keys().copied().collect();
    let mut contacts = mail::contacts_of_many(conn, &ids)?;
    let organisations = organisation::by_ids(conn, &ids)?;
    let mut emails = Vec::new();
    for (organisation_id, deliveries) in by_organisation {
        let (Some(recipients), Some(organisation)) = (
            contacts.remove(&organisation_id),
            organisations.get(&organisation_id),
        ) else {
            continue;
        };
        let cbe = &organisation.cbe_number;
        let n = deliveries.len();
        let (kind, subject, opening) = match notice {
            Notice::Unread => (
                UNREAD_REMINDER,
                format!("raas: {n} delivery(ies) not downloaded in the mailbox of {cbe}"),
                format!(
                    "These deliveries to the mailbox of {cbe} have not been downloaded {} days \
                     after they were published:",
                    policy.unread_after_days
                ),
            ),
            Notice::Expiring => (
                EXPIRY_ALERT,
                format!("raas: {n} delivery(ies) expiring soon in the mailbox of {cbe}"),
                format!(
                    "These deliveries to the mailbox of {cbe} expire within {} days and have \
                     never been downloaded; once expired they cannot be fetched any more:",
                    policy.expiry_alert_days
                ),
            ),
        };
        let mut body = vec![opening, String::new()];
        body.extend(deliveries.iter().map(|d| {
            format!(
                "  delivery {}  {}  published {}  expires {}",
                d.delivery_id,
                d.file_type,
                utc_text(d.published_at),
                utc_text(d.expires_at)
            )
        }));
        body.extend([String::new(), HOW_TO_FETCH.into(), NO_PERSONAL_DATA.into()]);
        emails.push(NewEmail {
            organisation_id,
            kind,
            recipients,
            subject,
            body: body.join("\n"),
        });
    }
    Ok(emails)
}

/// Makes at `now` the daily summary of every organisation with a contact address that
/// received deliveries since its last one (its first: in the last day): their counts by
/// file type. Tells how many e-mails were enqueued. Two processes summarising at once
/// summarise each delivery once (the mailboxes' lock).
pub fn summarise(db: &Database, now: NaiveDateTime) -> Result<usize, ServiceError> {
    Ok(db.write(|conn| {
        let _held = mailbox::lock(conn)?;
        let until = crate::store::webhook::last_event(conn)?;
        let found = mail::new_deliveries(conn, until, now - chrono::Duration::days(1))?;
        let ids: Vec<i32> = found.iter().map(|f| f.organisation_id).collect();
        let mut contacts = mail::contacts_of_many(conn, &ids)?;
        let organisations = organisation::by_ids(conn, &ids)?;
        let mut emails = Vec::new();
        for new in found {
            let (Some(recipients), Some(organisation)) = (
                contacts.remove(&new.organisation_id),
                organisations.get(&new.organisation_id),
            ) else {
                continue;
            };
            let cbe = &organisation.cbe_number;
            let total: i64 = new.counts.iter().map(|(_, n)| n).sum();
            let since = new.since.map_or("in the last day".to_owned(), |at| {
                format!("since the last summary ({})", utc_text(at))
            });
            let mut body = vec![
                format!("{total} new delivery(ies) arrived in the mailbox of {cbe} {since}:"),
                String::new(),
            ];
            body.extend(
                new.counts
                    .iter()
                    .map(|(file_type, n)| format!("  {file_type}: {n}")),
            );
            body.extend([String::new(), HOW_TO_FETCH.into(), NO_PERSONAL_DATA.into()]);
            emails.push(NewEmail {
                organisation_id: new.organisation_id,
                kind: DAILY_SUMMARY,
                recipients,
                subject: format!("raas: {total} new delivery(ies) in the mailbox of {cbe}"),
                body: body.join("\n"),
            });
        }
        let enqueued = mail::enqueue(conn, &emails, now)?;
        mail::summarised(conn, until, now)?;
        Ok::<_, StoreError>(enqueued)
    })?)
}

/// The e-mail telling an organisation that one of its webhook endpoints was disabled (in
/// the transaction that disables it).
pub fn endpoint_disabled(
    conn: &mut DbConnection,
    message: &DueMessage,
    error: &str,
    at: NaiveDateTime,
) -> StoreResult<()> {
    let recipients = mail::contacts_of(conn, message.organisation_id)?;
    if recipients.is_empty() {
        return Ok(());
    }
    let cbe = &message.organisation;
    let since = message.failing_since.map_or("now".to_owned(), utc_text);
    let body = [
        format!(
            "The webhook endpoint {} of {cbe} ({}) has failed every attempt since {since} and \
             is disabled: no webhook is sent to it any more.",
            message.endpoint_id, message.url
        ),
        format!(
            "The last attempt: {}",
            crate::store::outbox::error_text(error)
        ),
        String::new(),
        "The events go on being recorded (GET /api/v1/events). Once the endpoint answers \
         again, an operator enables it (raas admin webhook enable) and replays what it missed \
         (raas admin webhook replay)."
            .into(),
        NO_PERSONAL_DATA.into(),
    ];
    mail::enqueue(
        conn,
        &[NewEmail {
            organisation_id: message.organisation_id,
            kind: ENDPOINT_DISABLED,
            recipients,
            subject: format!(
                "raas: webhook endpoint {} of {cbe} disabled",
                message.endpoint_id
            ),
            body: body.join("\n"),
        }],
        at,
    )?;
    Ok(())
}
