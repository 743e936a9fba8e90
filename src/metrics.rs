//! What `GET /metrics` shows, in the Prometheus text format: requests by service, operation
//! and reason code, their latency, authentication outcomes, and the database pool and audit
//! queue as they are when scraped. Only counts and durations: no personal data, no tickets.
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

/// Latency buckets, in seconds: fine below 20 ms, where the answers are expected.
const BUCKETS: &[f64] = &[
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
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

/// The state gauges, as they are now.
pub struct Snapshot {
    /// (open connections, idle, maximum)
    pub pool: (u32, u32, u32),
    pub audit_pending: usize,
}

/// The exposition text, with the gauges set from `now`; `None` when no recorder is installed.
pub fn render(now: Snapshot) -> Option<String> {
    let handle = install()?;
    let (connections, idle, max) = now.pool;
    ::metrics::gauge!(DB_CONNECTIONS).set(connections);
    ::metrics::gauge!(DB_IDLE_CONNECTIONS).set(idle);
    ::metrics::gauge!(DB_MAX_CONNECTIONS).set(max);
    ::metrics::gauge!(AUDIT_PENDING).set(now.audit_pending as f64);
    Some(handle.render())
}
