//! The mutation journal: every change of the authentic source and every register change it
//! causes, with a sequence number that only grows. A person's history is its entries; the
//! daily files read the journal from the last sequence number they delivered.
//!
//! Invariant: entries become visible in sequence order. On PostgreSQL a sequence alone does
//! not ensure it (a transaction can commit after a later number's), so every appending
//! transaction first takes one advisory lock, held until it commits. SQLite has one writer.

use diesel::prelude::*;

use super::schema::mutation_journal;
use super::{DbConnection, StoreResult};

/// The advisory lock of the journal (PostgreSQL): an arbitrary constant of raas's own.
const JOURNAL_LOCK: i64 = 0x7261_6173_6a6f_7572; // "raasjour"

/// What a journal entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutationKind {
    /// A number appeared in the source.
    PersonCreated,
    /// Identity data changed (the entry lists the fields).
    IdentityChanged,
    /// The person died.
    Deceased,
    /// The number was canceled and replaced by `new_ssin`.
    SsinReplaced,
    /// The number was canceled without a replacement.
    SsinCanceled,
    /// An organisation's register lines of `ssin` moved to `new_ssin` (`changes`: the lines
    /// moved and the lines of `new_ssin` after the merge, per dossier type).
    RegisterReplacement,
    /// A Dimona declaration about the worker `ssin` was applied (`changes`: the declaration).
    DimonaDeclared,
}

impl MutationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MutationKind::PersonCreated => "PERSON_CREATED",
            MutationKind::IdentityChanged => "IDENTITY_CHANGED",
            MutationKind::Deceased => "DECEASED",
            MutationKind::SsinReplaced => "SSIN_REPLACED",
            MutationKind::SsinCanceled => "SSIN_CANCELED",
            MutationKind::RegisterReplacement => "REGISTER_REPLACEMENT",
            MutationKind::DimonaDeclared => "DIMONA_DECLARED",
        }
    }
}

/// An entry to append.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = mutation_journal)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewJournalEntry {
    pub recorded_at: chrono::NaiveDateTime,
    /// Who made the change: `nr-mutations:<fileId>:<recordId>`,
    /// `PersonIdentificationService:<cbe number>:<ticket>`, …
    pub source: String,
    pub kind: String,
    pub ssin: String,
    pub new_ssin: Option<String>,
    pub organisation_id: Option<i32>,
    /// The changed fields, JSON: `[{"field":…,"before":…,"after":…}]`.
    pub changes: Option<String>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = mutation_journal)]
pub struct JournalEntry {
    pub seq: i64,
    pub recorded_at: chrono::NaiveDateTime,
    pub source: String,
    pub kind: String,
    pub ssin: String,
    pub new_ssin: Option<String>,
    pub organisation_id: Option<i32>,
    pub changes: Option<String>,
}

impl NewJournalEntry {
    pub fn new(kind: MutationKind, ssin: &str, source: &str) -> NewJournalEntry {
        NewJournalEntry {
            recorded_at: super::now(),
            source: source.to_string(),
            kind: kind.as_str().to_string(),
            ssin: ssin.to_string(),
            new_ssin: None,
            organisation_id: None,
            changes: None,
        }
    }

    /// Lists changed fields in the entry.
    pub fn with_changes(mut self, changes: &[crate::domain::FieldChange]) -> NewJournalEntry {
        let json: Vec<serde_json::Value> = changes
            .iter()
            .map(|c| serde_json::json!({"field": c.field, "before": c.before, "after": c.after}))
            .collect();
        self.changes = Some(serde_json::Value::Array(json).to_string());
        self
    }
}

/// Takes the journal's lock for the rest of the caller's write transaction. A transaction
/// that appends takes it before any other lock or row change of the authentic source, so
/// that no two appending transactions wait for each other in opposite orders.
pub fn lock(conn: &mut DbConnection) -> StoreResult<JournalLock> {
    super::lock::take(conn, &[super::lock::Lock::Exclusive(JOURNAL_LOCK)])?;
    Ok(JournalLock(()))
}

/// Proof that the current write transaction holds the journal's lock: only [`lock`] makes
/// one, and [`append`] wants one, so no entry is appended without the lock and the lock is
/// taken once per transaction, not once per entry.
#[derive(Debug)]
pub struct JournalLock(());

/// Appends entries in the caller's write transaction, in order (see [`super::insert_rows`]:
/// a multi-row statement's rows take their sequence numbers in the order given).
pub fn append(
    conn: &mut DbConnection,
    _held: &JournalLock,
    entries: &[NewJournalEntry],
) -> StoreResult<()> {
    super::insert_rows!(conn, mutation_journal::table, entries, 512);
    Ok(())
}

/// The entries of one number, oldest first: its history.
pub fn history(conn: &mut DbConnection, ssin: &str) -> StoreResult<Vec<JournalEntry>> {
    Ok(mutation_journal::table
        .filter(mutation_journal::ssin.eq(ssin))
        .order(mutation_journal::seq)
        .select(JournalEntry::as_select())
        .load(conn)?)
}

/// Entries after `seq`, oldest first, at most `limit`.
pub fn since(conn: &mut DbConnection, seq: i64, limit: i64) -> StoreResult<Vec<JournalEntry>> {
    Ok(mutation_journal::table
        .filter(mutation_journal::seq.gt(seq))
        .order(mutation_journal::seq)
        .limit(limit)
        .select(JournalEntry::as_select())
        .load(conn)?)
}
