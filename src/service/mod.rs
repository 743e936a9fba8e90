//! Use cases: each one authorises the caller, runs domain rules inside a transaction and
//! records the call in the audit trail. Knows nothing of SOAP.

pub mod access_token;
pub mod admin;
pub mod audit_trail;
pub mod authentication;
pub mod bis_creation;
pub mod call;
pub mod client_assertion;
pub mod daily_run;
pub mod delivery;
pub mod dimona_import;
pub mod error;
mod execution;
pub mod external_token;
pub mod identification;
pub mod identity_source;
pub mod mail;
pub mod notification;
pub mod phonetic_search;
pub mod register;
pub mod retry;
pub mod source_feed;
mod source_file;
pub mod subscription;
pub mod throttle;
pub mod webhook;

pub use audit_trail::AuditTrail;
pub use authentication::{Authenticator, Caller};
pub use call::Call;
pub use error::ServiceError;

use std::sync::Arc;

use crate::store::Database;

/// Today as far as any caller can be concerned: a birth "today" in the easternmost time zone
/// (UTC + 14) may still be tomorrow in UTC terms. Dates from outside are bounded by it.
pub fn latest_today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(14)).date_naive()
}

/// Where a successful call's audit entry is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Success {
    /// In the write's own transaction.
    Recorded,
    /// Not yet: a read answers only once its entry is committed.
    ToRecord,
}

/// Everything a request needs, shared by all workers.
#[derive(Clone)]
pub struct Services {
    pub db: Database,
    pub audit: AuditTrail,
    pub authenticator: Arc<Authenticator>,
    pub mailboxes: Arc<delivery::MailboxSettings>,
}

impl Services {
    pub fn new(db: Database, mailboxes: delivery::MailboxSettings) -> Services {
        Services {
            mailboxes: Arc::new(mailboxes),
            audit: AuditTrail::start(db.clone()),
            authenticator: Arc::new(Authenticator::new(db.clone())),
            db,
        }
    }

    /// Records a refusal, or a read's success, in the audit trail and hands the result on.
    pub(crate) async fn conclude<T>(
        &self,
        call: &Call,
        caller: &Caller,
        result: Result<T, ServiceError>,
        success: Success,
    ) -> Result<T, ServiceError> {
        match (&result, success) {
            (Ok(_), Success::Recorded) => {}
            (Ok(_), Success::ToRecord) => {
                let entry = call.audit_entry(Some(caller.organisation_id), register::OK);
                self.audit.record(entry).await?;
            }
            (Err(e), _) => self.record_refusal(call, Some(caller), e.outcome()).await,
        }
        result
    }

    /// Records a call refused before any use case ran (malformed, not authenticated, …).
    pub async fn record_refusal(&self, call: &Call, caller: Option<&Caller>, outcome: &str) {
        let entry = call.audit_entry(caller.map(|c| c.organisation_id), outcome);
        if let Err(e) = self.audit.record(entry).await {
            tracing::error!(error = %e, ticket = %call.server_ticket, "refusal not recorded");
        }
    }
}
