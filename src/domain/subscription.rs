//! Subscriptions to the daily files: which file type an organisation receives, for which of
//! its dossier types, from which day to which day, and for Dimona under which authorisation.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

/// The daily file types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileType {
    /// Identity changes, deceases, NISS replacements and cancellations.
    PersonMutations,
    /// Dimona declarations (needs an authorisation).
    DimonaMutations,
}

impl FileType {
    pub const ALL: [FileType; 2] = [FileType::PersonMutations, FileType::DimonaMutations];

    pub fn as_str(self) -> &'static str {
        match self {
            FileType::PersonMutations => "PERSON_MUTATIONS",
            FileType::DimonaMutations => "DIMONA_MUTATIONS",
        }
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FileType {
    type Err = String;

    fn from_str(text: &str) -> Result<FileType, String> {
        FileType::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| {
                format!("unknown file type {text:?} (PERSON_MUTATIONS or DIMONA_MUTATIONS)")
            })
    }
}

/// The authorisation a Dimona subscription is delivered under (e.g. a deliberation of the
/// sectoral committee), valid from a day to a day (inclusive; open: no end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorisation {
    pub reference: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

impl Authorisation {
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_to.is_none_or(|to| day <= to)
    }
}

/// One subscription of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i32,
    pub organisation_id: i32,
    pub file_type: FileType,
    /// The dossier types it is limited to (ids); empty: every dossier type of the
    /// organisation.
    pub dossier_type_ids: Vec<i32>,
    pub authorisation: Option<Authorisation>,
    /// The first day files are made for.
    pub starts_on: NaiveDate,
    /// The last day files are made for (`None`: not ended).
    pub ends_on: Option<NaiveDate>,
}

impl Subscription {
    /// Whether a file is made for the reference date `day` (a Dimona subscription outside its
    /// authorisation still gets its file, with no record: its sequence stays gap-free).
    pub fn active_on(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && self.ends_on.is_none_or(|end| day <= end)
    }

    /// Whether Dimona declarations may be delivered for `day`.
    pub fn dimona_authorised_on(&self, day: NaiveDate) -> bool {
        self.authorisation.as_ref().is_some_and(|a| a.valid_on(day))
    }

    /// Whether a register line of this dossier type concerns the subscription.
    pub fn covers(&self, dossier_type_id: i32) -> bool {
        self.dossier_type_ids.is_empty() || self.dossier_type_ids.contains(&dossier_type_id)
    }
}
