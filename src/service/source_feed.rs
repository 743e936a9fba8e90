//! Applying an authentic-source feed: the whole file in one transaction, records in order.
//!
//! - A file is identified by its `fileId`: applied once; applying it again changes nothing;
//!   another content under a known `fileId` is refused.
//! - Any refused record refuses the whole file; the error names the record and the reason.
//! - Every change of a person appends to the mutation journal; a replacement also moves the
//!   old number's lines in every register onto the new number, merged with the lines already
//!   there, and journals each affected register.
//!
//! - The file is streamed: its SHA-256 is computed in a first pass (a file applied already is
//!   recognised without reading a record), then records are read and applied one at a time
//!   while the digest is computed again (a file that changed in between is refused). Memory
//!   does not grow with the file.
//!
//! Locking: the journal's lock first (feeds run one at a time and journal in commit order),
//! then the person bucket of each number a record changes, exclusive, each bucket once
//! (`store::lock::BucketSet`), so that no register change on that number runs in between.
//!
//! Statements: new persons are inserted 512 at a time (one statement that also tells which
//! numbers were known already) and journal entries appended 512 at a time; a record that
//! reads a number still waiting to be inserted flushes the batch first.

use std::collections::{BTreeMap, HashSet};
use std::io::BufRead;

use chrono::NaiveDate;

use super::source_file::{apply_once, ReadToEnd, SourceFile};
use crate::domain::{IdentityChanges, Niss, Period, Person, PersonStatus};
use crate::feed::read::{FeedReader, ReadError};
use crate::feed::{Mutation, Record};
use crate::store::journal::{self, JournalLock, MutationKind, NewJournalEntry};
use crate::store::lock::BucketSet;
use crate::store::person::{self, PersonRow};
use crate::store::relation::{self, KeyedLine};
use crate::store::{now, Database, DbConnection, StoreError};

/// What applying a file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedReport {
    pub file_id: String,
    pub records: usize,
    /// The file had been applied before: nothing changed.
    pub already_applied: bool,
    pub persons_created: usize,
    pub identities_changed: usize,
    pub deceases: usize,
    pub replacements: usize,
    pub cancellations: usize,
    /// Register lines moved from replaced numbers (before merging).
    pub lines_moved: usize,
    /// (organisation, replaced number) pairs whose register changed.
    pub registers_changed: usize,
}

/// Why a file was refused (nothing of it is stored).
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{record}: {reason}")]
    Record { record: String, reason: String },
    #[error("{0}")]
    File(String),
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("{0}")]
    Storage(#[from] StoreError),
}

/// The kind recorded for feed files in `applied_files`.
const FILE_KIND: &str = "nr-mutations";

/// How many new persons (and journal entries) wait to be written together.
const BATCH: usize = 512;

/// Applies the file `records` reads, whole or not at all. `digest` is the SHA-256 of the file
/// computed beforehand ([`crate::feed::read::digest`]): a file known under its `fileId` with
/// this digest changes nothing and its records are not read.
pub fn apply<R: BufRead>(
    db: &Database,
    digest: &str,
    mut records: FeedReader<R>,
    today: NaiveDate,
) -> Result<FeedReport, FeedError> {
    let file_id = records.file_id().to_string();
    let file = SourceFile {
        kind: FILE_KIND,
        file_id: &file_id,
        digest,
    };
    let applied = apply_once(db, file, FeedError::File, |conn, journal_lock| {
        let mut report = FeedReport {
            file_id: file_id.clone(),
            ..FeedReport::default()
        };
        let mut step = Step {
            conn: &mut *conn,
            journal_lock,
            buckets: BucketSet::default(),
            source: String::new(),
            record: String::new(),
            at: now(),
            today,
            report: &mut report,
            new_persons: Vec::new(),
            new_ssins: HashSet::new(),
            entries: Vec::new(),
        };
        for record in records.by_ref() {
            let record = match record {
                Ok(record) => record,
                // A refusal of an earlier record, still in a batch, comes first.
                Err(e) => return Err(step.flush_persons().err().unwrap_or(e.into())),
            };
            step.source = format!("{FILE_KIND}:{file_id}:{}", record.id);
            step.record = record.name();
            if let Err(refused) = step.apply(&record.mutation) {
                let earlier = step.flush_persons().err();
                return Err(earlier.unwrap_or_else(|| refusal(&record, refused)));
            }
        }
        step.flush_persons()?;
        step.flush_journal()?;
        report.records = records.records();
        let read = ReadToEnd {
            digest: records.digest(),
            records: records.records(),
        };
        Ok((report, read))
    })?;
    Ok(applied.unwrap_or_else(|| FeedReport {
        file_id,
        already_applied: true,
        ..FeedReport::default()
    }))
}

