//! The inbox: feed files dropped in `<inbox>/nr-mutations/` (xsd/NrMutations.xsd) and
//! `<inbox>/dimona/` (xsd/Dimona.xsd) are applied by each sweep, in name order, the NR
//! feed's first, then Dimona's.
//!
//! - Only `*.xml` files whose name does not start with `.` are read: a sender writes a file
//!   under a hidden or other name and renames it into place when complete.
//! - Applied (or applied before: same `fileId` and content), a file is moved to
//!   `<kind>/done/<name>`; refused, to `<kind>/rejected/<name>` beside `<name>.error`, one
//!   line naming the record and the reason. A refused file changed nothing.
//! - The database out of reach: the file stays where it is, and so do the files after it
//!   (name order is kept); the next sweep tries again.
//! - Two processes may sweep the same inbox: a file is applied once (by its `fileId`, in the
//!   database); a move that fails because the other process moved the file first is not an
//!   error.

use std::fs::File;
use std::io::{BufReader, ErrorKind};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::feed::read::{self, FeedReader};
use crate::service::source_feed::{self, FeedError};
use crate::store::Database;

const READ_BUFFER: usize = 1 << 20;

/// The kinds of feed files, in the order a sweep takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NrMutations,
    Dimona,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::NrMutations, Kind::Dimona];

    /// The kind's folder in the inbox (and its name in logs and metrics).
    pub fn folder(self) -> &'static str {
        match self {
            Kind::NrMutations => "nr-mutations",
            Kind::Dimona => "dimona",
        }
    }

    fn apply(self, db: &Database, path: &Path, today: NaiveDate) -> Applied {
        match self {
            Kind::NrMutations => apply_nr_mutations(db, path, today),
            Kind::Dimona => apply_dimona(db, path, today),
        }
    }
}

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied now; moved to `done/`.
    Applied,
    /// Applied before (same `fileId` and content); moved to `done/`.
    AlreadyApplied,
    /// Refused (the reason is in `rejected/<name>.error`); moved to `rejected/`.
    Rejected(String),
    /// Kept in place for the next sweep (the database is out of reach, or the file could not
    /// be moved).
    Left(String),
    /// Another process took the file first.
    Taken,
}

impl Outcome {
    /// Its name in logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::AlreadyApplied => "already_applied",
            Outcome::Rejected(_) => "rejected",
            Outcome::Left(_) => "left",
            Outcome::Taken => "taken",
        }
    }
}

/// One file a sweep handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub kind: Kind,
    pub name: String,
    pub outcome: Outcome,
}

/// Why a sweep could not look at a kind's folder at all.
#[derive(Debug, thiserror::Error)]
#[error("inbox {folder}: {reason}")]
pub struct InboxError {
    pub folder: String,
    pub reason: String,
}

