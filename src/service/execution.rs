//! Where blocking work runs. SQLite is in-process: its statements take microseconds and never
//! wait on a network, so they run on the request's own worker thread (handing them to another
//! thread would cost more than the work). PostgreSQL statements wait on the network and on
//! commits, so they run on the blocking pool, as does CPU-heavy work such as hashing.

use super::error::ServiceError;
use crate::store::Database;

/// Runs database work: inline for SQLite, on the blocking pool for PostgreSQL.
pub(crate) async fn on_database<T, F>(db: &Database, f: F) -> Result<T, ServiceError>
where
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    if db.url().is_postgres() {
        off_workers(f).await
    } else {
        f()
    }
}

/// Runs work on the blocking pool, off the async workers.
pub(crate) async fn off_workers<T, F>(f: F) -> Result<T, ServiceError>
where
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    // The request's span (its tickets) follows the work onto the blocking thread.
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|e| ServiceError::Internal(format!("blocking task failed: {e}")))?
}
