//! What `GET /metrics` shows, in the Prometheus text format: requests by service, operation
//! and reason code, their latency, authentication outcomes, the database pool and audit
//! queue as they are when scraped, and the batch engine (daily runs, their files, records and
//! duration, the age of the last successful run, inbox files by outcome). Only counts and
//! durations: no personal data, no tickets.
//!
//! The recorder is global (the `metrics` facade): [`install`] sets it up once per process;
//! without it (the CLI) the recording functions cost nothing.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Counter: answered SOAP requests, by `service`, `operation` and `reason` (`OK` or the
/// fault's reason code).
pub const REQUESTS: &str = "raas_requests_total";
/// Histogram: seconds from the request's complete body to its answer, by `service` and `operation`.
pub const REQUEST_DURATION: &str = "raas_request_duration_seconds";
/// Counter: authentication attempts by `outcome`: `success` (the secret verified against its
/// hash), `remembered` (matched a recently verified secret), `failure`, `throttled`.
pub const AUTHENTICATIONS: &str = "raas_authentications_total";
/// Gauges of the database pool.
pub const DB_CONNECTIONS: &str = "raas_db_pool_connections";
pub const DB_IDLE_CONNECTIONS: &str = "raas_db_pool_idle_connections";
pub const DB_MAX_CONNECTIONS: &str = "raas_db_pool_max_connections";
/// Gauge: audit entries waiting to be committed.
pub const AUDIT_PENDING: &str = "raas_audit_pending_entries";

/// Counter: daily runs (one per reference date) made by this process's scheduler, by
/// `outcome`: `success` (files made), `already_done` (the date had been run: nothing made),
/// `failure` (the run stopped; the next one resumes).
pub const BATCH_RUNS: &str = "raas_batch_runs_total";
/// Counters: files and records of the successful runs.
pub const BATCH_FILES: &str = "raas_batch_files_total";
pub const BATCH_RECORDS: &str = "raas_batch_records_total";
/// Histogram: seconds each successful run took (buckets 1 s … 30 min).
pub const BATCH_DURATION: &str = "raas_batch_run_duration_seconds";
/// Gauges: files, records and seconds of the last successful run of this process.
pub const BATCH_LAST_FILES: &str = "raas_batch_last_run_files";
pub const BATCH_LAST_RECORDS: &str = "raas_batch_last_run_records";
pub const BATCH_LAST_SECONDS: &str = "raas_batch_last_run_duration_seconds";
/// Gauge: 1 when the batch engine is on (a signing key is configured), 0 when it is off.
pub const BATCH_ENABLED: &str = "raas_batch_engine_enabled";
/// Gauge, computed when scraped from the database (so runs of `raas batch run` and of other
/// processes count): seconds since the last successful run finished. Absent while no run
/// ever finished or the database does not answer.
pub const BATCH_LAST_SUCCESS_AGE: &str = "raas_batch_last_success_age_seconds";
/// Counter: inbox files handled, by `kind` (`nr-mutations`, `dimona`) and `outcome`
/// (`applied`, `already_applied`, `rejected`, `left`: kept for the next sweep).
pub const INBOX_FILES: &str = "raas_inbox_files_total";

/// Latency buckets, in seconds: fine below 20 ms, where the answers are expected.
const BUCKETS: &[f64] = &[
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Daily run buckets, in seconds: the goal is under 30 s.
const BATCH_BUCKETS: &[f64] = &[1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0];
/// How often histogram samples are folded in when nobody scrapes (bounds their memory).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder (once), and gives the handle that renders it; `None` if
/// another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.into()), BUCKETS)
                .ok()?
                .set_buckets_for_metric(Matcher::Full(BATCH_DURATION.into()), BATCH_BUCKETS)
                .ok()?
                .install_recorder()
                .map_err(|e| tracing::warn!(error = %e, "metrics are not recorded"))
                .ok()?;
            describe();
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                })
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        REQUESTS,
        "SOAP requests answered, by service, operation and reason code (OK for an answer)"
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from a SOAP request's complete body to its answer, by service and operation"
    );
    describe_counter!(
        AUTHENTICATIONS,
        "Authentication attempts by outcome (success, remembered, failure, throttled)"
    );
    describe_gauge!(DB_CONNECTIONS, "Database connections open in the pool");
    describe_gauge!(DB_IDLE_CONNECTIONS, "Database connections idle in the pool");
    describe_gauge!(
        DB_MAX_CONNECTIONS,
        "Database connections the pool opens at most"
    );
    describe_gauge!(
        AUDIT_PENDING,
        "Audit entries handed to the writer and not yet committed"
    );
    describe_counter!(
        BATCH_RUNS,
        "Daily runs made by the scheduler, by outcome (success, already_done, failure)"
    );
    describe_counter!(BATCH_FILES, "Files made by the successful daily runs");
    describe_counter!(
        BATCH_RECORDS,
        "Records written by the successful daily runs"
    );
    describe_histogram!(
        BATCH_DURATION,
        Unit::Seconds,
        "Duration of each successful daily run"
    );
    describe_gauge!(
        BATCH_LAST_FILES,
        "Files made by the last successful daily run"
    );
    describe_gauge!(
        BATCH_LAST_RECORDS,
        "Records written by the last successful daily run"
    );
    describe_gauge!(
        BATCH_LAST_SECONDS,
        Unit::Seconds,
        "Duration of the last successful daily run"
    );
    describe_gauge!(
        BATCH_ENABLED,
        "1 when the batch engine is on (a signing key is configured), 0 when off"
    );
    describe_counter!(
        INBOX_FILES,
        "Inbox feed files handled, by kind and outcome (applied, already_applied, rejected, left)"
    );
}