/// Applies the waiting files of every kind, in order; logs each (with its outcome) and counts
/// it in the metrics. A kind whose folder cannot be read is skipped (its error is given back
/// after the other kinds were swept).
pub fn sweep(db: &Database, inbox: &Path, today: NaiveDate) -> Result<Vec<Handled>, InboxError> {
    let mut handled = Vec::new();
    let mut failure = None;
    for kind in Kind::ALL {
        match sweep_kind(db, inbox, kind, today, &mut handled) {
            Ok(Continue::Yes) => {}
            // The database is out of reach: the next kind would find it so too.
            Ok(Continue::No) => break,
            Err(e) => {
                tracing::error!(error = %e, "the inbox folder cannot be swept");
                failure.get_or_insert(e);
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(handled),
    }
}

enum Continue {
    Yes,
    No,
}

fn sweep_kind(
    db: &Database,
    inbox: &Path,
    kind: Kind,
    today: NaiveDate,
    handled: &mut Vec<Handled>,
) -> Result<Continue, InboxError> {
    let folder = inbox.join(kind.folder());
    let refused = |reason: String| InboxError {
        folder: folder.display().to_string(),
        reason,
    };
    for sub in ["done", "rejected"] {
        std::fs::create_dir_all(folder.join(sub))
            .map_err(|e| refused(format!("cannot create {sub}/: {e}")))?;
    }
    for name in waiting(&folder).map_err(|e| refused(format!("cannot be listed: {e}")))? {
        let outcome = handle(db, &folder, &name, kind, today);
        log(kind, &name, &outcome);
        crate::metrics::inbox_file(kind.folder(), outcome.as_str());
        let stop = matches!(outcome, Outcome::Left(_));
        handled.push(Handled {
            kind,
            name,
            outcome,
        });
        if stop {
            return Ok(Continue::No);
        }
    }
    Ok(Continue::Yes)
}

/// The names of the files waiting in `folder`, in name order.
fn waiting(folder: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            tracing::warn!(
                folder = %folder.display(),
                file = ?entry.file_name(),
                "an inbox file whose name is not UTF-8 is ignored"
            );
            continue;
        };
        if name.starts_with('.') || !name.ends_with(".xml") {
            continue;
        }
        // A folder, or a file removed since it was listed, is not a file to apply.
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn log(kind: Kind, name: &str, outcome: &Outcome) {
    let kind = kind.folder();
    let what = outcome.as_str();
    match outcome {
        Outcome::Applied | Outcome::AlreadyApplied => {
            tracing::info!(kind, file = name, outcome = what, "inbox file applied")
        }
        Outcome::Rejected(reason) => {
            tracing::warn!(kind, file = name, outcome = what, %reason, "inbox file rejected")
        }
        Outcome::Left(reason) => tracing::warn!(
            kind,
            file = name,
            outcome = what,
            %reason,
            "inbox file left for the next sweep"
        ),
        Outcome::Taken => tracing::debug!(
            kind,
            file = name,
            outcome = what,
            "inbox file taken by another process"
        ),
    }
}

/// What applying a file's content gave.
enum Applied {
    Done {
        already: bool,
    },
    Refused(String),
    Unavailable(String),
    /// The file is no longer there (another process moved it).
    Gone,
}

fn handle(db: &Database, folder: &Path, name: &str, kind: Kind, today: NaiveDate) -> Outcome {
    let path = folder.join(name);
    match kind.apply(db, &path, today) {
        Applied::Gone => Outcome::Taken,
        Applied::Unavailable(reason) => Outcome::Left(reason),
        Applied::Done { already } => match move_to(&path, &folder.join("done"), name) {
            Moved::Yes => {
                if already {
                    Outcome::AlreadyApplied
                } else {
                    Outcome::Applied
                }
            }
            Moved::Taken => Outcome::Taken,
            Moved::Failed(reason) => Outcome::Left(reason),
        },
        // Refused by this process after another moved it (applied there): not this one's call.
        Applied::Refused(_) if !path.exists() => Outcome::Taken,
        Applied::Refused(reason) => {
            let rejected = folder.join("rejected");
            let line = format!(
                "{name} is refused, nothing was applied: {}\n",
                one_line(&reason)
            );
            // The reason first: a crash before the move refuses the file again next time.
            let error_file = rejected.join(format!("{name}.error"));
            if let Err(e) = write_atomically(&error_file, line.as_bytes()) {
                return Outcome::Left(format!("cannot write {}: {e}", error_file.display()));
            }
            match move_to(&path, &rejected, name) {
                Moved::Yes => Outcome::Rejected(reason),
                Moved::Taken => Outcome::Taken,
                Moved::Failed(reason) => Outcome::Left(reason),
            }
        }
    }
}

enum Moved {
    Yes,
    Taken,
    Failed(String),
}

/// Moves `from` into the folder `to` under `name` (a file of that name there already is
/// replaced: the newer is the one handled now).
fn move_to(from: &Path, to: &Path, name: &str) -> Moved {
    match std::fs::rename(from, to.join(name)) {
        Ok(()) => Moved::Yes,
        Err(e) if e.kind() == ErrorKind::NotFound && !from.exists() => Moved::Taken,
        Err(e) => Moved::Failed(format!("cannot move it to {}: {e}", to.display())),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temporary = PathBuf::from(path);
    temporary.set_file_name(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("error"),
        std::process::id()
    ));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

/// The reason on one line (a `.error` file is one line).
fn one_line(reason: &str) -> String {
    reason.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn open(path: &Path) -> std::io::Result<BufReader<File>> {
    File::open(path).map(|f| BufReader::with_capacity(READ_BUFFER, f))
}

fn unreadable(path: &Path, error: &std::io::Error) -> Applied {
    if error.kind() == ErrorKind::NotFound {
        Applied::Gone
    } else {
        Applied::Refused(format!("cannot read {}: {error}", path.display()))
    }
}

/// An NR feed file, as `raas import nr-mutations` applies it.
fn apply_nr_mutations(db: &Database, path: &Path, today: NaiveDate) -> Applied {
    let digest = match open(path).and_then(read::digest) {
        Ok(digest) => digest,
        Err(e) => return unreadable(path, &e),
    };
    let records = match open(path) {
        Ok(file) => match FeedReader::new(file, today) {
            Ok(records) => records,
            Err(e) => return Applied::Refused(e.to_string()),
        },
        Err(e) => return unreadable(path, &e),
    };
    match source_feed::apply(db, &digest, records, today) {
        Ok(report) => Applied::Done {
            already: report.already_applied,
        },
        Err(FeedError::Storage(e)) if e.is_unavailable() => Applied::Unavailable(e.to_string()),
        Err(e) => Applied::Refused(e.to_string()),
    }
}

/// A Dimona file, as `raas import dimona` applies it.
fn apply_dimona(db: &Database, path: &Path, today: NaiveDate) -> Applied {
    use crate::service::dimona_import::DimonaError;
    if let Err(e) = File::open(path) {
        return unreadable(path, &e);
    }
    match crate::dimona::apply_file(db, path, today) {
        Ok(report) => Applied::Done {
            already: report.already_applied,
        },
        Err(DimonaError::Storage(e)) if e.is_unavailable() => Applied::Unavailable(e.to_string()),
        Err(e) => Applied::Refused(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_xml_files_wait_in_name_order() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for name in ["b.xml", "a.xml", ".c.xml", "d.xml.part", "e.txt", "10.xml"] {
            std::fs::write(dir.path().join(name), "x").expect("a file");
        }
        std::fs::create_dir(dir.path().join("f.xml")).expect("a folder");
        assert_eq!(
            waiting(dir.path()).expect("listed"),
            ["10.xml", "a.xml", "b.xml"]
        );
    }

    #[test]
    fn a_reason_is_one_line() {
        assert_eq!(
            one_line("record r2:\n  the NISS\tis unknown\r\n"),
            "record r2: the NISS is unknown"
        );
    }

    #[test]
    fn a_move_of_a_file_another_process_moved_is_taken() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let done = dir.path().join("done");
        std::fs::create_dir(&done).expect("done/");
        let file = dir.path().join("a.xml");
        std::fs::write(&file, "x").expect("a file");
        assert!(matches!(move_to(&file, &done, "a.xml"), Moved::Yes));
        assert!(done.join("a.xml").is_file());
        assert!(matches!(move_to(&file, &done, "a.xml"), Moved::Taken));
    }
}
