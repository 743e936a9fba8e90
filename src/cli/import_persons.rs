//! `raas import persons FILE [--quiet]`: loads a population file, with a progress bar on
//! standard error (bytes read, persons per second) when it is a terminal, and one line on
//! standard output at the end.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::population::import::{import_file, ImportError, ImportProgress};
use crate::store::Database;

/// Shows the bytes of the file read and the persons per second.
struct Bar(ProgressBar);

impl ImportProgress for Bar {
    fn read(&self, bytes: u64, persons: u64) {
        self.0.set_position(bytes);
        let seconds = self.0.elapsed().as_secs_f64().max(1e-3);
        self.0.set_message(format!(
            "{persons} persons, {:.0} persons/s",
            persons as f64 / seconds
        ));
    }

    fn finishing(&self) {
        self.0.set_message("completing the load (index, commit)…");
    }
}

pub fn run(database_url: &str, file: &Path, quiet: bool) -> anyhow::Result<()> {
    let db = Database::open(database_url, 2).with_context(|| {
        format!(
            "cannot open the database {}",
            crate::store::redact_url(database_url)
        )
    })?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let bar = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {binary_bytes}/{binary_total_bytes} {msg}",
        )?
        .progress_chars("=> ");
        bar.set_style(style);
        bar
    };
    let bar = Bar(bar);
    let report = import_file(&db, file, &bar);
    bar.0.finish_and_clear();
    let report = report.map_err(|e| match e {
        // Already names the file.
        ImportError::Read { .. } => anyhow::anyhow!("{e}"),
        e => anyhow::anyhow!("{}: {e}", file.display()),
    })?;
    println!(
        "imported {} persons in {:.1} s ({:.0} persons/s)",
        report.persons,
        report.elapsed.as_secs_f64(),
        report.persons_per_second()
    );
    Ok(())
}
