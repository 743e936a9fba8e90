//! `raas import nr-mutations FILE`: applies an authentic-source feed, whole or not at all.
//! The file is read twice, both times streamed: once for its SHA-256, once to apply it.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::Context;

use crate::feed::read::{self, FeedReader};
use crate::service::source_feed;
use crate::store::Database;

const READ_BUFFER: usize = 1 << 20;

pub fn run(database_url: &str, file: &Path) -> anyhow::Result<()> {
    let open = || {
        File::open(file)
            .map(|f| BufReader::with_capacity(READ_BUFFER, f))
            .with_context(|| format!("cannot read {}", file.display()))
    };
    let refused = || format!("{} is refused, nothing was applied", file.display());
    let digest =
        read::digest(open()?).with_context(|| format!("cannot read {}", file.display()))?;
    let today = chrono::Utc::now().date_naive();
    let records = FeedReader::new(open()?, today).with_context(refused)?;
    let db = Database::open(database_url, 1).with_context(|| {
        format!(
            "cannot open the database {}",
            crate::store::redact_url(database_url)
        )
    })?;
    let report = source_feed::apply(&db, &digest, records, today).with_context(refused)?;
    if report.already_applied {
        println!("{}: already applied, nothing changed", report.file_id);
    } else {
        println!(
            "{}: applied {} records: {} new persons, {} identity changes, {} deceases, {} replacements ({} register lines moved, {} registers changed), {} cancellations",
            report.file_id,
            report.records,
            report.persons_created,
            report.identities_changed,
            report.deceases,
            report.replacements,
            report.lines_moved,
            report.registers_changed,
            report.cancellations
        );
    }
    Ok(())
}
