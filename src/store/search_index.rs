//! The phonetic search's index as a whole: which derivation of the keys it holds (the
//! `search_index` row against `name_search::KEY_VERSION`), its rebuild from the persons, and
//! its check against them.
//!
//! Every write of a person keeps its keys current in its own transaction (`search_key`), so
//! the index only needs rebuilding when the derivation of the keys changes, or for a database
//! whose persons were stored before the index existed. The migration step
//! ([`bring_up_to_date`], run by `Database::open`, hence by `raas migrate` and `raas serve`)
//! does it then, and only then: on an empty database it only records that the empty index is
//! built.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use super::schema::search_index;
use super::search_key::{rows_of_fields, KeyRow};
use super::search_key_load::KeyLoad;
use super::{DbConnection, StoreResult};
use crate::domain::name_search::{KeyMemo, KEY_VERSION};

/// Persons read at a time by a rebuild or a check: the memory they use stays the same
/// whatever the population.
const PERSONS_PER_PAGE: usize = 20_000;

/// Keys looked up per statement by a check.
const KEYS_PER_LOOKUP: usize = 500;

/// The index's recorded state: the derivation of its keys and when it was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub key_version: i32,
    pub built_at: chrono::NaiveDateTime,
}

/// The recorded state, if the index was ever built.
pub fn built(conn: &mut DbConnection) -> StoreResult<Option<Built>> {
    let row: Option<(i32, chrono::NaiveDateTime)> = search_index::table
        .select((search_index::key_version, search_index::built_at))
        .first(conn)
        .optional()?;
    Ok(row.map(|(key_version, built_at)| Built {
        key_version,
        built_at,
    }))
}

/// Whether the index holds the keys of this build's derivation.
pub fn is_current(conn: &mut DbConnection) -> StoreResult<bool> {
    Ok(built(conn)?.is_some_and(|b| b.key_version == KEY_VERSION))
}

/// Records that the index holds every key of the current derivation, now.
pub fn mark_built(conn: &mut DbConnection) -> StoreResult<()> {
    diesel::delete(search_index::table).execute(conn)?;
    diesel::insert_into(search_index::table)
        .values((
            search_index::id.eq(1),
            search_index::key_version.eq(KEY_VERSION),
            search_index::built_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Why the index must be rebuilt, if it must: `None` when it is current, or was never built
/// but there is nothing to index yet.
fn staleness(conn: &mut DbConnection) -> StoreResult<Option<String>> {
    Ok(match built(conn)? {
        Some(b) if b.key_version == KEY_VERSION => None,
        Some(b) => Some(format!(
            "its keys are of version {}, this build's of version {KEY_VERSION}",
            b.key_version
        )),
        None if has_persons(conn)? => Some("it was never built".into()),
        None => None,
    })
}

fn has_persons(conn: &mut DbConnection) -> StoreResult<bool> {
    use super::schema::persons;
    Ok(
        diesel::select(diesel::dsl::exists(persons::table.select(persons::ssin)))
            .get_result(conn)?,
    )
}

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// Why it ran.
    pub reason: String,
    /// Active persons indexed.
    pub persons: u64,
    /// Keys written.
    pub keys: u64,
    /// The whole rebuild, from the first read to the index built (before the commit).
    pub elapsed: Duration,
    /// Of which the index's build at the end (see `search_key_load`).
    pub build: Duration,
}

/// After a rebuild or a bulk load has committed: on PostgreSQL, marks the index's pages
/// all-visible and refreshes its statistics (`VACUUM (ANALYZE)`, which cannot run inside the
/// transaction). Until then every index-only probe of a search also reads the table's page
/// of each row it finds: at 20 M persons this halved the searches a second. Nothing to do on
/// SQLite.
pub fn settle(conn: &mut DbConnection) -> StoreResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        pg.batch_execute("VACUUM (ANALYZE) person_search_keys")?;
    }
    Ok(())
}

/// The migration step: rebuilds the index, in a write transaction of its own, when it holds
/// another derivation's keys or was never built while persons exist; records an empty index
/// as built. Checked first without writing, so that opening a current database costs one
/// read; checked again under the write lock, so that two processes starting together
/// rebuild once.
pub fn bring_up_to_date(conn: &mut DbConnection) -> StoreResult<Option<Rebuilt>> {
    if is_current(conn)? {
        return Ok(None);
    }
    let rebuilt = super::write_transaction(conn, &[], |conn| {
        lock_persons(conn)?;
        match staleness(conn)? {
            Some(reason) => rebuild_locked(conn, reason).map(Some),
            None => {
                if !is_current(conn)? {
                    mark_built(conn)?;
                }
                Ok(None)
            }
        }
    })?;
    if rebuilt.is_some() {
        settle(conn)?;
    }
    Ok(rebuilt)
}

