//! The daily runs and the files they made: what a run covers (journal and Dimona sequence
//! numbers), each file's sequence number, and what was written.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::batch_runs;
use super::{DbConnection, StoreResult};

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
