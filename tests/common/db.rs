//! One fresh database per test: a SQLite file in the test's temporary directory, or, when
//! `TEST_DATABASE_URL` names a PostgreSQL server, a database created for the test and
//! dropped afterwards.

use std::path::Path;

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};

/// The storage backends every behaviour test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// PostgreSQL with a linguistic (ICU `en-US`) collation, as many production clusters
    /// have, where the local test server's databases sort by code point.
    PostgresLinguistic,
}

/// The PostgreSQL server tests may create databases on, if any.
pub fn postgres_server() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Whether nothing may be skipped here: `CI` or `REQUIRE_POSTGRES` is set (to anything but
/// an empty string, `0` or `false`).
pub fn skips_forbidden() -> bool {
    ["CI", "REQUIRE_POSTGRES"].iter().any(|name| {
        std::env::var(name)
            .map(|value| !matches!(value.trim(), "" | "0" | "false"))
            .unwrap_or(false)
    })
}

/// Called where a test would skip a check for want of `what`: under CI (see
/// [`skips_forbidden`]) it fails the test, elsewhere it says on standard error what was not
/// checked.
#[track_caller]
pub fn cannot_check(what: &str) {
    if skips_forbidden() {
        panic!("{what}, and CI or REQUIRE_POSTGRES is set: nothing may be skipped");
    }
    eprintln!("SKIPPED: {what}");
}

impl Backend {
    /// Whether tests can run on this backend here; says why not when they cannot, and fails
    /// the test when nothing may be skipped (see [`skips_forbidden`]).
    #[track_caller]
    pub fn available(self) -> bool {
        match self {
            Backend::Sqlite => true,
            Backend::Postgres | Backend::PostgresLinguistic if postgres_server().is_some() => true,
            Backend::Postgres | Backend::PostgresLinguistic => {
                cannot_check("TEST_DATABASE_URL is not set: the PostgreSQL variant did not run");
                false
            }
        }
    }
}

/// A database that lives as long as the test.
pub struct TestDatabase {
    pub url: String,
    /// For PostgreSQL: the server to drop the database on, and its name.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh, empty database (the binary applies the migrations when it opens it).
    pub fn create(backend: Backend, dir: &Path) -> TestDatabase {
        match backend {
            Backend::Sqlite => TestDatabase {
                url: dir.join("raas.db").display().to_string(),
                postgres: None,
            },
            Backend::Postgres | Backend::PostgresLinguistic => {
                let server = postgres_server().expect("TEST_DATABASE_URL is set");
                let name = format!("raas_test_{}", uuid::Uuid::new_v4().simple());
                let options = match backend {
                    Backend::PostgresLinguistic => {
                        " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
                    }
                    _ => "",
                };
                execute(&server, &format!("CREATE DATABASE {name}{options}"));
                TestDatabase {
                    url: with_database(&server, &name),
                    postgres: Some((server, name)),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.postgres {
            execute(
                server,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

fn execute(server: &str, sql: &str) {
    let mut conn = PgConnection::establish(server)
        .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL {server}: {e}"));
    diesel::sql_query(sql)
        .execute(&mut conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The server's URL with another database name (the last path segment).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// One text column named `value`, for [`query_texts`].
#[derive(diesel::QueryableByName)]
struct TextRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    value: Option<String>,
}

/// Runs a read-only `sql` on the test database at `url` (a SQLite path or a PostgreSQL URL)
/// whose one column is named `value` and cast to text (`CAST(… AS TEXT) AS value`), and gives
/// its rows (NULL as the empty string). For checks the service's answers cannot show.
pub fn query_texts(url: &str, sql: &str) -> Vec<String> {
    let rows: Vec<TextRow> =
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut conn = PgConnection::establish(url)
                .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
            diesel::sql_query(sql).load(&mut conn)
        } else {
            let mut conn = diesel::sqlite::SqliteConnection::establish(url)
                .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
            diesel::sql_query(sql).load(&mut conn)
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter()
        .map(|row| row.value.unwrap_or_default())
        .collect()
}

/// [`query_texts`] for a query of exactly one row, read as a number.
#[track_caller]
pub fn query_i64(url: &str, sql: &str) -> i64 {
    let rows = query_texts(url, sql);
    assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
    rows[0]
        .parse()
        .unwrap_or_else(|e| panic!("{sql}: {:?} is not a number: {e}", rows[0]))
}

/// PostgreSQL refusing the connections to the test's database (its open ones ended), until
/// dropped.
pub struct Refusing {
    server: String,
    name: String,
}

impl Refusing {
    pub fn start(app: &super::app::TestApp) -> Refusing {
        let server = postgres_server().expect("TEST_DATABASE_URL is set");
        let name = app.database_name().to_owned();
        // Two statements, two transactions: the refusal is committed before the connections
        // are ended, so none is opened again in between.
        execute(
            &server,
            &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"),
        );
        execute(
            &server,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ),
        );
        Refusing { server, name }
    }
}

impl Drop for Refusing {
    fn drop(&mut self) {
        execute(
            &self.server,
            &format!("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true", self.name),
        );
    }
}
