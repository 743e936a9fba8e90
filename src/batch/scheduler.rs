//! The schedule inside `raas serve`: four cron jobs (tokio-cron-scheduler, in the configured
//! time zone) on the server's runtime — the daily run for the day before
//! (`daily_schedule`), the inbox sweep (`inbox_schedule`), the mailboxes' expiry
//! and notices (`delivery_schedule`), the daily summaries of new deliveries
//! (`notification_schedule`) — and, at start-up, one of each but the summaries at once, so
//! the days missed while the service was down are made (in date order, by
//! [`crate::batch::run_until`]) and the files dropped meanwhile applied (a summary missed
//! is not made at start-up: the next one covers everything since the last).
//!
//! - The work is blocking: it runs on the blocking pool, never on the runtime's threads.
//! - A job never overlaps itself in a process: firing while its previous run goes on, it
//!   runs once more right after it (several firings meanwhile make one more run).
//!   Between processes, and against `raas batch run`, runs exclude each other through the
//!   database (inside `run_until`), and inbox files are applied once per `fileId`.
//! - A failure is logged and counted (`raas_batch_runs_total{outcome="failure"}`) and never
//!   stops the service; the next firing resumes where the failed run stopped.
//! - The engine is on when a signing key is configured; off, no job runs and `/readyz` says
//!   so.
//! - tokio-cron-scheduler computes later firings with the zone's UTC offset of the moment
//!   the job was made; the jobs are made again when the zone's offset changes (summer time),
//!   so that `0 30 2 * * *` stays 02:30 local time.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use tokio_cron_scheduler::{Job, JobScheduler};
use uuid::Uuid;

use super::{BatchSettings, Quiet, Trigger};
use crate::config::Config;
use crate::service::delivery::MailboxSettings;
use crate::store::{batch_run, Database, StoreError};

/// How often the zone's UTC offset is compared with the jobs' one.
const OFFSET_CHECK_EVERY: Duration = Duration::from_secs(60);

/// The two cron expressions, checked.
#[derive(Debug, Clone)]
pub struct Schedules {
    pub daily: String,
    pub inbox: String,
    /// The mailboxes' sweep (expiry, notices).
    pub expiry: String,
    /// The daily summaries of new deliveries.
    pub summary: String,
    pub time_zone: chrono_tz::Tz,
}

/// A configuration the scheduler cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("{key}: invalid cron expression {expression:?}: {reason} (six fields: second minute hour day-of-month month day-of-week, e.g. \"0 30 2 * * *\")")]
    Invalid {
        key: &'static str,
        expression: String,
        reason: String,
    },
    #[error("{key}: the cron expression {expression:?} never fires")]
    Never {
        key: &'static str,
        expression: String,
    },
    #[error("signing_key: {0}")]
    Key(String),
    #[error("the scheduler cannot start: {0}")]
    Scheduler(String),
}

impl Schedules {
    /// The schedules of the configuration, refused when an expression does not parse.
    pub fn from_config(config: &Config) -> Result<Schedules, ScheduleError> {
        let schedules = Schedules {
            daily: config.daily_schedule.clone(),
            inbox: config.inbox_schedule.clone(),
            expiry: config.delivery_schedule.clone(),
            summary: config.notification_schedule.clone(),
            time_zone: config.time_zone,
        };
        for (key, expression) in schedules.keys() {
            let mut job = cron_job(key, expression, schedules.time_zone, || async {})?;
            // No next firing: the job would never run.
            if job.job_data().map_or(true, |data| data.next_tick == 0) {
                return Err(ScheduleError::Never {
                    key,
                    expression: expression.to_owned(),
                });
            }
        }
        Ok(schedules)
    }

    fn keys(&self) -> [(&'static str, &str); 4] {
        [
            ("daily_schedule", self.daily.as_str()),
            ("inbox_schedule", self.inbox.as_str()),
            ("delivery_schedule", self.expiry.as_str()),
            ("notification_schedule", self.summary.as_str()),
        ]
    }
}

/// A job of `expression` in `zone` that runs `work` at each firing.
fn cron_job<F, W>(
    key: &'static str,
    expression: &str,
    zone: chrono_tz::Tz,
    work: W,
) -> Result<Job, ScheduleError>
where
    W: Fn() -> F + Send + Sync + 'static,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    // The crate's parser accepts five fields as well; the configuration speaks of six.
    let fields = expression.split_whitespace().count();
    let invalid = |reason: String| ScheduleError::Invalid {
        key,
        expression: expression.to_owned(),
        reason,
    };
    if !(6..=7).contains(&fields) {
        return Err(invalid(format!("{fields} fields")));
    }
    Job::new_async_tz(expression, zone, move |_, _| Box::pin(work())).map_err(|_| {
        invalid("a field is not a number, range, list, step or name it can hold".into())
    })
}

