//! Applying a Dimona file: the whole file in one transaction, declarations in order.
//!
//! - A file is identified by its `fileId`: applied once; applying it again changes nothing;
//!   another content under a known `fileId` is refused.
//! - Any refused declaration refuses the whole file; the error names the record and the
//!   reason: an OUT, UPDATE or CANCEL of a period unknown or canceled, an IN of a period id
//!   known already, an IN whose worker is not an active number of the source (a replaced
//!   one is named with its final number), a period that would end before it starts.
//! - Each declaration updates its period (`dimona_periods`: status, version), adds a row to
//!   `dimona_declarations` with the period as it stands after it (a CANCEL: as it was) and
//!   appends a `DIMONA_DECLARED` entry about the worker to the mutation journal.
//!
//! The file is streamed (its SHA-256 computed in a first pass, then again while it is read:
//! a file that changed in between is refused) and applied 512 declarations at a time: one
//! statement reads the workers of the batch, one the periods it names, then its declarations
//! are checked in order against them and the periods changed so far in the batch, and the
//! periods, declarations and journal entries are written in one multi-row statement each.
//! Periods changed by an earlier batch are read back from the transaction, so memory does
//! not grow with the file.
//!
//! Locking: the journal's lock first, before any other statement: Dimona files and feeds run
//! one at a time, and `dimona_declarations.seq` (like the journal's) become visible in commit
//! order, so the daily run that reads them by ranges misses none. A worker's status is read
//! inside that transaction: the feeds that cancel or replace numbers wait for the same lock.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use chrono::{NaiveDate, NaiveDateTime};

use super::source_file::{apply_once, ReadToEnd, SourceFile};
use crate::dimona::read::{DimonaReader, ReadError};
use crate::dimona::{Declaration, Kind, PeriodStatus, Record};
use crate::domain::PersonStatus;
use crate::store::dimona::{self as store, DeclarationRow, StoredPeriod};
use crate::store::journal::{self, JournalLock, MutationKind, NewJournalEntry};
use crate::store::{now, person, Database, DbConnection, StoreError};

/// What applying a file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DimonaReport {
    pub file_id: String,
    pub records: usize,
    /// The file had been applied before: nothing changed.
    pub already_applied: bool,
    pub ins: usize,
    pub outs: usize,
    pub updates: usize,
    pub cancels: usize,
}

