//! The authentic-source feed (xsd/NrMutations.xsd): a file of mutations of the national
//! register and the BCSS register — new persons, identity changes, deceases, number
//! replacements and cancellations — read here into domain values, one record at a time
//! (`read::FeedReader`), so a file of any size is read in constant memory.
//! `service::source_feed` applies it; `generate` writes synthetic feeds for trials.

pub mod generate;
pub mod read;

use crate::domain::{IdentityChanges, IncompleteDate, Niss, Person};

/// The namespace of NrMutations.xsd.
pub const FEED_NS: &str = "urn:be:raas:types:NrMutations:v1";

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
    /// The number is canceled without a replacement.
    Cancellation {
        ssin: Niss,
    },
}

impl Record {
    /// `record r3 (#3)`, for messages.
    pub fn name(&self) -> String {
        format!("record {} (#{})", self.id, self.position)
    }
}
