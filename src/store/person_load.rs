//! Bulk loading of new persons (a population file), inside the caller's write transaction,
//! with each backend's fast path:
//!
//! - PostgreSQL: the table is locked against other writers; when it is empty, its primary key
//!   is dropped and built again at the end (one sorted index build instead of one index
//!   insertion per row); the rows go in with `COPY persons FROM STDIN` in text format, one
//!   `COPY` per batch.
//! - SQLite: multi-row `INSERT` statements of a fixed size, prepared once, with a large page
//!   cache for the connection while the load runs.
//!
//! The phonetic search's keys of the persons are computed here, on the loading thread, and
//! written by `search_key_load` (its own fast paths: `COPY` and a sorted primary key build
//! on PostgreSQL, a staging table moved in key order on SQLite). A load into a register
//! without persons builds the whole index and marks it built; a load into one whose index
//! is current keeps it current.
//!
//! When the table already holds persons, each batch is first checked against them, so that a
//! number already known is refused by name before anything of the batch is written. Numbers
//! repeated within the load are the caller's to refuse (the empty-table path has no key to
//! catch them until the end).

use std::io::Write as _;

use diesel::connection::SimpleConnection;
use diesel::pg::{CopyFormat, PgConnection};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use super::person::PersonRow;
use super::schema::persons;
use super::search_key::rows_remembered;
use super::search_key_load::KeyLoad;
use super::{search_index, DbConnection, StoreResult};
use crate::domain::name_search::KeyMemo;

/// Rows per multi-row `INSERT` on SQLite: 19 parameters each, 19 000 per statement, under
/// SQLite's limit of 32 766.
const SQLITE_ROWS_PER_INSERT: usize = 1000;

/// How many rows a caller should hand to [`PersonLoad::add`] at once: a whole number of
/// SQLite statements, and `COPY` statements large enough that their round trips do not count.
pub const ROWS_PER_BATCH: usize = 5 * SQLITE_ROWS_PER_INSERT;

/// Page cache of the loading SQLite connection, in KiB (negative: a size, not a page count).
const SQLITE_LOAD_CACHE_KIB: i64 = 1 << 20;

/// Memory for PostgreSQL's primary key build at the end of a load into an empty table.
const POSTGRES_INDEX_BUILD_MEMORY: &str = "1GB";

/// A load in progress. Start it inside a write transaction, [`add`](PersonLoad::add) the
/// rows, then [`finish`](PersonLoad::finish) before the transaction commits; if the
/// transaction rolls back instead, nothing of the load remains (the dropped key included).
pub struct PersonLoad<'c> {
    conn: &'c mut DbConnection,
    /// Whether the table held persons when the load started: rows are then checked first.
    had_rows: bool,
    /// PostgreSQL: the primary key was dropped and is to be built again.
    key_dropped: bool,
    /// PostgreSQL: the table was emptied in this transaction; rows are copied frozen.
    freeze: bool,
    /// SQLite: the connection's page cache setting, restored at the end.
    sqlite_cache_size: Option<i64>,
    /// PostgreSQL: the `COPY` data of a batch, reused.
    copy_data: Vec<u8>,
    /// PostgreSQL: `updated_at` of the last row encoded, with its text.
    updated_at: Option<(chrono::NaiveDateTime, String)>,
    /// The persons' search keys.
    keys: Option<KeyLoad>,
    /// The keys of the names met so far.
    memo: KeyMemo,
    /// Whether the index will be complete at the end: the load started from no persons, or
    /// from a current index.
    index_complete: bool,
    rows: u64,
}

