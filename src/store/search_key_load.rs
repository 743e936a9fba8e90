//! Bulk writing of the phonetic search's index (`person_search_keys`): the keys of a
//! population load or of a rebuild, inside the caller's write transaction, with each
//! backend's fast path. Inserting tens of millions of keys one by one lands each in a random
//! place of the index (the keys are hashes); both paths build it in key order instead:
//!
//! - PostgreSQL: when the index is built from scratch, it is emptied, its primary key is
//!   dropped and built again at the end (one sorted build), and the rows go in with
//!   `COPY … FREEZE`; otherwise plain `COPY` into the indexed table.
//! - SQLite: the keys go, as they come, into a plain temporary table (appends, no index), and
//!   at the end one `INSERT … SELECT … ORDER BY` moves them into the `WITHOUT ROWID` table in
//!   its own order, so each page of the index is written once, filled, after the previous one.
//!   Into an index that already holds keys this is still correct (the new numbers' keys are
//!   merged in order).

use std::io::Write as _;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::{CopyFormat, PgConnection};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use super::schema::person_search_keys;
use super::search_key::KeyRow;
use super::{DbConnection, StoreResult};

diesel::table! {
    /// SQLite: the keys of a load in the order they come (a temporary table of the
    /// connection, dropped when the load finishes).
    search_key_staging (rowid) {
        rowid -> BigInt,
        search_key -> BigInt,
        birth -> Integer,
        ssin -> Text,
    }
}

#[derive(Insertable)]
#[diesel(table_name = search_key_staging)]
struct StagedKey<'a> {
    search_key: i64,
    birth: i32,
    ssin: &'a str,
}

/// Keys per multi-row `INSERT` into the staging table on SQLite: 3 parameters each.
const SQLITE_KEYS_PER_INSERT: usize = 2000;

/// Memory for PostgreSQL's build of the index's primary key.
const POSTGRES_INDEX_BUILD_MEMORY: &str = "1GB";

/// What a finished load of keys did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeysLoaded {
    /// The rows added to the index.
    pub rows: u64,
    /// The time the index's build at the end took (PostgreSQL: the primary key; SQLite: the
    /// sorted move from the staging table), the copy of the rows during the load excluded.
    pub build: Duration,
}

/// A load of keys in progress: [`start`](KeyLoad::start) it inside a write transaction,
/// [`add`](KeyLoad::add) keys, then [`finish`](KeyLoad::finish) before the commit. A rollback
/// leaves nothing of it (the emptied index and its dropped key included).
pub struct KeyLoad {
    /// The index was emptied at the start and is built whole at the end.
    from_scratch: bool,
    /// PostgreSQL: the rows are copied frozen.
    freeze: bool,
    /// PostgreSQL: the `COPY` data of a batch, reused.
    copy_data: Vec<u8>,
    rows: u64,
}

impl KeyLoad {
    /// Prepares the load. With `from_scratch`, every key the index holds is removed first:
    /// for a load into a register without persons, and for a rebuild. The caller holds what
    /// keeps other writers of persons (hence of keys) out until the commit. `freeze`
    /// (PostgreSQL, from scratch only): copy the rows frozen, which the transaction must
    /// allow (no cursor open).
    pub fn start(
        conn: &mut DbConnection,
        from_scratch: bool,
        freeze: bool,
    ) -> StoreResult<KeyLoad> {
        match conn {
            DbConnection::Postgres(pg) if from_scratch => {
                // TRUNCATE lets COPY write the rows frozen (no later rewrite to set their hint
                // bits); the ALTER makes readers of the index wait until the commit.
                pg.batch_execute(&format!(
                    "SET LOCAL maintenance_work_mem = '{POSTGRES_INDEX_BUILD_MEMORY}'; \
                     TRUNCATE person_search_keys; \
                     ALTER TABLE person_search_keys DROP CONSTRAINT person_search_keys_pkey"
                ))?;
            }
            DbConnection::Postgres(_) => {}
            DbConnection::Sqlite(sqlite) => {
                sqlite.batch_execute(
                    "CREATE TEMP TABLE IF NOT EXISTS search_key_staging \
                     (search_key INTEGER NOT NULL, birth INTEGER NOT NULL, ssin TEXT NOT NULL); \
                     DELETE FROM temp.search_key_staging",
                )?;
                if from_scratch {
                    sqlite.batch_execute("DELETE FROM person_search_keys")?;
                }
            }
        }
        Ok(KeyLoad {
            from_scratch,
            freeze: from_scratch && freeze,
            copy_data: Vec::new(),
            rows: 0,
        })
    }

