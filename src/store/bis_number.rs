//! What the attribution of a BIS number reads: the serials already used in a six-digit group
//! (`domain::bis_number`), whatever the century and the status (a canceled number keeps its
//! serial for ever).
//!
//! One range read on the persons' primary key: the numbers of group `YYMMDD` are the keys
//! from `'YYMMDD'` (inclusive) to the next group's six digits (exclusive) — digit strings,
//! so every collation orders them alike (and the key is `COLLATE "C"` on PostgreSQL). At most
//! 998 keys a group, whatever the population: an index seek and a short scan.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::schema::persons;
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::bis_number::Group;

/// The serials (`SSS`) of the numbers stored in `group`, in number order.
pub fn serials_used(conn: &mut DbConnection, group: Group) -> StoreResult<Vec<u16>> {
    let numbers: Vec<String> = persons::table
        .filter(persons::ssin.ge(group.digits()))
        .filter(persons::ssin.lt(group.next_digits()))
        .select(persons::ssin)
        .order(persons::ssin)
        .load(conn)?;
    numbers
        .iter()
        .map(|number| {
            number
                .get(6..9)
                .and_then(|serial| serial.parse::<u16>().ok())
                .ok_or_else(|| StoreError::Corrupt(format!("stored number {number}")))
        })
        .collect()
}

/// Whether `error` says a number was stored meanwhile by a writer that did not take the
/// journal's lock: the primary key refused the insert, the attribution may run again.
pub fn is_number_taken(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Query(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            _
        ))
    )
}
