//! The scopes of the REST API's access tokens: what an OAuth client may do with its
//! organisation's mailbox.

use std::fmt;
use std::str::FromStr;

/// One scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// List the deliveries, read their metadata, follow the mailbox's events.
    MailboxRead,
    /// Download the deliveries' files, vouchers and signatures (records the receipt).
    MailboxDownload,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::MailboxRead, Scope::MailboxDownload];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::MailboxRead => "mailbox:read",
            Scope::MailboxDownload => "mailbox:download",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Scope, String> {
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("unknown scope {text:?} (mailbox:read, mailbox:download)"))
    }
}

/// A set of scopes, written space-separated as OAuth 2.0 does (RFC 6749 §3.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn all() -> Scopes {
        Scopes(Scope::ALL.to_vec())
    }

    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Scopes {
        let mut scopes: Vec<Scope> = scopes.into_iter().collect();
        scopes.sort_unstable();
        scopes.dedup();
        Scopes(scopes)
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every scope of `other` is in this set.
    pub fn covers(&self, other: &Scopes) -> bool {
        other.0.iter().all(|s| self.contains(*s))
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(" "))
    }
}

/// Space-separated scope names; an unknown one is refused.
impl FromStr for Scopes {
    type Err = String;

    fn from_str(text: &str) -> Result<Scopes, String> {
        let scopes = text
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<Scope>, String>>()?;
        Ok(Scopes::new(scopes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_and_write_as_oauth_does() {
        let scopes: Scopes = "mailbox:download  mailbox:read mailbox:read"
            .parse()
            .unwrap();
        assert_eq!(scopes.to_string(), "mailbox:read mailbox:download");
        assert!(scopes.covers(&"mailbox:read".parse().unwrap()));
        assert!(!Scopes::new([Scope::MailboxRead]).covers(&scopes));
        assert!("mailbox:write".parse::<Scopes>().is_err());
        assert!("".parse::<Scopes>().unwrap().is_empty());
    }
}
