//! The audit trail writer. Reads and refusals are recorded through a single writer thread
//! that commits whatever entries are waiting in one transaction (group commit), so a busy
//! server pays one commit for many calls; each caller waits until its entry is committed, so
//! no personal data leaves without its record. Writes record their entry inside their own
//! transaction instead (see `register`).
//!
//! One entry can never fail another caller's entry or request. When the database refuses a
//! batch, the writer splits it in halves and commits each again (down to single entries), so
//! only the entry it refuses fails: a batch with one bad entry among `n` costs about
//! `2 log2 n` more transactions. A refused entry is tried once more in a reduced form: every
//! field that came from the caller (claimed enterprise number, username, NISS, legal
//! context, client ticket) keeps only printable ASCII characters, any other character
//! replaced by `?`, and a field so changed starts with the marker [`SANITIZED`]. Only when
//! that form is refused too (or there is nothing to reduce) does the entry fail, and with it
//! only its own caller (`INTERNAL_ERROR`). A database out of reach fails the batch as
//! `SERVICE_UNAVAILABLE`, with nothing to split.
//!
//! The writer has a connection of its own, outside the pool, so requests holding every
//! pooled connection cannot keep refusals from being recorded; it is checked before every
//! batch (no round trip) and opened again when the database has closed it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread;

use tokio::sync::oneshot;

use super::error::ServiceError;
use crate::store::audit::{self, AuditEntry};
use crate::store::{Database, DbConnection, StoreError};

const QUEUE: usize = 16_384;
const BATCH: usize = 512;

/// Starts a field of an entry's reduced form that had to be changed.
pub const SANITIZED: &str = "[sanitized]";

/// Why an entry was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The database could not be reached (or stayed locked): try again later.
    Unavailable,
    /// The database refused the entry, in its reduced form too.
    Refused,
}

type Pending = (AuditEntry, oneshot::Sender<Result<(), Failure>>);

#[derive(Clone)]
pub struct AuditTrail {
    sender: SyncSender<Pending>,
    /// Entries handed to the writer whose commit is not yet known (the queue's depth).
    pending: Arc<AtomicUsize>,
}

/// Counts one entry as pending while it lives.
struct PendingGuard(Arc<AtomicUsize>);

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AuditTrail {
    /// Starts the writer thread; it stops when the last `AuditTrail` clone is dropped.
    pub fn start(db: Database) -> AuditTrail {
        let (sender, receiver) = mpsc::sync_channel(QUEUE);
        thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_batches(Writer { db, conn: None }, receiver))
            .expect("cannot start the audit writer thread");
        AuditTrail {
            sender,
            pending: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Entries waiting to be committed (queued or being written).
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// Records an entry and waits until it is committed: `Unavailable` when the database
    /// is out of reach, `Internal` when it refuses this entry.
    pub async fn record(&self, entry: AuditEntry) -> Result<(), ServiceError> {
        self.record_all(vec![entry]).await
    }

    /// Records entries (those of one answer) and waits until all are committed: they are
    /// queued together, so they usually share one commit.
    pub async fn record_all(&self, entries: Vec<AuditEntry>) -> Result<(), ServiceError> {
        let mut waiting = Vec::with_capacity(entries.len());
        for entry in entries {
            let (done, committed) = oneshot::channel();
            self.sender.try_send((entry, done)).map_err(|e| match e {
                TrySendError::Full(_) => ServiceError::Unavailable,
                TrySendError::Disconnected(_) => {
                    ServiceError::Internal("the audit writer has stopped".into())
                }
            })?;
            self.pending.fetch_add(1, Ordering::Relaxed);
            waiting.push((committed, PendingGuard(self.pending.clone())));
        }
        for (committed, _pending) in waiting {
            Self::committed(committed).await?;
        }
        Ok(())
    }

    async fn committed(
        committed: oneshot::Receiver<Result<(), Failure>>,
    ) -> Result<(), ServiceError> {
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Failure::Unavailable)) => Err(ServiceError::Unavailable),
            Ok(Err(Failure::Refused)) => Err(ServiceError::Internal(
                "the audit entry could not be recorded".into(),
            )),
            Err(_) => Err(ServiceError::Internal(
                "the audit writer has stopped".into(),
            )),
        }
    }
}

fn write_batches(mut writer: Writer, receiver: Receiver<Pending>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (entries, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let mut results = Vec::with_capacity(entries.len());
        writer.write(&entries, &mut results);
        for (waiter, result) in waiters.into_iter().zip(results) {
            let _ = waiter.send(result);
        }
    }
}

struct Writer {
    db: Database,
    /// Its own connection, opened when first needed and again after it was closed.
    conn: Option<DbConnection>,
}

