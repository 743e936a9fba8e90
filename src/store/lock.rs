//! Locks of a write transaction. On PostgreSQL they are transaction-scoped advisory locks on
//! 64-bit keys; SQLite has one writer at a time, so they cost nothing there.
//!
//! Two kinds of keys:
//! - a register key (organisation, dossier type, person): writers of the same lines run one
//!   after the other;
//! - a person bucket: the numbers are spread over [`PERSON_BUCKETS`] buckets by a hash of the
//!   NISS. Register changes take their number's bucket shared (they need the number to stay
//!   active while they write); the authentic-source feed takes a number's bucket exclusive
//!   before it cancels or replaces the number or moves lines onto it, and keeps it until it
//!   commits. A feed therefore holds at most [`PERSON_BUCKETS`] advisory locks whatever its
//!   size (a lock per person ran PostgreSQL's shared lock table out of memory past ~10 000
//!   records with the default `max_locks_per_transaction = 64`), and takes each bucket once
//!   ([`BucketSet`]). The price: a register change waits for a feed that changed any number
//!   of its bucket, not only its own number.
//!
//! Deadlock freedom: a register change takes its register key and then its bucket in one
//! statement and takes nothing else; the feed takes only buckets (after the journal lock,
//! which it takes first) — so no transaction ever waits for a register key while holding a
//! bucket, and two feeds never hold buckets at once (the journal lock orders them).

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

/// How many buckets the persons are spread over: the most person locks a transaction holds.
/// PostgreSQL's shared lock table has room for `max_locks_per_transaction × max_connections`
/// (6 400 by default) locks in all, so 1 024 leave room for every other transaction.
pub const PERSON_BUCKETS: u64 = 1024;

/// The key of a person's bucket: all keys lie in a range of their own.
pub fn person_key(ssin: &str) -> i64 {
    let hash = u64::from_ne_bytes(key(&[b"person", ssin.as_bytes()]).to_ne_bytes());
    PERSON_BUCKET_BASE + i64::try_from(hash % PERSON_BUCKETS).unwrap_or(0)
}

/// The first bucket key: an arbitrary constant of raas's own ("raasprs" and a zero byte).
const PERSON_BUCKET_BASE: i64 = 0x7261_6173_7072_7300;

/// The person buckets a feed's transaction already holds exclusive: each is taken once.
#[derive(Debug, Default)]
pub struct BucketSet {
    held: std::collections::HashSet<i64>,
}

impl BucketSet {
    /// Takes the buckets of `ssins` not held yet, exclusive, in one statement, in key order.
    pub fn take(
        &mut self,
        conn: &mut super::DbConnection,
        ssins: &[&str],
    ) -> super::StoreResult<()> {
        let mut missing: Vec<i64> = ssins
            .iter()
            .map(|s| person_key(s))
            .filter(|k| !self.held.contains(k))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let locks: Vec<Lock> = missing.iter().map(|k| Lock::Exclusive(*k)).collect();
        take(conn, &locks)?;
        self.held.extend(missing);
        Ok(())
    }

    /// How many buckets are held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_keys_fall_in_a_fixed_number_of_buckets() {
        let keys: std::collections::HashSet<i64> = (0..100_000u32)
            .map(|i| person_key(&format!("{i:011}")))
            .collect();
        assert_eq!(keys.len(), PERSON_BUCKETS as usize);
        let last = PERSON_BUCKET_BASE + PERSON_BUCKETS as i64 - 1;
        assert!(keys.iter().all(|k| (PERSON_BUCKET_BASE..=last).contains(k)));
        assert_ne!(person_key("85073003328"), person_key("98472899765"));
    }
}
