//! The audit trail: one entry per call, refused ones included. Entries are only ever appended.

use diesel::prelude::*;

use super::schema::audit_entries;
use super::{DbConnection, StoreResult};

/// One call as it is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable, Selectable)]
#[diesel(table_name = audit_entries)]
// Absent values are bound as NULL rather than written as DEFAULT, so every insert has the
// same shape and its prepared statement is reused.
#[diesel(treat_none_as_default_value = false)]
pub struct AuditEntry {
    pub recorded_at: chrono::NaiveDateTime,
    pub service: String,
    pub operation: String,
    pub organisation_id: Option<i32>,
    pub claimed_cbe_number: Option<String>,
    pub username: Option<String>,
    pub ssin: Option<String>,
    pub legal_context: Option<String>,
    pub client_ticket: Option<String>,
    pub server_ticket: String,
    pub outcome: String,
    /// What the call was about beyond a person (`delivery:42`), when anything.
    pub target: Option<String>,
}

/// Appends entries (in the caller's transaction, if any). On PostgreSQL one multi-row
/// statement per chunk, so a batch costs one round trip; SQLite runs in-process, where a
/// statement per entry costs no round trip.
pub fn append(conn: &mut DbConnection, entries: &[AuditEntry]) -> StoreResult<()> {
    match conn {
        // One entry (a write's own): the single-row statement, prepared once.
        DbConnection::Postgres(pg) if entries.len() == 1 => {
            diesel::insert_into(audit_entries::table)
                .values(&entries[0])
                .execute(pg)?;
        }
        DbConnection::Postgres(pg) => {
            // 12 parameters an entry: well below PostgreSQL's limit of 65535 a statement.
            for chunk in entries.chunks(512) {
                diesel::insert_into(audit_entries::table)
                    .values(chunk)
                    .execute(pg)?;
            }
        }
        DbConnection::Sqlite(sqlite) => {
            for entry in entries {
                diesel::insert_into(audit_entries::table)
                    .values(entry)
                    .execute(sqlite)?;
            }
        }
    }
    Ok(())
}

/// The most recent entries about one person, newest first.
pub fn latest_for_ssin(
    conn: &mut DbConnection,
    ssin: &str,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    Ok(audit_entries::table
        .filter(audit_entries::ssin.eq(ssin))
        .order(audit_entries::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)?)
}

/// The most recent entries, newest first.
pub fn latest(conn: &mut DbConnection, limit: i64) -> StoreResult<Vec<AuditEntry>> {
    Ok(audit_entries::table
        .order(audit_entries::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)?)
}
