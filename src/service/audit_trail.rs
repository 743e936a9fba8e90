//! The audit trail writer. Reads and refusals are recorded through a single writer thread
//! that commits whatever entries are waiting in one transaction (group commit), so a busy
//! server pays one commit for many calls; each caller waits until its entry is committed, so
//! no personal data leaves without its record. Writes record their entry inside their own
//! transaction instead (see `register`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread;

use tokio::sync::oneshot;

use super::error::ServiceError;
use crate::store::audit::{self, AuditEntry};
use crate::store::Database;

const QUEUE: usize = 16_384;
const BATCH: usize = 512;

type Pending = (AuditEntry, oneshot::Sender<bool>);

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
            .spawn(move || write_batches(db, receiver))
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

    /// Records an entry and waits until it is committed.
    pub async fn record(&self, entry: AuditEntry) -> Result<(), ServiceError> {
        let (done, committed) = oneshot::channel();
        self.sender.try_send((entry, done)).map_err(|e| match e {
            TrySendError::Full(_) => ServiceError::Unavailable,
            TrySendError::Disconnected(_) => {
                ServiceError::Internal("the audit writer has stopped".into())
            }
        })?;
        self.pending.fetch_add(1, Ordering::Relaxed);
        let _pending = PendingGuard(self.pending.clone());
        match committed.await {
            Ok(true) => Ok(()),
            _ => Err(ServiceError::Internal(
                "the audit entry could not be recorded".into(),
            )),
        }
    }
}

fn write_batches(db: Database, receiver: Receiver<Pending>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (entries, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let result = db.write(|conn| audit::append(conn, &entries));
        let ok = match result {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, entries = entries.len(), "audit entries not recorded");
                false
            }
        };
        for waiter in waiters {
            let _ = waiter.send(ok);
        }
    }
}
