//! Webhooks (Standard Webhooks): an organisation's endpoints, and the dispatcher inside
//! `serve` that sends the durable outbox's messages. Each message is a thin JSON body naming
//! the delivery (never personal data), sent with `webhook-id` (the same for every attempt),
//! `webhook-timestamp` and `webhook-signature` (`v1,` + base64 HMAC-SHA256 over
//! `id.timestamp.body` with each active secret); retried with exponential backoff and jitter
//! for more than a day ([`super::retry`]); given up after the last attempt; an endpoint failing for
//! [`DISABLE_AFTER_DAYS`] days is disabled. Requests to loopback, private or link-local
//! addresses are refused unless allowed, the address checked being the one connected to.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::admin::organisation_id;
use super::error::ServiceError;
use super::execution::off_workers;
use super::retry::after_failure;
use crate::domain::{EnterpriseNumber, MailboxEventKind};
use crate::store::webhook::{self as outbox, DueMessage, EndpointRow, MessageRow};
use crate::store::Database;

/// An endpoint failing without a success for this long is disabled.
pub const DISABLE_AFTER_DAYS: i64 = 5;
/// How long a rotated secret still signs.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;
/// Messages claimed by one pass of the dispatcher.
const BATCH: i64 = 64;
/// How long a claimed message is held by its process (longer than one attempt can take).
const LEASE: Duration = Duration::from_secs(60);

/// How the dispatcher sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Whether endpoints on loopback, private or link-local addresses are called (tests,
    /// an intranet).
    pub allow_private: bool,
    /// One attempt's limit.
    pub timeout: Duration,
    /// How often the outbox is looked at.
    pub poll: Duration,
}

impl Default for WebhookSettings {
    fn default() -> WebhookSettings {
        WebhookSettings {
            allow_private: false,
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
        }
    }
}

/// A new endpoint: its id and its secret (shown once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEndpoint {
    pub id: i64,
    pub secret: String,
}

/// A `whsec_` secret: 32 random bytes, base64.
fn new_secret() -> String {
    let key: [u8; 32] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// The event types an endpoint gets: those named (default: every one).
pub fn event_types(names: &[String]) -> Result<Vec<MailboxEventKind>, ServiceError> {
    if names.is_empty() {
        return Ok(MailboxEventKind::ALL.to_vec());
    }
    names
        .iter()
        .map(|name| {
            MailboxEventKind::parse(name).ok_or_else(|| {
                ServiceError::InvalidInput(format!(
                    "unknown event {name:?} ({})",
                    MailboxEventKind::ALL.map(|k| k.as_str()).join(", ")
                ))
            })
        })
        .collect()
}

/// Adds an endpoint to an organisation.
pub fn add_endpoint(
    db: &Database,
    cbe: &EnterpriseNumber,
    url: &str,
    events: &[MailboxEventKind],
) -> Result<NewEndpoint, ServiceError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ServiceError::InvalidInput(format!("--url {url}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ServiceError::InvalidInput(format!(
            "--url {url}: an http or https URL with a host is expected"
        )));
    }
    let organisation_id = organisation_id(db, cbe)?;
    let secret = new_secret();
    let events: Vec<&str> = events.iter().map(|k| k.as_str()).collect();
    let id = db.write(|conn| {
        outbox::add_endpoint(
            conn,
            organisation_id,
            parsed.as_str(),
            &events.join(" "),
            &secret,
            crate::store::now(),
        )
    })?;
    Ok(NewEndpoint { id, secret })
}

pub fn endpoints(db: &Database, cbe: &EnterpriseNumber) -> Result<Vec<EndpointRow>, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    let mut conn = db.connection()?;
    Ok(outbox::endpoints_of(&mut conn, organisation_id)?)
}

pub fn remove_endpoint(
    db: &Database,
    cbe: &EnterpriseNumber,
    id: i64,
) -> Result<bool, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    Ok(db.write(|conn| outbox::remove(conn, organisation_id, id, crate::store::now()))?)
}

/// A new secret for an endpoint; the previous one still signs for
/// [`ROTATION_OVERLAP_HOURS`]. `None`: no such endpoint.
pub fn rotate_secret(
    db: &Database,
    cbe: &EnterpriseNumber,
    id: i64,
) -> Result<Option<String>, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    let secret = new_secret();
    let until = crate::store::now() + chrono::Duration::hours(ROTATION_OVERLAP_HOURS);
    let rotated = db.write(|conn| outbox::rotate(conn, organisation_id, id, &secret, until))?;
    Ok(rotated.then_some(secret))
}

pub fn enable_endpoint(
    db: &Database,
    cbe: &EnterpriseNumber,
    id: i64,
) -> Result<bool, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    Ok(db.write(|conn| outbox::enable(conn, organisation_id, id))?)
}

pub fn messages(
    db: &Database,
    cbe: &EnterpriseNumber,
    limit: i64,
) -> Result<Vec<MessageRow>, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    let mut conn = db.connection()?;
    Ok(outbox::messages_of(&mut conn, organisation_id, limit)?)
}

