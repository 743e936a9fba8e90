//! `raas import dimona FILE`: applies a Dimona file (xsd/Dimona.xsd), whole or not at all.
//! The file is read twice, both times streamed: once for its SHA-256, once to apply it.

use std::path::Path;

use anyhow::Context;

use crate::service::dimona_import::DimonaError;
use crate::store::Database;

pub fn run(database_url: &str, file: &Path) -> anyhow::Result<()> {
    let db = Database::open(database_url, 1).with_context(|| {
        format!(
            "cannot open the database {}",
            crate::store::redact_url(database_url)
        )
    })?;
    let today = chrono::Utc::now().date_naive();
    let report = match crate::dimona::apply_file(&db, file, today) {
        Ok(report) => report,
        // The database failing is not the file's fault: it may apply later.
        Err(e @ (DimonaError::Storage(_) | DimonaError::Unreadable { .. })) => {
            return Err(anyhow::Error::new(e).context(format!("{} was not applied", file.display())))
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "{} is refused, nothing was applied",
                file.display()
            )))
        }
    };
    if report.already_applied {
        println!("{}: already applied, nothing changed", report.file_id);
    } else {
        println!(
            "{}: applied {} declarations: {} IN, {} OUT, {} UPDATE, {} CANCEL",
            report.file_id, report.records, report.ins, report.outs, report.updates, report.cancels
        );
    }
    Ok(())
}
