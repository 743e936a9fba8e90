//! Who is calling: a username and secret checked against the stored Argon2id hash.
//!
//! - A verified pair is remembered (by a keyed SHA-256 digest, never the secret itself) with
//!   the stored hash it was verified against, and forgotten after [`FORGET_AFTER`] without
//!   use. A remembered pair costs one indexed read per request: the credential must still be
//!   active with the same stored hash, so a revocation or a new secret, by any process
//!   sharing the database, is seen on the very next request.
//! - Attempts that need the hash go through the [`Throttle`]: failures are counted per
//!   username and per client address, a flood is refused before it reaches the hash, and
//!   attempts without recent failures have a lane of their own. A throttled refusal is
//!   answered after [`THROTTLED_DELAY`], so that a flood of them cannot take the processor.
//! - At most [`VERIFICATIONS_AT_ONCE`] hashes run at once, each in a memory buffer kept for
//!   the next one (Argon2id takes 19 MiB), so a flood costs no memory beyond those buffers.
//! - Identical attempts (same username and secret) arriving while one is being verified wait
//!   for its result instead of hashing again.
//! - An unknown username is verified against a hash of the same cost as a real one and is
//!   throttled the same way, so neither timing nor throttling tells which usernames exist.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use sha2::{Digest, Sha256};
use tokio::sync::{watch, Semaphore};

use super::error::ServiceError;
use super::execution::{off_workers, on_database};
use super::throttle::{Lane, Refused, Throttle};
use crate::domain::EnterpriseNumber;
use crate::store::credential::{self, CredentialRow};
use crate::store::Database;

/// A remembered pair unused for this long is forgotten (and verified again by hash).
pub const FORGET_AFTER: Duration = Duration::from_secs(10 * 60);
const MAX_REMEMBERED: usize = 10_000;
/// Argon2 verifications allowed at once: each takes tens of milliseconds and 19 MiB.
pub const VERIFICATIONS_AT_ONCE: usize = 2;
/// The blocks of Argon2's default parameters (19 MiB), the size of the kept buffers.
const DEFAULT_BLOCKS: usize = Params::DEFAULT_M_COST as usize;
/// A stored hash asking for more memory than this is not verified.
const MAX_BLOCKS: usize = 4 * DEFAULT_BLOCKS;
/// A wait too short to say (the suspect lane was busy).
const BUSY_RETRY: Duration = Duration::from_secs(1);
/// A throttled refusal is answered after this long: refusing costs little, but a flood
/// answered at once comes straight back and takes the processor from everyone else. The
/// delay holds no worker and no hash, only the waiting request.
pub const THROTTLED_DELAY: Duration = Duration::from_millis(250);
/// At most this many throttled refusals wait at once; beyond that they are answered at once.
const MAX_DELAYED: usize = 4_096;

/// An authenticated caller: the organisation a credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub organisation_id: i32,
    pub cbe_number: String,
    pub username: String,
    /// An OAuth client's scopes; `None` for a SOAP credential.
    pub scopes: Option<String>,
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

    fn of(row: CredentialRow) -> Caller {
        Caller {
            organisation_id: row.organisation_id,
            cbe_number: row.cbe_number,
            username: row.username,
            scopes: row.scopes,
        }
    }
}

/// What authentication has done since the start, for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests answered from a remembered pair (after its check against the database).
    pub remembered: u64,
    /// Argon2 verifications run, and those that failed.
    pub verifications: u64,
    pub failures: u64,
    /// Attempts refused by the throttle without a verification.
    pub throttled: u64,
}

#[derive(Default)]
struct Count {
    remembered: AtomicU64,
    verifications: AtomicU64,
    failures: AtomicU64,
    throttled: AtomicU64,
}

struct Remembered {
    digest: [u8; 32],
    credential_id: i32,
    /// The stored hash the secret was verified against.
    secret_hash: String,
    /// Who the credential acts for (a credential never changes organisation).
    caller: Caller,
    used: Instant,
}

/// How a verification others were waiting for ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finished {
    Verified,
    Refused,
    /// Throttled, or the database failed: each waiting attempt tries on its own.
    Other,
}

type Flights = Mutex<HashMap<[u8; 32], watch::Receiver<Option<Finished>>>>;

pub struct Authenticator {
    db: Database,
    /// Keys the digests of remembered pairs.
    key: [u8; 32],
    remembered: Mutex<HashMap<String, Remembered>>,
    throttle: Throttle,
    /// Every verification holds one of these permits.
    verifying: Semaphore,
    /// An attempt in the suspect lane holds this one as well, and never waits for it.
    suspect: Semaphore,
    memory: Arc<HashMemory>,
    flights: Flights,
    count: Count,
    /// Throttled refusals waiting out their delay.
    delayed: AtomicUsize,
}

