//! Subscriptions to the daily files and the dossier types they are limited to.

use chrono::NaiveDate;

use super::{DbConnection, StoreResult};
use crate::domain::Subscription;

/// Every subscription whose days include `day` (`starts_on ≤ day ≤ ends_on`), of every
/// organisation, ordered by id.
pub fn active_on(_conn: &mut DbConnection, _day: NaiveDate) -> StoreResult<Vec<Subscription>> {
    Ok(Vec::new())
}
