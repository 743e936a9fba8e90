//! The daily runs and the files they made: what a run covers (journal and Dimona sequence
//! numbers), each file's sequence number and what was written; the exclusion of runs; and
//! the reads a run routes with (the day's journal entries and Dimona declarations joined to
//! the register lines of their persons).
//!
//! Runs exclude each other across processes: on PostgreSQL by a session advisory lock held
//! on a connection of its own (released by the server when the process dies), on SQLite by
//! an exclusive lock on a file beside the database (released by the kernel when the process
//! dies).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::max;
use diesel::prelude::*;

use super::journal::{JournalEntry, MutationKind};
use super::schema::{
    batch_files, batch_runs, batch_sequences, dimona_declarations, dossier_types, mutation_journal,
    organisations, relations,
};
use super::{Database, DatabaseUrl, DbConnection, StoreError, StoreResult};

/// The advisory lock of the daily runs (PostgreSQL): a constant of raas's own.
const RUN_LOCK: i64 = 0x7261_6173_6261_7463; // "raasbatc"

/// Held while a run makes its files; dropping it lets the next run in.
pub enum RunLock {
    Postgres(Box<DbConnection>),
    Sqlite(std::fs::File),
}

impl Drop for RunLock {
    fn drop(&mut self) {
        match self {
            RunLock::Postgres(conn) => {
                // Closing the connection would release it too.
                let _ = diesel::sql_query(format!("SELECT pg_advisory_unlock({RUN_LOCK})"))
                    .execute(conn.as_mut());
            }
            RunLock::Sqlite(file) => {
                let _ = file.unlock();
            }
        }
    }
}

/// Waits for the runs' lock (another process's run finishes first).
pub fn exclusive(db: &Database) -> StoreResult<RunLock> {
    match db.url() {
        DatabaseUrl::Postgres(_) => {
            let mut conn = db.dedicated_connection()?;
            diesel::sql_query(format!("SELECT pg_advisory_lock({RUN_LOCK})")).execute(&mut conn)?;
            Ok(RunLock::Postgres(Box::new(conn)))
        }
        DatabaseUrl::Sqlite(path) => {
            let lock_path = format!("{path}.batch-lock");
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| StoreError::Unusable(format!("cannot open {lock_path}: {e}")))?;
            file.lock()
                .map_err(|e| StoreError::Unusable(format!("cannot lock {lock_path}: {e}")))?;
            Ok(RunLock::Sqlite(file))
        }
    }
}

/// A run as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = batch_runs)]
pub struct RunRow {
    pub reference_date: NaiveDate,
    /// The journal entries covered: `journal_after < seq ≤ journal_upto`.
    pub journal_after: i64,
    pub journal_upto: i64,
    /// The Dimona declarations covered: `dimona_after < seq ≤ dimona_upto`.
    pub dimona_after: i64,
    pub dimona_upto: i64,
    pub started_at: NaiveDateTime,
    /// `None`: files of the run are still to be written.
    pub finished_at: Option<NaiveDateTime>,
    pub files: i32,
    pub records: i64,
    pub trigger_name: String,
}

/// A file of a run as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = batch_files)]
pub struct FileRow {
    pub id: i32,
    pub reference_date: NaiveDate,
    pub subscription_id: i32,
    pub organisation_id: i32,
    pub file_type: String,
    pub sequence_number: i64,
    pub file_name: String,
    pub server_ticket: String,
    pub records: Option<i64>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub written_at: Option<NaiveDateTime>,
}

/// A file a run is to make.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = batch_files)]
pub struct NewFile {
    pub reference_date: NaiveDate,
    pub subscription_id: i32,
    pub organisation_id: i32,
    pub file_type: String,
    pub sequence_number: i64,
    pub file_name: String,
    pub server_ticket: String,
}

/// The last sequence number of a receiver and file type.
#[derive(Insertable)]
#[diesel(table_name = batch_sequences)]
struct Sequence<'a> {
    organisation_id: i32,
    file_type: &'a str,
    last_sequence: i64,
}

/// What was written of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub file_id: i32,
    pub records: i64,
    pub size: i64,
    pub sha256: String,
}