/// Rebuilds the index from the persons, whatever its state, inside the caller's write
/// transaction (`Database::write`): readers of the index wait until the commit on
/// PostgreSQL, and see the old index until then on SQLite.
pub fn rebuild(conn: &mut DbConnection) -> StoreResult<Rebuilt> {
    lock_persons(conn)?;
    let reason = staleness(conn)?.unwrap_or_else(|| "asked for".into());
    rebuild_locked(conn, reason)
}

/// PostgreSQL: other writers of persons (hence of keys) wait until the commit, and one
/// holding changes not yet committed is waited for. SQLite: `BEGIN IMMEDIATE` holds the
/// database's write lock already.
fn lock_persons(conn: &mut DbConnection) -> StoreResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        pg.batch_execute("LOCK TABLE persons IN SHARE ROW EXCLUSIVE MODE")?;
    }
    Ok(())
}

fn rebuild_locked(conn: &mut DbConnection, reason: String) -> StoreResult<Rebuilt> {
    let started = Instant::now();
    // No frozen copy: the open cursor of the read forbids it on PostgreSQL.
    let mut load = KeyLoad::start(conn, true, false)?;
    let mut persons = 0;
    let mut memo = KeyMemo::default();
    let mut reader = PersonReader::open(conn)?;
    while let Some(page) = reader.next_page(conn)? {
        let keys: Vec<KeyRow> = page.iter().flat_map(|p| p.rows(&mut memo)).collect();
        persons += page.len() as u64;
        load.add(conn, &keys)?;
    }
    reader.close(conn)?;
    let loaded = load.finish(conn)?;
    mark_built(conn)?;
    Ok(Rebuilt {
        reason,
        persons,
        keys: loaded.rows,
        elapsed: started.elapsed(),
        build: loaded.build,
    })
}

/// The columns of an active person its keys depend on.
#[derive(QueryableByName)]
struct KeyColumns {
    #[diesel(sql_type = Text)]
    ssin: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    last_name: String,
    #[diesel(sql_type = Text)]
    first_names: String,
    #[diesel(sql_type = Text)]
    birth_date: String,
}

impl KeyColumns {
    fn rows<'a>(&'a self, memo: &mut KeyMemo) -> Vec<KeyRow<'a>> {
        rows_of_fields(
            memo,
            &self.ssin,
            &self.status,
            &self.last_name,
            &self.first_names,
            &self.birth_date,
        )
    }
}

/// Reads the active persons page by page in the table's own order: a cursor over a
/// sequential scan on PostgreSQL (the heap is in load order, not in number order); pages
/// after the last number read on SQLite (the table is clustered by number).
struct PersonReader {
    after: Option<String>,
    done: bool,
}

const SELECT_KEY_COLUMNS: &str = "SELECT ssin, status, last_name, first_names, birth_date \
                                  FROM persons WHERE status = 'ACTIVE'";

impl PersonReader {
    fn open(conn: &mut DbConnection) -> StoreResult<PersonReader> {
        if let DbConnection::Postgres(pg) = conn {
            pg.batch_execute(&format!(
                "DECLARE search_index_persons NO SCROLL CURSOR FOR {SELECT_KEY_COLUMNS}"
            ))?;
        }
        Ok(PersonReader {
            after: None,
            done: false,
        })
    }

    fn next_page(&mut self, conn: &mut DbConnection) -> StoreResult<Option<Vec<KeyColumns>>> {
        if self.done {
            return Ok(None);
        }
        let page: Vec<KeyColumns> = match conn {
            DbConnection::Postgres(_) => diesel::sql_query(format!(
                "FETCH FORWARD {PERSONS_PER_PAGE} FROM search_index_persons"
            ))
            .load(conn)?,
            DbConnection::Sqlite(_) => diesel::sql_query(format!(
                "{SELECT_KEY_COLUMNS} AND ssin > ? ORDER BY ssin LIMIT {PERSONS_PER_PAGE}"
            ))
            .bind::<Text, _>(self.after.as_deref().unwrap_or(""))
            .load(conn)?,
        };
        self.done = page.len() < PERSONS_PER_PAGE;
        self.after = page.last().map(|p| p.ssin.clone());
        Ok(if page.is_empty() { None } else { Some(page) })
    }

    fn close(self, conn: &mut DbConnection) -> StoreResult<()> {
        if let DbConnection::Postgres(pg) = conn {
            pg.batch_execute("CLOSE search_index_persons")?;
        }
        Ok(())
    }
}

/// What the index holds beside the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub built: Option<Built>,
    /// The key derivation of this build.
    pub key_version: i32,
    /// Rows of the index.
    pub keys: i64,
    /// Active persons (those who have keys).
    pub active_persons: i64,
}

