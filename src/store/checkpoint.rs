//! Keeping SQLite's write-ahead log small under unbroken load.
//!
//! Automatic checkpoints are off (`wal_autocheckpoint = 0`): one would run inside whichever
//! commit crosses the threshold and stall every writer queued behind it. Instead one thread,
//! off the request path, does two things:
//!
//! - every [`INTERVAL`] a PASSIVE checkpoint, which copies the committed frames that no reader
//!   still needs into the database file without blocking anyone. It never lets the log start
//!   again from its beginning while reads and writes overlap without pause, so on its own the
//!   log grows for as long as the load lasts (gigabytes within a minute);
//! - once the log holds more than [`RESTART_BYTES`], a RESTART checkpoint with this process's
//!   writers paused (they queue on the writer mutex of [`super::Database`], in order, instead of
//!   sleeping in SQLite's busy handler): it copies the few frames committed since the last
//!   PASSIVE one, waits for the readers still on the log (statements of microseconds), so
//!   the next commit writes the file again from its beginning (reused, not truncated: a
//!   truncation waits for the file's pages under writeback, which doubled the pause). The
//!   pause is that copy and its two `fsync`s; readers are never blocked.
//!
//! The log therefore stays near [`RESTART_BYTES`] plus what is written in one interval.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Integer;
use diesel::sqlite::SqliteConnection;
use diesel::{QueryableByName, RunQueryDsl};

use super::DbConnection;

/// How often the log is looked at (and passively checkpointed).
pub const INTERVAL: Duration = Duration::from_millis(100);

/// The size of log past which it is started again with the writers paused.
pub const RESTART_BYTES: i64 = 16 * 1024 * 1024;

/// The size the log file is cut back to when it starts again (`journal_size_limit`): above
/// what it reaches under load, so that the file is reused rather than truncated and grown again
/// (a truncation waits for the file's pages under writeback).
pub const JOURNAL_SIZE_LIMIT: i64 = 48 * 1024 * 1024;

/// How long the RESTART checkpoint waits for readers before it gives up (writers are paused
/// meanwhile). This process's reads are single statements of microseconds; a reader that
/// stays longer (another process's long export) makes the next attempts wait longer, from
/// [`FIRST_BACKOFF`] doubling up to [`LAST_BACKOFF`], so it cannot keep the writers paused.
/// The wait is a loop of short sleeps rather than SQLite's busy handler, which sleeps 1, 2,
/// 5, 10 … ms: a failed attempt has already copied the whole log, so the next one only tries
/// the readers' locks again.
const READERS_TIMEOUT: Duration = Duration::from_millis(50);
const READERS_POLL: Duration = Duration::from_micros(100);
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const LAST_BACKOFF: Duration = Duration::from_secs(5);

/// A pause of the writers longer than this is logged.
const SLOW_PAUSE: Duration = Duration::from_millis(100);

/// The row of `PRAGMA wal_checkpoint`.
#[derive(QueryableByName)]
struct Checkpointed {
    /// 1 when the checkpoint could not complete (a reader or writer stood in the way).
    #[diesel(sql_type = Integer)]
    busy: i32,
    /// Frames in the log (-1 when the database is not in WAL mode).
    #[diesel(sql_type = Integer)]
    log: i32,
    /// Frames of the log copied into the database.
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
}

fn checkpoint(conn: &mut SqliteConnection, mode: &str) -> diesel::QueryResult<Checkpointed> {
    diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).get_result(conn)
}

#[derive(QueryableByName)]
struct PageSize {
    #[diesel(sql_type = Integer)]
    page_size: i32,
}

/// Starts the checkpoint thread on its own connection; it stops once `alive` is gone.
/// `writers` is the mutex every writer of this process takes before `BEGIN IMMEDIATE`.
pub fn spawn(conn: DbConnection, writers: Arc<Mutex<()>>, alive: Weak<()>) {
    let DbConnection::Sqlite(conn) = conn else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || run(conn, &writers, &alive));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the WAL checkpoint thread");
    }
}

fn run(mut conn: SqliteConnection, writers: &Mutex<()>, alive: &Weak<()>) {
    // Waits are this thread's own (see READERS_TIMEOUT): no busy handler.
    if let Err(e) = conn.batch_execute("PRAGMA busy_timeout = 0") {
        tracing::warn!(error = %e, "cannot set the checkpoint's busy timeout");
    }
    let page_size = diesel::sql_query("PRAGMA page_size")
        .get_result::<PageSize>(&mut conn)
        .map(|p| i64::from(p.page_size))
        .unwrap_or(4096);
    let restart_frames = RESTART_BYTES / page_size.max(512);
    let mut backoff = FIRST_BACKOFF;
    let mut next_attempt = Instant::now();
    while alive.upgrade().is_some() {
        std::thread::sleep(INTERVAL);
        match checkpoint(&mut conn, "PASSIVE") {
            Ok(c) if i64::from(c.log) >= restart_frames && Instant::now() >= next_attempt => {
                if empty_log(&mut conn, writers) {
                    backoff = FIRST_BACKOFF;
                } else {
                    next_attempt = Instant::now() + backoff;
                    backoff = (backoff * 2).min(LAST_BACKOFF);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}

/// Copies what is left of the log and starts it again, with this process's writers paused; false
/// when readers stood in the way or it failed.
fn empty_log(conn: &mut SqliteConnection, writers: &Mutex<()>) -> bool {
    let paused = writers
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let started = Instant::now();
    let result = loop {
        match checkpoint(conn, "RESTART") {
            Ok(c) if c.busy != 0 && started.elapsed() < READERS_TIMEOUT => {
                std::thread::sleep(READERS_POLL)
            }
            // SQLITE_BUSY from a lock another connection holds (busy_timeout 0).
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("locked") && started.elapsed() < READERS_TIMEOUT =>
            {
                std::thread::sleep(READERS_POLL)
            }
            other => break other,
        }
    };
    let pause = started.elapsed();
    drop(paused);
    match result {
        Ok(c) if c.busy != 0 => {
            tracing::info!(
                log_frames = c.log,
                checkpointed = c.checkpointed,
                "WAL not emptied: readers still on it; trying again later"
            );
            false
        }
        Ok(c) => {
            if pause > SLOW_PAUSE {
                tracing::warn!(
                    pause_ms = pause.as_millis() as u64,
                    "WAL emptied, writers paused longer than expected"
                );
            }
            tracing::debug!(
                pause_us = pause.as_micros() as u64,
                log_frames = c.log,
                "WAL emptied"
            );
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "WAL restart checkpoint failed");
            false
        }
    }
}
