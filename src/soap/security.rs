//! WS-Security UsernameToken: who is calling. Only PasswordText is accepted, so the server
//! keeps nothing but a hash of each secret (PasswordDigest would need the clear secret);
//! the transport must therefore be TLS outside a test set-up.

use super::fault::{Fault, ReasonCode};
use super::fields;
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
    pub fn from_header<'a>(header: Option<&'a Element>) -> Result<UsernameToken, Fault> {
        let missing = || {
            Fault::new(
                ReasonCode::NotAuthenticated,
                "the request carries no WS-Security UsernameToken",
            )
        };
        let single = |parent: &'a Element, name: &str, path: &str| {
            fields::optional(parent, WSSE_NS, name, path)
        };
        let Some(security) = header
            .map(|h| single(h, "Security", "Security"))
            .transpose()?
            .flatten()
        else {
            return Err(missing());
        };
        let path = "Security/UsernameToken";
        let token = single(security, "UsernameToken", path)?.ok_or_else(missing)?;
        let username_path = "Security/UsernameToken/Username";
        let username = match single(token, "Username", username_path)? {
            Some(u) => fields::leaf(u, username_path)?.to_owned(),
            None => return Err(missing()),
        };
        if username.is_empty() {
            return Err(missing());
        }
        let password_path = "Security/UsernameToken/Password";
        let password = single(token, "Password", password_path)?.ok_or_else(missing)?;
        // Text only (the value itself is taken untrimmed below).
        fields::leaf(password, password_path)?;
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
