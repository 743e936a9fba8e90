//! Pure domain rules of the person register: identification numbers, dossier types, periods.
//!
//! Architecture invariant: this module performs no I/O and imports no other module of the
//! crate, so every rule here can be tested (and property-tested) in isolation.

pub mod bis_number;
pub mod candidate_score;
pub mod contact_address;
pub mod delivery;
pub mod dossier_type_code;
pub mod enterprise_number;
pub mod file_name;
pub mod identity_check;
pub mod incomplete_date;
pub mod name_search;
pub mod niss;
pub mod period;
pub mod person;
pub mod scope;
pub mod search_criteria;
pub mod subscription;

pub use contact_address::ContactAddress;
pub use delivery::{
    Delivery, DeliveryQuery, DeliveryState, DocumentType, MailboxEventKind, NoticePolicy, Retention,
};
pub use dossier_type_code::{DossierTypeCode, DossierTypeCodeError};
pub use enterprise_number::{EnterpriseNumber, EnterpriseNumberError};
pub use file_name::FileName;
pub use identity_check::{ClaimedIdentity, Mismatch};
pub use incomplete_date::IncompleteDate;
pub use niss::{Gender, Niss, NissError, NissKind};
pub use period::{Period, PeriodError};
pub use person::{Address, FieldChange, Identity, IdentityChanges, Person, PersonStatus};
pub use scope::{Scope, Scopes};
pub use search_criteria::{CriteriaError, SearchCriteria};
pub use subscription::{Authorisation, FileType, Subscription};
