//! `raas batch run` and `raas batch status`.

use anyhow::Context;
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::batch::{self, BatchSettings, Progress, RunSummary, Trigger};
use crate::config::Config;
use crate::service::daily_run;
use crate::store::{redact_url, Database};

/// A bar of the files written, on a terminal.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, day: NaiveDate, files: u64) {
        self.0.reset();
        self.0.set_length(files);
        self.0.set_message(day.to_string());
    }

    fn file_written(&self) {
        self.0.inc(1);
    }
}

pub fn run(config: &Config, date: Option<&str>, quiet: bool) -> anyhow::Result<()> {
    let settings = BatchSettings::from_config(config);
    let day = match date {
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .with_context(|| format!("--date {text:?}: a date YYYY-MM-DD is expected"))?,
        None => settings.today().pred_opt().context("no day before today")?,
    };
    if std::env::var_os("RUST_LOG").is_some() {
        crate::telemetry::init(config.log_format);
    }
    let db = open(config)?;
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} files {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = Bar(bar);
    let started = std::time::Instant::now();
    let runs = batch::run_until(&db, &settings, day, Trigger::Command, &progress)
        .with_context(|| format!("the files of {day} were not made"))?;
    progress.0.finish_and_clear();
    println!("{}", summary(&runs, started.elapsed().as_secs_f64()));
    Ok(())
}

/// The summary line: totals, and each date run.
fn summary(runs: &[RunSummary], seconds: f64) -> serde_json::Value {
    let made: Vec<&RunSummary> = runs.iter().filter(|r| !r.already_done).collect();
    serde_json::json!({
        "reference_date": runs.last().map(|r| r.reference_date),
        "files": made.iter().map(|r| r.files).sum::<u64>(),
        "records": made.iter().map(|r| r.records).sum::<u64>(),
        "bytes": made.iter().map(|r| r.bytes).sum::<u64>(),
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "already_done": made.is_empty(),
        "runs": runs,
    })
}

pub fn status(config: &Config, limit: i64) -> anyhow::Result<()> {
    let db = Database::open_existing(&config.database_url, 1).with_context(|| {
        format!(
            "cannot open the database {}",
            redact_url(&config.database_url)
        )
    })?;
    let (runs, files) = daily_run::status(&db, limit)?;
    for run in runs {
        println!(
            "{}",
            serde_json::json!({
                "run": run.reference_date,
                "journal": [run.journal_after, run.journal_upto],
                "dimona": [run.dimona_after, run.dimona_upto],
                "started_at": run.started_at.and_utc().to_rfc3339(),
                "finished_at": run.finished_at.map(|t| t.and_utc().to_rfc3339()),
                "files": run.files,
                "records": run.records,
                "trigger": run.trigger_name,
            })
        );
    }
    for file in files {
        println!(
            "{}",
            serde_json::json!({
                "subscription": file.subscription_id,
                "file_type": file.file_type,
                "last_sequence": file.sequence_number,
                "last_file": file.file_name,
                "reference_date": file.reference_date,
                "written": file.written_at.is_some(),
            })
        );
    }
    Ok(())
}

fn open(config: &Config) -> anyhow::Result<Database> {
    Database::open(&config.database_url, 4)
        .map(|db| {
            db.with_checkout_timeout(std::time::Duration::from_secs(
                config.db_connect_timeout_seconds,
            ))
        })
        .with_context(|| {
            format!(
                "cannot open the database {}",
                redact_url(&config.database_url)
            )
        })
}
