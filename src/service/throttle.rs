//! Throttling of login attempts that need the password hash: a token bucket per username and
//! one per client address. Every attempt that reaches the hash takes a token from both
//! buckets; a verified secret gives them back, so only failures (and attempts still being
//! verified) use them up. Buckets refill at a steady rate.
//!
//! An attempt is admitted according to what is left:
//! - both buckets have a token: the [`Lane::Clean`] lane (it waits its turn for the hash);
//! - only one of them: the [`Lane::Suspect`] lane, which has room for one attempt at a time
//!   and never queues (busy means refused);
//! - neither: refused at once, before any database read or hash.
//!
//! So a flood of wrong passwords for one username from one address is refused without
//! hashing once its burst is spent, while another username from that address, or the same
//! username from another address, is still admitted.
//!
//! Memory is bounded: the buckets are keyed by a 64-bit keyed hash (never the username
//! itself), a bucket that has refilled is dropped, and each table holds at most
//! [`MAX_TRACKED`] buckets. Only admitted attempts add buckets, and the hash admits at most a
//! few per second, so the tables cannot fill with buckets still refilling in practice; if one
//! ever does, a key it cannot hold is treated as having no token.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most buckets each table keeps.
pub const MAX_TRACKED: usize = 16_384;

/// How many failures a bucket absorbs at once, and how fast it refills.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub burst: u32,
    /// The time one token takes to come back.
    pub refill_every: Duration,
}

/// Per username: 5 failed attempts, then one every 12 s.
pub const PER_USERNAME: Policy = Policy {
    burst: 5,
    refill_every: Duration::from_secs(12),
};

/// Per client address (an IPv6 address counts by its /64 network): 30 failed attempts, then
/// one every 2 s.
pub const PER_ADDRESS: Policy = Policy {
    burst: 30,
    refill_every: Duration::from_secs(2),
};

/// Which way an admitted attempt goes to the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Neither the username nor the address has recent failures to its name.
    Clean,
    /// One of them has used up its burst.
    Suspect,
}

/// An admitted attempt: which tokens it took (given back by [`Throttle::succeeded`]).
#[must_use]
#[derive(Debug)]
pub struct Ticket {
    pub lane: Lane,
    username: Option<u64>,
    address: Option<u64>,
}

/// The attempt is refused: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

pub struct Throttle {
    keys: RandomState,
    usernames: Buckets,
    addresses: Buckets,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(PER_USERNAME, PER_ADDRESS)
    }
}

impl Throttle {
    pub fn new(per_username: Policy, per_address: Policy) -> Throttle {
        Throttle {
            keys: RandomState::new(),
            usernames: Buckets::new(per_username),
            addresses: Buckets::new(per_address),
        }
    }

    fn keys(&self, username: &str, client: Option<IpAddr>) -> (u64, Option<u64>) {
        let username = self.keys.hash_one(("username", username));
        let address = client.map(|ip| self.keys.hash_one(("address", network_of(ip))));
        (username, address)
    }

    /// Whether an attempt would be refused now, without taking anything.
    pub fn check(&self, username: &str, client: Option<IpAddr>) -> Result<(), Refused> {
        let (username, address) = self.keys(username, client);
        let now = Instant::now();
        let user = self.usernames.peek(username, now);
        let addr = address.map(|a| self.addresses.peek(a, now));
        refusal(user, addr).map_or(Ok(()), Err)
    }

    /// Takes the tokens of an attempt about to be verified, or refuses it.
    pub fn admit(&self, username: &str, client: Option<IpAddr>) -> Result<Ticket, Refused> {
        let (username, address) = self.keys(username, client);
        let now = Instant::now();
        let user = self.usernames.take(username, now);
        let addr = address.map(|a| self.addresses.take(a, now));
        let took_user = user.is_ok();
        let took_addr = matches!(addr, Some(Ok(())));
        let lane = match (took_user, addr.map(|a| a.is_ok())) {
            (true, None | Some(true)) => Lane::Clean,
            (true, Some(false)) | (false, Some(true)) => Lane::Suspect,
            (false, None | Some(false)) => {
                return Err(refusal(user, addr).unwrap_or(Refused {
                    retry_after: Duration::ZERO,
                }));
            }
        };
        Ok(Ticket {
            lane,
            username: took_user.then_some(username),
            address: if took_addr { address } else { None },
        })
    }

