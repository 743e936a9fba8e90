//! What the durable outboxes (`webhook_messages`, `email_messages`) share: claiming the due
//! rows for a lease, so that a row is attempted by one process at a time, and the outcome
//! of a failed attempt.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{DbConnection, StoreResult};

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at that time.
    RetryAt(NaiveDateTime),
    /// No attempt is left.
    GiveUp,
}

impl AfterFailure {
    /// The row's next attempt and when it was given up (`None`: it was not), at `at`.
    pub fn next(self, at: NaiveDateTime) -> (NaiveDateTime, Option<NaiveDateTime>) {
        match self {
            AfterFailure::RetryAt(next) => (next, None),
            AfterFailure::GiveUp => (at, Some(at)),
        }
    }
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Claims up to `limit` rows of `table` due at `now` (`due`: the SQL condition that the
/// row is owed, besides `next_attempt_at` and the lease) that no process holds, until
/// `lease_until`, oldest due first, and tells their ids (on PostgreSQL `FOR UPDATE SKIP
/// LOCKED`: two processes never claim the same row; SQLite has one writer at a time). Call
/// inside a write transaction. `table` and `due` are the caller's constants, never input.
pub fn claim(
    conn: &mut DbConnection,
    table: &'static str,
    due: &'static str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    use diesel::sql_types::Timestamp;
    let condition = |now: &str| {
        format!(
            "{due} AND next_attempt_at <= {now} AND (claimed_until IS NULL OR claimed_until < {now})"
        )
    };
    let claimed: Vec<Claimed> = match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(format!(
            "UPDATE {table} SET claimed_until = $2 WHERE id IN (SELECT id FROM {table} \
             WHERE {} ORDER BY next_attempt_at, id LIMIT {limit} FOR UPDATE SKIP LOCKED) \
             RETURNING id",
            condition("$1")
        ))
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(lease_until)
        .load(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::sql_query(format!(
            "UPDATE {table} SET claimed_until = ?2 WHERE id IN (SELECT id FROM {table} \
             WHERE {} ORDER BY next_attempt_at, id LIMIT {limit}) RETURNING id",
            condition("?1")
        ))
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(lease_until)
        .load(sqlite)?,
    };
    let mut ids: Vec<i64> = claimed.into_iter().map(|c| c.id).collect();
    ids.sort_unstable();
    Ok(ids)
}

/// A failed attempt's reason as stored: no control characters, at most 500 characters.
pub fn error_text(error: &str) -> String {
    error
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect()
}
