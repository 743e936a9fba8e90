//! Applying a file of a source once (the authentic-source feed, Dimona), whole or not at all:
//! one transaction that takes the journal's lock first; a file known under its `fileId` with
//! the same digest changes nothing and its records are not read, another content under a
//! known `fileId` is refused; a new file's records are applied, the digest of the bytes read
//! must be the one computed beforehand (a file that changed in between is refused), and the
//! file is recorded in `applied_files` in the same transaction.

use crate::store::journal::{self, JournalLock};
use crate::store::{applied_file, Database, DbConnection, StoreError};

/// A file about to be applied.
pub(crate) struct SourceFile<'a> {
    /// The kind recorded in `applied_files` (`nr-mutations`, `dimona`).
    pub kind: &'static str,
    pub file_id: &'a str,
    /// The SHA-256 of the file computed beforehand, hex.
    pub digest: &'a str,
}

/// What reading a file's records to the end saw.
pub(crate) struct ReadToEnd {
    /// The SHA-256 of the bytes read, hex.
    pub digest: String,
    pub records: usize,
}

/// Applies `file` once: `None` if it was applied before (nothing changed), else what `apply`
/// made of its records. `apply` runs inside the transaction, after the journal's lock;
/// `refused` makes the error of a file refused as a whole.
pub(crate) fn apply_once<T, E: From<StoreError>>(
    db: &Database,
    file: SourceFile<'_>,
    refused: impl Fn(String) -> E,
    apply: impl FnOnce(&mut DbConnection, &JournalLock) -> Result<(T, ReadToEnd), E>,
) -> Result<Option<T>, E> {
    let file_id = file.file_id;
    db.write(|conn| {
        let journal_lock = journal::lock(conn)?;
        match applied_file::digest_of(conn, file_id)? {
            Some(known) if known == file.digest => return Ok(None),
            Some(_) => {
                return Err(refused(format!(
                    "the file {file_id} was already applied with another content: a corrected file needs a new fileId"
                )))
            }
            None => {}
        }
        let (applied, read) = apply(conn, &journal_lock)?;
        if read.digest != file.digest {
            return Err(refused(format!(
                "the file {file_id} changed while it was read"
            )));
        }
        let count = i64::try_from(read.records).unwrap_or(i64::MAX);
        applied_file::record(conn, file_id, file.kind, file.digest, count)?;
        Ok(Some(applied))
    })
}
