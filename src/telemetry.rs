//! The server's log: `tracing` events on standard error, filtered by `RUST_LOG` (`info` by
//! default), as text or as one JSON object per line. Colours only on a terminal.
//!
//! Every SOAP request runs in a span named `soap` (see `soap::pipeline::handle`) whose fields
//! are `service`, `server_ticket`, `operation`, `client_ticket`, `organisation`, `outcome`
//! (`OK` or the reason code) and `duration_ms`; events inside it, the database work
//! included, carry them.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (`LEVEL span{fields}: target: message fields`).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, the event's fields
    /// (`message` …) at the top level, and the request's span under `span`.
    Json,
}

/// Sets the process's log subscriber (once; later calls change nothing).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
