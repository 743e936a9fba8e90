//! The Dimona source: the current state of each Dimona period (`dimona_periods`) and one row
//! per applied declaration with the period as it stood after it (`dimona_declarations`, a
//! CANCEL: as it was), whose `seq` the daily run reads by ranges. Declarations are written
//! by transactions holding the journal's lock, so their `seq` become visible in order.
//!
//! Every statement here works on up to 512 rows at a time, so a file of 50 000 declarations
//! takes about a hundred statements per table.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::schema::{dimona_declarations, dimona_periods, persons};
use super::{DbConnection, StoreError, StoreResult};
use crate::dimona::{Employer, Hour, Kind, Period, PeriodStatus};
use crate::domain::{EnterpriseNumber, Niss, PersonStatus};

/// Rows per statement: 17 parameters a row at most, within both backends' limits.
const CHUNK: usize = 512;

/// A period as stored, with its status and version (1 for the IN, +1 a declaration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPeriod {
    pub period: Period,
    pub status: PeriodStatus,
    pub version: i32,
}

/// The columns of a period, the same in `dimona_periods` and `dimona_declarations` (public
/// only as a part of [`DeclarationRow`]).
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable)]
#[diesel(table_name = dimona_periods)]
#[diesel(table_name = dimona_declarations)]
#[diesel(treat_none_as_default_value = false)]
pub struct PeriodColumns {
    period_id: i64,
    employer_cbe: Option<String>,
    employer_nsso: Option<String>,
    worker_ssin: String,
    starts_on: NaiveDate,
    start_hour: Option<String>,
    ends_on: Option<NaiveDate>,
    end_hour: Option<String>,
    joint_committee: String,
    worker_type: String,
    using_employer_cbe: Option<String>,
    planned_hours: Option<String>,
}

/// One row of `dimona_periods`.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = dimona_periods)]
#[diesel(treat_none_as_default_value = false)]
struct PeriodRow {
    #[diesel(embed)]
    period: PeriodColumns,
    status: String,
    version: i32,
    updated_at: NaiveDateTime,
}

/// One row of `dimona_declarations` (its `seq` comes from the database).
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = dimona_declarations)]
#[diesel(treat_none_as_default_value = false)]
pub struct DeclarationRow {
    recorded_at: NaiveDateTime,
    file_id: String,
    record_id: String,
    kind: String,
    #[diesel(embed)]
    period: PeriodColumns,
}

impl DeclarationRow {
    /// The row of a declaration of `kind` by record `record_id` of file `file_id`, with
    /// `period` as it stands after it (a CANCEL: as it was).
    pub fn new(
        file_id: &str,
        record_id: &str,
        kind: Kind,
        period: &Period,
        recorded_at: NaiveDateTime,
    ) -> DeclarationRow {
        DeclarationRow {
            recorded_at,
            file_id: file_id.to_string(),
            record_id: record_id.to_string(),
            kind: kind.as_str().to_string(),
            period: PeriodColumns::new(period),
        }
    }
}

impl PeriodRow {
    fn new(stored: &StoredPeriod, updated_at: NaiveDateTime) -> PeriodRow {
        PeriodRow {
            period: PeriodColumns::new(&stored.period),
            status: stored.status.as_str().to_string(),
            version: stored.version,
            updated_at,
        }
    }
}

impl PeriodColumns {
    fn new(period: &Period) -> PeriodColumns {
        let (employer_cbe, employer_nsso) = match &period.employer {
            Employer::Enterprise(number) => (Some(number.to_string()), None),
            Employer::Nsso(number) => (None, Some(number.clone())),
        };
        PeriodColumns {
            period_id: period.period_id,
            employer_cbe,
            employer_nsso,
            worker_ssin: period.worker.as_str().to_string(),
            starts_on: period.start_date,
            start_hour: period.start_hour.map(|h| h.to_string()),
            ends_on: period.end_date,
            end_hour: period.end_hour.map(|h| h.to_string()),
            joint_committee: period.joint_committee.clone(),
            worker_type: period.worker_type.clone(),
            using_employer_cbe: period.using_employer.map(|n| n.to_string()),
            planned_hours: period.planned_hours.clone(),
        }
    }

    /// The period these columns hold, with the row's status and version; a row that does
    /// not read back is a storage fault.
    fn read(self, status: &str, version: i32) -> StoreResult<StoredPeriod> {
        let id = self.period_id;
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("Dimona period {id}: unreadable {what}"));
        let cbe = |s: &str| EnterpriseNumber::parse(s).map_err(|_| corrupt("enterprise number"));
        let hour = |s: &str| Hour::parse(s).ok_or_else(|| corrupt("hour"));
        let employer = match (self.employer_cbe, self.employer_nsso) {
            (Some(number), None) => Employer::Enterprise(cbe(&number)?),
            (None, Some(number)) => Employer::Nsso(number),
            _ => return Err(corrupt("employer")),
        };
        let status = match status {
            "ACTIVE" => PeriodStatus::Active,
            "CANCELED" => PeriodStatus::Canceled,
            _ => return Err(corrupt("status")),
        };
        Ok(StoredPeriod {
            period: Period {
                period_id: id,
                employer,
                // Stored numbers were valid when written; no birth date bound applies.
                worker: Niss::parse(&self.worker_ssin, NaiveDate::MAX)
                    .map_err(|_| corrupt("worker number"))?,
                start_date: self.starts_on,
                start_hour: self.start_hour.as_deref().map(hour).transpose()?,
                end_date: self.ends_on,
                end_hour: self.end_hour.as_deref().map(hour).transpose()?,
                joint_committee: self.joint_committee,
                worker_type: self.worker_type,
                using_employer: self.using_employer_cbe.as_deref().map(cbe).transpose()?,
                planned_hours: self.planned_hours,
            },
            status,
            version,
        })
    }
}

