//! A person as the authentic source knows it: the number, its status and the identity data.

use std::fmt;

use super::incomplete_date::IncompleteDate;
use super::niss::{Gender, Niss};

/// Whether a number is still in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonStatus {
    /// The number is in use.
    Active,
    /// The number was canceled, replaced by another one or not.
    Canceled { replaced_by: Option<Niss> },
}

impl PersonStatus {
    /// `ACTIVE` or `CANCELED`, as in the XML files and the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            PersonStatus::Active => "ACTIVE",
            PersonStatus::Canceled { .. } => "CANCELED",
        }
    }

    /// The number that replaced this one, if any.
    pub fn replaced_by(&self) -> Option<Niss> {
        match self {
            PersonStatus::Canceled { replaced_by } => *replaced_by,
            PersonStatus::Active => None,
        }
    }
}

/// A postal address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub street: String,
    pub house_number: String,
    pub post_box: Option<String>,
    pub postal_code: String,
    pub municipality: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// The identity data of a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub last_name: String,
    /// In civil order; never empty.
    pub first_names: Vec<String>,
    pub birth_date: IncompleteDate,
    /// `None` when unknown (a BIS number attributed without gender).
    pub gender: Option<Gender>,
    /// ISO 3166-1 alpha-2.
    pub nationality: Option<String>,
    pub birth_place: Option<String>,
    pub address: Option<Address>,
    pub decease_date: Option<IncompleteDate>,
}

/// A number with its status and identity data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub ssin: Niss,
    pub status: PersonStatus,
    pub identity: Identity,
}

/// Changes to identity data: only the fields given change. `first_names` replaces the
/// whole list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentityChanges {
    pub last_name: Option<String>,
    pub first_names: Option<Vec<String>>,
    pub birth_date: Option<IncompleteDate>,
    pub gender: Option<Gender>,
    pub nationality: Option<String>,
    pub birth_place: Option<String>,
    pub address: Option<Address>,
    pub decease_date: Option<IncompleteDate>,
}

/// One field that changed: its name as in the XML (`lastName`, `address`, …) and the values
/// before and after, as text (`None` for absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl fmt::Display for Address {
    /// `Kerkstraat 12 bus 3, 9000 Gent, BE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.street, self.house_number)?;
        if let Some(post_box) = &self.post_box {
            write!(f, " bus {post_box}")?;
        }
        write!(
            f,
            ", {} {}, {}",
            self.postal_code, self.municipality, self.country
        )
    }
}

impl IdentityChanges {
    /// Whether nothing is to change.
    pub fn is_empty(&self) -> bool {
        *self == IdentityChanges::default()
    }
}

impl Identity {
    /// Applies `changes` and lists the fields whose value really changed (a change to the
    /// same value is not a change: applying the same changes twice lists nothing the second
    /// time).
    pub fn apply(&mut self, changes: &IdentityChanges) -> Vec<FieldChange> {
        let mut changed = Vec::new();
        fn set<T: PartialEq + Clone>(
            changed: &mut Vec<FieldChange>,
            field: &'static str,
            current: &mut T,
            new: &Option<T>,
            show: impl Fn(&T) -> Option<String>,
        ) {
            if let Some(new) = new {
                if current != new {
                    changed.push(FieldChange {
                        field,
                        before: show(current),
                        after: show(new),
                    });
                    *current = new.clone();
                }
            }
        }
        let text = |s: &String| Some(s.clone());
        let optional_text = |s: &Option<String>| s.clone();
        set(
            &mut changed,
            "lastName",
            &mut self.last_name,
            &changes.last_name,
            text,
        );
        set(
            &mut changed,
            "firstName",
            &mut self.first_names,
            &changes.first_names,
            |names| Some(names.join(" ")),
        );
        set(
            &mut changed,
            "birthDate",
            &mut self.birth_date,
            &changes.birth_date,
            |d| Some(d.to_string()),
        );
        set(
            &mut changed,
            "gender",
            &mut self.gender,
            &changes.gender.map(Some),
            |g| g.map(|g| g.as_str().to_string()),
        );
        set(
            &mut changed,
            "nationality",
            &mut self.nationality,
            &changes.nationality.clone().map(Some),
            optional_text,
        );
        set(
            &mut changed,
            "birthPlace",
            &mut self.birth_place,
            &changes.birth_place.clone().map(Some),
            optional_text,
        );
        set(
            &mut changed,
            "address",
            &mut self.address,
            &changes.address.clone().map(Some),
            |a| a.as_ref().map(Address::to_string),
        );
        set(
            &mut changed,
            "deceaseDate",
            &mut self.decease_date,
            &changes.decease_date.map(Some),
            |d| d.map(|d| d.to_string()),
        );
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            last_name: "Van den Berghe".into(),
            first_names: vec!["Jan".into(), "Pieter".into()],
            birth_date: IncompleteDate::new(1985, Some(7), Some(30)).unwrap(),
            gender: Some(Gender::Male),
            nationality: Some("BE".into()),
            birth_place: Some("Gent".into()),
            address: None,
            decease_date: None,
        }
    }

    #[test]
    fn apply_lists_only_real_changes_and_is_idempotent() {
        let mut person = identity();
        let changes = IdentityChanges {
            last_name: Some("Vandenberghe".into()),
            nationality: Some("BE".into()),
            decease_date: IncompleteDate::new(2020, Some(3), None),
            ..IdentityChanges::default()
        };
        let changed = person.apply(&changes);
        assert_eq!(
            changed,
            vec![
                FieldChange {
                    field: "lastName",
                    before: Some("Van den Berghe".into()),
                    after: Some("Vandenberghe".into()),
                },
                FieldChange {
                    field: "deceaseDate",
                    before: None,
                    after: Some("2020-03-00".into()),
                },
            ]
        );
        assert_eq!(person.last_name, "Vandenberghe");
        assert!(person.apply(&changes).is_empty());
    }

    #[test]
    fn first_names_are_replaced_as_a_whole() {
        let mut person = identity();
        let changed = person.apply(&IdentityChanges {
            first_names: Some(vec!["Jan".into()]),
            ..IdentityChanges::default()
        });
        assert_eq!(changed[0].before.as_deref(), Some("Jan Pieter"));
        assert_eq!(person.first_names, vec!["Jan".to_string()]);
    }
}