impl Authenticator {
    pub fn new(db: Database) -> Authenticator {
        Authenticator::with_throttle(db, Throttle::default())
    }

    pub fn with_throttle(db: Database, throttle: Throttle) -> Authenticator {
        Authenticator {
            db,
            key: rand::random(),
            remembered: Mutex::new(HashMap::new()),
            throttle,
            verifying: Semaphore::new(VERIFICATIONS_AT_ONCE),
            suspect: Semaphore::new(1),
            memory: Arc::new(HashMemory::default()),
            flights: Mutex::new(HashMap::new()),
            count: Count::default(),
            delayed: AtomicUsize::new(0),
        }
    }

    /// The caller a username and secret stand for, sent from `client` (when known).
    pub async fn authenticate(
        &self,
        username: &str,
        secret: &str,
        client: Option<IpAddr>,
    ) -> Result<Caller, ServiceError> {
        let digest = self.digest(username, secret);
        // Each round either answers or waits for an identical attempt being verified; a few
        // rounds cover that attempt being abandoned or throttled.
        for _ in 0..3 {
            // Refused before the remembered pairs are looked at: otherwise a throttled
            // guesser would still learn whether its guess is a remembered secret.
            if let Err(refused) = self.throttle.check(username, client) {
                return Err(self.throttled(refused).await);
            }
            if let Some(caller) = self.recall(username, &digest).await? {
                crate::metrics::auth_outcome("remembered");
                return Ok(caller);
            }
            match self.join(digest) {
                Flight::Follow(receiver) => match finished(receiver).await {
                    Some(Finished::Refused) => return Err(ServiceError::NotAuthenticated),
                    // Verified: remembered now, so the next round answers from memory.
                    _ => continue,
                },
                Flight::Lead(lead) => {
                    let result = self.verify(username, secret, client, digest).await;
                    lead.finish(match &result {
                        Ok(_) => Finished::Verified,
                        Err(ServiceError::NotAuthenticated) => Finished::Refused,
                        Err(_) => Finished::Other,
                    });
                    return result;
                }
            }
        }
        Err(ServiceError::Unavailable)
    }

