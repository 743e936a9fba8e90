//! An organisation's contact address for e-mail notifications: one mailbox (`name@domain`,
//! RFC 5321), no display name, nothing that could break a header.

use std::fmt;
use std::str::FromStr;

/// A checked e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContactAddress(String);

impl ContactAddress {
    /// The longest address SMTP carries (RFC 5321 §4.5.3.1.3, a path of 256 octets).
    pub const MAX_LENGTH: usize = 254;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ContactAddress {
    type Err = String;

    fn from_str(text: &str) -> Result<ContactAddress, String> {
        let text = text.trim();
        if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("an e-mail address holds no space or control character".into());
        }
        if text.len() > Self::MAX_LENGTH {
            return Err(format!(
                "an e-mail address has at most {} characters",
                Self::MAX_LENGTH
            ));
        }
        let address: lettre::Address = text
            .parse()
            .map_err(|e| format!("{text:?} is not an e-mail address (name@domain): {e}"))?;
        if !address.domain().contains('.') && !address.domain().starts_with('[') {
            return Err(format!(
                "{text:?}: the domain {:?} is not a full domain name",
                address.domain()
            ));
        }
        Ok(ContactAddress(address.to_string()))
    }
}

impl fmt::Display for ContactAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        assert_eq!(
            "  ops@example.be "
                .parse::<ContactAddress>()
                .unwrap()
                .as_str(),
            "ops@example.be"
        );
        for bad in [
            "",
            "ops",
            "ops@",
            "@example.be",
            "ops@localhost",
            "ops@example.be\r\nBcc: x@evil.example",
            "Ops <ops@example.be>",
            "o\u{0}ps@example.be",
        ] {
            assert!(bad.parse::<ContactAddress>().is_err(), "{bad:?}");
        }
        let long = format!("{}@example.be", "a".repeat(250));
        assert!(long.parse::<ContactAddress>().is_err());
    }
}
