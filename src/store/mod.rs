//! The only place that speaks SQL. One diesel code base over the embedded SQLite default and
//! PostgreSQL: [`Connection`] is a `MultiConnection`, [`Database`] a pool of them chosen by
//! the URL's scheme, and every write goes through [`write_transaction`] so that SQLite
//! writers queue on `BEGIN IMMEDIATE` instead of deadlocking on a lock upgrade.

pub mod applied_file;
pub mod audit;
pub mod batch_run;
pub mod bis_number;
pub mod checkpoint;
pub mod credential;
pub mod dimona;
pub mod dossier_type;
pub mod grant;
pub mod journal;
pub mod lock;
pub mod organisation;
pub mod person;
pub mod person_load;
pub mod relation;
pub mod schema;
pub mod search_index;
pub mod search_key;
pub mod search_key_load;
pub mod subscription;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::result::DatabaseErrorKind;
use diesel::sqlite::SqliteConnection;
use diesel::Connection as _;
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

/// Where the data lives, parsed from a `--database-url`. Shown (`Display`, `Debug`) with
/// its password replaced by `***`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(String),
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Postgres(_) => write!(f, "Postgres({})", self.redacted()),
            DatabaseUrl::Sqlite(path) => write!(f, "Sqlite({path})"),
        }
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl DatabaseUrl {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite://PATH` or a plain path is
    /// SQLite. Any other `scheme://` (`mysql://…`) is refused rather than read as a file name.
    pub fn parse(url: &str) -> StoreResult<DatabaseUrl> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(DatabaseUrl::Sqlite(path.to_owned()));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            let plain = !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if plain {
                return Err(StoreError::Unusable(format!(
                    "{scheme}:// is not a database raas can use (a SQLite file path, \
                     sqlite://PATH, postgres://… or postgresql://…)"
                )));
            }
        }
        if url.is_empty() {
            return Err(StoreError::Unusable(
                "the database URL is empty (a SQLite file path or postgres://…)".into(),
            ));
        }
        Ok(DatabaseUrl::Sqlite(url.to_owned()))
    }

    /// The URL as it may be shown: a PostgreSQL password (in the authority or a `password=`
    /// parameter) becomes `***`.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Postgres(url) => redact_url(url),
            DatabaseUrl::Sqlite(path) => path.clone(),
        }
    }

    /// The password of a PostgreSQL URL, if it has one.
    fn password(&self) -> Option<&str> {
        let DatabaseUrl::Postgres(url) = self else {
            return None;
        };
        let (_, rest) = url.split_once("://")?;
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (userinfo, _) = rest[..authority_end].rsplit_once('@')?;
        let (_, password) = userinfo.split_once(':')?;
        Some(password).filter(|p| !p.is_empty())
    }

    /// `message` on one line and without the URL's password, should a driver repeat it.
    fn scrub(&self, message: &str) -> String {
        let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
        match self.password() {
            // A very short password would match ordinary words of the message.
            Some(password) if password.len() >= 4 => line.replace(password, "***"),
            _ => line,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DatabaseUrl::Postgres(_))
    }

    fn connect(&self) -> StoreResult<DbConnection> {
        match self {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(|e| StoreError::Connect(self.scrub(&e.to_string()))),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)
                    .map_err(|e| StoreError::Connect(format!("{path}: {e}")))?;
                // WAL lets readers run beside the single writer; the busy timeout makes
                // writers queue rather than fail; NORMAL sync is durable across process
                // crashes in WAL mode. Checkpoints are the checkpoint thread's (checkpoint.rs);
                // a log left larger than its threshold is cut back when it starts again.
                // The file is read through a memory map (SQLITE_MMAP_BYTES).
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {}; \
                     PRAGMA mmap_size = {SQLITE_MMAP_BYTES};",
                    checkpoint::JOURNAL_SIZE_LIMIT
                ))
                .map_err(|e| StoreError::Connect(format!("{path}: {e}")))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// How much of a SQLite database file each connection reads through a memory map rather
/// than by `pread` into its own page cache (a connection's cache is 2 MB; a 20-million-person
/// database is 6 GB): all of it, up to 1 TiB. A search reads hundreds of pages at random
/// places; mapped, they are the kernel's page cache itself, without a system call and a copy
/// each (measured at 20 M persons: `pread` was a tenth of a wide search's time). Pages are
/// still written through the WAL. The bundled SQLite is built to allow it
/// (`.cargo/config.toml`).
pub const SQLITE_MMAP_BYTES: u64 = 1 << 40;

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
        still_open(conn)
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

/// `url` with the password of its authority and of a `password=` parameter replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                        format!("{name}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
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
mod url_tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_wherever_they_are() {
        for (url, shown) in [
            (
                "postgres://u:secret@h:5432/db",
                "postgres://u:***@h:5432/db",
            ),
            ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            (
                "postgres://h/db?user=u&password=x&sslmode=require",
                "postgres://h/db?user=u&password=***&sslmode=require",
            ),
            ("postgresql://u:x@h", "postgresql://u:***@h"),
        ] {
            let parsed = DatabaseUrl::parse(url).expect("a PostgreSQL URL");
            assert_eq!(parsed.to_string(), shown);
            assert_eq!(format!("{parsed:?}"), format!("Postgres({shown})"));
        }
        let parsed = DatabaseUrl::parse("postgres://u:p@ss@h/db").unwrap();
        assert_eq!(
            parsed.scrub("password\n\tfor p@ss failed"),
            "password for *** failed"
        );
    }

    /// The whole file is mapped: the bundled SQLite was built to allow the size asked
    /// (it silently caps `mmap_size` at its build's maximum otherwise).
    #[test]
    fn sqlite_connections_map_the_whole_file() {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct MmapSize {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            mmap_size: i64,
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("mmap.db");
        let url = DatabaseUrl::Sqlite(path.to_string_lossy().into_owned());
        let Ok(DbConnection::Sqlite(mut conn)) = url.connect() else {
            panic!("a SQLite connection");
        };
        let size: MmapSize = diesel::sql_query("PRAGMA mmap_size")
            .get_result(&mut conn)
            .expect("the map's size");
        assert_eq!(size.mmap_size as u64, SQLITE_MMAP_BYTES);
    }

    #[test]
    fn only_sqlite_and_postgresql_urls_are_accepted() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/raas.db").unwrap(),
            DatabaseUrl::Sqlite("data/raas.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("raas.db").unwrap(),
            DatabaseUrl::Sqlite("raas.db".into())
        );
        for url in ["mysql://u:p@h/db", "http://h/", "", "redis://h"] {
            assert!(DatabaseUrl::parse(url).is_err(), "{url}");
        }
    }
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