impl Writer {
    /// Writes `entries`, pushing one result for each, in order: an entry the database
    /// refuses fails alone.
    fn write(&mut self, entries: &[AuditEntry], results: &mut Vec<Result<(), Failure>>) {
        match self.commit(entries) {
            Ok(()) => results.extend(entries.iter().map(|_| Ok(()))),
            Err(Failure::Unavailable) => {
                results.extend(entries.iter().map(|_| Err(Failure::Unavailable)))
            }
            Err(Failure::Refused) => match entries {
                [] => {}
                [entry] => results.push(self.write_reduced(entry)),
                _ => {
                    let (first, second) = entries.split_at(entries.len() / 2);
                    self.write(first, results);
                    self.write(second, results);
                }
            },
        }
    }

    /// A refused entry, once more in its reduced form (see the module's documentation).
    fn write_reduced(&mut self, entry: &AuditEntry) -> Result<(), Failure> {
        let reduced = reduced(entry);
        if reduced == *entry {
            tracing::error!(server_ticket = %entry.server_ticket, "audit entry refused");
            return Err(Failure::Refused);
        }
        let result = self.commit(std::slice::from_ref(&reduced));
        match result {
            Ok(()) => tracing::warn!(
                server_ticket = %entry.server_ticket,
                "audit entry recorded in its reduced form"
            ),
            Err(_) => tracing::error!(
                server_ticket = %entry.server_ticket,
                "audit entry refused, in its reduced form too"
            ),
        }
        result
    }

    /// Commits `entries` in one transaction.
    fn commit(&mut self, entries: &[AuditEntry]) -> Result<(), Failure> {
        let Writer { db, conn } = self;
        if conn.as_mut().is_some_and(|c| !Database::still_open(c)) {
            *conn = None;
        }
        let result = match conn {
            Some(c) => db.write_on(c, |c| audit::append(c, entries)),
            None => db.dedicated_connection().and_then(|c| {
                let c = conn.insert(c);
                db.write_on(c, |c| audit::append(c, entries))
            }),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.is_unavailable() => {
                tracing::error!(error = %e, entries = entries.len(), "audit entries not recorded: database unavailable");
                if let StoreError::Query(_) = e {
                    // A connection closed under the statement is opened again next time.
                    *conn = None;
                }
                Err(Failure::Unavailable)
            }
            Err(e) => {
                tracing::warn!(error = %e, entries = entries.len(), "audit entries refused");
                Err(Failure::Refused)
            }
        }
    }
}

/// The entry with every field from outside reduced to printable ASCII (see the module's
/// documentation); the same entry when there is nothing to reduce.
fn reduced(entry: &AuditEntry) -> AuditEntry {
    let field = |value: &Option<String>| value.as_deref().map(reduced_text);
    AuditEntry {
        claimed_cbe_number: field(&entry.claimed_cbe_number),
        username: field(&entry.username),
        ssin: field(&entry.ssin),
        legal_context: field(&entry.legal_context),
        client_ticket: field(&entry.client_ticket),
        target: field(&entry.target),
        ..entry.clone()
    }
}

fn reduced_text(text: &str) -> String {
    if text.chars().all(|c| matches!(c, ' '..='~')) {
        return text.to_owned();
    }
    let ascii: String = text
        .chars()
        .map(|c| if matches!(c, ' '..='~') { c } else { '?' })
        .collect();
    format!("{SANITIZED}{ascii}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reduced_entry_keeps_printable_ascii_and_marks_what_changed() {
        assert_eq!(reduced_text("t-42 ok"), "t-42 ok");
        assert_eq!(reduced_text("a\u{0}b\u{e9}"), "[sanitized]a?b?");
        let entry = AuditEntry {
            recorded_at: crate::store::now(),
            service: "PersonRegisterService".into(),
            operation: "consultRegister".into(),
            organisation_id: Some(1),
            claimed_cbe_number: Some("0202239951".into()),
            username: Some("alice".into()),
            ssin: None,
            legal_context: Some("PCSA\u{fffd}".into()),
            client_ticket: Some("poison".into()),
            server_ticket: "s".into(),
            outcome: "OK".into(),
            target: None,
        };
        let reduced = reduced(&entry);
        assert_eq!(reduced.legal_context.as_deref(), Some("[sanitized]PCSA?"));
        assert_eq!(reduced.client_ticket.as_deref(), Some("poison"));
        assert_eq!(reduced.outcome, "OK");
        let clean = AuditEntry {
            legal_context: None,
            ..entry
        };
        assert_eq!(super::reduced(&clean), clean);
    }
}
