//! The mailer inside `serve`: sends the durable e-mail outbox over SMTP (lettre), each
//! e-mail claimed for a lease by one process at a time, retried on the outboxes' schedule
//! ([`super::retry`]) and given up after the last attempt. Every attempt of an e-mail sends
//! the same message under the same `Message-ID`, so a receiver can tell a repeat (an
//! attempt whose outcome was not recorded) from a new e-mail.

use std::time::{Duration, SystemTime};

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::error::ServiceError;
use super::execution::off_workers;
use super::retry::after_failure;
use crate::store::mail::{self as outbox, EmailRow};
use crate::store::Database;

/// E-mails claimed by one pass of the mailer.
const BATCH: i64 = 32;
/// How long a claimed e-mail is held by its process (longer than one attempt can take).
const LEASE: Duration = Duration::from_secs(120);

/// How the mailer sends.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:port` (STARTTLS when offered), `smtp://…?tls=required`,
    /// `smtp://…?tls=none` (never encrypted) or `smtps://host:port`, with `user:password@`
    /// when the server asks for a login.
    pub smtp_url: String,
    /// The `From` of every e-mail.
    pub from: Mailbox,
    /// One attempt's limit.
    pub timeout: Duration,
    /// How often the outbox is looked at.
    pub poll: Duration,
}

type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// The SMTP transport of `settings`, refused when the URL is not one lettre reads.
pub fn transport(settings: &MailSettings) -> Result<Transport, ServiceError> {
    Ok(Transport::from_url(&lettre_url(&settings.smtp_url)?)
        .map_err(|e| ServiceError::InvalidInput(format!("smtp_url: {e}")))?
        .timeout(Some(settings.timeout))
        .build())
}

/// The URL as lettre reads it: lettre's `smtp://` without `tls` never encrypts; here it
/// means STARTTLS when the server offers it (`tls=opportunistic`), and `tls=none` asks for
/// lettre's plain connection.
fn lettre_url(smtp_url: &str) -> Result<String, ServiceError> {
    let mut url = url::Url::parse(smtp_url)
        .map_err(|e| ServiceError::InvalidInput(format!("smtp_url: {e}")))?;
    if url.scheme() != "smtp" {
        return Ok(smtp_url.to_owned());
    }
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    match pairs.iter().position(|(name, _)| name == "tls") {
        Some(at) if pairs[at].1 == "none" => {
            pairs.remove(at);
        }
        Some(_) => {}
        None => pairs.push(("tls".into(), "opportunistic".into())),
    }
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Ok(url.to_string())
}

/// Sends the outbox's e-mails, for as long as the process lives.
pub async fn dispatch(db: Database, settings: MailSettings, transport: Transport) {
    let mut tick = tokio::time::interval(settings.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            match pass(&db, &settings, &transport).await {
                // A full batch: more may be due at once.
                Ok(sent) if sent as i64 == BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "e-mail: the outbox cannot be read now");
                    break;
                }
            }
        }
    }
}

/// One pass: claims the due e-mails and attempts each once, one after the other (an SMTP
/// server takes them over one connection at a time).
async fn pass(
    db: &Database,
    settings: &MailSettings,
    transport: &Transport,
) -> Result<usize, ServiceError> {
    let claiming = db.clone();
    let due = off_workers(move || {
        let now = crate::store::now();
        if !outbox::any_due(&mut *claiming.connection()?, now)? {
            return Ok(Vec::new());
        }
        let lease = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        Ok(claiming.write(|conn| outbox::claim_due(conn, now, lease, BATCH))?)
    })
    .await?;
    let count = due.len();
    for email in due {
        let outcome = send(settings, transport, &email).await;
        record(db, email, outcome).await;
    }
    Ok(count)
}

/// An attempt's outcome, recorded.
async fn record(db: &Database, email: EmailRow, outcome: Result<(), String>) {
    let db = db.clone();
    let recorded = off_workers(move || {
        let now = crate::store::now();
        Ok(db.write(|conn| match &outcome {
            Ok(()) => outbox::sent(conn, &email, now),
            Err(error) => {
                tracing::info!(email = email.id, kind = %email.kind, %error, "e-mail: an attempt failed");
                let after = after_failure(email.attempts + 1, now);
                outbox::failed(conn, &email, error, after, now)
            }
        })?)
    })
    .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "e-mail: an attempt's outcome is not recorded (sent again later)");
    }
}

/// The message of an e-mail of the outbox.
pub fn message(settings: &MailSettings, email: &EmailRow) -> Result<Message, String> {
    let domain = settings.from.email.domain().to_owned();
    let builder = Message::builder()
        .from(settings.from.clone())
        .subject(email.subject.clone())
        .message_id(Some(format!("<raas.email.{}@{domain}>", email.id)))
        .date(SystemTime::from(email.created_at.and_utc()))
        .header(ContentType::TEXT_PLAIN);
    let address: lettre::Address = email
        .recipient
        .parse()
        .map_err(|e| format!("the recipient {:?} is not an address: {e}", email.recipient))?;
    builder
        .to(Mailbox::new(None, address))
        .body(email.body.clone())
        .map_err(|e| format!("the e-mail cannot be made: {e}"))
}

/// Sends an e-mail once: accepted by the SMTP server is success.
async fn send(
    settings: &MailSettings,
    transport: &Transport,
    email: &EmailRow,
) -> Result<(), String> {
    let message = message(settings, email)?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_means_starttls_when_offered_unless_told_none() {
        for (given, read) in [
            (
                "smtp://mail.example.be:25",
                "smtp://mail.example.be:25?tls=opportunistic",
            ),
            (
                "smtp://u:p@mail.example.be:587?tls=required",
                "smtp://u:p@mail.example.be:587?tls=required",
            ),
            ("smtp://127.0.0.1:2525?tls=none", "smtp://127.0.0.1:2525"),
            ("smtps://mail.example.be", "smtps://mail.example.be"),
        ] {
            assert_eq!(lettre_url(given).unwrap(), read, "{given}");
        }
        assert!(lettre_url("no url at all").is_err());
    }
}
