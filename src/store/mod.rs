//! The only place that speaks SQL. One diesel code base over the embedded SQLite default and
//! PostgreSQL: [`Connection`] is a `MultiConnection`, [`Database`] a pool of them chosen by
//! the URL's scheme, and every write goes through [`write_transaction`] so that SQLite
//! writers queue on `BEGIN IMMEDIATE` instead of deadlocking on a lock upgrade.

pub mod applied_file;
pub mod audit;
pub mod batch_run;
pub mod bis_number;
pub mod checkpoint;
pub mod client_assertion;
mod connection;
pub mod credential;
pub mod delivery;
pub mod dimona;
pub mod dossier_type;
pub mod grant;
pub mod journal;
pub mod lock;
pub mod mail;
pub mod organisation;
pub mod outbox;
pub mod person;
pub mod person_load;
pub mod relation;
pub mod schema;
pub mod search_index;
pub mod search_key;
pub mod search_key_load;
pub mod subscription;
pub mod token_key;
pub mod webhook;

pub use connection::{redact_url, DatabaseUrl, Manager, SQLITE_MMAP_BYTES};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2;
use diesel::result::DatabaseErrorKind;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// Inserts `rows` (a slice of insertable rows) into `table` in the caller's transaction: on
/// PostgreSQL one multi-row statement per `chunk` rows (a round trip each), on SQLite —
/// in-process, no round trip; the combined backend offers no multi-row insert — one
/// prepared single-row statement per row.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr, $chunk:expr) => {
        match &mut *$conn {
            $crate::store::DbConnection::Postgres(pg) => {
                for chunk in $rows.chunks($chunk) {
                    diesel::insert_into($table).values(chunk).execute(pg)?;
                }
            }
            conn => {
                for row in $rows.iter() {
                    diesel::insert_into($table).values(row).execute(conn)?;
                }
            }
        }
    };
}
pub(crate) use insert_rows;

/// Inserts `rows` into `table` on a SQLite connection with statements of exactly `$n` rows
/// (prepared once: the statement of a fixed-size array is cached) and one for the rest.
/// Evaluates to a `QueryResult<()>`.
macro_rules! insert_sqlite_chunks {
    ($sqlite:expr, $table:expr, $rows:expr, $n:expr) => {
        (|| -> diesel::QueryResult<()> {
            let mut chunks = $rows.chunks_exact($n);
            for chunk in &mut chunks {
                let chunk: &[_; $n] = chunk
                    .try_into()
                    .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
                diesel::insert_into($table).values(chunk).execute($sqlite)?;
            }
            let rest = chunks.remainder();
            if !rest.is_empty() {
                diesel::insert_into($table).values(rest).execute($sqlite)?;
            }
            Ok(())
        })()
    };
}
pub(crate) use insert_sqlite_chunks;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
    /// The URL names no database raas can use, or the database is absent or not migrated.
    #[error("{0}")]
    Unusable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Whether the database could not be reached or was busy, rather than refusing what was
    /// asked: no connection in time, a connection the server closed, a SQLite database
    /// still locked by another process after the busy timeout. The same request may well
    /// succeed a little later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Pool(_) | StoreError::Connect(_) => true,
            StoreError::Query(e) => query_unavailable(e),
            StoreError::Migration(_) | StoreError::Corrupt(_) | StoreError::Unusable(_) => false,
        }
    }
}

/// See [`StoreError::is_unavailable`].
fn query_unavailable(error: &diesel::result::Error) -> bool {
    match error {
        diesel::result::Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        // SQLITE_BUSY once the busy timeout has passed.
        diesel::result::Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            info.message().starts_with("database is locked")
        }
        _ => false,
    }
}

/// How long a caller waits for a pooled connection before it is told the service is
/// unavailable; also, halved, the longest pause between two attempts to reconnect to a
/// database that is down, so a database back up is used again within a second.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(2);

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<Manager>,
    url: DatabaseUrl,
    /// SQLite has one writer at a time: writers of this process queue here, in order,
    /// rather than polling the database lock through the busy handler.
    sqlite_writer: Arc<Mutex<()>>,
    /// How long [`Database::connection`] waits for a pooled connection.
    checkout_timeout: Duration,
    /// The background checkpointer stops when the last clone is dropped.
    _alive: Arc<()>,
}

pub type PooledConnection = r2d2::PooledConnection<Manager>;

impl Database {
    /// Opens the database and applies the pending migrations, the search index's rebuild
    /// included when it is due (`search_index::bring_up_to_date`).
    pub fn open(url: &str, max_connections: u32) -> StoreResult<Database> {
        Database::open_migrating(url, max_connections, true)
    }