/// A record's refusal, or a storage failure passed through.
enum Refusal {
    Reason(String),
    Storage(StoreError),
    /// An earlier record's refusal, found when its batch was written.
    Earlier(FeedError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Storage(e)
    }
}

fn refusal(record: &Record, refusal: Refusal) -> FeedError {
    match refusal {
        Refusal::Reason(reason) => FeedError::Record {
            record: record.name(),
            reason,
        },
        Refusal::Storage(e) => FeedError::Storage(e),
        Refusal::Earlier(e) => e,
    }
}

impl From<FeedError> for Refusal {
    fn from(e: FeedError) -> Self {
        match e {
            FeedError::Storage(e) => Refusal::Storage(e),
            other => Refusal::Earlier(other),
        }
    }
}

fn refuse<T>(reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::Reason(reason.into()))
}

/// One record being applied.
struct Step<'a> {
    conn: &'a mut DbConnection,
    journal_lock: &'a JournalLock,
    buckets: BucketSet,
    /// The current record's source (`nr-mutations:<fileId>:<recordId>`) and name.
    source: String,
    record: String,
    at: chrono::NaiveDateTime,
    today: NaiveDate,
    report: &'a mut FeedReport,
    /// New persons not inserted yet, with the id of their record.
    new_persons: Vec<(PersonRow, String)>,
    new_ssins: HashSet<String>,
    /// Journal entries not appended yet, in order.
    entries: Vec<NewJournalEntry>,
}