pub fn find(conn: &mut DbConnection, day: NaiveDate) -> StoreResult<Option<RunRow>> {
    Ok(batch_runs::table
        .find(day)
        .select(RunRow::as_select())
        .first(conn)
        .optional()?)
}

/// The run of the latest reference date.
pub fn latest(conn: &mut DbConnection) -> StoreResult<Option<RunRow>> {
    Ok(batch_runs::table
        .order(batch_runs::reference_date.desc())
        .select(RunRow::as_select())
        .first(conn)
        .optional()?)
}

/// The latest runs, newest first.
pub fn recent(conn: &mut DbConnection, limit: i64) -> StoreResult<Vec<RunRow>> {
    Ok(batch_runs::table
        .order(batch_runs::reference_date.desc())
        .limit(limit)
        .select(RunRow::as_select())
        .load(conn)?)
}

/// The last finished run: its reference date and when it finished.
pub fn last_finished(conn: &mut DbConnection) -> StoreResult<Option<(NaiveDate, NaiveDateTime)>> {
    let row: Option<(NaiveDate, Option<NaiveDateTime>)> = batch_runs::table
        .filter(batch_runs::finished_at.is_not_null())
        .order(batch_runs::reference_date.desc())
        .select((batch_runs::reference_date, batch_runs::finished_at))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(day, at)| at.map(|at| (day, at))))
}

/// The last sequence number of `$table` after `after` recorded before `until` (`after` when
/// none): entries are appended in commit order with their commit's time, so this is where a
/// day ends. (A macro: the two tables' columns are distinct types to diesel.)
macro_rules! cutoff {
    ($table:ident, $conn:expr, $after:expr, $until:expr) => {{
        let upto: Option<i64> = $table::table
            .filter($table::seq.gt($after))
            .filter($table::recorded_at.lt($until))
            .select(max($table::seq))
            .first($conn)?;
        Ok(upto.unwrap_or($after))
    }};
}

/// Where the journal entries of a day end (see [`cutoff!`]).
pub fn journal_cutoff(
    conn: &mut DbConnection,
    after: i64,
    until: NaiveDateTime,
) -> StoreResult<i64> {
    cutoff!(mutation_journal, conn, after, until)
}

/// Where the Dimona declarations of a day end.
pub fn dimona_cutoff(
    conn: &mut DbConnection,
    after: i64,
    until: NaiveDateTime,
) -> StoreResult<i64> {
    cutoff!(dimona_declarations, conn, after, until)
}

/// The last sequence number of every receiver and file type that has files.
pub fn last_sequences(conn: &mut DbConnection) -> StoreResult<HashMap<(i32, String), i64>> {
    let rows: Vec<(i32, String, i64)> = batch_sequences::table
        .select((
            batch_sequences::organisation_id,
            batch_sequences::file_type,
            batch_sequences::last_sequence,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(org, file_type, seq)| ((org, file_type), seq))
        .collect())
}

