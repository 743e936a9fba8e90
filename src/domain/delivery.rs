//! Mailboxes: what a delivery is (a document in an organisation's mailbox), its kinds, how
//! long it stays (a retention period per kind), its state, the events of a mailbox, and the
//! questions a mailbox is asked (filters and pages).

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};

use super::subscription::FileType;

/// The kind of a document: a daily file of a subscription's type, or an operator's broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentType {
    Daily(FileType),
    Broadcast,
}

impl DocumentType {
    pub const ALL: [DocumentType; 3] = [
        DocumentType::Daily(FileType::PersonMutations),
        DocumentType::Daily(FileType::DimonaMutations),
        DocumentType::Broadcast,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::Daily(file_type) => file_type.as_str(),
            DocumentType::Broadcast => "BROADCAST",
        }
    }
}

impl fmt::Display for DocumentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocumentType {
    type Err = String;

    fn from_str(text: &str) -> Result<DocumentType, String> {
        DocumentType::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown file type {text:?} (PERSON_MUTATIONS, DIMONA_MUTATIONS or BROADCAST)"
                )
            })
    }
}

/// How many days a document of each kind stays in the mailboxes after it is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    days: [u32; 3],
}

impl Retention {
    /// The longest retention accepted: ten years.
    pub const MAX_DAYS: u32 = 3660;

    /// The days documents of `kind` stay.
    pub fn days(&self, kind: DocumentType) -> u32 {
        self.days[Self::slot(kind)]
    }

    /// When a document of `kind` published at `at` expires.
    pub fn expiry(&self, kind: DocumentType, at: NaiveDateTime) -> NaiveDateTime {
        at + chrono::Duration::days(i64::from(self.days(kind)))
    }

    fn slot(kind: DocumentType) -> usize {
        DocumentType::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_default()
    }
}

impl Default for Retention {
    /// Daily files 60 days, broadcasts 90.
    fn default() -> Retention {
        Retention { days: [60, 60, 90] }
    }
}

/// `TYPE=DAYS` pairs separated by commas (`PERSON_MUTATIONS=60,BROADCAST=365`); a type not
/// named keeps its default.
impl FromStr for Retention {
    type Err = String;

    fn from_str(text: &str) -> Result<Retention, String> {
        let mut retention = Retention::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, days) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not TYPE=DAYS"))?;
            let kind: DocumentType = kind.trim().parse()?;
            let days: u32 = days
                .trim()
                .parse()
                .ok()
                .filter(|d| (1..=Retention::MAX_DAYS).contains(d))
                .ok_or_else(|| {
                    format!(
                        "{pair:?}: the days must be a whole number from 1 to {}",
                        Retention::MAX_DAYS
                    )
                })?;
            retention.days[Retention::slot(kind)] = days;
        }
        Ok(retention)
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<String> = DocumentType::ALL
            .iter()
            .map(|kind| format!("{kind}={}", self.days(*kind)))
            .collect();
        f.write_str(&pairs.join(","))
    }
}

/// When an organisation is told of a delivery it has not downloaded: a reminder some days
/// after it was published, an alert some days before it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticePolicy {
    /// Days after publication a delivery never downloaded is reminded of.
    pub unread_after_days: u32,
    /// Days before expiry a delivery never downloaded is alerted of.
    pub expiry_alert_days: u32,
}

impl Default for NoticePolicy {
    /// A reminder after 15 days, an alert 7 days before expiry.
    fn default() -> NoticePolicy {
        NoticePolicy {
            unread_after_days: 15,
            expiry_alert_days: 7,
        }
    }
}

impl NoticePolicy {
    /// Deliveries published at this time or before are reminded of at `now`.
    pub fn unread_due(&self, now: NaiveDateTime) -> NaiveDateTime {
        now - chrono::Duration::days(i64::from(self.unread_after_days))
    }

    /// Deliveries expiring at this time or before are alerted of at `now`.
    pub fn expiring_due(&self, now: NaiveDateTime) -> NaiveDateTime {
        now + chrono::Duration::days(i64::from(self.expiry_alert_days))
    }
}

/// A stored UTC time as RFC 3339 to the microsecond, as the mailboxes' answers give it (so
/// that a `publishedAt` given back as `receivedAfter` selects exactly what came later).
pub fn utc_text(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Where a delivery stands in its mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// In the mailbox, never downloaded.
    Available,
    /// In the mailbox, downloaded at least once.
    Downloaded,
    /// Out of the mailbox: its retention is over and its files are removed.
    Expired,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Available => "AVAILABLE",
            DeliveryState::Downloaded => "DOWNLOADED",
            DeliveryState::Expired => "EXPIRED",
        }
    }
}

/// The proof of receipt: the first download of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub at: NaiveDateTime,
    /// The user (or OAuth client) who downloaded it.
    pub by: String,
}

/// One delivery of a mailbox, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub organisation_id: i32,
    pub kind: DocumentType,
    pub file_name: String,
    /// A broadcast's subject.
    pub subject: Option<String>,
    /// A daily file's reference date, file sequence number and record count.
    pub reference_date: Option<NaiveDate>,
    pub sequence_number: Option<i64>,
    pub records: Option<i64>,
    pub size: i64,
    pub sha256: String,
    /// The sender asked for a proof of receipt.
    pub registered: bool,
    pub published_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub receipt: Option<Receipt>,
    pub expired: bool,
}

impl Delivery {
    pub fn state(&self) -> DeliveryState {
        match (&self.receipt, self.expired) {
            (_, true) => DeliveryState::Expired,
            (Some(_), false) => DeliveryState::Downloaded,
            (None, false) => DeliveryState::Available,
        }
    }

