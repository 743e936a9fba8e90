//! The run of one reference date: plan, route, write the files in their three waves, record
//! them. See the module documentation of [`crate::batch`] and [`super::outbox`].
//!
//! Exactly once: the plan (cutoffs, files, sequence numbers) is committed before any file is
//! written, and the files are recorded as written only after their last rename is durable.
//! A run that stops in between (a crash, `kill -9`) finds its plan on the next start, keeps
//! the files a signature shows complete (checked: signature, size, SHA-256), removes what
//! else it had begun, and makes the rest. Two runs never overlap: the plan and the files
//! are made holding the runs' lock.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};

use super::header::{self, Header, SCHEMA_VERSION};
use super::outbox::{self, DataFile, Outbox, Steps};
use super::signing::{PublicKey, SigningKey};
use super::spill::Spill;
use super::voucher::Voucher;
use super::{
    dimona_mutations, person_mutations, BatchError, BatchSettings, Progress, RunSummary, Trigger,
};
use crate::domain::FileType;
use crate::service::daily_run::{self, Plan, PlannedFile, RunError};
use crate::store::batch_run::{Route, Written};
use crate::store::journal::MutationKind;
use crate::store::{now, Database, StoreError};

impl From<RunError> for BatchError {
    fn from(e: RunError) -> BatchError {
        match e {
            RunError::Refused(reason) => BatchError::Refused(reason),
            RunError::Storage(e) => BatchError::Storage(e),
        }
    }
}

impl From<std::io::Error> for BatchError {
    fn from(e: std::io::Error) -> BatchError {
        BatchError::Io(e.to_string())
    }
}

impl From<person_mutations::RecordError> for BatchError {
    fn from(e: person_mutations::RecordError) -> BatchError {
        match e {
            person_mutations::RecordError::Io(e) => e.into(),
            other => BatchError::Storage(StoreError::Corrupt(other.to_string())),
        }
    }
}

/// Makes the files of every day after the last run up to `day` (or of `day` alone when
/// nothing was ever run), in date order.
pub fn run_until(
    db: &Database,
    settings: &BatchSettings,
    day: NaiveDate,
    trigger: Trigger,
    progress: &dyn Progress,
) -> Result<Vec<RunSummary>, BatchError> {
    let today = settings.today();
    if day > today {
        return Err(BatchError::Refused(format!(
            "the reference date {day} is in the future (today is {today} in {})",
            settings.time_zone
        )));
    }
    let key = signing_key(settings)?;
    // From the latest run on when it stopped before finishing (it resumes), else from the
    // day after it.
    let days: Vec<NaiveDate> = match daily_run::latest_run(db)? {
        Some((last, finished)) if last < day => last
            .iter_days()
            .skip(usize::from(finished))
            .take_while(|d| *d <= day)
            .collect(),
        _ => vec![day],
    };
    let outbox = Outbox::open(&settings.outbox)?;
    let steps = Steps::from_environment();
    let run = DayRun {
        db,
        settings,
        key: &key,
        outbox: &outbox,
        steps: &steps,
        trigger,
        progress,
    };
    days.into_iter().map(|d| run.run(d)).collect()
}

fn signing_key(settings: &BatchSettings) -> Result<SigningKey, BatchError> {
    let path = settings.signing_key.as_ref().ok_or_else(|| {
        BatchError::Refused(
            "no signing key is configured: make one with `raas batch keygen -o key.pem` and set \
             signing_key (--signing-key, RAAS_SIGNING_KEY)"
                .into(),
        )
    })?;
    SigningKey::load(path).map_err(|e| BatchError::Refused(e.to_string()))
}

/// The first instant after `day` in `zone`, in UTC (as the journal records instants).
fn end_of_day(day: NaiveDate, zone: chrono_tz::Tz) -> NaiveDateTime {
    let midnight = day
        .succ_opt()
        .unwrap_or(day)
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default();
    zone.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.naive_utc())
        // Midnight does not exist that day (no such zone today): an hour later does.
        .unwrap_or(midnight + chrono::Duration::hours(1))
}

struct DayRun<'a> {
    db: &'a Database,
    settings: &'a BatchSettings,
    key: &'a SigningKey,
    outbox: &'a Outbox,
    steps: &'a Steps,
    trigger: Trigger,
    progress: &'a dyn Progress,
}

/// A file to make now, with its records: sequence numbers of shared records, or a record of
/// its own (a replacement, which shows the receiver's register).
struct Making<'p> {
    file: &'p PlannedFile,
    path: PathBuf,
    records: Vec<(i64, Option<Vec<u8>>)>,
}