    pub fn counters(&self) -> Counters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            remembered: get(&self.count.remembered),
            verifications: get(&self.count.verifications),
            failures: get(&self.count.failures),
            throttled: get(&self.count.throttled),
        }
    }

    /// The refusal of a throttled attempt, once [`THROTTLED_DELAY`] has passed.
    async fn throttled(&self, refused: Refused) -> ServiceError {
        crate::metrics::auth_outcome("throttled");
        self.count.throttled.fetch_add(1, Ordering::Relaxed);
        let delayed = self.delayed.fetch_add(1, Ordering::Relaxed);
        let _delayed = Delayed(&self.delayed);
        if delayed < MAX_DELAYED {
            tokio::time::sleep(THROTTLED_DELAY).await;
        }
        ServiceError::Throttled {
            retry_after_secs: refused.retry_after.as_secs_f64().ceil().max(1.0) as u64,
        }
    }

    fn digest(&self, username: &str, secret: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update((username.len() as u64).to_le_bytes());
        hasher.update(username.as_bytes());
        hasher.update(secret.as_bytes());
        hasher.finalize().into()
    }

    fn remembered(&self) -> MutexGuard<'_, HashMap<String, Remembered>> {
        self.remembered.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A remembered pair, checked against the credential as it is now in the database.
    async fn recall(
        &self,
        username: &str,
        digest: &[u8; 32],
    ) -> Result<Option<Caller>, ServiceError> {
        let (credential_id, secret_hash, caller) = {
            let remembered = self.remembered();
            match remembered.get(username) {
                Some(r) if r.digest == *digest && r.used.elapsed() < FORGET_AFTER => {
                    (r.credential_id, r.secret_hash.clone(), r.caller.clone())
                }
                _ => return Ok(None),
            }
        };
        let db = self.db.clone();
        // By primary key: the cheapest read there is, and one whose plan no statistics can
        // change (SQLite re-prepares a statement whose bound value may change its plan).
        let stored = on_database(&self.db, move || {
            let mut conn = db.connection()?;
            Ok(credential::active_secret_hash(&mut conn, credential_id)?)
        })
        .await?;
        let mut remembered = self.remembered();
        match stored {
            Some(stored) if stored == secret_hash => {
                if let Some(entry) = remembered.get_mut(username) {
                    if entry.digest == *digest {
                        entry.used = Instant::now();
                    }
                }
                self.count.remembered.fetch_add(1, Ordering::Relaxed);
                Ok(Some(caller))
            }
            // Revoked, or given a new secret: verified again (and refused if need be).
            _ => {
                if remembered
                    .get(username)
                    .is_some_and(|entry| entry.digest == *digest)
                {
                    remembered.remove(username);
                }
                Ok(None)
            }
        }
    }

    fn remember(&self, username: &str, digest: [u8; 32], row: &CredentialRow) {
        let mut remembered = self.remembered();
        if remembered.len() >= MAX_REMEMBERED && !remembered.contains_key(username) {
            remembered.retain(|_, r| r.used.elapsed() < FORGET_AFTER);
            if remembered.len() >= MAX_REMEMBERED {
                let oldest = remembered
                    .iter()
                    .min_by_key(|(_, r)| r.used)
                    .map(|(name, _)| name.clone());
                if let Some(oldest) = oldest {
                    remembered.remove(&oldest);
                }
            }
        }
        remembered.insert(
            username.to_owned(),
            Remembered {
                digest,
                credential_id: row.id,
                secret_hash: row.secret_hash.clone(),
                caller: Caller::of(row.clone()),
                used: Instant::now(),
            },
        );
    }

    /// Leads the verification of `digest`, or follows the one already under way.
    fn join(&self, digest: [u8; 32]) -> Flight<'_> {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(receiver) = flights.get(&digest) {
            return Flight::Follow(receiver.clone());
        }
        let (sender, receiver) = watch::channel(None);
        flights.insert(digest, receiver);
        Flight::Lead(Lead {
            flights: &self.flights,
            digest,
            sender,
        })
    }

    /// The expensive path: throttle, lane, hash.
    async fn verify(
        &self,
        username: &str,
        secret: &str,
        client: Option<IpAddr>,
        digest: [u8; 32],
    ) -> Result<Caller, ServiceError> {
        let ticket = match self.throttle.admit(username, client) {
            Ok(ticket) => ticket,
            Err(refused) => return Err(self.throttled(refused).await),
        };
        let _suspect = match ticket.lane {
            Lane::Clean => None,
            Lane::Suspect => match self.suspect.try_acquire() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    // Not tried: no failure to count.
                    self.throttle.succeeded(ticket);
                    return Err(self
                        .throttled(Refused {
                            retry_after: BUSY_RETRY,
                        })
                        .await);
                }
            },
        };
        // Dropped while waiting or hashing (the caller went away), the ticket's tokens stay
        // spent: hanging up cannot undo a failure.
        let _permit = self
            .verifying
            .acquire()
            .await
            .map_err(|_| ServiceError::Unavailable)?;
        self.count.verifications.fetch_add(1, Ordering::Relaxed);
        let db = self.db.clone();
        let memory = self.memory.clone();
        let (name, secret) = (username.to_owned(), secret.to_owned());
        let result = off_workers(move || {
            let row = {
                let mut conn = db.connection()?;
                credential::find_active(&mut conn, &name)?
            };
            let hash = row
                .as_ref()
                .map_or(UNKNOWN_USER_HASH, |r| r.secret_hash.as_str());
            let verified = memory.verify(&secret, hash);
            match row {
                Some(row) if verified => Ok(row),
                _ => Err(ServiceError::NotAuthenticated),
            }
        })
        .await;
        match result {
            Ok(row) => {
                self.throttle.succeeded(ticket);
                self.remember(username, digest, &row);
                crate::metrics::auth_outcome("success");
                Ok(Caller::of(row))
            }
            Err(ServiceError::NotAuthenticated) => {
                crate::metrics::auth_outcome("failure");
                self.count.failures.fetch_add(1, Ordering::Relaxed);
                self.throttle.failed(ticket);
                Err(ServiceError::NotAuthenticated)
            }
            // Not the caller's failure.
            Err(other) => {
                self.throttle.succeeded(ticket);
                Err(other)
            }
        }
    }
}

/// Counts a delayed refusal out, however its request ends.
struct Delayed<'a>(&'a AtomicUsize);

impl Drop for Delayed<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

enum Flight<'a> {
    Lead(Lead<'a>),
    Follow(watch::Receiver<Option<Finished>>),
}

/// The verification others with the same digest wait for; dropped unfinished (its request
/// went away), they try again on their own.
struct Lead<'a> {
    flights: &'a Flights,
    digest: [u8; 32],
    sender: watch::Sender<Option<Finished>>,
}

