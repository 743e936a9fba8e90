//! The daily run's use cases, without the files themselves (`batch` writes them): the plan
//! of a reference date (what it covers, which subscriptions get which sequence number), the
//! reads it routes with, and recording what was written with its audit entries.
//!
//! A plan is made once per date, in one transaction, under the runs' lock: the journal and
//! Dimona sequence numbers it covers continue exactly where the previous date's stopped, and
//! each subscription active on the date gets the next sequence number of its receiver and
//! file type. Running the date again finds the plan: the same files, the same numbers.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};

use crate::domain::{DocumentType, FileName, FileType, Retention, Subscription};
use crate::store::audit::{self, AuditEntry};
use crate::store::batch_run::{
    self, DeclarationRow, FileRow, NewFile, Route, RunLock, RunRow, Written,
};
use crate::store::delivery::{self as mailbox, NewDocument};
use crate::store::journal::JournalEntry;
use crate::store::{now, subscription, Database, StoreError};

/// The service name of the daily files' audit entries.
pub const AUDIT_SERVICE: &str = "DailyFiles";

/// Why a run cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Storage(#[from] StoreError),
}

/// A file of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub row: FileRow,
    pub file_type: FileType,
    /// The receiver's enterprise number.
    pub receiver: String,
    /// The subscription as it is now (`None`: it no longer covers the date, so the file
    /// planned for it has no record).
    pub subscription: Option<Subscription>,
}

/// What a reference date's run covers and makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub run: RunRow,
    pub files: Vec<PlannedFile>,
    /// The plan was made by an earlier run (which may have begun its files).
    pub resumed: bool,
}

impl Plan {
    pub fn finished(&self) -> bool {
        self.run.finished_at.is_some()
    }
}

/// Waits until no other run (of this or another process) is making files.
pub fn exclusive(db: &Database) -> Result<RunLock, StoreError> {
    batch_run::exclusive(db)
}

/// The reference date of the latest run, and whether it finished.
pub fn latest_run(db: &Database) -> Result<Option<(NaiveDate, bool)>, StoreError> {
    let mut conn = db.connection()?;
    Ok(batch_run::latest(&mut conn)?.map(|r| (r.reference_date, r.finished_at.is_some())))
}

/// The plan of `day`: found, or made now for the entries recorded before `until`. Call it
/// holding [`exclusive`].
pub fn plan(
    db: &Database,
    _held: &RunLock,
    day: NaiveDate,
    until: NaiveDateTime,
    trigger: &str,
) -> Result<Plan, RunError> {
    let made = db.write(|conn| -> Result<bool, RunError> {
        if batch_run::find(conn, day)?.is_some() {
            return Ok(false);
        }
        let latest = batch_run::latest(conn)?;
        if let Some(latest) = &latest {
            if latest.reference_date > day {
                return Err(RunError::Refused(format!(
                    "the files of {day} cannot be made any more: runs go forward and the last one was for {}",
                    latest.reference_date
                )));
            }
        }
        let journal_after = latest.as_ref().map_or(0, |r| r.journal_upto);
        let dimona_after = latest.as_ref().map_or(0, |r| r.dimona_upto);
        let run = RunRow {
            reference_date: day,
            journal_after,
            journal_upto: batch_run::journal_cutoff(conn, journal_after, until)?,
            dimona_after,
            dimona_upto: batch_run::dimona_cutoff(conn, dimona_after, until)?,
            started_at: now(),
            finished_at: None,
            files: 0,
            records: 0,
            trigger_name: trigger.to_owned(),
        };
        let receivers = batch_run::enterprise_numbers(conn)?;
        let mut last = batch_run::last_sequences(conn)?;
        let mut files = Vec::new();
        for subscription in subscription::active_on(conn, day)? {
            let file_type = subscription.file_type.as_str().to_owned();
            let receiver = receivers.get(&subscription.organisation_id).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "subscription {} names no organisation",
                    subscription.id
                ))
            })?;
            let sequence = last
                .entry((subscription.organisation_id, file_type.clone()))
                .or_insert(0);
            *sequence += 1;
            files.push(NewFile {
                reference_date: day,
                subscription_id: subscription.id,
                organisation_id: subscription.organisation_id,
                file_name: file_name(subscription.file_type, receiver, day, *sequence),
                file_type,
                sequence_number: *sequence,
                server_ticket: uuid::Uuid::new_v4().to_string(),
            });
        }
        batch_run::insert(conn, &run, &files)?;
        Ok(true)
    })?;
    let mut conn = db.connection()?;
    let run = batch_run::find(&mut conn, day)?
        .ok_or_else(|| StoreError::Corrupt(format!("the run of {day} vanished")))?;
    let receivers = batch_run::enterprise_numbers(&mut conn)?;
    let subscriptions: HashMap<i32, Subscription> = subscription::active_on(&mut conn, day)?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut files = Vec::new();
    for row in batch_run::files_of(&mut conn, day)? {
        let file_type: FileType = row.file_type.parse().map_err(StoreError::Corrupt)?;
        let receiver = receivers
            .get(&row.organisation_id)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("file {} names no organisation", row.id)))?;
        files.push(PlannedFile {
            subscription: subscriptions.get(&row.subscription_id).cloned(),
            file_type,
            receiver,
            row,
        });
    }
    Ok(Plan {
        run,
        files,
        resumed: !made,
    })
}