impl DayRun<'_> {
    fn run(&self, day: NaiveDate) -> Result<RunSummary, BatchError> {
        let started = Instant::now();
        let lock = daily_run::exclusive(self.db)?;
        let until = end_of_day(day, self.settings.time_zone).min(now());
        let phase = Phase::new(day);
        let plan = daily_run::plan(self.db, &lock, day, until, self.trigger.as_str())?;
        phase.done("plan");
        if plan.finished() {
            let bytes = plan.files.iter().filter_map(|f| f.row.size).sum::<i64>();
            return Ok(RunSummary {
                reference_date: day,
                files: plan.run.files as u64,
                records: plan.run.records as u64,
                bytes: bytes as u64,
                seconds: started.elapsed().as_secs_f64(),
                already_done: true,
            });
        }
        self.steps.step();
        let pending: Vec<&PlannedFile> = plan
            .files
            .iter()
            .filter(|f| f.row.written_at.is_none())
            .collect();
        self.progress.start(day, pending.len() as u64);
        let (mut written, mut making) = self.resume(&pending, plan.resumed)?;
        phase.done("resume");
        let person_files = self.route(&plan, &mut making)?;
        phase.done("route");
        let spills = self.spill(&plan, &mut making, &person_files)?;
        phase.done("serialise");
        written.extend(self.write(&plan, &making, spills, &phase)?);
        daily_run::finish(
            self.db,
            &plan,
            &written,
            |file| self.placed(file),
            &self.settings.retention,
        )?;
        phase.done("record");
        self.steps.step();
        drop(lock);
        Ok(RunSummary {
            reference_date: day,
            files: plan.files.len() as u64,
            records: written.iter().map(|w| w.records as u64).sum(),
            bytes: written.iter().map(|w| w.size as u64).sum(),
            seconds: started.elapsed().as_secs_f64(),
            already_done: false,
        })
    }

    /// Where a file of the plan lies in the outbox, relative to it (its mailbox document).
    fn placed(&self, file: &PlannedFile) -> daily_run::Placed {
        let data = Path::new(&file.receiver).join(&file.row.file_name);
        let text = |path: PathBuf| path.to_string_lossy().into_owned();
        daily_run::Placed {
            voucher: text(outbox::voucher_path(&data)),
            signature: text(outbox::signature_path(&data)),
            file: text(data),
        }
    }

    /// Sorts the pending files into those a stopped run completed (kept) and those to make;
    /// removes what was begun of the latter.
    fn resume<'p>(
        &self,
        pending: &[&'p PlannedFile],
        resumed: bool,
    ) -> Result<(Vec<Written>, Vec<Making<'p>>), BatchError> {
        let public = self.key.public_key();
        let mut kept = Vec::new();
        let mut making = Vec::new();
        let mut removed = false;
        for file in pending {
            let path = self
                .outbox
                .folder(&file.receiver)?
                .join(&file.row.file_name);
            if !resumed {
                // A plan made just now: no file of it was begun.
                making.push(Making {
                    file,
                    path,
                    records: Vec::new(),
                });
                continue;
            }
            let voucher = outbox::voucher_path(&path);
            let signature = outbox::signature_path(&path);
            for begun in [&path, &voucher, &signature] {
                outbox::remove(&outbox::partial(begun))?;
            }
            if let Some(w) = complete(file, &path, &public)? {
                kept.push(w);
                self.progress.file_written();
                continue;
            }
            for stale in [&signature, &voucher, &path] {
                if stale.exists() {
                    outbox::remove(stale)?;
                    removed = true;
                }
            }
            making.push(Making {
                file,
                path,
                records: Vec::new(),
            });
        }
        if removed {
            // A stale voucher must be gone for good before its data file is replaced.
            self.outbox.sync()?;
        }
        Ok((kept, making))
    }

    /// Gives each file to make the sequence numbers of its routed records; returns the
    /// PERSON_MUTATIONS file of each receiver that has one.
    fn route(
        &self,
        plan: &Plan,
        making: &mut [Making<'_>],
    ) -> Result<HashMap<i32, usize>, BatchError> {
        let day = plan.run.reference_date;
        let mut person: HashMap<i32, usize> = HashMap::new();
        let mut dimona: HashMap<i32, usize> = HashMap::new();
        for (i, m) in making.iter().enumerate() {
            let Some(subscription) = &m.file.subscription else {
                continue;
            };
            match m.file.file_type {
                FileType::PersonMutations => {
                    person.insert(subscription.organisation_id, i);
                }
                FileType::DimonaMutations if subscription.dimona_authorised_on(day) => {
                    dimona.insert(subscription.organisation_id, i);
                }
                FileType::DimonaMutations => {}
            }
        }
        let mut add = |routes: &[Route], files: &HashMap<i32, usize>| {
            for r in routes {
                if let Some(&i) = files.get(&r.organisation_id) {
                    let covers = making[i]
                        .file
                        .subscription
                        .as_ref()
                        .is_some_and(|s| s.covers(r.dossier_type_id));
                    if covers {
                        making[i].records.push((r.seq, None));
                    }
                }
            }
        };
        if !person.is_empty() {
            daily_run::person_routes(self.db, &plan.run, |routes| add(routes, &person))?;
        }
        if !dimona.is_empty() {
            daily_run::dimona_routes(self.db, &plan.run, |routes| add(routes, &dimona))?;
        }
        Ok(person)
    }

    /// Serialises once each record some file reports, reading the day's journal entries once:
    /// a replacement goes to every receiver whose register held the old number (the journal
    /// has an entry per register), as a record of that file's own; then puts each file's
    /// records in order.
    fn spill(
        &self,
        plan: &Plan,
        making: &mut [Making<'_>],
        person_files: &HashMap<i32, usize>,
    ) -> Result<(Spill, Spill), BatchError> {
        let wanted = |file_type: FileType| {
            let mut seqs: Vec<i64> = making
                .iter()
                .filter(|m| m.file.file_type == file_type)
                .flat_map(|m| {
                    m.records
                        .iter()
                        .filter(|(_, own)| own.is_none())
                        .map(|(s, _)| *s)
                })
                .collect();
            seqs.sort_unstable();
            seqs.dedup();
            seqs
        };
        let mut buffer = Vec::new();
        let mut persons = Spill::create(self.outbox.root())?;
        let person_seqs = wanted(FileType::PersonMutations);
        let dimona_seqs = wanted(FileType::DimonaMutations);
        if !person_files.is_empty() {
            let codes = daily_run::dossier_type_codes(self.db)?;
            daily_run::reported_entries(self.db, &plan.run, |entry| -> Result<(), BatchError> {
                if entry.kind == MutationKind::RegisterReplacement.as_str() {
                    let Some(&i) = entry.organisation_id.and_then(|o| person_files.get(&o)) else {
                        return Ok(());
                    };
                    let Some(subscription) = &making[i].file.subscription else {
                        return Ok(());
                    };
                    if let Some(record) =
                        person_mutations::replacement_record(entry, subscription, &codes)?
                    {
                        making[i].records.push((entry.seq, Some(record)));
                    }
                } else if person_seqs.binary_search(&entry.seq).is_ok() {
                    buffer.clear();
                    if person_mutations::write_person_record(&mut buffer, entry)? {
                        persons.push(entry.seq, &buffer)?;
                    }
                }
                Ok(())
            })?;
        }
        persons.seal()?;
        let mut declarations = Spill::create(self.outbox.root())?;
        if !dimona_seqs.is_empty() {
            daily_run::declarations(self.db, &plan.run, |row| -> Result<(), BatchError> {
                if dimona_seqs.binary_search(&row.seq).is_ok() {
                    buffer.clear();
                    dimona_mutations::write_record(&mut buffer, row)?;
                    declarations.push(row.seq, &buffer)?;
                }
                Ok(())
            })?;
        }
        declarations.seal()?;
        for m in making.iter_mut() {
            m.records.sort_by_key(|(seq, _)| *seq);
            m.records.dedup_by_key(|(seq, _)| *seq);
        }
        Ok((persons, declarations))
    }

    /// Writes the data files, then the vouchers, then the signatures (see `outbox`).
    fn write(
        &self,
        plan: &Plan,
        making: &[Making<'_>],
        (persons, declarations): (Spill, Spill),
        phase: &Phase,
    ) -> Result<Vec<Written>, BatchError> {
        let created_at = person_mutations::timestamp(now());
        let reference_date = plan.run.reference_date.to_string();
        let mut buffer = Vec::new();
        let mut vouchers = Vec::with_capacity(making.len());
        for m in making {
            let (root, namespace, spill) = match m.file.file_type {
                FileType::PersonMutations => (
                    person_mutations::ROOT,
                    person_mutations::NAMESPACE,
                    &persons,
                ),
                FileType::DimonaMutations => (
                    dimona_mutations::ROOT,
                    dimona_mutations::NAMESPACE,
                    &declarations,
                ),
            };
            let head = Header {
                sender: self.settings.sender.clone(),
                receiver: m.file.receiver.clone(),
                file_type: m.file.file_type.as_str().to_owned(),
                schema_version: SCHEMA_VERSION.to_owned(),
                file_sequence_number: m.file.row.sequence_number as u64,
                reference_date: reference_date.clone(),
                server_ticket: m.file.row.server_ticket.clone(),
                created_at: created_at.clone(),
            };
            let mut out = DataFile::create(&m.path)?;
            header::write_start(&mut out, root, namespace, &head)?;
            let mut records = 0u64;
            for (seq, own) in &m.records {
                let wrote = match own {
                    Some(record) => {
                        out.write_all(record)?;
                        true
                    }
                    None => spill.copy_to(*seq, &mut buffer, &mut out)?,
                };
                records += u64::from(wrote);
            }
            header::write_end(&mut out, root, records)?;
            let (size, sha256) = out.finish()?;
            vouchers.push(Voucher {
                sender: head.sender,
                receiver: head.receiver,
                server_ticket: head.server_ticket,
                file_name: m.file.row.file_name.clone(),
                file_type: head.file_type,
                schema_version: head.schema_version,
                file_sequence_number: head.file_sequence_number,
                reference_date: head.reference_date,
                created_at: head.created_at,
                record_count: records,
                file_size: size,
                sha256,
            });
        }
        phase.done("data files");
        self.publish_wave(making, |m, _| m.path.clone(), None)?;
        phase.done("data files durable");
        let texts: Vec<String> = vouchers.iter().map(Voucher::to_xml).collect();
        self.publish_wave(
            making,
            |m, _| outbox::voucher_path(&m.path),
            Some(&|i: usize| texts[i].as_bytes().to_vec()),
        )?;
        self.publish_wave(
            making,
            |m, _| outbox::signature_path(&m.path),
            Some(&|i: usize| self.key.sign(texts[i].as_bytes()).into_bytes()),
        )?;
        phase.done("vouchers and signatures");
        for _ in making {
            self.progress.file_written();
        }
        Ok(making
            .iter()
            .zip(&vouchers)
            .map(|(m, v)| Written {
                file_id: m.file.row.id,
                records: v.record_count as i64,
                size: v.file_size as i64,
                sha256: v.sha256.clone(),
            })
            .collect())
    }

    /// One wave: writes each file's temporary (unless written already), makes them durable
    /// with one sync, renames them, makes the names durable.
    fn publish_wave(
        &self,
        making: &[Making<'_>],
        path_of: impl Fn(&Making<'_>, usize) -> PathBuf,
        content: Option<&dyn Fn(usize) -> Vec<u8>>,
    ) -> Result<(), BatchError> {
        if let Some(content) = content {
            for (i, m) in making.iter().enumerate() {
                outbox::write_partial(&path_of(m, i), &content(i))?;
            }
        }
        self.outbox.sync()?;
        for (i, m) in making.iter().enumerate() {
            outbox::publish(&path_of(m, i))?;
            self.steps.step();
        }
        self.outbox.sync()?;
        Ok(())
    }
}

/// What was written of a file a stopped run completed: its signature verifies its voucher,
/// which names it and gives its size and SHA-256. `None`: not complete.
fn complete(
    file: &PlannedFile,
    path: &std::path::Path,
    public: &PublicKey,
) -> Result<Option<Written>, BatchError> {
    let signature = outbox::signature_path(path);
    let voucher = outbox::voucher_path(path);
    if !signature.exists() || !voucher.exists() || !path.exists() {
        return Ok(None);
    }
    let voucher_bytes = std::fs::read(&voucher)?;
    let signature_text = std::fs::read_to_string(&signature)?;
    if !public.verify(&voucher_bytes, &signature_text) {
        return Ok(None);
    }
    let Ok(v) = Voucher::from_xml(&String::from_utf8_lossy(&voucher_bytes)) else {
        return Ok(None);
    };
    if v.file_name != file.row.file_name
        || v.file_sequence_number != file.row.sequence_number as u64
    {
        return Ok(None);
    }
    let (size, sha256) = outbox::digest_of(path)?;
    if size != v.file_size || sha256 != v.sha256 {
        return Ok(None);
    }
    Ok(Some(Written {
        file_id: file.row.id,
        records: v.record_count as i64,
        size: size as i64,
        sha256,
    }))
}

/// Logs how long each phase of a run took (`RUST_LOG=info`).
struct Phase {
    day: NaiveDate,
    last: std::cell::Cell<Instant>,
}

impl Phase {
    fn new(day: NaiveDate) -> Phase {
        Phase {
            day,
            last: std::cell::Cell::new(Instant::now()),
        }
    }

    fn done(&self, phase: &str) {
        let now = Instant::now();
        let ms = (now - self.last.replace(now)).as_secs_f64() * 1000.0;
        tracing::info!(reference_date = %self.day, phase, ms = format!("{ms:.1}"), "daily run");
    }
}
