//! Files of the authentic source already applied, by their own identifier: applying one again
//! changes nothing.

use diesel::prelude::*;

use super::schema::applied_files;
use super::{now, DbConnection, StoreResult};

/// The digest under which a file was applied, if it was.
pub fn digest_of(conn: &mut DbConnection, file_id: &str) -> StoreResult<Option<String>> {
    Ok(applied_files::table
        .find(file_id)
        .select(applied_files::digest)
        .first(conn)
        .optional()?)
}

/// Records a file as applied (in the transaction that applied it).
pub fn record(
    conn: &mut DbConnection,
    file_id: &str,
    kind: &str,
    digest: &str,
    records: i64,
) -> StoreResult<()> {
    diesel::insert_into(applied_files::table)
        .values((
            applied_files::file_id.eq(file_id),
            applied_files::kind.eq(kind),
            applied_files::digest.eq(digest),
            applied_files::records.eq(records),
            applied_files::applied_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}