/// Records one answered SOAP request.
pub fn request(service: &'static str, operation: &str, reason: &'static str, took: Duration) {
    ::metrics::counter!(
        REQUESTS,
        "service" => service,
        "operation" => operation.to_owned(),
        "reason" => reason
    )
    .increment(1);
    ::metrics::histogram!(
        REQUEST_DURATION,
        "service" => service,
        "operation" => operation.to_owned()
    )
    .record(took.as_secs_f64());
}

/// Records one authentication attempt's outcome (see [`AUTHENTICATIONS`]).
pub fn auth_outcome(outcome: &'static str) {
    ::metrics::counter!(AUTHENTICATIONS, "outcome" => outcome).increment(1);
}

/// Records one reference date's run made by the scheduler.
pub fn batch_run(files: u64, records: u64, seconds: f64, already_done: bool) {
    if already_done {
        ::metrics::counter!(BATCH_RUNS, "outcome" => "already_done").increment(1);
        return;
    }
    ::metrics::counter!(BATCH_RUNS, "outcome" => "success").increment(1);
    ::metrics::counter!(BATCH_FILES).increment(files);
    ::metrics::counter!(BATCH_RECORDS).increment(records);
    ::metrics::histogram!(BATCH_DURATION).record(seconds);
    ::metrics::gauge!(BATCH_LAST_FILES).set(files as f64);
    ::metrics::gauge!(BATCH_LAST_RECORDS).set(records as f64);
    ::metrics::gauge!(BATCH_LAST_SECONDS).set(seconds);
}

/// Records a scheduled run that failed.
pub fn batch_run_failed() {
    ::metrics::counter!(BATCH_RUNS, "outcome" => "failure").increment(1);
}

/// Records one inbox file's outcome (see [`INBOX_FILES`]).
pub fn inbox_file(kind: &'static str, outcome: &'static str) {
    ::metrics::counter!(INBOX_FILES, "kind" => kind, "outcome" => outcome).increment(1);
}

/// The state gauges, as they are now.
pub struct Snapshot {
    /// (open connections, idle, maximum)
    pub pool: (u32, u32, u32),
    pub audit_pending: usize,
    /// Whether the batch engine is on in this process.
    pub batch_enabled: bool,
    /// Seconds since the last successful daily run finished (`None`: no run finished yet,
    /// or the database did not answer).
    pub batch_last_success_age: Option<f64>,
}

/// The exposition text, with the gauges set from `now`; `None` when no recorder is installed.
pub fn render(now: Snapshot) -> Option<String> {
    let handle = install()?;
    let (connections, idle, max) = now.pool;
    ::metrics::gauge!(DB_CONNECTIONS).set(connections);
    ::metrics::gauge!(DB_IDLE_CONNECTIONS).set(idle);
    ::metrics::gauge!(DB_MAX_CONNECTIONS).set(max);
    ::metrics::gauge!(AUDIT_PENDING).set(now.audit_pending as f64);
    ::metrics::gauge!(BATCH_ENABLED).set(if now.batch_enabled { 1.0 } else { 0.0 });
    let mut text = handle.render();
    // Written here rather than kept in the recorder: a value that is not known now must not
    // be shown as it was at an earlier scrape.
    if let Some(age) = now.batch_last_success_age {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!(
            "# HELP {BATCH_LAST_SUCCESS_AGE} Seconds since the last successful daily run finished (any process)\n\
             # TYPE {BATCH_LAST_SUCCESS_AGE} gauge\n\
             {BATCH_LAST_SUCCESS_AGE} {age}\n"
        ));
    }
    Some(text)
}