/// One job's runs in this process: never two at once; a firing during a run makes one more
/// run after it.
#[derive(Default)]
struct Serial {
    /// (running, fired again meanwhile)
    state: Mutex<(bool, bool)>,
}

impl Serial {
    /// Whether the caller runs now (else the running one runs once more).
    fn enter(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 {
            state.1 = true;
            false
        } else {
            state.0 = true;
            true
        }
    }

    /// After a run: whether to run once more (else the job is idle).
    fn again(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.1 {
            state.1 = false;
            true
        } else {
            state.0 = false;
            false
        }
    }

    fn running(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0
    }
}

/// The last outcome of this process's daily runs.
#[derive(Debug, Clone, Default)]
struct LastOutcome {
    failed_at: Option<DateTime<Utc>>,
    failure: Option<String>,
    succeeded_at: Option<DateTime<Utc>>,
}

struct Engine {
    db: Database,
    settings: BatchSettings,
    inbox: PathBuf,
    mailboxes: MailboxSettings,
    daily: Serial,
    sweeping: Serial,
    expiring: Serial,
    summarising: Serial,
    last: Mutex<LastOutcome>,
}

impl Engine {
    async fn daily_run(self: Arc<Self>) {
        if !self.daily.enter() {
            tracing::info!("the daily run is still going on: it runs once more when it ends");
            return;
        }
        loop {
            let day = self.settings.today().pred_opt().unwrap_or(NaiveDate::MIN);
            let engine = self.clone();
            let started = Instant::now();
            let result = tokio::task::spawn_blocking(move || {
                super::run_until(&engine.db, &engine.settings, day, Trigger::Schedule, &Quiet)
            })
            .await;
            let failure = match result {
                Ok(Ok(summaries)) => {
                    for run in &summaries {
                        crate::metrics::batch_run(
                            run.files,
                            run.records,
                            run.seconds,
                            run.already_done,
                        );
                        tracing::info!(
                            reference_date = %run.reference_date,
                            files = run.files,
                            records = run.records,
                            bytes = run.bytes,
                            seconds = run.seconds,
                            already_done = run.already_done,
                            "daily run"
                        );
                    }
                    None
                }
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(format!("the run stopped: {e}")),
            };
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            match failure {
                None => last.succeeded_at = Some(Utc::now()),
                Some(error) => {
                    crate::metrics::batch_run_failed();
                    tracing::error!(
                        reference_date = %day,
                        %error,
                        seconds = started.elapsed().as_secs_f64(),
                        "the daily run failed; the next one resumes"
                    );
                    last.failed_at = Some(Utc::now());
                    last.failure = Some(error);
                }
            }
            drop(last);
            if !self.daily.again() {
                break;
            }
        }
    }