/// The index's state and size.
pub fn status(conn: &mut DbConnection) -> StoreResult<Status> {
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        keys: i64,
        #[diesel(sql_type = BigInt)]
        active_persons: i64,
    }
    let counts: Counts = diesel::sql_query(
        "SELECT (SELECT COUNT(*) FROM person_search_keys) AS keys, \
         (SELECT COUNT(*) FROM persons WHERE status = 'ACTIVE') AS active_persons",
    )
    .get_result(conn)?;
    Ok(Status {
        built: built(conn)?,
        key_version: KEY_VERSION,
        keys: counts.keys,
        active_persons: counts.active_persons,
    })
}

/// An index row that the persons call for and the index lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingKey {
    pub ssin: String,
    pub search_key: i64,
    pub birth: i32,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Active persons read.
    pub persons: u64,
    /// Rows the persons call for.
    pub expected: u64,
    /// Rows the index holds.
    pub stored: u64,
    /// How many expected rows the index lacks, and the first of them.
    pub missing: u64,
    pub first_missing: Vec<MissingKey>,
    /// Rows the index holds that no person calls for (stale keys, numbers without keys).
    pub extra: u64,
}

impl Check {
    /// Whether the index is exactly what a rebuild would make.
    pub fn is_exact(&self) -> bool {
        self.missing == 0 && self.extra == 0
    }
}

/// How many missing rows a check names.
const MISSING_NAMED: usize = 20;

/// Recomputes every active person's keys and compares them with the index, in one read
/// transaction (one snapshot of both), writing nothing. Every expected row is looked up in
/// the index; as both sides are sets (the index's rows are its primary key), the index
/// equals them when none is missing and it holds as many rows.
pub fn check(conn: &mut DbConnection) -> StoreResult<Check> {
    conn.transaction::<_, super::StoreError, _>(|conn| {
        if let DbConnection::Postgres(pg) = conn {
            pg.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        let mut check = Check {
            persons: 0,
            expected: 0,
            stored: 0,
            missing: 0,
            first_missing: Vec::new(),
            extra: 0,
        };
        let mut memo = KeyMemo::default();
        let mut reader = PersonReader::open(conn)?;
        while let Some(page) = reader.next_page(conn)? {
            check.persons += page.len() as u64;
            let keys: Vec<KeyRow> = page.iter().flat_map(|p| p.rows(&mut memo)).collect();
            check.expected += keys.len() as u64;
            for chunk in keys.chunks(KEYS_PER_LOOKUP) {
                let found = stored_among(conn, chunk)?;
                for key in chunk.iter().filter(|k| !found.contains(k)) {
                    check.missing += 1;
                    if check.first_missing.len() < MISSING_NAMED {
                        check.first_missing.push(MissingKey {
                            ssin: key.ssin.to_string(),
                            search_key: key.search_key,
                            birth: key.birth,
                        });
                    }
                }
            }
        }
        reader.close(conn)?;
        let stored: i64 = super::schema::person_search_keys::table
            .count()
            .get_result(conn)?;
        check.stored = stored as u64;
        check.extra = check.stored.saturating_sub(check.expected - check.missing);
        Ok(check)
    })
}

/// Which of `keys` the index holds (one statement).
fn stored_among<'a>(
    conn: &mut DbConnection,
    keys: &[KeyRow<'a>],
) -> StoreResult<std::collections::HashSet<KeyRow<'a>>> {
    #[derive(QueryableByName)]
    struct Stored {
        #[diesel(sql_type = BigInt)]
        search_key: i64,
        #[diesel(sql_type = Integer)]
        birth: i32,
        #[diesel(sql_type = Text)]
        ssin: String,
        #[diesel(sql_type = Integer)]
        given_name_bits: i32,
    }
    if keys.is_empty() {
        return Ok(Default::default());
    }
    // Integers computed here; the number is a stored one, quoted all the same.
    let values: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "({}, {}, '{}')",
                k.search_key,
                k.birth,
                k.ssin.replace('\'', "''")
            )
        })
        .collect();
    let found: Vec<Stored> = diesel::sql_query(format!(
        "SELECT search_key, birth, ssin, given_name_bits FROM person_search_keys \
         WHERE (search_key, birth, ssin) IN (VALUES {})",
        values.join(", ")
    ))
    .load(conn)?;
    let found: std::collections::HashSet<(i64, i32, &str, i32)> = found
        .iter()
        .map(|f| (f.search_key, f.birth, f.ssin.as_str(), f.given_name_bits))
        .collect();
    // A row of the right key with other bits is missing (and counted extra).
    Ok(keys
        .iter()
        .filter(|k| found.contains(&(k.search_key, k.birth, k.ssin, k.given_name_bits)))
        .copied()
        .collect())
}