/// Makes PostgreSQL plan each statement of the current transaction for its own parameters.
/// A file's transaction looks periods up by id hundreds of times while it inserts them: a
/// generic plan, cached while the table was small, would keep scanning the whole table as
/// it grows (seconds per 50 000 declarations) instead of using its primary key.
pub fn plan_per_statement(conn: &mut DbConnection) -> StoreResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan").execute(pg)?;
    }
    Ok(())
}

/// The stored periods among `ids` (in no particular order).
pub fn find_periods(conn: &mut DbConnection, ids: &[i64]) -> StoreResult<Vec<StoredPeriod>> {
    use dimona_periods::dsl as p;
    let mut found = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(PeriodColumns, String, i32)> = dimona_periods::table
            .filter(p::period_id.eq_any(chunk))
            .select((
                (
                    p::period_id,
                    p::employer_cbe,
                    p::employer_nsso,
                    p::worker_ssin,
                    p::starts_on,
                    p::start_hour,
                    p::ends_on,
                    p::end_hour,
                    p::joint_committee,
                    p::worker_type,
                    p::using_employer_cbe,
                    p::planned_hours,
                ),
                p::status,
                p::version,
            ))
            .load(conn)?;
        for (columns, status, version) in rows {
            found.push(columns.read(&status, version)?);
        }
    }
    Ok(found)
}

/// Writes periods as they are now: new ones inserted, known ones rewritten (each period
/// once in `periods`), one statement per 512.
pub fn save_periods(
    conn: &mut DbConnection,
    periods: &[StoredPeriod],
    updated_at: NaiveDateTime,
) -> StoreResult<()> {
    use dimona_periods::dsl as p;
    for chunk in periods.chunks(CHUNK) {
        let rows: Vec<PeriodRow> = chunk
            .iter()
            .map(|s| PeriodRow::new(s, updated_at))
            .collect();
        let columns = (
            p::employer_cbe.eq(excluded(p::employer_cbe)),
            p::employer_nsso.eq(excluded(p::employer_nsso)),
            p::worker_ssin.eq(excluded(p::worker_ssin)),
            p::starts_on.eq(excluded(p::starts_on)),
            p::start_hour.eq(excluded(p::start_hour)),
            p::ends_on.eq(excluded(p::ends_on)),
            p::end_hour.eq(excluded(p::end_hour)),
            p::joint_committee.eq(excluded(p::joint_committee)),
            p::worker_type.eq(excluded(p::worker_type)),
            p::using_employer_cbe.eq(excluded(p::using_employer_cbe)),
            p::planned_hours.eq(excluded(p::planned_hours)),
            p::status.eq(excluded(p::status)),
            p::version.eq(excluded(p::version)),
            p::updated_at.eq(excluded(p::updated_at)),
        );
        match conn {
            DbConnection::Postgres(pg) => diesel::insert_into(dimona_periods::table)
                .values(&rows)
                .on_conflict(p::period_id)
                .do_update()
                .set(columns)
                .execute(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::insert_into(dimona_periods::table)
                .values(&rows)
                .on_conflict(p::period_id)
                .do_update()
                .set(columns)
                .execute(sqlite)?,
        };
    }
    Ok(())
}

/// Appends declarations, in order (their `seq` follow the order given), one statement per
/// 512. The caller holds the journal's lock.
pub fn insert_declarations(conn: &mut DbConnection, rows: &[DeclarationRow]) -> StoreResult<()> {
    for chunk in rows.chunks(CHUNK) {
        match conn {
            DbConnection::Postgres(pg) => diesel::insert_into(dimona_declarations::table)
                .values(chunk)
                .execute(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::insert_into(dimona_declarations::table)
                .values(chunk)
                .execute(sqlite)?,
        };
    }
    Ok(())
}

/// The statuses of the numbers among `ssins` the source knows (in no particular order): what
/// a declaration's worker is checked against, 512 numbers a statement.
pub fn worker_statuses(
    conn: &mut DbConnection,
    ssins: &[String],
) -> StoreResult<Vec<(String, PersonStatus)>> {
    let mut found = Vec::with_capacity(ssins.len());
    for chunk in ssins.chunks(CHUNK) {
        let rows: Vec<(String, String, Option<String>)> = persons::table
            .filter(persons::ssin.eq_any(chunk))
            .select((persons::ssin, persons::status, persons::replaced_by))
            .load(conn)?;
        for (ssin, status, replaced_by) in rows {
            let status = super::person::read_status(&ssin, &status, replaced_by.as_deref())?;
            found.push((ssin, status));
        }
    }
    Ok(found)
}