    async fn sweep(self: Arc<Self>) {
        if !self.sweeping.enter() {
            tracing::debug!("the inbox sweep is still going on: it sweeps once more when it ends");
            return;
        }
        loop {
            let engine = self.clone();
            let today = self.settings.today();
            let result = tokio::task::spawn_blocking(move || {
                super::inbox::sweep(&engine.db, &engine.inbox, today)
            })
            .await;
            match result {
                // Each file is logged by the sweep; a folder that cannot be read too.
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "the inbox sweep stopped"),
            }
            if !self.sweeping.again() {
                break;
            }
        }
    }

    /// The mailboxes' sweep: takes the expired deliveries out of the mailboxes, then gives
    /// the notices owed of deliveries never downloaded.
    async fn expire(self: Arc<Self>) {
        self.serially(
            |engine| &engine.expiring,
            "the mailboxes' sweep",
            |engine| {
                let now = crate::store::now();
                let sweep = crate::service::delivery::expire(&engine.db, &engine.mailboxes, now)?;
                let notices = crate::service::notification::give_notices(
                    &engine.db,
                    &engine.mailboxes.notices,
                    now,
                )?;
                Ok((sweep, notices))
            },
            |(sweep, notices)| {
                if sweep.expired + sweep.removed + notices.unread + notices.expiring > 0 {
                    tracing::info!(
                        expired = sweep.expired,
                        removed = sweep.removed,
                        unread_reminders = notices.unread,
                        expiry_alerts = notices.expiring,
                        emails = notices.emails,
                        "mailboxes swept"
                    );
                }
            },
        )
        .await
    }

    /// The daily summaries of new deliveries.
    async fn summarise(self: Arc<Self>) {
        self.serially(
            |engine| &engine.summarising,
            "the daily summaries",
            |engine| crate::service::notification::summarise(&engine.db, crate::store::now()),
            |emails| {
                if *emails > 0 {
                    tracing::info!(emails, "daily summaries of new deliveries enqueued");
                }
            },
        )
        .await
    }

    /// Runs `work` on the blocking pool, never twice at once in this process (a firing
    /// meanwhile makes it run once more after), `done` told of each success; a failure is
    /// logged.
    async fn serially<T: Send + 'static>(
        self: Arc<Self>,
        serial: fn(&Engine) -> &Serial,
        what: &'static str,
        work: fn(&Engine) -> Result<T, crate::service::error::ServiceError>,
        done: fn(&T),
    ) {
        if !serial(&self).enter() {
            return;
        }
        loop {
            let engine = self.clone();
            match tokio::task::spawn_blocking(move || work(&engine)).await {
                Ok(Ok(outcome)) => done(&outcome),
                Ok(Err(e)) => tracing::error!(error = %e, "{what} failed"),
                Err(e) => tracing::error!(error = %e, "{what} stopped"),
            }
            if !serial(&self).again() {
                break;
            }
        }
    }
}

/// The jobs as added to the scheduler, and the zone offset they were made with.
struct Jobs {
    daily: Uuid,
    inbox: Uuid,
    expiry: Uuid,
    summary: Uuid,
    offset_seconds: i32,
}

/// What `/readyz` and `/metrics` show of the batch engine; cheap to clone. Off until
/// [`start`] turns it on.
#[derive(Clone, Default)]
pub struct BatchStatus {
    inner: Arc<OnceLock<Running>>,
}

struct Running {
    engine: Arc<Engine>,
    scheduler: JobScheduler,
    jobs: Mutex<Jobs>,
    time_zone: chrono_tz::Tz,
}

impl std::fmt::Debug for BatchStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchStatus")
            .field("on", &self.is_on())
            .finish()
    }
}

/// The batch engine's state, as `/readyz` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// `on` or `off`.
    pub engine: &'static str,
    /// The reference date of the last successful run (of any process), when the database
    /// answered.
    pub last_successful_run: Option<NaiveDate>,
    /// When that run finished (RFC 3339, UTC).
    pub last_successful_run_finished_at: Option<String>,
    /// The next firing of the daily job (RFC 3339, in the configured time zone).
    pub next_daily_run: Option<String>,
    /// Whether this process is making a daily run now.
    pub running: bool,
    /// This process's last failed run, when it failed after its last success.
    pub last_failure: Option<String>,
}

impl BatchStatus {
    /// An engine that is off.
    pub fn off() -> BatchStatus {
        BatchStatus::default()
    }

    pub fn is_on(&self) -> bool {
        self.inner.get().is_some()
    }

