//! The JSON bodies of the REST API, typed, so that the OpenAPI document (`openapi.rs`) is
//! derived from what the handlers send.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::Delivery;
use crate::store::delivery::{MailboxEvent, Summary};

pub use crate::domain::delivery::utc_text as utc;

/// The first download of a delivery: the proof of receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadBody {
    /// RFC 3339, UTC.
    pub at: String,
    /// The user or client id that downloaded it.
    pub by: String,
}

/// A delivery of a mailbox (the SOAP `DeliveryType`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryBody {
    pub id: i64,
    /// PERSON_MUTATIONS, DIMONA_MUTATIONS or BROADCAST.
    pub file_type: String,
    pub file_name: String,
    /// A broadcast's subject.
    pub subject: Option<String>,
    /// A daily file's reference date (YYYY-MM-DD).
    pub reference_date: Option<String>,
    /// A daily file's sequence number, gap-free per receiver and file type.
    pub sequence_number: Option<i64>,
    pub record_count: Option<i64>,
    pub size: i64,
    /// SHA-256 of the file, hexadecimal.
    pub sha256: String,
    /// The sender asked for a proof of receipt.
    pub registered: bool,
    pub published_at: String,
    pub expires_at: String,
    /// AVAILABLE, DOWNLOADED (or EXPIRED in the sender's ledger).
    pub state: String,
    pub first_download: Option<DownloadBody>,
}

impl From<&Delivery> for DeliveryBody {
    fn from(d: &Delivery) -> DeliveryBody {
        DeliveryBody {
            id: d.id,
            file_type: d.kind.as_str().to_owned(),
            file_name: d.file_name.clone(),
            subject: d.subject.clone(),
            reference_date: d.reference_date.map(|day| day.to_string()),
            sequence_number: d.sequence_number,
            record_count: d.records,
            size: d.size,
            sha256: d.sha256.clone(),
            registered: d.registered,
            published_at: utc(d.published_at),
            expires_at: utc(d.expires_at),
            state: d.state().as_str().to_owned(),
            first_download: d.receipt.as_ref().map(|r| DownloadBody {
                at: utc(r.at),
                by: r.by.clone(),
            }),
        }
    }
}

/// A page of deliveries, oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryPage {
    pub items: Vec<DeliveryBody>,
    /// Every delivery the filters select.
    pub total_items: i64,
    pub page: u32,
    pub page_size: u32,
}

/// A mailbox at a glance.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MailboxBody {
    /// The organisation's enterprise number.
    pub organisation: String,
    /// Deliveries in the mailbox.
    pub total_items: i64,
    pub not_downloaded: i64,
    /// The number of the mailbox's last event (0: none).
    pub last_event_sequence: i64,
}

impl MailboxBody {
    pub fn new(organisation: &str, summary: &Summary) -> MailboxBody {
        MailboxBody {
            organisation: organisation.to_owned(),
            total_items: summary.deliveries,
            not_downloaded: summary.not_downloaded,
            last_event_sequence: summary.last_event,
        }
    }
}

/// One event of a mailbox.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventBody {
    /// Increasing in commit order.
    pub sequence: i64,
    /// delivery.available, delivery.downloaded, delivery.unread, delivery.expiring or
    /// delivery.expired.
    #[serde(rename = "type")]
    pub kind: String,
    pub delivery_id: i64,
    pub at: String,
}

impl From<&MailboxEvent> for EventBody {
    fn from(e: &MailboxEvent) -> EventBody {
        EventBody {
            sequence: e.sequence,
            kind: e.kind.as_str().to_owned(),
            delivery_id: e.delivery_id,
            at: utc(e.at),
        }
    }
}

/// Events after the sequence asked, in order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    pub items: Vec<EventBody>,
    /// Ask from this one next time.
    pub last_sequence: i64,
}

/// The offending field of a refusal and the value received.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldBody {
    pub name: String,
    pub value: String,
}

/// An error: a stable reason code (as in the SOAP faults) and a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<FieldBody>,
}

/// An access token (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenBody {
    pub access_token: String,
    /// Bearer.
    pub token_type: String,
    /// Seconds.
    pub expires_in: u64,
    pub scope: String,
}

/// A refusal of the token endpoint (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    pub error: String,
    pub error_description: String,
}