impl<'c> PersonLoad<'c> {
    /// Prepares the load on `conn`, which must be inside a write transaction.
    pub fn start(conn: &'c mut DbConnection) -> StoreResult<PersonLoad<'c>> {
        let mut sqlite_cache_size = None;
        match conn {
            DbConnection::Postgres(pg) => {
                // Other writers wait until the load commits; readers go on.
                pg.batch_execute("LOCK TABLE persons IN SHARE ROW EXCLUSIVE MODE")?;
            }
            DbConnection::Sqlite(sqlite) => {
                // BEGIN IMMEDIATE already holds the database's write lock.
                let size = diesel::dsl::sql::<diesel::sql_types::BigInt>(
                    "(SELECT cache_size FROM pragma_cache_size())",
                );
                let current: i64 = diesel::select(size).get_result(sqlite).unwrap_or(-2000);
                sqlite.batch_execute(&format!("PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}"))?;
                sqlite_cache_size = Some(current);
            }
        }
        let had_rows: bool =
            diesel::select(diesel::dsl::exists(persons::table.select(persons::ssin)))
                .get_result(conn)?;
        let mut load = PersonLoad {
            conn,
            had_rows,
            key_dropped: false,
            freeze: false,
            sqlite_cache_size,
            copy_data: Vec::new(),
            updated_at: None,
            keys: None,
            memo: KeyMemo::default(),
            index_complete: false,
            rows: 0,
        };
        if let (DbConnection::Postgres(pg), false) = (&mut *load.conn, had_rows) {
            // The ALTER takes the table's exclusive lock: readers wait too, until the commit.
            pg.batch_execute(&format!(
                "SET LOCAL maintenance_work_mem = '{POSTGRES_INDEX_BUILD_MEMORY}'; \
                 ALTER TABLE persons DROP CONSTRAINT persons_pkey"
            ))?;
            load.key_dropped = true;
            // COPY FREEZE writes the rows frozen (no later rewrite to set hint bits or to
            // freeze them), but only into a table emptied in the same transaction: the table
            // is empty, so TRUNCATE changes nothing, unless a foreign key refers to it.
            let referenced: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = 'persons'::regclass)",
            ))
            .get_result(pg)?;
            if !referenced {
                pg.batch_execute("TRUNCATE persons")?;
                load.freeze = true;
            }
        }
        load.index_complete = !had_rows || search_index::is_current(load.conn)?;
        load.keys = Some(KeyLoad::start(load.conn, !had_rows, true)?);
        Ok(load)
    }

    /// Adds `rows`, whose numbers must differ from each other and from the rows added before.
    /// When the table held persons before the load and one of `rows` has a number already
    /// there, nothing of `rows` is written and the position of the first such row in `rows`
    /// is returned.
    pub fn add(&mut self, rows: &[PersonRow]) -> StoreResult<Option<usize>> {
        if rows.is_empty() {
            return Ok(None);
        }
        if self.had_rows {
            if let Some(known) = self.first_known(rows)? {
                return Ok(Some(known));
            }
        }
        match &mut *self.conn {
            DbConnection::Postgres(pg) => {
                self.copy_data.clear();
                for row in rows {
                    encode_copy_row(&mut self.copy_data, row, &mut self.updated_at);
                }
                copy_in(pg, &self.copy_data, self.freeze)?;
            }
            DbConnection::Sqlite(sqlite) => insert_sqlite(sqlite, rows)?,
        }
        let keys: Vec<_> = rows
            .iter()
            .flat_map(|row| rows_remembered(&mut self.memo, row))
            .collect();
        if let Some(load) = &mut self.keys {
            load.add(self.conn, &keys)?;
        }
        self.rows += rows.len() as u64;
        Ok(None)
    }

    /// Completes the load (on PostgreSQL, builds the primary key again and updates the
    /// planner's statistics; builds the search index) and tells how many rows were added.
    /// The caller commits.
    pub fn finish(mut self) -> StoreResult<u64> {
        if let DbConnection::Postgres(pg) = &mut *self.conn {
            if self.key_dropped {
                pg.batch_execute(
                    "ALTER TABLE persons ADD CONSTRAINT persons_pkey PRIMARY KEY (ssin)",
                )?;
                self.key_dropped = false;
            }
            pg.batch_execute("ANALYZE persons")?;
        }
        if let Some(keys) = self.keys.take() {
            let loaded = keys.finish(self.conn)?;
            tracing::info!(
                keys = loaded.rows,
                build_ms = loaded.build.as_millis() as u64,
                "search index loaded"
            );
        }
        if self.index_complete {
            search_index::mark_built(self.conn)?;
        }
        Ok(self.rows)
    }

    /// The position in `rows` of the first row whose number the table already holds.
    fn first_known(&mut self, rows: &[PersonRow]) -> StoreResult<Option<usize>> {
        let numbers: Vec<&str> = rows.iter().map(|row| row.ssin.as_str()).collect();
        let mut known = std::collections::HashSet::new();
        // Within SQLite's parameter limit.
        for chunk in numbers.chunks(ROWS_PER_BATCH) {
            let found: Vec<String> = persons::table
                .select(persons::ssin)
                .filter(persons::ssin.eq_any(chunk))
                .load(self.conn)?;
            known.extend(found);
        }
        Ok(rows.iter().position(|row| known.contains(&row.ssin)))
    }
}

impl Drop for PersonLoad<'_> {
    fn drop(&mut self) {
        if let (DbConnection::Sqlite(sqlite), Some(size)) =
            (&mut *self.conn, self.sqlite_cache_size)
        {
            // The connection goes back to the pool: give the memory back. A failure only
            // leaves a larger cache.
            let _ = sqlite.batch_execute(&format!("PRAGMA cache_size = {size}"));
        }
    }
}

