//! The authentic-source feed (xsd/NrMutations.xsd): a file of mutations of the national
//! register and the BCSS register — new persons, identity changes, deceases and number
//! replacements — read here into domain values. `service::source_feed` applies it.

pub mod read;

use crate::domain::{IdentityChanges, IncompleteDate, Niss, Person};

/// The namespace of NrMutations.xsd.
pub const FEED_NS: &str = "urn:be:raas:types:NrMutations:v1";

/// A whole feed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedFile {
    /// The file's own identifier: a file is applied once.
    pub file_id: String,
    /// SHA-256 of the file's bytes, hex: the same identifier with another content is refused.
    pub digest: String,
    pub records: Vec<Record>,
}

/// One record, with what names it in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    /// 1-based position in the file.
    pub position: usize,
    pub mutation: Mutation,
}

/// What a record asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    NewPerson(Person),
    IdentityChange {
        ssin: Niss,
        changes: IdentityChanges,
    },
    Decease {
        ssin: Niss,
        date: IncompleteDate,
    },
    Replacement {
        old: Niss,
        new: Niss,
    },
}

impl Record {
    /// `record r3 (#3)`, for messages.
    pub fn name(&self) -> String {
        format!("record {} (#{})", self.id, self.position)
    }
}
