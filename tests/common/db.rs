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

impl Backend {
    /// Whether tests can run on this backend here; says why not when they cannot.
    pub fn available(self) -> bool {
        match self {
            Backend::Sqlite => true,
            Backend::Postgres | Backend::PostgresLinguistic if postgres_server().is_some() => true,
            Backend::Postgres | Backend::PostgresLinguistic => {
                eprintln!("note: TEST_DATABASE_URL is not set: the PostgreSQL variant is skipped");
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