/// After a load has committed: on SQLite, copies the write-ahead log into the database file
/// and empties it, so that the load is on disk in the database itself (a commit in WAL mode
/// with `synchronous = NORMAL` is not yet synced) and the next reader does not start with a
/// log as large as the load. Readers of the database at that moment make it give up, which
/// only leaves the copy to the background checkpoints. Nothing to do on PostgreSQL.
pub fn settle(conn: &mut DbConnection) -> StoreResult<()> {
    if let DbConnection::Sqlite(sqlite) = conn {
        sqlite.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?;
    }
    super::search_index::settle(conn)
}

/// Runs one `COPY persons FROM STDIN` with `data`, rows in text format.
fn copy_in(pg: &mut PgConnection, data: &[u8], freeze: bool) -> QueryResult<usize> {
    diesel::copy_from(persons::table)
        .from_raw_data(persons::table, |out: &mut dyn std::io::Write| {
            out.write_all(data)
                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
        })
        .with_format(CopyFormat::Text)
        .with_freeze(freeze)
        .execute(pg)
}

/// Appends `row` to `out` in `COPY`'s text format, columns in the table's order.
fn encode_copy_row(
    out: &mut Vec<u8>,
    row: &PersonRow,
    updated_at: &mut Option<(chrono::NaiveDateTime, String)>,
) {
    let text = |out: &mut Vec<u8>, value: &str| {
        for byte in value.bytes() {
            match byte {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.push(byte),
            }
        }
        out.push(b'\t');
    };
    let optional = |out: &mut Vec<u8>, value: &Option<String>| match value {
        Some(value) => text(out, value),
        None => out.extend_from_slice(b"\\N\t"),
    };
    text(out, &row.ssin);
    text(out, &row.status);
    optional(out, &row.replaced_by);
    text(out, &row.last_name);
    text(out, &row.first_names);
    text(out, &row.birth_date);
    optional(out, &row.gender);
    optional(out, &row.nationality);
    optional(out, &row.birth_place);
    optional(out, &row.street);
    optional(out, &row.house_number);
    optional(out, &row.post_box);
    optional(out, &row.postal_code);
    optional(out, &row.municipality);
    optional(out, &row.country);
    optional(out, &row.decease_date);
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{}\t", row.version);
    text(out, &row.source);
    // Every row of a load has the same time: format it once.
    if updated_at.as_ref().map(|(at, _)| *at) != Some(row.updated_at) {
        let formatted = row.updated_at.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
        *updated_at = Some((row.updated_at, formatted));
    }
    if let Some((_, formatted)) = updated_at {
        out.extend_from_slice(formatted.as_bytes());
    }
    out.push(b'\n');
}

/// Inserts `rows` with statements of [`SQLITE_ROWS_PER_INSERT`] rows (prepared once: the
/// statement of a fixed-size array is cached) and one for the rest.
fn insert_sqlite(sqlite: &mut SqliteConnection, rows: &[PersonRow]) -> QueryResult<()> {
    super::insert_sqlite_chunks!(sqlite, persons::table, rows, SQLITE_ROWS_PER_INSERT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ssin: &str, street: Option<&str>) -> PersonRow {
        PersonRow {
            ssin: ssin.into(),
            status: "ACTIVE".into(),
            replaced_by: None,
            last_name: "Peeters".into(),
            first_names: "Jan;Piet".into(),
            birth_date: "1985-07-30".into(),
            gender: Some("M".into()),
            nationality: Some("BE".into()),
            birth_place: None,
            street: street.map(Into::into),
            house_number: None,
            post_box: None,
            postal_code: None,
            municipality: None,
            country: None,
            decease_date: None,
            version: 1,
            source: "population:test".into(),
            updated_at: chrono::NaiveDate::from_ymd_opt(2026, 11, 21)
                .unwrap()
                .and_hms_micro_opt(10, 0, 0, 120)
                .unwrap(),
        }
    }

    #[test]
    fn copy_rows_escape_text_and_mark_nulls() {
        let mut out = Vec::new();
        let mut at = None;
        encode_copy_row(&mut out, &row("85073003328", Some("a\\b\tc")), &mut at);
        encode_copy_row(&mut out, &row("17073003384", None), &mut at);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "85073003328\tACTIVE\t\\N\tPeeters\tJan;Piet\t1985-07-30\tM\tBE\t\\N\ta\\\\b\\tc\t\
             \\N\t\\N\t\\N\t\\N\t\\N\t\\N\t1\tpopulation:test\t2026-11-21 10:00:00.000120"
        );
        assert_eq!(lines[1].split('\t').count(), 19);
        assert!(lines[1].starts_with("17073003384\t"));
    }
}
