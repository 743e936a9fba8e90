//! Reaching the database: the `--database-url` parsed and shown without its password, one
//! connection opened and set up (SQLite's pragmas, among them its memory map), and the
//! pool's manager that opens them and tells a connection the server has closed.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection as _;

use super::{checkpoint, DbConnection, StoreError, StoreResult};

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

    pub(super) fn connect(&self) -> StoreResult<DbConnection> {
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
pub struct Manager(pub(super) DatabaseUrl);

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
pub(super) fn still_open(conn: &mut DbConnection) -> bool {
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

#[cfg(test)]
mod tests {
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

    /// The bundled SQLite is built as `.cargo/config.toml` says: the whole file is mapped (it
    /// silently caps `mmap_size` at its build's maximum otherwise), multi-thread mode, no
    /// memory statistics.
    #[test]
    fn sqlite_is_built_as_configured() {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct MmapSize {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            mmap_size: i64,
        }
        #[derive(QueryableByName)]
        struct Used {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            used: i32,
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
        for option in ["THREADSAFE=2", "DEFAULT_MEMSTATUS=0"] {
            let used: Used = diesel::sql_query(format!(
                "SELECT sqlite_compileoption_used('{option}') AS used"
            ))
            .get_result(&mut conn)
            .expect("the build's options");
            assert_eq!(used.used, 1, "{option}");
        }
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
