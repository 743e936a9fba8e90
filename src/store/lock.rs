//! Locks of a write transaction. On PostgreSQL they are transaction-scoped advisory locks on
//! 64-bit keys; SQLite has one writer at a time, so they cost nothing there.
//!
//! Two kinds of keys:
//! - a register key (organisation, dossier type, person): writers of the same lines run one
//!   after the other;
//! - a person key: register changes take it shared (they need the number to stay active
//!   while they write), the authentic-source feed takes it exclusive before it cancels or
//!   replaces a number or moves lines onto it.
//!
//! Deadlock freedom: a register change takes its register key and then its person key in
//! one statement and takes nothing else; the feed takes only person keys (and the journal
//! lock, first) — so no transaction ever waits for a register key while holding a person key.

/// A lock to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Exclusive(i64),
    Shared(i64),
}

impl Lock {
    /// `pg_advisory_xact_lock(k)` or `pg_advisory_xact_lock_shared(k)`.
    pub fn sql(self) -> String {
        match self {
            Lock::Exclusive(key) => format!("pg_advisory_xact_lock({key})"),
            Lock::Shared(key) => format!("pg_advisory_xact_lock_shared({key})"),
        }
    }
}

/// A 64-bit key for some parts. FNV-1a: stable across builds and instances. A collision only
/// makes two keys wait for each other.
pub fn key(parts: &[&[u8]]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// The key of (organisation, dossier type code, person).
pub fn register_key(organisation_id: i32, code: &str, ssin: &str) -> i64 {
    key(&[
        &organisation_id.to_be_bytes(),
        code.as_bytes(),
        ssin.as_bytes(),
    ])
}

/// The key of a person.
pub fn person_key(ssin: &str) -> i64 {
    key(&[b"person", ssin.as_bytes()])
}

/// Takes `locks` inside the current write transaction (PostgreSQL; nothing to do on SQLite,
/// whose writer holds the whole database).
pub fn take(conn: &mut super::DbConnection, locks: &[Lock]) -> super::StoreResult<()> {
    use diesel::RunQueryDsl;
    if let (super::DbConnection::Postgres(pg), false) = (conn, locks.is_empty()) {
        let locks: Vec<String> = locks.iter().map(|l| l.sql()).collect();
        diesel::sql_query(format!("SELECT {}", locks.join(", "))).execute(pg)?;
    }
    Ok(())
}