/// `<TYPE>_<cbe>_<YYYYMMDD>_<sequence, 6 digits>.xml`
fn file_name(file_type: FileType, receiver: &str, day: NaiveDate, sequence: i64) -> String {
    FileName {
        file_type,
        cbe: receiver.to_owned(),
        reference_date: day,
        sequence: sequence as u64,
    }
    .to_string()
}

/// How many sequence numbers one routing statement covers.
const ROUTE_WINDOW: i64 = 20_000;

/// Calls `f` with the routes of the journal entries of `run` (see
/// [`batch_run::person_routes`]), window by window.
pub fn person_routes(
    db: &Database,
    run: &RunRow,
    mut f: impl FnMut(&[Route]),
) -> Result<(), StoreError> {
    let mut conn = db.connection()?;
    in_windows(run.journal_after, run.journal_upto, |after, upto| {
        f(&batch_run::person_routes(
            &mut conn,
            after,
            upto,
            run.reference_date,
        )?);
        Ok(())
    })
}

/// Calls `f` with the routes of the Dimona declarations of `run`, window by window.
pub fn dimona_routes(
    db: &Database,
    run: &RunRow,
    mut f: impl FnMut(&[Route]),
) -> Result<(), StoreError> {
    let mut conn = db.connection()?;
    in_windows(run.dimona_after, run.dimona_upto, |after, upto| {
        f(&batch_run::dimona_routes(&mut conn, after, upto)?);
        Ok(())
    })
}

/// Calls `f` with consecutive windows `(after, upto]` of at most [`ROUTE_WINDOW`] sequence
/// numbers covering `(after, upto]`.
fn in_windows(
    mut after: i64,
    upto: i64,
    mut f: impl FnMut(i64, i64) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    while after < upto {
        let end = (after + ROUTE_WINDOW).min(upto);
        f(after, end)?;
        after = end;
    }
    Ok(())
}

/// How many rows one read brings.
const CHUNK: i64 = 10_000;

/// Calls `f` with each reported journal entry of `run`, by sequence number.
pub fn reported_entries<E: From<StoreError>>(
    db: &Database,
    run: &RunRow,
    f: impl FnMut(&JournalEntry) -> Result<(), E>,
) -> Result<(), E> {
    let mut conn = db.connection()?;
    in_chunks(
        run.journal_after,
        |after| batch_run::reported_entries(&mut conn, after, run.journal_upto, CHUNK),
        |entry| entry.seq,
        f,
    )
}

/// Calls `f` with each Dimona declaration of `run`, by sequence number.
pub fn declarations<E: From<StoreError>>(
    db: &Database,
    run: &RunRow,
    f: impl FnMut(&DeclarationRow) -> Result<(), E>,
) -> Result<(), E> {
    let mut conn = db.connection()?;
    in_chunks(
        run.dimona_after,
        |after| batch_run::declarations(&mut conn, after, run.dimona_upto, CHUNK),
        |row| row.seq,
        f,
    )
}

