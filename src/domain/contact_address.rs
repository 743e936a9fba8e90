//! An organisation's contact address for e-mail notifications: one mailbox (`name@domain`,
//! RFC 5321) in its plainest form — an ASCII dot-atom before the `@`, a host name of at
//! least two labels after it — no display name, no quoted local part, no address literal,
//! nothing that could break a header or a list of addresses.

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
        if !address.user().split('.').all(is_atom) {
            return Err(format!(
                "{text:?}: the part before the @ holds letters a-z, digits and \
                 !#$%&'*+-/=?^_`{{|}}~ between dots, no quotes nor accents"
            ));
        }
        let domain = address.domain();
        if !domain.contains('.') || !domain.split('.').all(is_label) {
            return Err(format!(
                "{text:?}: the domain {domain:?} is not a full host name (labels of letters \
                 a-z, digits and hyphens; an accented domain in its xn-- form)"
            ));
        }
        Ok(ContactAddress(address.to_string()))
    }
}

/// An atom of RFC 5322 §3.2.3 in ASCII.
fn is_atom(part: &str) -> bool {
    !part.is_empty()
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c))
}

/// A label of a host name (RFC 1123 §2.1).
fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
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
            "\"ops,team\"@example.be",
            "\"a\\\"b\"@example.be",
            "a@[127.0.0.1]",
            "é@example.be",
            "ops@exämple.be",
            "ops@-example.be",
            "ops@example..be",
            "a,b@example.be",
        ] {
            assert!(bad.parse::<ContactAddress>().is_err(), "{bad:?}");
        }
        for good in ["first.last+tag@sub.example.be", "o'brien@xn--exmple-cua.be"] {
            assert_eq!(good.parse::<ContactAddress>().unwrap().as_str(), good);
        }
        let long = format!("{}@example.be", "a".repeat(250));
        assert!(long.parse::<ContactAddress>().is_err());
    }
}
