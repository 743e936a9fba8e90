//! The code of a dossier type: the capacity under which a user knows a person.

use std::fmt;

use thiserror::Error;

/// Longest accepted code, in characters.
const MAX_LENGTH: usize = 32;

/// Why a string is not a valid dossier type code.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DossierTypeCodeError {
    /// The code is empty.
    #[error("must not be empty")]
    Empty,
    /// The code is longer than 32 characters.
    #[error("must be at most 32 characters, got {0}")]
    TooLong(usize),
    /// A character outside `A-Z a-z 0-9 _ . -`.
    #[error("character {0:?} is not allowed (only letters, digits, '_', '.' and '-')")]
    InvalidCharacter(char),
}

/// A syntactically valid dossier type code: 1 to 32 characters of `[A-Za-z0-9_.-]`.
///
/// Whether the type is defined for a given user is a question for the register, not for
/// this type. The alphabet is kept small so codes travel unchanged through XML, file names
/// and URLs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DossierTypeCode(String);

impl DossierTypeCode {
    /// Validates `input` as is (no trimming, case preserved).
    ///
    /// # Errors
    /// A [`DossierTypeCodeError`] when the code is empty, has a character outside the
    /// alphabet, or is too long.
    pub fn parse(input: &str) -> Result<DossierTypeCode, DossierTypeCodeError> {
        if input.is_empty() {
            return Err(DossierTypeCodeError::Empty);
        }
        if let Some(bad) = input
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            return Err(DossierTypeCodeError::InvalidCharacter(bad));
        }
        // Only ASCII is left, so bytes and characters count the same.
        if input.len() > MAX_LENGTH {
            return Err(DossierTypeCodeError::TooLong(input.len()));
        }
        Ok(DossierTypeCode(input.to_owned()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DossierTypeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_letters_digits_and_the_three_marks() {
        for input in ["A", "902", "SOCIAL_INQUIRY", "pcsa.v2-x", &"x".repeat(32)] {
            let code = DossierTypeCode::parse(input).expect(input);
            assert_eq!(code.as_str(), input);
            assert_eq!(code.to_string(), input);
        }
    }

    #[test]
    fn refuses_empty_long_and_foreign_codes() {
        assert_eq!(DossierTypeCode::parse(""), Err(DossierTypeCodeError::Empty));
        assert_eq!(
            DossierTypeCode::parse(&"x".repeat(33)),
            Err(DossierTypeCodeError::TooLong(33))
        );
        assert_eq!(
            DossierTypeCode::parse("A B"),
            Err(DossierTypeCodeError::InvalidCharacter(' '))
        );
        assert_eq!(
            DossierTypeCode::parse("café"),
            Err(DossierTypeCodeError::InvalidCharacter('é'))
        );
        assert_eq!(
            DossierTypeCode::parse("a:b"),
            Err(DossierTypeCodeError::InvalidCharacter(':'))
        );
    }

    #[test]
    fn messages_are_readable() {
        assert_eq!(
            DossierTypeCodeError::InvalidCharacter(' ').to_string(),
            "character ' ' is not allowed (only letters, digits, '_', '.' and '-')"
        );
        assert_eq!(
            DossierTypeCodeError::TooLong(40).to_string(),
            "must be at most 32 characters, got 40"
        );
    }

    proptest! {
        #[test]
        fn accepts_exactly_the_documented_pattern(input in "[A-Za-z0-9_.-]{1,32}") {
            prop_assert!(DossierTypeCode::parse(&input).is_ok());
        }

        #[test]
        fn refuses_the_first_character_outside_the_pattern(
            before in "[A-Za-z0-9_.-]{0,15}",
            bad in any::<char>().prop_filter("outside the pattern", |c| {
                !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            }),
            after in "[A-Za-z0-9_.-]{0,15}",
        ) {
            let input = format!("{before}{bad}{after}");
            prop_assert_eq!(
                DossierTypeCode::parse(&input),
                Err(DossierTypeCodeError::InvalidCharacter(bad))
            );
        }

        #[test]
        fn refuses_codes_of_more_than_32_characters(input in "[A-Za-z0-9_.-]{33,80}") {
            prop_assert_eq!(
                DossierTypeCode::parse(&input),
                Err(DossierTypeCodeError::TooLong(input.len()))
            );
        }

        #[test]
        fn parse_never_panics(input in any::<String>()) {
            let _ = DossierTypeCode::parse(&input);
        }
    }
}
