//! The only place that speaks SQL. One diesel code base over the embedded SQLite default and
//! PostgreSQL: [`Connection`] is a `MultiConnection`, [`Database`] a pool of them chosen by
//! the URL's scheme, and every write goes through [`write_transaction`] so that SQLite
//! writers queue on `BEGIN IMMEDIATE` instead of deadlocking on a lock upgrade.

pub mod applied_file;
pub mod audit;
pub mod checkpoint;
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
use diesel::r2d2::{self, ManageConnection};
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
                // crashes in WAL mode. Checkpoints are the checkpoint thread's (checkpoint.rs);
                // a log left larger than its threshold is cut back when it starts again.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
                    checkpoint::JOURNAL_SIZE_LIMIT
                ))
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

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        conn.batch_execute("SELECT 1").map_err(StoreError::Query)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
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
        let sqlite_writer = Arc::new(Mutex::new(()));
        checkpoint::spawn(conn, sqlite_writer.clone(), Arc::downgrade(&alive));
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            // A check-out test would cost a round trip per request; a broken connection
            // fails its statement instead.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(Manager(url.clone()))?;
        Ok(Database {
            pool,
            url,
            sqlite_writer,
            _alive: alive,
        })
    }

    pub fn connection(&self) -> StoreResult<PooledConnection> {
        Ok(self.pool.get()?)
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
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
        let _queued = match self.url {
            DatabaseUrl::Sqlite(_) => Some(
                self.sqlite_writer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            ),
            DatabaseUrl::Postgres(_) => None,
        };
        write_transaction(&mut conn, locks, f)
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