pub fn replay(db: &Database, cbe: &EnterpriseNumber, id: i64) -> Result<bool, ServiceError> {
    let organisation_id = organisation_id(db, cbe)?;
    Ok(db.write(|conn| outbox::replay(conn, organisation_id, id, crate::store::now()))?)
}

/// The `webhook-id` of a message: the same for every attempt and replay.
pub fn message_id(message: &DueMessage) -> String {
    format!("msg_{}", message.id)
}

/// The body of a message: thin, naming the delivery; rebuilt the same at every attempt.
pub fn body(message: &DueMessage) -> String {
    serde_json::json!({
        "type": message.kind,
        "timestamp": message.at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": {
            "deliveryId": message.delivery_id,
            "fileType": message.file_type,
            "organisation": message.organisation,
            "eventSequence": message.event_seq,
        },
    })
    .to_string()
}

/// `webhook-signature`: `v1,<base64>` for each secret, space-separated.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let mut signatures = Vec::new();
    for secret in secrets {
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
            .map_err(|e| format!("a webhook secret is not base64: {e}"))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        let signed = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        signatures.push(format!("v1,{signed}"));
    }
    Ok(signatures.join(" "))
}

/// Whether an address is one a webhook may not reach by default.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // 100.64/10
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
        }
    }
}

/// Sends the outbox's messages, for as long as the process lives.
pub async fn dispatch(db: Database, settings: WebhookSettings) {
    let mut tick = tokio::time::interval(settings.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            match pass(&db, &settings).await {
                // A full batch: more may be due at once.
                Ok(sent) if sent as i64 == BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "webhooks: the outbox cannot be read now");
                    break;
                }
            }
        }
    }
}

/// One pass: claims the due messages and attempts each once, concurrently.
async fn pass(db: &Database, settings: &WebhookSettings) -> Result<usize, ServiceError> {
    let claiming = db.clone();
    let due = off_workers(move || {
        let now = crate::store::now();
        // Every second in every process: a read first, the write lock only when needed.
        if !outbox::any_due(&mut *claiming.connection()?, now)? {
            return Ok(Vec::new());
        }
        let lease = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        Ok(claiming.write(|conn| outbox::claim_due(conn, now, lease, BATCH))?)
    })
    .await?;
    let count = due.len();
    let attempts = due
        .into_iter()
        .map(|message| attempt(db, settings, message));
    futures_util::future::join_all(attempts).await;
    Ok(count)
}

/// One attempt of one message, and its outcome recorded.
async fn attempt(db: &Database, settings: &WebhookSettings, message: DueMessage) {
    let outcome = send(settings, &message).await;
    let db = db.clone();
    let recorded = off_workers(move || {
        let now = crate::store::now();
        Ok(db.write(|conn| match &outcome {
            Ok(()) => outbox::delivered(conn, &message, now),
            Err(error) => {
                let after = after_failure(message.attempts + 1, now);
                let failing_for = message.failing_since.map(|since| now - since);
                let disable =
                    failing_for.is_some_and(|d| d >= chrono::Duration::days(DISABLE_AFTER_DAYS));
                if disable {
                    tracing::warn!(
                        endpoint = message.endpoint_id,
                        organisation = %message.organisation,
                        "webhooks: the endpoint failed for days: disabled"
                    );
                }
                tracing::info!(
                    message = %message_id(&message),
                    endpoint = message.endpoint_id,
                    %error,
                    "webhooks: an attempt failed"
                );
                if outbox::failed(conn, &message, error, after, now, disable)? {
                    super::notification::endpoint_disabled(conn, &message, error, now)?;
                }
                Ok(())
            }
        })?)
    })
    .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "webhooks: an attempt's outcome is not recorded (sent again later)");
    }
}

/// Sends a message once: a 2xx answer is success.
async fn send(settings: &WebhookSettings, message: &DueMessage) -> Result<(), String> {
    let url = reqwest::Url::parse(&message.url).map_err(|e| e.to_string())?;
    let host = url.host_str().ok_or("no host")?.to_owned();
    let port = url.port_or_known_default().ok_or("no port")?;
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let address = addresses
        .iter()
        .copied()
        .find(|a| settings.allow_private || !is_private(a.ip()))
        .ok_or_else(|| format!("{host} resolves to private addresses only: refused"))?;
    // Connect to the address checked, not to another the name might resolve to next.
    let client = reqwest::Client::builder()
        .resolve(&host, address)
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let now = chrono::Utc::now();
    let mut secrets = vec![message.secret.as_str()];
    if let (Some(previous), Some(until)) = (&message.previous_secret, message.previous_until) {
        if until > now.naive_utc() {
            secrets.push(previous.as_str());
        }
    }
    let id = message_id(message);
    let body = body(message);
    let timestamp = now.timestamp();
    let signed = signature(&secrets, &id, timestamp, &body)?;
    let answer = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signed)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("{e}"))?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", answer.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_told_apart() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn signatures_follow_the_standard() {
        // The example of the Standard Webhooks specification.
        let signed = signature(
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
