//! Who is calling: a username and secret checked against the stored Argon2 hash. A verified
//! pair is remembered for a short while (by a SHA-256 digest, never the secret itself) so
//! that the memory-hard hash is not paid on every request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::error::ServiceError;
use super::execution::off_workers;
use crate::domain::EnterpriseNumber;
use crate::store::{credential, Database};

const REMEMBER_FOR: Duration = Duration::from_secs(60);
const MAX_REMEMBERED: usize = 10_000;
const VERIFICATIONS_AT_ONCE: usize = 2;

/// An authenticated caller: the organisation a credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub organisation_id: i32,
    pub cbe_number: String,
    pub username: String,
}

impl Caller {
    /// A credential acts for its own organisation only.
    pub fn check_acts_for(&self, cbe: &EnterpriseNumber) -> Result<(), ServiceError> {
        if self.cbe_number == cbe.as_str() {
            Ok(())
        } else {
            Err(ServiceError::NotAllowed(format!(
                "the credential {} does not act for the enterprise {}",
                self.username, cbe
            )))
        }
    }
}

struct Remembered {
    digest: [u8; 32],
    caller: Caller,
    at: Instant,
}

pub struct Authenticator {
    db: Database,
    remembered: Mutex<HashMap<String, Remembered>>,
    /// Argon2 verifications allowed at once: each takes tens of milliseconds and 19 MiB, so
    /// an unbounded number would let a burst (or the many requests in flight when a
    /// remembered secret expires) stall the machine.
    verifying: Semaphore,
}

impl Authenticator {
    pub fn new(db: Database) -> Authenticator {
        Authenticator {
            db,
            remembered: Mutex::new(HashMap::new()),
            verifying: Semaphore::new(VERIFICATIONS_AT_ONCE),
        }
    }

    pub async fn authenticate(&self, username: &str, secret: &str) -> Result<Caller, ServiceError> {
        let digest = digest(username, secret);
        if let Some(caller) = self.recall(username, &digest) {
            crate::metrics::auth_outcome("remembered");
            return Ok(caller);
        }
        let _permit = self
            .verifying
            .acquire()
            .await
            .map_err(|_| ServiceError::Unavailable)?;
        // Another request may have verified the same secret while this one waited.
        if let Some(caller) = self.recall(username, &digest) {
            crate::metrics::auth_outcome("remembered");
            return Ok(caller);
        }
        let db = self.db.clone();
        let (username_owned, secret_owned) = (username.to_owned(), secret.to_owned());
        let caller = off_workers(move || {
            let mut conn = db.connection()?;
            let row = credential::find_active(&mut conn, &username_owned)?;
            // Verify against a hash even for an unknown username, so that timing does not
            // tell which usernames exist.
            let hash = row
                .as_ref()
                .map(|r| r.secret_hash.clone())
                .unwrap_or_else(|| UNKNOWN_USER_HASH.to_owned());
            let verified = verify_secret(&secret_owned, &hash);
            match row {
                Some(row) if verified => Ok(Caller {
                    organisation_id: row.organisation_id,
                    cbe_number: row.cbe_number,
                    username: row.username,
                }),
                _ => Err(ServiceError::NotAuthenticated),
            }
        })
        .await
        .inspect_err(|e| {
            if matches!(e, ServiceError::NotAuthenticated) {
                crate::metrics::auth_outcome("failure")
            }
        })?;
        crate::metrics::auth_outcome("success");
        self.remember(username, digest, caller.clone());
        Ok(caller)
    }

    fn recall(&self, username: &str, digest: &[u8; 32]) -> Option<Caller> {
        let remembered = self.remembered.lock().ok()?;
        let entry = remembered.get(username)?;
        (entry.digest == *digest && entry.at.elapsed() < REMEMBER_FOR).then(|| entry.caller.clone())
    }

    fn remember(&self, username: &str, digest: [u8; 32], caller: Caller) {
        if let Ok(mut remembered) = self.remembered.lock() {
            if remembered.len() >= MAX_REMEMBERED {
                remembered.retain(|_, r| r.at.elapsed() < REMEMBER_FOR);
            }
            remembered.insert(
                username.to_owned(),
                Remembered {
                    digest,
                    caller,
                    at: Instant::now(),
                },
            );
        }
    }
}

fn digest(username: &str, secret: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(username.as_bytes());
    hasher.update([0]);
    hasher.update(secret.as_bytes());
    hasher.finalize().into()
}

/// A hash of a random secret nobody knows, verified for unknown usernames.
const UNKNOWN_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Oa5Vmv5cnZ1vLRYR5YSn6J0bS3i6f6lKcQ4pOkNpbxA";

/// Hashes a new secret with Argon2id and a random salt.
pub fn hash_secret(secret: &str) -> Result<String, ServiceError> {
    let salt: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_secret_verifies_and_another_does_not() {
        let hash = hash_secret("s3cret").unwrap();
        assert!(verify_secret("s3cret", &hash));
        assert!(!verify_secret("s3cret ", &hash));
        assert!(!verify_secret("anything", UNKNOWN_USER_HASH));
        assert!(PasswordHash::new(UNKNOWN_USER_HASH).is_ok());
    }
}