impl Step<'_> {
    fn apply(&mut self, mutation: &Mutation) -> Result<(), Refusal> {
        match mutation {
            Mutation::NewPerson(person) => self.new_person(person),
            Mutation::IdentityChange { ssin, changes } => {
                if self.change(*ssin, changes, MutationKind::IdentityChanged)? {
                    self.report.identities_changed += 1;
                }
                Ok(())
            }
            Mutation::Decease { ssin, date } => {
                if date.is_after(self.today) {
                    return refuse(format!("the decease date {date} is in the future"));
                }
                let changes = IdentityChanges {
                    decease_date: Some(*date),
                    ..IdentityChanges::default()
                };
                if self.change(*ssin, &changes, MutationKind::Deceased)? {
                    self.report.deceases += 1;
                }
                Ok(())
            }
            Mutation::Replacement { old, new } => self.replacement(*old, *new),
            Mutation::Cancellation { ssin } => self.cancellation(*ssin),
        }
    }

    /// Takes the buckets of `ssins` and makes sure none of them waits in the batch of new
    /// persons (so that reading them sees them).
    fn lock(&mut self, ssins: &[&str]) -> Result<(), Refusal> {
        self.buckets.take(self.conn, ssins)?;
        if ssins.iter().any(|s| self.new_ssins.contains(*s)) {
            self.flush_persons()?;
        }
        Ok(())
    }

    /// Inserts the waiting new persons; refuses (naming its record) the first of them the
    /// source knew already.
    fn flush_persons(&mut self) -> Result<(), FeedError> {
        if self.new_persons.is_empty() {
            return Ok(());
        }
        let rows: Vec<PersonRow> = self.new_persons.iter().map(|(r, _)| r.clone()).collect();
        let inserted: HashSet<String> = person::insert_new(self.conn, &rows)?.into_iter().collect();
        let pending = std::mem::take(&mut self.new_persons);
        self.new_ssins.clear();
        if let Some((row, record)) = pending.iter().find(|(r, _)| !inserted.contains(&r.ssin)) {
            return Err(FeedError::Record {
                record: record.clone(),
                reason: format!("the NISS {} is already known to the source", row.ssin),
            });
        }
        Ok(())
    }

    fn flush_journal(&mut self) -> Result<(), FeedError> {
        journal::append(self.conn, self.journal_lock, &self.entries)?;
        self.entries.clear();
        Ok(())
    }

    fn new_person(&mut self, person: &Person) -> Result<(), Refusal> {
        let ssin = person.ssin.as_str();
        if person.status != PersonStatus::Active {
            return refuse(format!("the new person {ssin} must be ACTIVE"));
        }
        self.buckets.take(self.conn, &[ssin])?;
        if !self.new_ssins.insert(ssin.to_string()) {
            return refuse(format!("the NISS {ssin} is already known to the source"));
        }
        let row = PersonRow::new(person, 1, &self.source, self.at);
        self.new_persons.push((row, self.record.clone()));
        if self.new_persons.len() >= BATCH {
            self.flush_persons()?;
        }
        self.journal(NewJournalEntry::new(
            MutationKind::PersonCreated,
            ssin,
            &self.source,
        ))?;
        self.report.persons_created += 1;
        Ok(())
    }

    /// Applies identity changes to an active person; returns whether anything changed.
    fn change(
        &mut self,
        ssin: Niss,
        changes: &IdentityChanges,
        kind: MutationKind,
    ) -> Result<bool, Refusal> {
        self.lock(&[ssin.as_str()])?;
        let row = person::find(self.conn, ssin.as_str())?;
        let (row, mut person) = self.active(ssin, row)?;
        let changed = person.identity.apply(changes);
        if let Some(decease) = person.identity.decease_date {
            if decease.year() < person.identity.birth_date.year() {
                return refuse(format!(
                    "the decease date {decease} is before the birth date {}",
                    person.identity.birth_date
                ));
            }
        }
        if changed.is_empty() {
            return Ok(false);
        }
        let updated = PersonRow::new(&person, row.version + 1, &self.source, self.at);
        person::update(self.conn, &row, &updated)?;
        self.journal(
            NewJournalEntry::new(kind, ssin.as_str(), &self.source).with_changes(&changed),
        )?;
        Ok(true)
    }

    /// Cancels `old` in favour of `new` and moves `old`'s lines in every register.
    fn replacement(&mut self, old: Niss, new: Niss) -> Result<(), Refusal> {
        if old == new {
            return refuse(format!("the NISS {old} cannot replace itself"));
        }
        self.lock(&[old.as_str(), new.as_str()])?;
        let old_row = person::find(self.conn, old.as_str())?;
        // Applied already (the same replacement in an earlier file): nothing to do.
        if old_row.as_ref().and_then(|r| r.replaced_by.as_deref()) == Some(new.as_str()) {
            return Ok(());
        }
        let (old_row, mut old_person) = self.active(old, old_row)?;
        let new_row = person::find(self.conn, new.as_str())?;
        self.active(new, new_row)?;
        old_person.status = PersonStatus::Canceled {
            replaced_by: Some(new),
        };
        person::update(
            self.conn,
            &old_row,
            &PersonRow::new(&old_person, old_row.version + 1, &self.source, self.at),
        )?;
        let mut entry =
            NewJournalEntry::new(MutationKind::SsinReplaced, old.as_str(), &self.source);
        entry.new_ssin = Some(new.to_string());
        self.journal(entry)?;
        self.move_lines(old, new)?;
        self.report.replacements += 1;
        Ok(())
    }

    /// Cancels `ssin` without a replacement: its register lines stay, and every register
    /// operation on it is refused from then on.
    fn cancellation(&mut self, ssin: Niss) -> Result<(), Refusal> {
        self.lock(&[ssin.as_str()])?;
        let row = person::find(self.conn, ssin.as_str())?;
        if row
            .as_ref()
            .is_some_and(|r| r.status == "CANCELED" && r.replaced_by.is_none())
        {
            // Canceled already (by an earlier file): nothing to do.
            return Ok(());
        }
        let (row, mut person) = self.active(ssin, row)?;
        person.status = PersonStatus::Canceled { replaced_by: None };
        person::update(
            self.conn,
            &row,
            &PersonRow::new(&person, row.version + 1, &self.source, self.at),
        )?;
        self.journal(NewJournalEntry::new(
            MutationKind::SsinCanceled,
            ssin.as_str(),
            &self.source,
        ))?;
        self.report.cancellations += 1;
        Ok(())
    }

    /// Moves every line of `old` onto `new`, merged per register key with `new`'s lines, and
    /// journals each organisation whose register changed.
    fn move_lines(&mut self, old: Niss, new: Niss) -> Result<(), Refusal> {
        let mut by_key: BTreeMap<(i32, i32), Vec<KeyedLine>> = BTreeMap::new();
        for line in relation::lines_of_number(self.conn, old.as_str())? {
            by_key
                .entry((line.organisation_id, line.dossier_type_id))
                .or_default()
                .push(line);
        }
        // Per organisation, what each of its dossier types had moved and has after the merge.
        let mut organisations: BTreeMap<i32, Vec<serde_json::Value>> = BTreeMap::new();
        for ((organisation_id, dossier_type_id), moved) in by_key {
            let present =
                relation::lines_of_key(self.conn, organisation_id, dossier_type_id, new.as_str())?;
            let present_periods: Vec<Period> = present.iter().map(|r| r.period).collect();
            let moved_periods: Vec<Period> = moved.iter().map(|l| l.line.period).collect();
            let merged = Period::merge(present_periods.iter().chain(&moved_periods).copied());
            let removed_from_new: Vec<i64> = present
                .iter()
                .zip(&present_periods)
                .filter(|(_, p)| !merged.contains(p))
                .map(|(r, _)| r.id)
                .collect();
            let added: Vec<Period> = merged
                .iter()
                .filter(|p| !present_periods.contains(p))
                .copied()
                .collect();
            let removed_from_old: Vec<i64> = moved.iter().map(|l| l.line.id).collect();
            relation::replace_lines(
                self.conn,
                organisation_id,
                old.as_str(),
                dossier_type_id,
                &removed_from_old,
                &[],
            )?;
            relation::replace_lines(
                self.conn,
                organisation_id,
                new.as_str(),
                dossier_type_id,
                &removed_from_new,
                &added,
            )?;
            self.report.lines_moved += moved.len();
            organisations
                .entry(organisation_id)
                .or_default()
                .push(serde_json::json!({
                    "dossier_type_id": dossier_type_id,
                    "moved": periods_json(&moved_periods),
                    "merged": periods_json(&merged),
                }));
        }
        for (organisation_id, lines) in organisations {
            let mut entry = NewJournalEntry::new(
                MutationKind::RegisterReplacement,
                old.as_str(),
                &self.source,
            );
            entry.new_ssin = Some(new.to_string());
            entry.organisation_id = Some(organisation_id);
            entry.changes = Some(serde_json::Value::Array(lines).to_string());
            self.journal(entry)?;
            self.report.registers_changed += 1;
        }
        Ok(())
    }

    /// The row (as read) and person of an active number; refuses an unknown or canceled one.
    fn active(
        &mut self,
        ssin: Niss,
        row: Option<PersonRow>,
    ) -> Result<(PersonRow, Person), Refusal> {
        let Some(row) = row else {
            return refuse(format!("the NISS {ssin} is unknown to the source"));
        };
        let person = row.person()?;
        match person.status {
            PersonStatus::Active => Ok((row, person)),
            PersonStatus::Canceled { replaced_by: None } => {
                refuse(format!("the NISS {ssin} is canceled"))
            }
            PersonStatus::Canceled {
                replaced_by: Some(by),
            } => refuse(format!(
                "the NISS {ssin} is canceled, replaced by {}",
                person::final_number(self.conn, by.as_str())?
            )),
        }
    }

    fn journal(&mut self, mut entry: NewJournalEntry) -> Result<(), Refusal> {
        entry.recorded_at = self.at;
        self.entries.push(entry);
        if self.entries.len() >= BATCH {
            self.flush_journal()?;
        }
        Ok(())
    }
}

/// Periods as the journal records them: `[{"begin":"2024-01-01","end":null}, …]`.
fn periods_json(periods: &[Period]) -> serde_json::Value {
    periods
        .iter()
        .map(|p| serde_json::json!({"begin": p.begin(), "end": p.end()}))
        .collect()
}