/// Why a file was refused (nothing of it is stored).
#[derive(Debug, thiserror::Error)]
pub enum DimonaError {
    /// A declaration cannot be applied.
    #[error("{record}: {reason}")]
    Record { record: String, reason: String },
    /// The file as a whole: applied before with another content, changed while read.
    #[error("{0}")]
    File(String),
    /// The file does not fit Dimona.xsd.
    #[error("{0}")]
    Read(#[from] ReadError),
    /// The file cannot be read at all.
    #[error("cannot read {path}: {error}")]
    Unreadable { path: String, error: String },
    /// The database failed; [`StoreError::is_unavailable`] tells whether to try again later.
    #[error("{0}")]
    Storage(#[from] StoreError),
}

/// The kind recorded for Dimona files in `applied_files`.
const FILE_KIND: &str = "dimona";

/// How many declarations are checked and written together.
const BATCH: usize = 512;

/// Applies the file `records` reads, whole or not at all. `digest` is the SHA-256 of the file
/// computed beforehand ([`crate::feed::read::digest`]): a file known under its `fileId` with
/// this digest changes nothing and its records are not read. (`today`, the day the file is
/// applied, bounded the worker numbers' birth dates when `records` was opened.)
pub fn apply<R: BufRead>(
    db: &Database,
    digest: &str,
    mut records: DimonaReader<R>,
    _today: NaiveDate,
) -> Result<DimonaReport, DimonaError> {
    let file_id = records.file_id().to_string();
    let file = SourceFile {
        kind: FILE_KIND,
        file_id: &file_id,
        digest,
    };
    let applied = apply_once(db, file, DimonaError::File, |conn, journal_lock| {
        let mut report = DimonaReport {
            file_id: file_id.clone(),
            ..DimonaReport::default()
        };
        store::plan_per_statement(conn)?;
        let mut batch = Batch {
            conn: &mut *conn,
            journal_lock,
            file_id: &file_id,
            at: now(),
            report: &mut report,
            records: Vec::with_capacity(BATCH),
        };
        for record in records.by_ref() {
            match record {
                Ok(record) => batch.push(record)?,
                // A refusal of an earlier record, still in the batch, comes first.
                Err(e) => {
                    batch.flush()?;
                    return Err(e.into());
                }
            }
        }
        batch.flush()?;
        report.records = records.records();
        let read = ReadToEnd {
            digest: records.digest(),
            records: records.records(),
        };
        Ok((report, read))
    })?;
    Ok(applied.unwrap_or_else(|| DimonaReport {
        file_id,
        already_applied: true,
        ..DimonaReport::default()
    }))
}

/// Declarations read and not yet applied.
struct Batch<'a> {
    conn: &'a mut DbConnection,
    journal_lock: &'a JournalLock,
    file_id: &'a str,
    at: NaiveDateTime,
    report: &'a mut DimonaReport,
    records: Vec<Record>,
}

/// A period of the batch: as stored or as the batch made it, and whether it must be written.
struct Slot {
    stored: StoredPeriod,
    changed: bool,
}

impl Batch<'_> {
    fn push(&mut self, record: Record) -> Result<(), DimonaError> {
        self.records.push(record);
        if self.records.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Checks the waiting declarations in order and writes them; refuses (naming its
    /// record) the first one that cannot be applied.
    fn flush(&mut self) -> Result<(), DimonaError> {
        if self.records.is_empty() {
            return Ok(());
        }
        let records = std::mem::take(&mut self.records);
        let workers = self.workers(&records)?;
        let mut ids: Vec<i64> = records.iter().map(|r| r.declaration.period_id()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut periods: HashMap<i64, Slot> = store::find_periods(self.conn, &ids)?
            .into_iter()
            .map(|stored| {
                let slot = Slot {
                    stored,
                    changed: false,
                };
                (slot.stored.period.period_id, slot)
            })
            .collect();
        let mut rows = Vec::with_capacity(records.len());
        let mut entries = Vec::with_capacity(records.len());
        for record in &records {
            let (kind, row) = self
                .declare(record, &workers, &mut periods)
                .map_err(|refusal| match refusal {
                    Refusal::Reason(reason) => DimonaError::Record {
                        record: record.name(),
                        reason,
                    },
                    Refusal::Storage(e) => DimonaError::Storage(e),
                })?;
            let source = format!("{FILE_KIND}:{}:{}", self.file_id, record.id);
            let mut entry = NewJournalEntry::new(MutationKind::DimonaDeclared, &row.0, &source);
            entry.recorded_at = self.at;
            entry.changes = Some(record.declaration.to_json().to_string());
            entries.push(entry);
            rows.push(row.1);
            match kind {
                Kind::In => self.report.ins += 1,
                Kind::Out => self.report.outs += 1,
                Kind::Update => self.report.updates += 1,
                Kind::Cancel => self.report.cancels += 1,
            }
        }
        let mut changed: Vec<StoredPeriod> = periods
            .into_values()
            .filter(|slot| slot.changed)
            .map(|slot| slot.stored)
            .collect();
        changed.sort_unstable_by_key(|s| s.period.period_id);
        store::save_periods(self.conn, &changed, self.at)?;
        store::insert_declarations(self.conn, &rows)?;
        journal::append(self.conn, self.journal_lock, &entries)?;
        Ok(())
    }

    /// The statuses of the workers the INs of `records` name.
    fn workers(&mut self, records: &[Record]) -> Result<HashMap<String, PersonStatus>, StoreError> {
        let ssins: HashSet<String> = records
            .iter()
            .filter_map(|r| match &r.declaration {
                Declaration::In(period) => Some(period.worker.as_str().to_string()),
                _ => None,
            })
            .collect();
        let ssins: Vec<String> = ssins.into_iter().collect();
        Ok(store::worker_statuses(self.conn, &ssins)?
            .into_iter()
            .collect())
    }

    /// Applies one declaration to `periods`; gives its kind, its worker's number and its row.
    fn declare(
        &mut self,
        record: &Record,
        workers: &HashMap<String, PersonStatus>,
        periods: &mut HashMap<i64, Slot>,
    ) -> Result<(Kind, (String, DeclarationRow)), Refusal> {
        let declaration = &record.declaration;
        let id = declaration.period_id();
        let kind = declaration.kind();
        if let Declaration::In(period) = declaration {
            if periods.contains_key(&id) {
                return refuse(format!("the period {id} exists already"));
            }
            self.check_worker(period.worker.as_str(), workers)?;
            let stored = StoredPeriod {
                period: period.clone(),
                status: PeriodStatus::Active,
                version: 1,
            };
            let row = self.row(record, kind, &stored);
            periods.insert(
                id,
                Slot {
                    stored,
                    changed: true,
                },
            );
            return Ok((kind, row));
        }
        let Some(slot) = periods.get_mut(&id) else {
            return refuse(format!("the period {id} is unknown"));
        };
        if slot.stored.status == PeriodStatus::Canceled {
            return refuse(format!("the period {id} is canceled"));
        }
        let before = slot.stored.clone();
        let after = match declaration {
            Declaration::Out {
                end_date, end_hour, ..
            } => before.period.ended(*end_date, *end_hour),
            Declaration::Update { changes, .. } => before.period.updated(changes),
            _ => Ok(before.period.clone()),
        }
        .map_err(Refusal::Reason)?;
        slot.stored = StoredPeriod {
            period: after,
            status: if kind == Kind::Cancel {
                PeriodStatus::Canceled
            } else {
                PeriodStatus::Active
            },
            version: before.version.saturating_add(1),
        };
        slot.changed = true;
        // A CANCEL's row holds the period as it was.
        let shown = if kind == Kind::Cancel {
            &before
        } else {
            &slot.stored
        };
        Ok((kind, self.row(record, kind, shown)))
    }

    fn row(&self, record: &Record, kind: Kind, stored: &StoredPeriod) -> (String, DeclarationRow) {
        (
            stored.period.worker.as_str().to_string(),
            DeclarationRow::new(self.file_id, &record.id, kind, &stored.period, self.at),
        )
    }

    /// Refuses a worker unknown to the source or canceled (a replaced one named with the
    /// end of its replacement chain).
    fn check_worker(
        &mut self,
        ssin: &str,
        workers: &HashMap<String, PersonStatus>,
    ) -> Result<(), Refusal> {
        match workers.get(ssin) {
            None => refuse(format!("the worker NISS {ssin} is unknown to the source")),
            Some(PersonStatus::Active) => Ok(()),
            Some(PersonStatus::Canceled { replaced_by: None }) => {
                refuse(format!("the worker NISS {ssin} is canceled"))
            }
            Some(PersonStatus::Canceled {
                replaced_by: Some(by),
            }) => refuse(format!(
                "the worker NISS {ssin} is canceled, replaced by {}",
                person::final_number(self.conn, by.as_str())?
            )),
        }
    }
}

/// A declaration's refusal, or a storage failure passed through.
enum Refusal {
    Reason(String),
    Storage(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Storage(e)
    }
}

fn refuse<T>(reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::Reason(reason.into()))
}