    fn open_migrating(url: &str, max_connections: u32, migrate: bool) -> StoreResult<Database> {
        let url = DatabaseUrl::parse(url)?;
        // A first direct connection gives a clear error when the server is down,
        // and runs the migrations before any pooled connection is used.
        let mut conn = url.connect()?;
        if migrate {
            run_migrations(&mut conn)?;
        }
        // The search index follows the migrations (a changed key derivation rebuilds it).
        let rebuilt = match migrate {
            true => search_index::bring_up_to_date(&mut conn)?,
            false => None,
        };
        if let Some(rebuilt) = rebuilt {
            tracing::info!(
                reason = %rebuilt.reason,
                persons = rebuilt.persons,
                keys = rebuilt.keys,
                seconds = rebuilt.elapsed.as_secs_f64(),
                "search index rebuilt"
            );
        }
        let alive = Arc::new(());
        let sqlite_writer = Arc::new(Mutex::new(()));
        checkpoint::spawn(conn, sqlite_writer.clone(), Arc::downgrade(&alive));
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            // The check-out test is `still_open`: no round trip, and a connection closed
            // by a database restart is dropped before a request can fail on it.
            .test_on_check_out(true)
            .connection_timeout(CHECKOUT_TIMEOUT)
            .build(Manager(url.clone()))?;
        Ok(Database {
            pool,
            url,
            sqlite_writer,
            checkout_timeout: CHECKOUT_TIMEOUT,
            _alive: alive,
        })
    }

    /// The same database, whose callers wait `timeout` for a connection (instead of
    /// [`CHECKOUT_TIMEOUT`]) before they are told it is unavailable.
    pub fn with_checkout_timeout(mut self, timeout: Duration) -> Database {
        self.checkout_timeout = timeout;
        self
    }

    pub fn connection(&self) -> StoreResult<PooledConnection> {
        Ok(self.pool.get_timeout(self.checkout_timeout)?)
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// A cheap reachability check: a connection within `timeout`, and `SELECT 1` on it.
    pub fn ping(&self, timeout: Duration) -> StoreResult<()> {
        let mut conn = self.pool.get_timeout(timeout)?;
        conn.batch_execute("SELECT 1").map_err(StoreError::Query)
    }

    /// The pool's size now: (open connections, idle ones, the most it opens).
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let state = self.pool.state();
        (
            state.connections,
            state.idle_connections,
            self.pool.max_size(),
        )
    }

    /// A connection outside the pool, for a single long-lived writer (the audit trail), so
    /// requests holding every pooled connection cannot stop it.
    pub fn dedicated_connection(&self) -> StoreResult<DbConnection> {
        self.url.connect()
    }

    /// Whether a connection from [`Database::dedicated_connection`] can still be used (no
    /// round trip).
    pub fn still_open(conn: &mut DbConnection) -> bool {
        connection::still_open(conn)
    }

    /// [`Database::write`] on a connection of the caller's own.
    pub fn write_on<T, E>(
        &self,
        conn: &mut DbConnection,
        f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let _queued = self.queue_sqlite_writer();
        write_transaction(conn, &[], f)
    }

    /// On SQLite, waits for this process's other writers (see `sqlite_writer`).
    fn queue_sqlite_writer(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        match self.url {
            DatabaseUrl::Sqlite(_) => Some(
                self.sqlite_writer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            ),
            DatabaseUrl::Postgres(_) => None,
        }
    }

    /// Runs `f` in a write transaction on a pooled connection (see [`write_transaction`]).
    pub fn write<T, E>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.write_with_lock(&[], f)
    }

    /// Runs `f` in a write transaction that first takes `locks` (see [`lock`]), in the
    /// same round trip as BEGIN on PostgreSQL; on SQLite every writer is serialised anyway.
    pub fn write_locked<T, E>(
        &self,
        locks: &[lock::Lock],
        f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.write_with_lock(locks, f)
    }

    fn write_with_lock<T, E>(
        &self,
        locks: &[lock::Lock],
        f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.connection()?;
        let _queued = self.queue_sqlite_writer();
        write_transaction(&mut conn, locks, f)
    }
}

