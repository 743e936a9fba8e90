//! The only place that speaks SQL. One diesel code base over the embedded SQLite default and
//! PostgreSQL: [`Connection`] is a `MultiConnection`, [`Database`] a pool of them chosen by
//! the URL's scheme, and every write goes through [`write_transaction`] so that SQLite
//! writers queue on `BEGIN IMMEDIATE` instead of deadlocking on a lock upgrade.

pub mod applied_file;
pub mod audit;
pub mod credential;
pub mod dossier_type;
pub mod grant;
pub mod journal;
pub mod lock;
pub mod organisation;
pub mod person;
pub mod person_load;
pub mod relation;
pub mod schema;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::result::DatabaseErrorKind;
use diesel::sqlite::SqliteConnection;
use diesel::Connection as _;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

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
            StoreError::Migration(_) | StoreError::Corrupt(_) => false,
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

/// Where the data lives, parsed from a `--database-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(String),
}

impl DatabaseUrl {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite://PATH` or a plain path is SQLite.
    pub fn parse(url: &str) -> DatabaseUrl {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DatabaseUrl::Postgres(url.to_owned())
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            DatabaseUrl::Sqlite(path.to_owned())
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DatabaseUrl::Postgres(_))
    }

    fn connect(&self) -> StoreResult<DbConnection> {
        match self {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(|e| StoreError::Connect(e.to_string())),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)
                    .map_err(|e| StoreError::Connect(format!("{path}: {e}")))?;
                // WAL lets readers run beside the single writer; the busy timeout makes
                // writers queue rather than fail; NORMAL sync is durable across process
                // crashes in WAL mode.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = 0;",
                )
                .map_err(|e| StoreError::Connect(format!("{path}: {e}")))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// Opens connections for the pool, dispatching on the URL scheme.
pub struct Manager(DatabaseUrl);

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConnection, StoreError> {
        self.0.connect()
    }

    /// Tested at every check-out, so this costs no round trip: see [`still_open`].
    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        if still_open(conn) {
            Ok(())
        } else {
            Err(StoreError::Connect(
                "the connection was closed by the database server".into(),
            ))
        }
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        !still_open(conn)
    }
}

/// Whether a connection can still be used, told without a round trip. A PostgreSQL
/// connection the server has closed (a restart, a terminated backend) has its socket
/// readable: libpq reads what is waiting without blocking (`PQconsumeInput`, reached
/// through `notifications_iter`); a first read may return the server's last message, the
/// next one the end of the stream, which marks the connection bad. An idle open connection
/// has nothing to read, so both reads return at once. A connection whose transaction could
/// not be rolled back is broken on either backend.
fn still_open(conn: &mut DbConnection) -> bool {
    match conn {
        DbConnection::Postgres(pg) => {
            if R2D2Connection::is_broken(pg) {
                return false;
            }
            (0..2).all(|_| !matches!(pg.notifications_iter().next(), Some(Err(_))))
        }
        DbConnection::Sqlite(sqlite) => !R2D2Connection::is_broken(sqlite),
    }
}

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<Manager>,
    url: DatabaseUrl,
    /// SQLite has one writer at a time: writers of this process queue here, in order,
    /// rather than polling the database lock through the busy handler.
    sqlite_writer: Arc<Mutex<()>>,
    /// The background checkpointer stops when the last clone is dropped.
    _alive: Arc<()>,
}

pub type PooledConnection = r2d2::PooledConnection<Manager>;

impl Database {
    /// Opens the database and applies the pending migrations.
    pub fn open(url: &str, max_connections: u32) -> StoreResult<Database> {
        let url = DatabaseUrl::parse(url);
        // A first direct connection gives a clear error when the server is down,
        // and runs the migrations before any pooled connection is used.
        let mut conn = url.connect()?;
        run_migrations(&mut conn)?;
        let alive = Arc::new(());
        if let DbConnection::Sqlite(_) = conn {
            checkpoint_in_background(conn, Arc::downgrade(&alive));
        }
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
            sqlite_writer: Arc::new(Mutex::new(())),
            _alive: alive,
        })
    }

    pub fn connection(&self) -> StoreResult<PooledConnection> {
        Ok(self.pool.get()?)
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
        still_open(conn)
    }

    /// [`Database::write`] on a connection of the caller's own.
    pub fn write_on<T, E>(
        &self,
        conn: &mut DbConnection,
        f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
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
        E: From<diesel::result::Error> + From<StoreError>,
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
        E: From<diesel::result::Error> + From<StoreError>,
    {
        self.write_with_lock(locks, f)
    }

    fn write_with_lock<T, E>(
        &self,
        locks: &[lock::Lock],
        f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<StoreError>,
    {
        let mut conn = self.connection()?;
        let _queued = self.queue_sqlite_writer();
        write_transaction(&mut conn, locks, f)
    }
}

/// Copies the SQLite write-ahead log into the database once a second, off the writers' path:
/// an automatic checkpoint would otherwise run inside whichever commit crosses the threshold
/// and stall every writer queued behind it. PASSIVE never blocks readers or writers.
fn checkpoint_in_background(mut conn: DbConnection, alive: std::sync::Weak<()>) {
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while alive.upgrade().is_some() {
                std::thread::sleep(Duration::from_secs(1));
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the WAL checkpoint thread");
    }
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
    E: From<diesel::result::Error>,
{
    match &mut *conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgres(c) if locks.is_empty() => {
            AnsiTransactionManager::begin_transaction(c)?
        }
        // The keys are numbers computed here, never text from outside.
        DbConnection::Postgres(c) => {
            let locks: Vec<String> = locks.iter().map(|l| l.sql()).collect();
            AnsiTransactionManager::begin_transaction_sql(
                c,
                &format!("BEGIN; SELECT {}", locks.join(", ")),
            )?
        }
    }
    match f(conn) {
        Ok(value) => {
            <DbConnection as diesel::Connection>::TransactionManager::commit_transaction(conn)?;
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
