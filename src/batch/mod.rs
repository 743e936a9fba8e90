//! The batch engine: the daily mutation files and their signed vouchers, written to the
//! outbox for each subscription; the inbox of feed files; the schedule that runs both.
//!
//! A *run* makes the files of one reference date D (a day in the configured time zone): for
//! each subscription active on D, one data file of the journal entries committed after the
//! previous run's cutoff and up to the end of D, its voucher and the voucher's signature.
//! Runs go forward one day at a time: asking for D first makes every missing day before it
//! (after the last run), in date order.

pub mod dimona_mutations;
pub mod header;
pub mod inbox;
pub mod outbox;
pub mod person_mutations;
mod run;
pub mod scheduler;
pub mod signing;
pub mod spill;
pub mod verify;
pub mod voucher;

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::config::Config;
use crate::store::StoreError;

/// What a run needs besides the database.
#[derive(Debug, Clone)]
pub struct BatchSettings {
    pub outbox: PathBuf,
    pub signing_key: Option<PathBuf>,
    pub sender: String,
    pub time_zone: chrono_tz::Tz,
    /// How long the files published into the mailboxes stay there.
    pub retention: crate::domain::Retention,
}

impl BatchSettings {
    pub fn from_config(config: &Config) -> BatchSettings {
        BatchSettings {
            outbox: config.outbox.clone(),
            signing_key: config.signing_key.clone(),
            sender: config.batch_sender.clone(),
            time_zone: config.time_zone,
            retention: config.delivery_retention.clone(),
        }
    }

    /// Today in the configured time zone.
    pub fn today(&self) -> NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.time_zone)
            .date_naive()
    }
}

/// Who started a run (recorded with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Command,
    Schedule,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Command => "command",
            Trigger::Schedule => "schedule",
        }
    }
}

/// What the run of one reference date made.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunSummary {
    pub reference_date: NaiveDate,
    pub files: u64,
    pub records: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// The date had been run before: nothing was made now.
    pub already_done: bool,
}

/// Why a run could not be made (what was made before the failure stays; the next run
/// resumes).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Storage(#[from] StoreError),
    #[error("{0}")]
    Io(String),
}

/// Watches a run's progress (the command's progress bar; nothing for the scheduler).
pub trait Progress: Send + Sync {
    /// A day's run starts: `files` files to make.
    fn start(&self, _day: NaiveDate, _files: u64) {}
    /// One more file is written.
    fn file_written(&self) {}
}

/// No progress shown.
pub struct Quiet;
impl Progress for Quiet {}

pub use run::run_until;