    /// The daily file's voucher and signature go with it.
    pub fn has_voucher(&self) -> bool {
        matches!(self.kind, DocumentType::Daily(_))
    }
}

/// What happened in a mailbox, in the order it was committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxEventKind {
    /// A delivery arrived.
    Available,
    /// A delivery was downloaded for the first time.
    Downloaded,
    /// A delivery is still not downloaded after [`UNREAD_REMINDER_DAYS`].
    Unread,
    /// A delivery not downloaded expires in [`EXPIRY_ALERT_DAYS`].
    Expiring,
    /// A delivery left the mailbox.
    Expired,
}

/// Days after which a delivery never downloaded is reminded.
pub const UNREAD_REMINDER_DAYS: i64 = 15;
/// Days before its expiry a delivery never downloaded is alerted.
pub const EXPIRY_ALERT_DAYS: i64 = 7;

impl MailboxEventKind {
    pub const ALL: [MailboxEventKind; 5] = [
        MailboxEventKind::Available,
        MailboxEventKind::Downloaded,
        MailboxEventKind::Unread,
        MailboxEventKind::Expiring,
        MailboxEventKind::Expired,
    ];

    /// The event's name, as in the pull feed and the webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            MailboxEventKind::Available => "delivery.available",
            MailboxEventKind::Downloaded => "delivery.downloaded",
            MailboxEventKind::Unread => "delivery.unread",
            MailboxEventKind::Expiring => "delivery.expiring",
            MailboxEventKind::Expired => "delivery.expired",
        }
    }

    pub fn parse(name: &str) -> Option<MailboxEventKind> {
        MailboxEventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// The largest page of deliveries, and the page size when none is asked.
pub const MAX_PAGE_SIZE: u32 = 100;
pub const DEFAULT_PAGE_SIZE: u32 = 20;

/// Which deliveries of a mailbox to list, and which page of them (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryQuery {
    pub kind: Option<DocumentType>,
    /// Published strictly after.
    pub received_after: Option<NaiveDateTime>,
    /// Only those downloaded (true) or only those not (false).
    pub downloaded: Option<bool>,
    /// Daily files whose sequence number is greater (broadcasts have none).
    pub after_sequence: Option<i64>,
    /// From 1.
    pub page: u32,
    pub page_size: u32,
}

/// A page or page size out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be a whole number from 1 to {max}")]
pub struct PageError {
    pub field: &'static str,
    pub max: u32,
}

impl DeliveryQuery {
    /// The largest page number accepted (beyond it no mailbox has anything to show).
    pub const MAX_PAGE: u32 = 1_000_000;

    /// The first page of every delivery.
    pub fn all() -> DeliveryQuery {
        DeliveryQuery {
            kind: None,
            received_after: None,
            downloaded: None,
            after_sequence: None,
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }

    /// The first page of the deliveries the filters select.
    pub fn filtered(
        kind: Option<DocumentType>,
        received_after: Option<NaiveDateTime>,
        downloaded: Option<bool>,
        after_sequence: Option<i64>,
    ) -> DeliveryQuery {
        DeliveryQuery {
            kind,
            received_after,
            downloaded,
            after_sequence,
            ..DeliveryQuery::all()
        }
    }

    /// Sets the page and its size, each checked.
    pub fn paged(self, page: Option<u32>, page_size: Option<u32>) -> Result<Self, PageError> {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=Self::MAX_PAGE).contains(&page) {
            return Err(PageError {
                field: "page",
                max: Self::MAX_PAGE,
            });
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(PageError {
                field: "pageSize",
                max: MAX_PAGE_SIZE,
            });
        }
        Ok(DeliveryQuery {
            page,
            page_size,
            ..self
        })
    }

    /// Deliveries skipped before the page.
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.page_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_reads_pairs_and_keeps_defaults() {
        let retention: Retention = "BROADCAST=365, PERSON_MUTATIONS=30".parse().unwrap();
        assert_eq!(retention.days(DocumentType::Broadcast), 365);
        assert_eq!(
            retention.days(DocumentType::Daily(FileType::PersonMutations)),
            30
        );
        assert_eq!(
            retention.days(DocumentType::Daily(FileType::DimonaMutations)),
            60
        );
        assert_eq!(
            retention.to_string(),
            "PERSON_MUTATIONS=30,DIMONA_MUTATIONS=60,BROADCAST=365"
        );
        assert_eq!(
            retention.to_string().parse::<Retention>().unwrap(),
            retention
        );
        for bad in [
            "BROADCAST",
            "OTHER=3",
            "BROADCAST=0",
            "BROADCAST=x",
            "BROADCAST=9999",
        ] {
            assert!(bad.parse::<Retention>().is_err(), "{bad}");
        }
    }

    #[test]
    fn pages_are_checked() {
        let query = DeliveryQuery::all().paged(Some(3), Some(50)).unwrap();
        assert_eq!(query.offset(), 100);
        assert_eq!(
            DeliveryQuery::all().paged(Some(0), None).unwrap_err().field,
            "page"
        );
        assert_eq!(
            DeliveryQuery::all()
                .paged(None, Some(101))
                .unwrap_err()
                .field,
            "pageSize"
        );
    }

    #[test]
    fn event_names_read_back() {
        for kind in MailboxEventKind::ALL {
            assert_eq!(MailboxEventKind::parse(kind.as_str()), Some(kind));
        }
    }
}
