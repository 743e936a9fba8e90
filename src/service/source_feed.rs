//! Applying an authentic-source feed: the whole file in one transaction, records in order.
//!
//! - A file is identified by its `fileId`: applied once; applying it again changes nothing;
//!   another content under a known `fileId` is refused.
//! - Any refused record refuses the whole file; the error names the record and the reason.
//! - Every change of a person appends to the mutation journal; a replacement also moves the
//!   old number's lines in every register onto the new number, merged with the lines already
//!   there, and journals each affected register.
//!
//! Locking: the journal's lock first (feeds run one at a time and journal in commit order),
//! then the exclusive lock of each person a record changes, so that no register change on
//! that number runs in between (see `store::lock`).

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::domain::{IdentityChanges, Niss, Period, Person, PersonStatus};
use crate::feed::{FeedFile, Mutation, Record};
use crate::store::journal::{self, JournalLock, MutationKind, NewJournalEntry};
use crate::store::lock::{self, Lock};
use crate::store::person::{self, PersonRow};
use crate::store::relation::{self, KeyedLine};
use crate::store::{applied_file, now, Database, DbConnection, StoreError};

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
    Storage(#[from] StoreError),
}

impl From<diesel::result::Error> for FeedError {
    fn from(e: diesel::result::Error) -> Self {
        FeedError::Storage(StoreError::Query(e))
    }
}

/// The kind recorded for feed files in `applied_files`.
const FILE_KIND: &str = "nr-mutations";

/// Applies `file` whole or not at all.
pub fn apply(db: &Database, file: &FeedFile, today: NaiveDate) -> Result<FeedReport, FeedError> {
    db.write(|conn| {
        let journal_lock = journal::lock(conn)?;
        let mut report = FeedReport {
            file_id: file.file_id.clone(),
            records: file.records.len(),
            ..FeedReport::default()
        };
        match applied_file::digest_of(conn, &file.file_id)? {
            Some(digest) if digest == file.digest => {
                report.already_applied = true;
                return Ok(report);
            }
            Some(_) => {
                return Err(FeedError::File(format!(
                    "the file {} was already applied with another content: a corrected file needs a new fileId",
                    file.file_id
                )))
            }
            None => {}
        }
        let at = now();
        for record in &file.records {
            let source = format!("{FILE_KIND}:{}:{}", file.file_id, record.id);
            let mut step = Step {
                conn: &mut *conn,
                journal_lock: &journal_lock,
                source: &source,
                at,
                today,
                report: &mut report,
            };
            step.apply(&record.mutation)
                .map_err(|reason| refusal(record, reason))?;
        }
        let count = i64::try_from(file.records.len()).unwrap_or(i64::MAX);
        applied_file::record(conn, &file.file_id, FILE_KIND, &file.digest, count)?;
        Ok(report)
    })
}

/// A record's refusal, or a storage failure passed through.
enum Refusal {
    Reason(String),
    Storage(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Storage(e)
    }
}

impl From<diesel::result::Error> for Refusal {
    fn from(e: diesel::result::Error) -> Self {
        Refusal::Storage(StoreError::Query(e))
    }
}

fn refusal(record: &Record, refusal: Refusal) -> FeedError {
    match refusal {
        Refusal::Reason(reason) => FeedError::Record {
            record: record.name(),
            reason,
        },
        Refusal::Storage(e) => FeedError::Storage(e),
    }
}

fn refuse<T>(reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::Reason(reason.into()))
}

/// One record being applied.
struct Step<'a> {
    conn: &'a mut DbConnection,
    journal_lock: &'a JournalLock,
    source: &'a str,
    at: chrono::NaiveDateTime,
    today: NaiveDate,
    report: &'a mut FeedReport,
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
        }
    }

    fn new_person(&mut self, person: &Person) -> Result<(), Refusal> {
        let ssin = person.ssin.as_str();
        if person.status != PersonStatus::Active {
            return refuse(format!("the new person {ssin} must be ACTIVE"));
        }
        lock::take(self.conn, &[Lock::Exclusive(lock::person_key(ssin))])?;
        if person::status(self.conn, ssin)?.is_some() {
            return refuse(format!("the NISS {ssin} is already known to the source"));
        }
        person::insert(self.conn, &PersonRow::new(person, 1, self.source, self.at))?;
        self.journal(NewJournalEntry::new(
            MutationKind::PersonCreated,
            ssin,
            self.source,
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
        let key = Lock::Exclusive(lock::person_key(ssin.as_str()));
        lock::take(self.conn, &[key])?;
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
        let row = PersonRow::new(&person, row.version + 1, self.source, self.at);
        person::update(self.conn, &row)?;
        self.journal(
            NewJournalEntry::new(kind, ssin.as_str(), self.source).with_changes(&changed),
        )?;
        Ok(true)
    }

    /// Cancels `old` in favour of `new` and moves `old`'s lines in every register.
    fn replacement(&mut self, old: Niss, new: Niss) -> Result<(), Refusal> {
        if old == new {
            return refuse(format!("the NISS {old} cannot replace itself"));
        }
        let mut keys = [
            lock::person_key(old.as_str()),
            lock::person_key(new.as_str()),
        ];
        keys.sort_unstable();
        lock::take(self.conn, &keys.map(Lock::Exclusive))?;
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
            &PersonRow::new(&old_person, old_row.version + 1, self.source, self.at),
        )?;
        let mut entry = NewJournalEntry::new(MutationKind::SsinReplaced, old.as_str(), self.source);
        entry.new_ssin = Some(new.to_string());
        self.journal(entry)?;
        self.move_lines(old, new)?;
        self.report.replacements += 1;
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
        let mut organisations = std::collections::BTreeSet::new();
        for ((organisation_id, dossier_type_id), moved) in by_key {
            let present =
                relation::lines_of_key(self.conn, organisation_id, dossier_type_id, new.as_str())?;
            let period = |begin, end| {
                Period::new(begin, end).map_err(|e| {
                    Refusal::Storage(StoreError::Corrupt(format!(
                        "a stored line is invalid: {e}"
                    )))
                })
            };
            let present_periods = present
                .iter()
                .map(|r| period(r.begin_date, r.end_date))
                .collect::<Result<Vec<_>, _>>()?;
            let moved_periods = moved
                .iter()
                .map(|l| period(l.line.begin_date, l.line.end_date))
                .collect::<Result<Vec<_>, _>>()?;
            let merged = Period::merge(present_periods.iter().chain(&moved_periods).copied());
            let removed_from_new: Vec<i64> = present
                .iter()
                .zip(&present_periods)
                .filter(|(_, p)| !merged.contains(p))
                .map(|(r, _)| r.id)
                .collect();
            let added: Vec<(NaiveDate, Option<NaiveDate>)> = merged
                .iter()
                .filter(|p| !present_periods.contains(p))
                .map(|p| (p.begin(), p.end()))
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
            organisations.insert(organisation_id);
        }
        for organisation_id in organisations {
            let mut entry =
                NewJournalEntry::new(MutationKind::RegisterReplacement, old.as_str(), self.source);
            entry.new_ssin = Some(new.to_string());
            entry.organisation_id = Some(organisation_id);
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
        journal::append(self.conn, self.journal_lock, &[entry])?;
        Ok(())
    }
}