/// Reads rows [`CHUNK`] at a time after the last sequence number read, and calls `f` with
/// each, in order.
fn in_chunks<T, E: From<StoreError>>(
    mut after: i64,
    mut load: impl FnMut(i64) -> Result<Vec<T>, StoreError>,
    seq: impl Fn(&T) -> i64,
    mut f: impl FnMut(&T) -> Result<(), E>,
) -> Result<(), E> {
    loop {
        let chunk = load(after)?;
        for row in &chunk {
            f(row)?;
        }
        match chunk.last() {
            Some(last) if chunk.len() as i64 == CHUNK => after = seq(last),
            _ => return Ok(()),
        }
    }
}

/// Dossier type codes by id (the replacement records name their dossier types).
pub fn dossier_type_codes(db: &Database) -> Result<HashMap<i32, String>, StoreError> {
    let mut conn = db.connection()?;
    batch_run::dossier_type_codes(&mut conn)
}

/// Where a written file lies in the outbox (relative to it), with its voucher and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub file: String,
    pub voucher: String,
    pub signature: String,
}

/// Records what was written, with one audit entry per file delivered, publishes each file
/// into its receiver's mailbox (expiring after `retention`), and finishes the run: all in
/// one transaction.
pub fn finish(
    db: &Database,
    plan: &Plan,
    written: &[Written],
    placed: impl Fn(&PlannedFile) -> Placed,
    retention: &Retention,
) -> Result<(), StoreError> {
    let at = now();
    let by_id: HashMap<i32, &PlannedFile> = plan.files.iter().map(|f| (f.row.id, f)).collect();
    let delivered: Vec<(&Written, &PlannedFile)> = written
        .iter()
        .filter_map(|w| by_id.get(&w.file_id).map(|file| (w, *file)))
        .collect();
    let entries: Vec<AuditEntry> = delivered
        .iter()
        .map(|(_, file)| AuditEntry {
            recorded_at: at,
            service: AUDIT_SERVICE.to_owned(),
            operation: file.file_type.as_str().to_owned(),
            organisation_id: Some(file.row.organisation_id),
            claimed_cbe_number: Some(file.receiver.clone()),
            username: None,
            ssin: None,
            legal_context: None,
            client_ticket: Some(file.row.file_name.clone()),
            server_ticket: file.row.server_ticket.clone(),
            outcome: crate::service::register::OK.to_owned(),
            target: None,
        })
        .collect();
    let documents: Vec<NewDocument> = delivered
        .iter()
        .map(|(w, file)| {
            let place = placed(file);
            let kind = DocumentType::Daily(file.file_type);
            NewDocument {
                file_type: kind.as_str().to_owned(),
                file_name: file.row.file_name.clone(),
                subject: None,
                location: place.file,
                voucher_location: Some(place.voucher),
                signature_location: Some(place.signature),
                batch_file_id: Some(file.row.id),
                reference_date: Some(file.row.reference_date),
                sequence_number: Some(file.row.sequence_number),
                records: Some(w.records),
                size: w.size,
                sha256: w.sha256.clone(),
                registered: false,
                published_by: AUDIT_SERVICE.to_owned(),
                published_at: at,
                expires_at: retention.expiry(kind, at),
            }
        })
        .collect();
    db.write(|conn| {
        batch_run::finish(conn, plan.run.reference_date, written, at)?;
        for chunk in entries.chunks(500) {
            audit::append(conn, chunk)?;
        }
        if !documents.is_empty() {
            let held = mailbox::lock(conn)?;
            mailbox::publish_daily(conn, &held, &documents)?;
        }
        Ok(())
    })
}

/// The latest runs, newest first, and the last file of each subscription.
pub fn status(db: &Database, limit: i64) -> Result<(Vec<RunRow>, Vec<FileRow>), StoreError> {
    let mut conn = db.connection()?;
    Ok((
        batch_run::recent(&mut conn, limit)?,
        batch_run::last_files(&mut conn)?,
    ))
}