impl Database {
    /// Opens a database that exists and carries raas's current schema, for commands that
    /// only read: a SQLite file is never created and nothing is migrated. Refuses, telling
    /// to run `raas migrate`, when the file does not exist, or the database has no raas
    /// tables or misses a migration.
    pub fn open_existing(url: &str, max_connections: u32) -> StoreResult<Database> {
        let parsed = DatabaseUrl::parse(url)?;
        if let DatabaseUrl::Sqlite(path) = &parsed {
            if !std::path::Path::new(path).is_file() {
                return Err(StoreError::Unusable(
                    "the file does not exist (create the database with `raas migrate`)".into(),
                ));
            }
        }
        let mut conn = parsed.connect()?;
        let pending = pending_migrations(&mut conn)?;
        drop(conn);
        match pending {
            None => Err(StoreError::Unusable(
                "it has no raas tables (create them with `raas migrate`)".into(),
            )),
            Some(pending) if !pending.is_empty() => Err(StoreError::Unusable(format!(
                "its raas schema is older than this raas, without {} (apply the \
                 migrations with `raas migrate`)",
                pending.join(", ")
            ))),
            // Nothing is pending: nothing to apply, and the search index is left as it is
            // (a command that only reads writes nothing).
            Some(_) => Database::open_migrating(url, max_connections, false),
        }
    }
}

#[derive(diesel::QueryableByName)]
struct TextRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

/// The migrations this build knows that the database has not applied, read without writing
/// anything; `None` when the database has no migration table at all (no raas schema).
fn pending_migrations(conn: &mut DbConnection) -> StoreResult<Option<Vec<String>>> {
    use diesel::migration::MigrationSource;
    use diesel::RunQueryDsl;
    let (exists, known) = match conn {
        DbConnection::Sqlite(_) => (
            "SELECT name AS value FROM sqlite_master WHERE type = 'table' \
             AND name = '__diesel_schema_migrations'",
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map(|all| all.iter().map(|m| m.name().to_string()).collect::<Vec<_>>()),
        ),
        DbConnection::Postgres(_) => (
            "SELECT table_name::text AS value FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '__diesel_schema_migrations'",
            MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
                .map(|all| all.iter().map(|m| m.name().to_string()).collect::<Vec<_>>()),
        ),
    };
    let known = known.map_err(|e| StoreError::Migration(e.to_string()))?;
    if diesel::sql_query(exists).load::<TextRow>(conn)?.is_empty() {
        return Ok(None);
    }
    let applied: Vec<String> =
        diesel::sql_query("SELECT version AS value FROM __diesel_schema_migrations")
            .load::<TextRow>(conn)?
            .into_iter()
            .map(|row| row.value)
            .collect();
    Ok(Some(
        known
            .into_iter()
            .filter(|name| {
                let version = name.split('_').next().unwrap_or(name).replace('-', "");
                !applied.iter().any(|v| v.replace('-', "") == version)
            })
            .collect(),
    ))
}

fn run_migrations(conn: &mut DbConnection) -> StoreResult<()> {
    let result = match conn {
        DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (writers queue on the
/// database lock instead of failing on an upgrade), `BEGIN` on PostgreSQL, followed in the
/// same round trip by the advisory `locks`. Commits when `f` succeeds, rolls back otherwise.
fn write_transaction<T, E>(
    conn: &mut DbConnection,
    locks: &[lock::Lock],
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    let begun = match &mut *conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
        }
        DbConnection::Postgres(c) if locks.is_empty() => {
            AnsiTransactionManager::begin_transaction(c)
        }
        // The keys are numbers computed here, never text from outside.
        DbConnection::Postgres(c) => {
            let locks: Vec<String> = locks.iter().map(|l| l.sql()).collect();
            AnsiTransactionManager::begin_transaction_sql(
                c,
                &format!("BEGIN; SELECT {}", locks.join(", ")),
            )
        }
    };
    begun.map_err(StoreError::Query)?;
    match f(conn) {
        Ok(value) => {
            <DbConnection as diesel::Connection>::TransactionManager::commit_transaction(conn)
                .map_err(StoreError::Query)?;
            Ok(value)
        }
        Err(error) => {
            // The original error matters more than a failed rollback.
            let _ = <DbConnection as diesel::Connection>::TransactionManager::rollback_transaction(
                conn,
            );
            Err(error)
        }
    }
}

/// The current time as stored: UTC, microsecond precision (what both backends keep).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

#[cfg(test)]
mod error_tests {
    use super::*;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> StoreError {
        StoreError::Query(diesel::result::Error::DatabaseError(
            kind,
            Box::new(message.to_owned()),
        ))
    }

    #[test]
    fn a_database_out_of_reach_or_locked_is_unavailable_and_a_refusal_is_not() {
        let closed = database_error(
            DatabaseErrorKind::ClosedConnection,
            "server closed the connection unexpectedly",
        );
        let locked = database_error(DatabaseErrorKind::Unknown, "database is locked");
        let refused = database_error(DatabaseErrorKind::Unknown, "audit entry refused");
        assert!(closed.is_unavailable());
        assert!(locked.is_unavailable());
        assert!(StoreError::Connect("refused".into()).is_unavailable());
        assert!(!refused.is_unavailable());
        assert!(!StoreError::Corrupt("x".into()).is_unavailable());
    }
}