/// Enterprise numbers by organisation id.
pub fn enterprise_numbers(conn: &mut DbConnection) -> StoreResult<HashMap<i32, String>> {
    let rows: Vec<(i32, String)> = organisations::table
        .select((organisations::id, organisations::cbe_number))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Dossier type codes by id.
pub fn dossier_type_codes(conn: &mut DbConnection) -> StoreResult<HashMap<i32, String>> {
    let rows: Vec<(i32, String)> = dossier_types::table
        .select((dossier_types::id, dossier_types::code))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Records a run and the files it is to make, and moves each receiver's last sequence
/// number to its new file's (in the caller's transaction).
pub fn insert(conn: &mut DbConnection, run: &RunRow, files: &[NewFile]) -> StoreResult<()> {
    diesel::insert_into(batch_runs::table)
        .values(run)
        .execute(conn)?;
    let mut by_type: HashMap<&str, Vec<i32>> = HashMap::new();
    for file in files {
        by_type
            .entry(file.file_type.as_str())
            .or_default()
            .push(file.organisation_id);
    }
    for (file_type, organisations) in by_type {
        for chunk in organisations.chunks(1000) {
            diesel::delete(
                batch_sequences::table
                    .filter(batch_sequences::file_type.eq(file_type))
                    .filter(batch_sequences::organisation_id.eq_any(chunk)),
            )
            .execute(conn)?;
        }
    }
    let sequences: Vec<Sequence> = files
        .iter()
        .map(|f| Sequence {
            organisation_id: f.organisation_id,
            file_type: &f.file_type,
            last_sequence: f.sequence_number,
        })
        .collect();
    super::insert_rows!(conn, batch_sequences::table, sequences, 500);
    super::insert_rows!(conn, batch_files::table, files, 500);
    Ok(())
}

/// The files of a run, by receiver.
pub fn files_of(conn: &mut DbConnection, day: NaiveDate) -> StoreResult<Vec<FileRow>> {
    Ok(batch_files::table
        .filter(batch_files::reference_date.eq(day))
        .order(batch_files::id)
        .select(FileRow::as_select())
        .load(conn)?)
}

/// The last file of each subscription that has one.
pub fn last_files(conn: &mut DbConnection) -> StoreResult<Vec<FileRow>> {
    let last: Vec<Option<i32>> = batch_files::table
        .group_by(batch_files::subscription_id)
        .select(max(batch_files::id))
        .load(conn)?;
    let ids: Vec<i32> = last.into_iter().flatten().collect();
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        rows.extend(
            batch_files::table
                .filter(batch_files::id.eq_any(chunk))
                .select(FileRow::as_select())
                .load(conn)?,
        );
    }
    rows.sort_by_key(|r| r.subscription_id);
    Ok(rows)
}

/// Records what was written of files and finishes the run (in the caller's transaction).
pub fn finish(
    conn: &mut DbConnection,
    day: NaiveDate,
    written: &[Written],
    at: NaiveDateTime,
) -> StoreResult<()> {
    let postgres = matches!(conn, DbConnection::Postgres(_));
    if let DbConnection::Postgres(pg) = conn {
        // One statement per 1 000 files rather than a round trip per file. Only numbers and
        // hexadecimal digests are spliced in (checked), never text from outside.
        for chunk in written.chunks(1000) {
            let mut values = Vec::with_capacity(chunk.len());
            for w in chunk {
                if w.sha256.len() != 64 || !w.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(StoreError::Corrupt(format!("digest {:?}", w.sha256)));
                }
                values.push(format!(
                    "({}, {}, {}, '{}')",
                    w.file_id, w.records, w.size, w.sha256
                ));
            }
            diesel::sql_query(format!(
                "UPDATE batch_files AS f SET records = v.records, size = v.size, sha256 = v.sha256, \
                 written_at = $1 FROM (VALUES {}) AS v (id, records, size, sha256) WHERE f.id = v.id",
                values.join(", ")
            ))
            .bind::<diesel::sql_types::Timestamp, _>(at)
            .execute(pg)?;
        }
    }
    for w in written.iter().filter(|_| !postgres) {
        diesel::update(batch_files::table.find(w.file_id))
            .set((
                batch_files::records.eq(w.records),
                batch_files::size.eq(w.size),
                batch_files::sha256.eq(&w.sha256),
                batch_files::written_at.eq(at),
            ))
            .execute(conn)?;
    }
    // A sum of BIGINT is NUMERIC on PostgreSQL: added here instead.
    let counts: Vec<Option<i64>> = batch_files::table
        .filter(batch_files::reference_date.eq(day))
        .select(batch_files::records)
        .load(conn)?;
    let files = counts.len() as i32;
    let records: i64 = counts.iter().flatten().sum();
    diesel::update(batch_runs::table.find(day))
        .set((
            batch_runs::finished_at.eq(at),
            batch_runs::files.eq(files),
            batch_runs::records.eq(records),
        ))
        .execute(conn)?;
    Ok(())
}

/// A register line of a person a journal entry or a declaration is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Queryable)]
pub struct Route {
    pub organisation_id: i32,
    pub seq: i64,
    pub dossier_type_id: i32,
}

/// The kinds of journal entries routed by the register lines that contain the day.
const ROUTED_BY_LINES: [MutationKind; 3] = [
    MutationKind::IdentityChanged,
    MutationKind::Deceased,
    MutationKind::SsinCanceled,
];

