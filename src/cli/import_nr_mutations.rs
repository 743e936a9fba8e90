//! `raas import nr-mutations FILE`: applies an authentic-source feed, whole or not at all.

use std::path::Path;

use anyhow::Context;

use crate::feed;
use crate::service::source_feed;
use crate::store::Database;

pub fn run(database_url: &str, file: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let today = chrono::Utc::now().date_naive();
    let feed = feed::read::read(&bytes, today)
        .with_context(|| format!("{} is refused, nothing was applied", file.display()))?;
    let db = Database::open(database_url, 1).with_context(|| {
        format!(
            "cannot open the database {}",
            crate::store::redact_url(database_url)
        )
    })?;
    let report = source_feed::apply(&db, &feed, today)
        .with_context(|| format!("{} is refused, nothing was applied", file.display()))?;
    if report.already_applied {
        println!("{}: already applied, nothing changed", report.file_id);
    } else {
        println!(
            "{}: applied {} records: {} new persons, {} identity changes, {} deceases, {} replacements ({} register lines moved, {} registers changed)",
            report.file_id,
            report.records,
            report.persons_created,
            report.identities_changed,
            report.deceases,
            report.replacements,
            report.lines_moved,
            report.registers_changed
        );
    }
    Ok(())
}