    /// The attempt verified its secret (or was never tried): its tokens come back.
    pub fn succeeded(&self, ticket: Ticket) {
        let now = Instant::now();
        if let Some(key) = ticket.username {
            self.usernames.give_back(key, now);
        }
        if let Some(key) = ticket.address {
            self.addresses.give_back(key, now);
        }
    }

    /// The attempt failed: its tokens stay spent.
    pub fn failed(&self, ticket: Ticket) {
        let _ = ticket;
    }

    /// How many buckets are kept (usernames, addresses): what the throttle costs in memory.
    pub fn tracked(&self) -> (usize, usize) {
        (self.usernames.len(), self.addresses.len())
    }
}

/// Refused when the username has no token and neither has the address (or there is none):
/// the wait is until the first of them has one again.
fn refusal(user: Result<(), Duration>, addr: Option<Result<(), Duration>>) -> Option<Refused> {
    let user_wait = user.err()?;
    let wait = match addr {
        None => user_wait,
        Some(Ok(())) => return None,
        Some(Err(addr_wait)) => user_wait.min(addr_wait),
    };
    Some(Refused { retry_after: wait })
}

/// The part of an address that names one client: an IPv6 client usually holds a whole /64.
fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens at `at`.
    tokens: f64,
    at: Instant,
}

struct Buckets {
    policy: Policy,
    table: Mutex<HashMap<u64, Bucket>>,
}

impl Buckets {
    fn new(policy: Policy) -> Buckets {
        Buckets {
            policy,
            table: Mutex::new(HashMap::new()),
        }
    }

    fn burst(&self) -> f64 {
        f64::from(self.policy.burst)
    }

    fn tokens(&self, bucket: &Bucket, now: Instant) -> f64 {
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64()
            / self.policy.refill_every.as_secs_f64();
        (bucket.tokens + refilled).min(self.burst())
    }