impl Lead<'_> {
    fn finish(self, finished: Finished) {
        self.sender.send_replace(Some(finished));
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        flights.remove(&self.digest);
    }
}

async fn finished(mut receiver: watch::Receiver<Option<Finished>>) -> Option<Finished> {
    loop {
        if let Some(finished) = *receiver.borrow_and_update() {
            return Some(finished);
        }
        if receiver.changed().await.is_err() {
            return *receiver.borrow();
        }
    }
}

/// The memory Argon2 works in, kept between verifications: allocating 19 MiB per attempt
/// from many threads makes the allocator keep far more than is in use at once.
#[derive(Default)]
struct HashMemory {
    free: Mutex<Vec<Vec<Block>>>,
}

impl HashMemory {
    fn take(&self, blocks: usize) -> Vec<Block> {
        if blocks <= DEFAULT_BLOCKS {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(buffer) = free.pop() {
                return buffer;
            }
            return vec![Block::default(); DEFAULT_BLOCKS];
        }
        vec![Block::default(); blocks]
    }

    fn give_back(&self, buffer: Vec<Block>) {
        if buffer.len() == DEFAULT_BLOCKS {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            if free.len() < VERIFICATIONS_AT_ONCE {
                free.push(buffer);
            }
        }
    }

    /// Whether `secret` is the one `hash` (a PHC string) was made from.
    fn verify(&self, secret: &str, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(params), Some(expected)) = (
            Algorithm::try_from(parsed.algorithm),
            Params::try_from(&parsed),
            parsed.hash,
        ) else {
            return false;
        };
        let version = match parsed.version.map(Version::try_from).transpose() {
            Ok(version) => version.unwrap_or_default(),
            Err(_) => return false,
        };
        let mut salt_buf = [0u8; 64];
        let Some(Ok(salt)) = parsed.salt.map(|s| s.decode_b64(&mut salt_buf)) else {
            return false;
        };
        if params.block_count() > MAX_BLOCKS {
            tracing::warn!(
                blocks = params.block_count(),
                "a stored secret hash asks for too much memory; not verified"
            );
            return false;
        }
        let mut memory = self.take(params.block_count());
        let mut out = vec![0u8; expected.len()];
        let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            secret.as_bytes(),
            salt,
            &mut out,
            memory.as_mut_slice(),
        );
        self.give_back(memory);
        hashed.is_ok() && Output::new(&out).is_ok_and(|out| out == expected)
    }
}

/// A hash of a random secret nobody knows, verified for unknown usernames: the same
/// algorithm and cost as the hashes [`hash_secret`] makes.
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

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    fn verify_secret(secret: &str, hash: &str) -> bool {
        HashMemory::default().verify(secret, hash)
    }

    #[test]
    fn a_hashed_secret_verifies_and_another_does_not() {
        let hash = hash_secret("s3cret").unwrap();
        assert!(verify_secret("s3cret", &hash));
        assert!(!verify_secret("s3cret ", &hash));
        assert!(!verify_secret("anything", UNKNOWN_USER_HASH));
        assert!(!verify_secret("s3cret", "not a hash"));
        assert!(PasswordHash::new(UNKNOWN_USER_HASH).is_ok());
    }

    #[test]
    fn the_kept_memory_verifies_as_argon2_itself_does() {
        let memory = HashMemory::default();
        let hash = hash_secret("s3cret").unwrap();
        let parsed = PasswordHash::new(&hash).unwrap();
        for secret in ["s3cret", "other", "", "s3cret"] {
            let reference = Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok();
            assert_eq!(memory.verify(secret, &hash), reference, "{secret:?}");
        }
        // Another cost and version are read from the hash itself.
        let params = Params::new(8 * 1024, 1, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x10, params)
            .hash_password(
                b"s3cret",
                &SaltString::encode_b64(b"0123456789abcdef").unwrap(),
            )
            .unwrap()
            .to_string();
        assert!(memory.verify("s3cret", &other));
        assert!(!memory.verify("s3cre", &other));
        assert!(memory.free.lock().unwrap().len() <= VERIFICATIONS_AT_ONCE);
    }

    #[test]
    fn the_unknown_user_hash_costs_what_a_real_one_does() {
        let real = PasswordHash::new(&hash_secret("x").unwrap())
            .map(|h| Params::try_from(&h).unwrap())
            .unwrap();
        let unknown = Params::try_from(&PasswordHash::new(UNKNOWN_USER_HASH).unwrap()).unwrap();
        assert_eq!(
            (real.m_cost(), real.t_cost(), real.p_cost()),
            (unknown.m_cost(), unknown.t_cost(), unknown.p_cost())
        );
    }
}