    /// Adds `keys`, which must differ from each other, from those added before and (unless
    /// the load started from scratch) from those the index holds.
    pub fn add(&mut self, conn: &mut DbConnection, keys: &[KeyRow]) -> StoreResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        match conn {
            DbConnection::Postgres(pg) => {
                self.copy_data.clear();
                for key in keys {
                    encode_copy_row(&mut self.copy_data, key);
                }
                copy_in(pg, &self.copy_data, self.freeze)?;
            }
            DbConnection::Sqlite(sqlite) => stage_sqlite(sqlite, keys)?,
        }
        self.rows += keys.len() as u64;
        Ok(())
    }

    /// Builds the index from what was added (see the module's comment) and tells what the
    /// load did. The caller commits.
    pub fn finish(self, conn: &mut DbConnection) -> StoreResult<KeysLoaded> {
        let started = Instant::now();
        match conn {
            DbConnection::Postgres(pg) => {
                if self.from_scratch {
                    pg.batch_execute(
                        "ALTER TABLE person_search_keys ADD CONSTRAINT person_search_keys_pkey \
                         PRIMARY KEY (search_key, birth, ssin)",
                    )?;
                }
                pg.batch_execute("ANALYZE person_search_keys")?;
            }
            DbConnection::Sqlite(sqlite) => {
                // The sort may use a helper thread: the reading thread of a load is done.
                sqlite.batch_execute(
                    "PRAGMA threads = 2; \
                     INSERT INTO person_search_keys (search_key, birth, ssin) \
                     SELECT search_key, birth, ssin FROM temp.search_key_staging \
                     ORDER BY search_key, birth, ssin; \
                     DROP TABLE temp.search_key_staging; \
                     PRAGMA threads = 0",
                )?;
            }
        }
        Ok(KeysLoaded {
            rows: self.rows,
            build: started.elapsed(),
        })
    }
}

/// Runs one `COPY person_search_keys FROM STDIN` with `data`, rows in text format.
fn copy_in(pg: &mut PgConnection, data: &[u8], freeze: bool) -> QueryResult<usize> {
    diesel::copy_from(person_search_keys::table)
        .from_raw_data(person_search_keys::table, |out: &mut dyn std::io::Write| {
            out.write_all(data)
                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
        })
        .with_format(CopyFormat::Text)
        .with_freeze(freeze)
        .execute(pg)
}

/// Appends `key` to `out` in `COPY`'s text format. The number needs no escaping: it is the
/// digits of a stored person's number (anything else is written escaped all the same).
fn encode_copy_row(out: &mut Vec<u8>, key: &KeyRow) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{}\t{}\t", key.search_key, key.birth);
    for byte in key.ssin.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(byte),
        }
    }
    out.push(b'\n');
}

/// Appends `keys` to the staging table with statements of [`SQLITE_KEYS_PER_INSERT`] rows
/// (prepared once: the statement of a fixed-size array is cached) and one for the rest.
fn stage_sqlite(sqlite: &mut SqliteConnection, keys: &[KeyRow]) -> QueryResult<()> {
    let staged: Vec<StagedKey> = keys
        .iter()
        .map(|k| StagedKey {
            search_key: k.search_key,
            birth: k.birth,
            ssin: k.ssin,
        })
        .collect();
    super::insert_sqlite_chunks!(
        sqlite,
        search_key_staging::table,
        staged,
        SQLITE_KEYS_PER_INSERT
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_are_key_birth_and_number() {
        let mut out = Vec::new();
        let key = KeyRow {
            search_key: -42,
            birth: 19_850_730,
            ssin: "85073003328",
        };
        encode_copy_row(&mut out, &key);
        assert_eq!(out, b"-42\t19850730\t85073003328\n");
    }
}
