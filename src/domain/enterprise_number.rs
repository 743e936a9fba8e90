//! The Belgian enterprise number (BCE/KBO) that identifies a user of the register.

use std::fmt;

use thiserror::Error;

/// Why a string is not a valid enterprise number.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EnterpriseNumberError {
    /// Not 10 ASCII digits (separators are not accepted here).
    #[error("must be exactly 10 digits")]
    NotTenDigits,
    /// Enterprise numbers start with 0 or 1.
    #[error("first digit {0} is not allowed (must be 0 or 1)")]
    FirstDigit(u8),
    /// `(first 8 digits + last 2 digits) mod 97` is not zero.
    #[error("check digits do not match")]
    CheckDigits,
}

/// A valid enterprise number, stored inline as its 10 digits (`Copy`, no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnterpriseNumber {
    digits: [u8; 10],
}

impl EnterpriseNumber {
    /// Validates `input`, which must be exactly 10 ASCII digits, starting with 0 or 1, whose
    /// first 8 digits plus the last 2 are a multiple of 97.
    ///
    /// # Errors
    /// An [`EnterpriseNumberError`] naming the first rule the input breaks.
    pub fn parse(input: &str) -> Result<EnterpriseNumber, EnterpriseNumberError> {
        let digits: [u8; 10] = input
            .as_bytes()
            .try_into()
            .map_err(|_| EnterpriseNumberError::NotTenDigits)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(EnterpriseNumberError::NotTenDigits);
        }
        let value = |range: std::ops::Range<usize>| {
            digits[range]
                .iter()
                .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'))
        };
        if digits[0] > b'1' {
            return Err(EnterpriseNumberError::FirstDigit(digits[0] - b'0'));
        }
        if (value(0..8) + value(8..10)) % 97 != 0 {
            return Err(EnterpriseNumberError::CheckDigits);
        }
        Ok(EnterpriseNumber { digits })
    }

    /// The 10 digits.
    pub fn as_str(&self) -> &str {
        // The digits were checked to be ASCII in `parse`, so this never fails.
        std::str::from_utf8(&self.digits).unwrap_or_default()
    }

    /// The display form `0403.019.261`.
    pub fn formatted(&self) -> String {
        let s = self.as_str();
        // ASCII digits only: every byte index is a character boundary.
        format!("{}.{}.{}", &s[0..4], &s[4..7], &s[7..10])
    }
}

impl fmt::Display for EnterpriseNumber {
    /// The 10 digits, without separators.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_examples() {
        for input in ["0403019261", "0202239951", "0456973433"] {
            let number = EnterpriseNumber::parse(input).expect(input);
            assert_eq!(number.as_str(), input);
            assert_eq!(number.to_string(), input);
        }
    }

    #[test]
    fn refuses_the_documented_bad_examples() {
        assert_eq!(
            EnterpriseNumber::parse("0431150351"),
            Err(EnterpriseNumberError::CheckDigits)
        );
        // The checksum holds but enterprise numbers never start with 2.
        assert_eq!(
            EnterpriseNumber::parse("2000021323"),
            Err(EnterpriseNumberError::FirstDigit(2))
        );
    }

    #[test]
    fn refuses_anything_but_ten_ascii_digits() {
        for input in [
            "",
            "403019261",
            "04030192611",
            "0403.019.261",
            " 0403019261",
            "040301926é",
            "BE04030192",
        ] {
            assert_eq!(
                EnterpriseNumber::parse(input),
                Err(EnterpriseNumberError::NotTenDigits),
                "{input:?}"
            );
        }
    }

    #[test]
    fn formats_with_dots() {
        let number = EnterpriseNumber::parse("0403019261").expect("valid");
        assert_eq!(number.formatted(), "0403.019.261");
    }

    proptest! {
        #[test]
        fn numbers_built_with_the_check_rule_parse(first_eight in 0u64..20_000_000) {
            let check = 97 - first_eight % 97;
            let input = format!("{first_eight:08}{check:02}");
            prop_assert!(EnterpriseNumber::parse(&input).is_ok(), "{}", input);
        }

        #[test]
        fn parse_never_panics(input in any::<String>()) {
            let _ = EnterpriseNumber::parse(&input);
        }
    }
}