/// The kinds a PERSON_MUTATIONS file reports.
pub const REPORTED: [MutationKind; 4] = [
    MutationKind::IdentityChanged,
    MutationKind::Deceased,
    MutationKind::SsinCanceled,
    MutationKind::RegisterReplacement,
];

fn kind_names(kinds: &[MutationKind]) -> Vec<&'static str> {
    kinds.iter().map(|k| k.as_str()).collect()
}

/// For the journal entries `after < seq ≤ upto` about a person (identity changes, deceases,
/// cancellations), every register line of the person whose period contains `day`.
pub fn person_routes(
    conn: &mut DbConnection,
    after: i64,
    upto: i64,
    day: NaiveDate,
) -> StoreResult<Vec<Route>> {
    Ok(mutation_journal::table
        .inner_join(relations::table.on(relations::ssin.eq(mutation_journal::ssin)))
        .filter(mutation_journal::seq.gt(after))
        .filter(mutation_journal::seq.le(upto))
        .filter(mutation_journal::kind.eq_any(kind_names(&ROUTED_BY_LINES)))
        .filter(relations::begin_date.le(day))
        .filter(
            relations::end_date
                .is_null()
                .or(relations::end_date.ge(day)),
        )
        .select((
            relations::organisation_id,
            mutation_journal::seq,
            relations::dossier_type_id,
        ))
        .load(conn)?)
}

/// For the declarations `after < seq ≤ upto`, every register line of the worker whose
/// period overlaps the declared period.
pub fn dimona_routes(conn: &mut DbConnection, after: i64, upto: i64) -> StoreResult<Vec<Route>> {
    Ok(dimona_declarations::table
        .inner_join(relations::table.on(relations::ssin.eq(dimona_declarations::worker_ssin)))
        .filter(dimona_declarations::seq.gt(after))
        .filter(dimona_declarations::seq.le(upto))
        .filter(
            dimona_declarations::ends_on
                .is_null()
                .or(dimona_declarations::ends_on.ge(relations::begin_date.nullable())),
        )
        .filter(
            relations::end_date
                .is_null()
                .or(relations::end_date.ge(dimona_declarations::starts_on.nullable())),
        )
        .select((
            relations::organisation_id,
            dimona_declarations::seq,
            relations::dossier_type_id,
        ))
        .load(conn)?)
}

/// The reported journal entries `after < seq ≤ upto`, at most `limit`, by sequence number.
pub fn reported_entries(
    conn: &mut DbConnection,
    after: i64,
    upto: i64,
    limit: i64,
) -> StoreResult<Vec<JournalEntry>> {
    Ok(mutation_journal::table
        .filter(mutation_journal::seq.gt(after))
        .filter(mutation_journal::seq.le(upto))
        .filter(mutation_journal::kind.eq_any(kind_names(&REPORTED)))
        .order(mutation_journal::seq)
        .limit(limit)
        .select(JournalEntry::as_select())
        .load(conn)?)
}

/// A Dimona declaration as a run reads it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = dimona_declarations)]
pub struct DeclarationRow {
    pub seq: i64,
    pub recorded_at: NaiveDateTime,
    pub kind: String,
    pub period_id: i64,
    pub employer_cbe: Option<String>,
    pub employer_nsso: Option<String>,
    pub worker_ssin: String,
    pub starts_on: NaiveDate,
    pub start_hour: Option<String>,
    pub ends_on: Option<NaiveDate>,
    pub end_hour: Option<String>,
    pub joint_committee: String,
    pub worker_type: String,
    pub using_employer_cbe: Option<String>,
    pub planned_hours: Option<String>,
}

/// The declarations `after < seq ≤ upto`, at most `limit`, by sequence number.
pub fn declarations(
    conn: &mut DbConnection,
    after: i64,
    upto: i64,
    limit: i64,
) -> StoreResult<Vec<DeclarationRow>> {
    Ok(dimona_declarations::table
        .filter(dimona_declarations::seq.gt(after))
        .filter(dimona_declarations::seq.le(upto))
        .order(dimona_declarations::seq)
        .limit(limit)
        .select(DeclarationRow::as_select())
        .load(conn)?)
}