    /// How long until a bucket holding `tokens` has a whole one.
    fn wait_for_one(&self, tokens: f64) -> Duration {
        self.policy
            .refill_every
            .mul_f64((1.0 - tokens).clamp(0.0, 1.0))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Bucket>> {
        // A panic elsewhere cannot leave a bucket half-written: keep using the table.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn peek(&self, key: u64, now: Instant) -> Result<(), Duration> {
        let table = self.lock();
        match table.get(&key) {
            None if table.len() >= MAX_TRACKED => Err(self.policy.refill_every),
            None => Ok(()),
            Some(bucket) => {
                let tokens = self.tokens(bucket, now);
                if tokens >= 1.0 {
                    Ok(())
                } else {
                    Err(self.wait_for_one(tokens))
                }
            }
        }
    }

    fn take(&self, key: u64, now: Instant) -> Result<(), Duration> {
        let mut table = self.lock();
        let tokens = match table.get(&key) {
            Some(bucket) => self.tokens(bucket, now),
            None => {
                if table.len() >= MAX_TRACKED {
                    table.retain(|_, b| self.tokens(b, now) < self.burst());
                }
                if table.len() >= MAX_TRACKED {
                    return Err(self.policy.refill_every);
                }
                self.burst()
            }
        };
        if tokens < 1.0 {
            return Err(self.wait_for_one(tokens));
        }
        table.insert(
            key,
            Bucket {
                tokens: tokens - 1.0,
                at: now,
            },
        );
        Ok(())
    }

    fn give_back(&self, key: u64, now: Instant) {
        let mut table = self.lock();
        if let Some(bucket) = table.get(&key) {
            let tokens = self.tokens(bucket, now) + 1.0;
            if tokens >= self.burst() {
                table.remove(&key);
            } else {
                table.insert(key, Bucket { tokens, at: now });
            }
        }
    }

    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Policy = Policy {
        burst: 3,
        refill_every: Duration::from_millis(200),
    };
    const ADDR_BURST: Policy = Policy {
        burst: 5,
        refill_every: Duration::from_millis(200),
    };

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn failures_use_up_the_username_then_the_address() {
        let throttle = Throttle::new(FAST, ADDR_BURST);
        let from = ip("192.0.2.1");
        for _ in 0..3 {
            let ticket = throttle.admit("alice", from).unwrap();
            assert_eq!(ticket.lane, Lane::Clean);
            throttle.failed(ticket);
        }
        // The username's burst is spent: the address still has tokens.
        for _ in 0..2 {
            let ticket = throttle.admit("alice", from).unwrap();
            assert_eq!(ticket.lane, Lane::Suspect);
            throttle.failed(ticket);
        }
        let refused = throttle.admit("alice", from).unwrap_err();
        assert!(refused.retry_after <= FAST.refill_every);
        assert!(throttle.check("alice", from).is_err());
        // Another address for that username, another username from that address.
        assert_eq!(
            throttle.admit("alice", ip("192.0.2.2")).unwrap().lane,
            Lane::Suspect
        );
        assert_eq!(throttle.admit("bob", from).unwrap().lane, Lane::Suspect);
        assert_eq!(
            throttle.admit("carol", ip("192.0.2.3")).unwrap().lane,
            Lane::Clean
        );
    }

    #[test]
    fn a_success_gives_its_tokens_back_and_buckets_refill() {
        let throttle = Throttle::new(FAST, ADDR_BURST);
        let from = ip("192.0.2.1");
        for _ in 0..10 {
            let ticket = throttle.admit("alice", from).unwrap();
            assert_eq!(ticket.lane, Lane::Clean);
            throttle.succeeded(ticket);
        }
        assert_eq!(throttle.tracked(), (0, 0));
        for _ in 0..5 {
            let ticket = throttle.admit("alice", from).unwrap();
            throttle.failed(ticket);
        }
        assert!(throttle.admit("alice", from).is_err());
        std::thread::sleep(FAST.refill_every + Duration::from_millis(20));
        throttle.failed(throttle.admit("alice", from).unwrap());
    }

    #[test]
    fn without_an_address_the_username_decides() {
        let throttle = Throttle::new(FAST, ADDR_BURST);
        for _ in 0..3 {
            let ticket = throttle.admit("alice", None).unwrap();
            assert_eq!(ticket.lane, Lane::Clean);
            throttle.failed(ticket);
        }
        assert!(throttle.admit("alice", None).is_err());
        assert!(throttle.check("alice", None).is_err());
    }

    #[test]
    fn an_ipv6_client_counts_by_its_network() {
        let throttle = Throttle::new(FAST, ADDR_BURST);
        for i in 0..5 {
            let from = ip(&format!("2001:db8:0:1::{i}"));
            throttle.failed(throttle.admit(&format!("user{i}"), from).unwrap());
        }
        let ticket = throttle.admit("other", ip("2001:db8:0:1::99")).unwrap();
        assert_eq!(ticket.lane, Lane::Suspect);
        let ticket = throttle.admit("other", ip("2001:db8:0:2::1")).unwrap();
        assert_eq!(ticket.lane, Lane::Clean);
    }

    #[test]
    fn the_tables_stay_bounded() {
        let slow = Policy {
            burst: 3,
            refill_every: Duration::from_secs(3600),
        };
        let throttle = Throttle::new(slow, slow);
        for i in 0..(MAX_TRACKED + 100) {
            if let Ok(ticket) = throttle.admit(&format!("user{i}"), None) {
                throttle.failed(ticket);
            }
        }
        assert_eq!(throttle.tracked().0, MAX_TRACKED);
        // A username the table cannot hold is refused rather than tracked.
        assert!(throttle.admit("one-more", None).is_err());
    }
}
