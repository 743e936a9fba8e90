//! WS-Security UsernameToken: who is calling. Only PasswordText is accepted, so the server
//! keeps nothing but a hash of each secret (PasswordDigest would need the clear secret);
//! the transport must therefore be TLS outside a test set-up.

use super::fault::{Fault, ReasonCode};
use crate::xml::Element;

pub const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const PASSWORD_TEXT: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
const PASSWORD_DIGEST: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";

/// The credentials a request presents.
#[derive(Clone, PartialEq, Eq)]
pub struct UsernameToken {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for UsernameToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsernameToken")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl UsernameToken {
    /// Reads `wsse:Security/wsse:UsernameToken` from the SOAP header.
    pub fn from_header(header: Option<&Element>) -> Result<UsernameToken, Fault> {
        let missing = || {
            Fault::new(
                ReasonCode::NotAuthenticated,
                "the request carries no WS-Security UsernameToken",
            )
        };
        let token = header
            .and_then(|h| h.child(WSSE_NS, "Security"))
            .and_then(|s| s.child(WSSE_NS, "UsernameToken"))
            .ok_or_else(missing)?;
        let username = token
            .child(WSSE_NS, "Username")
            .map(|u| u.value().to_owned())
            .filter(|u| !u.is_empty())
            .ok_or_else(missing)?;
        let password = token.child(WSSE_NS, "Password").ok_or_else(missing)?;
        match password.attribute("Type") {
            None | Some(PASSWORD_TEXT) => {}
            Some(PASSWORD_DIGEST) => {
                return Err(Fault::new(
                    ReasonCode::UnsupportedPasswordType,
                    "PasswordDigest is not accepted: send PasswordText over TLS",
                )
                .field("Security/UsernameToken/Password/@Type", PASSWORD_DIGEST))
            }
            Some(other) => {
                return Err(Fault::new(
                    ReasonCode::UnsupportedPasswordType,
                    "unknown password type",
                )
                .field("Security/UsernameToken/Password/@Type", other))
            }
        }
        Ok(UsernameToken {
            username,
            // The secret is taken as sent: white space may be part of it.
            password: password.text.clone(),
        })
    }
}