    /// The engine's state; `last_success` is what [`last_success`] read (if it could).
    pub async fn report(&self, last_success: Option<(NaiveDate, NaiveDateTime)>) -> Report {
        let (day, finished) = last_success.unzip();
        let mut report = Report {
            engine: "off",
            last_successful_run: day,
            last_successful_run_finished_at: finished.map(|at| {
                at.and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }),
            next_daily_run: None,
            running: false,
            last_failure: None,
        };
        let Some(running) = self.inner.get() else {
            return report;
        };
        report.engine = "on";
        report.running = running.engine.daily.running();
        let last = running
            .engine
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if last.failed_at > last.succeeded_at {
            report.last_failure = last.failure;
        }
        let daily = running.jobs.lock().unwrap_or_else(|e| e.into_inner()).daily;
        let mut scheduler = running.scheduler.clone();
        if let Ok(Ok(Some(next))) =
            tokio::time::timeout(Duration::from_secs(1), scheduler.next_tick_for_job(daily)).await
        {
            report.next_daily_run = Some(
                next.with_timezone(&running.time_zone)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
        }
        report
    }
}

/// The last successful run of any process: its reference date and when it finished (UTC).
pub fn last_success(db: &Database) -> Result<Option<(NaiveDate, NaiveDateTime)>, StoreError> {
    batch_run::last_finished(&mut *db.connection()?)
}

/// Starts the engine on the current runtime: the two jobs, and at once a catch-up run and a
/// sweep; `status` then reports it. Off (no signing key): logs it, and `status` stays off.
pub async fn start(
    status: &BatchStatus,
    db: Database,
    settings: BatchSettings,
    inbox: PathBuf,
    mailboxes: MailboxSettings,
    schedules: &Schedules,
) -> Result<(), ScheduleError> {
    let signing_key = settings.signing_key.clone();
    let engine = Arc::new(Engine {
        db,
        settings,
        inbox,
        mailboxes,
        daily: Serial::default(),
        sweeping: Serial::default(),
        expiring: Serial::default(),
        summarising: Serial::default(),
        last: Mutex::new(LastOutcome::default()),
    });
    let scheduler = JobScheduler::new()
        .await
        .map_err(|e| ScheduleError::Scheduler(e.to_string()))?;
    let Some(key) = &signing_key else {
        tracing::warn!("batch engine off: no signing_key configured (the mailboxes still expire)");
        return expiry_only(scheduler, engine, schedules).await;
    };
    // A key that cannot sign refuses the start, rather than every night's run.
    super::signing::SigningKey::load(key).map_err(|e| ScheduleError::Key(e.to_string()))?;
    let jobs = add_jobs(&scheduler, &engine, schedules).await?;
    scheduler
        .start()
        .await
        .map_err(|e| ScheduleError::Scheduler(e.to_string()))?;
    let running = Running {
        engine: engine.clone(),
        scheduler,
        jobs: Mutex::new(jobs),
        time_zone: schedules.time_zone,
    };
    if status.inner.set(running).is_err() {
        return Err(ScheduleError::Scheduler(
            "the batch engine is started already".into(),
        ));
    }
    tracing::info!(
        daily_schedule = %schedules.daily,
        inbox_schedule = %schedules.inbox,
        delivery_schedule = %schedules.expiry,
        notification_schedule = %schedules.summary,
        time_zone = %schedules.time_zone,
        outbox = %engine.settings.outbox.display(),
        inbox = %engine.inbox.display(),
        "batch engine on"
    );
    // Catching up: the days missed while the service was down, and the files dropped.
    tokio::spawn(engine.clone().daily_run());
    tokio::spawn(engine.clone().sweep());
    tokio::spawn(engine.clone().expire());
    tokio::spawn(follow_offset(status.clone(), schedules.clone()));
    Ok(())
}

/// The engine off: only the mailboxes' jobs run (broadcasts expire, and are reminded of and
/// summarised, without daily files), at once and on their schedules, for as long as the
/// process lives.
async fn expiry_only(
    scheduler: JobScheduler,
    engine: Arc<Engine>,
    schedules: &Schedules,
) -> Result<(), ScheduleError> {
    let failed =
        |e: tokio_cron_scheduler::JobSchedulerError| ScheduleError::Scheduler(e.to_string());
    for job in mailbox_jobs(&engine, schedules)? {
        scheduler.add(job).await.map_err(failed)?;
    }
    scheduler.start().await.map_err(failed)?;
    tokio::spawn(engine.expire());
    tokio::spawn(async move {
        let _running = scheduler;
        std::future::pending::<()>().await
    });
    Ok(())
}

/// The mailboxes' sweep on `delivery_schedule` and the daily summaries on
/// `notification_schedule`.
fn mailbox_jobs(engine: &Arc<Engine>, schedules: &Schedules) -> Result<[Job; 2], ScheduleError> {
    let on_expiry = engine.clone();
    let expiry = cron_job(
        "delivery_schedule",
        &schedules.expiry,
        schedules.time_zone,
        move || on_expiry.clone().expire(),
    )?;
    let on_summary = engine.clone();
    let summary = cron_job(
        "notification_schedule",
        &schedules.summary,
        schedules.time_zone,
        move || on_summary.clone().summarise(),
    )?;
    Ok([expiry, summary])
}

async fn add_jobs(
    scheduler: &JobScheduler,
    engine: &Arc<Engine>,
    schedules: &Schedules,
) -> Result<Jobs, ScheduleError> {
    let offset_seconds = offset_now(schedules.time_zone);
    let on_daily = engine.clone();
    let daily = cron_job(
        "daily_schedule",
        &schedules.daily,
        schedules.time_zone,
        move || on_daily.clone().daily_run(),
    )?;
    let on_inbox = engine.clone();
    let inbox = cron_job(
        "inbox_schedule",
        &schedules.inbox,
        schedules.time_zone,
        move || on_inbox.clone().sweep(),
    )?;
    let [expiry, summary] = mailbox_jobs(engine, schedules)?;
    let add = |job| async {
        scheduler
            .add(job)
            .await
            .map_err(|e| ScheduleError::Scheduler(e.to_string()))
    };
    Ok(Jobs {
        daily: add(daily).await?,
        inbox: add(inbox).await?,
        expiry: add(expiry).await?,
        summary: add(summary).await?,
        offset_seconds,
    })
}

fn offset_now(zone: chrono_tz::Tz) -> i32 {
    zone.offset_from_utc_datetime(&Utc::now().naive_utc())
        .fix()
        .local_minus_utc()
}

/// Makes the jobs again when the zone's UTC offset changes (see the module's notes).
async fn follow_offset(status: BatchStatus, schedules: Schedules) {
    let Some(running) = status.inner.get() else {
        return;
    };
    let mut every = tokio::time::interval(OFFSET_CHECK_EVERY);
    loop {
        every.tick().await;
        let made_with = running
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .offset_seconds;
        if offset_now(schedules.time_zone) == made_with {
            continue;
        }
        match add_jobs(&running.scheduler, &running.engine, &schedules).await {
            Ok(jobs) => {
                let old = std::mem::replace(
                    &mut *running.jobs.lock().unwrap_or_else(|e| e.into_inner()),
                    jobs,
                );
                for id in [old.daily, old.inbox, old.expiry, old.summary] {
                    if let Err(e) = running.scheduler.remove(&id).await {
                        tracing::error!(error = %e, "a job of the old UTC offset is not removed");
                    }
                }
                tracing::info!(
                    time_zone = %schedules.time_zone,
                    "the zone's UTC offset changed: the jobs are rescheduled"
                );
            }
            Err(e) => tracing::error!(error = %e, "the jobs cannot be rescheduled"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_firing_during_a_run_makes_one_more_run_after_it() {
        let serial = Serial::default();
        assert!(serial.enter());
        assert!(serial.running());
        // Two firings meanwhile: one more run.
        assert!(!serial.enter());
        assert!(!serial.enter());
        assert!(serial.again());
        assert!(serial.running());
        assert!(!serial.again());
        assert!(!serial.running());
        assert!(serial.enter());
    }

    fn job(expression: &str) -> Result<Job, ScheduleError> {
        cron_job(
            "daily_schedule",
            expression,
            chrono_tz::Europe::Brussels,
            || async {},
        )
    }

    #[test]
    fn six_or_seven_fields_are_taken_and_five_are_refused_naming_the_key() {
        assert!(job("0 30 2 * * *").is_ok());
        assert!(job("0 30 2 * * * 2030").is_ok());
        let refused = job("30 2 * * *").err().expect("refused").to_string();
        assert!(
            refused.starts_with("daily_schedule: invalid cron expression \"30 2 * * *\": 5 fields"),
            "{refused}"
        );
        let refused = job("0 30 25 * * *").err().expect("refused").to_string();
        assert!(
            refused.starts_with("daily_schedule: invalid cron expression"),
            "{refused}"
        );
    }

    #[test]
    fn the_next_daily_firing_is_in_the_zone_s_time() {
        let mut daily = job("0 30 2 * * *").expect("a job");
        let next = daily.job_data().expect("its data").next_tick;
        let next = DateTime::from_timestamp(next as i64, 0).expect("a time");
        let local = next.with_timezone(&chrono_tz::Europe::Brussels);
        assert_eq!(local.format("%H:%M:%S").to_string(), "02:30:00");
        assert!(next > Utc::now());
    }
}
