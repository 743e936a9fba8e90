//! Wrong-password floods: failed logins are throttled per username and per client address
//! (README, "Security"), answer fast without queueing on the hash, and cannot delay other
//! credentials' logins or the requests of clients already logged in.
//!
//! The clients send from distinct loopback addresses (127.0.0.x) to tell clients apart.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{org_a, org_b, Answer, Backend, Org, Request, TestApp, NISS_1};

/// The throttle's policy (src/service/throttle.rs): failures absorbed per username and per
/// address before refusals, and how fast an address's budget comes back.
const USERNAME_BURST: usize = 5;
const ADDRESS_BURST: usize = 30;
const ADDRESS_REFILL: Duration = Duration::from_secs(2);
const USERNAME_REFILL: Duration = Duration::from_secs(12);

/// The tests of this file run one at a time: each measures times, or counts on refills
/// that a busier machine would slow down.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// An HTTP client sending from one loopback address.
struct From {
    client: reqwest::blocking::Client,
    endpoint: String,
}

impl From {
    fn new(app: &TestApp, address: &str) -> From {
        let address: IpAddr = address.parse().expect("an address");
        From {
            client: reqwest::blocking::Client::builder()
                .no_proxy()
                .local_address(address)
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
            endpoint: app.endpoint(),
        }
    }

    fn call(&self, request: &Request) -> Answer {
        common::app::post_soap(&self.client, &self.endpoint, request)
    }

    /// A call and how long its answer took.
    fn timed(&self, request: &Request) -> (Answer, Duration) {
        let start = Instant::now();
        let answer = self.call(request);
        (answer, start.elapsed())
    }
}

fn consult(org: &Org) -> Request {
    Request::consult(org, NISS_1)
}

fn with_secret(org: &Org, password: &str) -> Org {
    Org {
        password: password.into(),
        ..org.clone()
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn reason(answer: &Answer) -> String {
    if answer.http_status == 200 {
        "OK".into()
    } else {
        answer.reason_code().unwrap_or_else(|| answer.body.clone())
    }
}

/// Credentials of org A that never logged in: `first-0`, `first-1`, …
fn fresh_credentials(app: &TestApp, count: usize) -> Vec<Org> {
    (0..count)
        .map(|i| {
            let org = Org {
                username: format!("first-{i}"),
                password: format!("first-{i}-secret-0123456789"),
                ..org_a()
            };
            app.add_credential(&org);
            org
        })
        .collect()
}

fn a_wrong_password_flood_does_not_delay_other_logins(backend: Backend) {
    let _one = one_at_a_time();
    let app = TestApp::start(backend);
    let alice = org_a();
    let bob = org_b();
    let fresh = fresh_credentials(&app, 18);
    let (before, fresh) = fresh.split_at(6);
    let (honest, flooder, elsewhere) = (
        From::new(&app, "127.0.0.1"),
        From::new(&app, "127.0.0.2"),
        From::new(&app, "127.0.0.3"),
    );
    // Bob is logged in before the flood starts. First logins without a flood, to compare.
    honest.call(&consult(&bob)).ok();
    let quiet_p50 = median(
        before
            .iter()
            .map(|org| {
                let (answer, took) = honest.timed(&consult(org));
                answer.ok();
                took
            })
            .collect(),
    );

    // 32 threads send wrong secrets for alice (a new one each time), from one address.
    const THREADS: usize = 32;
    let stop = Arc::new(AtomicBool::new(false));
    let flood_start = Instant::now();
    let flood: Vec<_> = (0..THREADS)
        .map(|t| {
            let stop = stop.clone();
            let from = From::new(&app, "127.0.0.2");
            let alice = alice.clone();
            std::thread::spawn(move || {
                let mut seen = BTreeMap::<String, usize>::new();
                let mut slowest = Duration::ZERO;
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let wrong = with_secret(&alice, &format!("wrong-{t}-{i}"));
                    let (answer, took) = from.timed(&consult(&wrong));
                    if reason(&answer) == "AUTHENTICATION_THROTTLED" {
                        slowest = slowest.max(took);
                        assert_eq!(answer.faultcode().as_deref(), Some("soapenv:Client"));
                    }
                    *seen.entry(reason(&answer)).or_default() += 1;
                }
                (seen, slowest)
            })
        })
        .collect();

    // Once the flood is under way: first logins, and the logged-in client, from the honest
    // address, one after the other.
    std::thread::sleep(Duration::from_secs(1));
    let mut first_logins = Vec::new();
    let mut logged_in = Vec::new();
    for org in fresh {
        let (answer, took) = honest.timed(&consult(org));
        answer.ok();
        first_logins.push(took);
        let (answer, took) = honest.timed(&consult(&bob));
        answer.ok();
        logged_in.push(took);
    }
    std::thread::sleep(Duration::from_secs(4).saturating_sub(flood_start.elapsed()));
    stop.store(true, Ordering::Relaxed);
    let mut seen = BTreeMap::<String, usize>::new();
    let mut slowest_refusal = Duration::ZERO;
    for thread in flood {
        let (counts, slowest) = thread.join().expect("a flood thread");
        for (reason, n) in counts {
            *seen.entry(reason).or_default() += n;
        }
        slowest_refusal = slowest_refusal.max(slowest);
    }
    let flood_seconds = flood_start.elapsed().as_secs_f64();
    let (first_p50, logged_in_p50) = (median(first_logins.clone()), median(logged_in.clone()));
    eprintln!(
        "{backend:?}: flood of {THREADS} threads for {flood_seconds:.1} s: {seen:?}, slowest \
         throttled answer {slowest_refusal:?}; first logins p50 {first_p50:?} (all \
         {first_logins:?}; without the flood {quiet_p50:?}); logged-in client p50 {logged_in_p50:?}"
    );

    // Every flood answer is a refusal, and all but the few the budgets allow were refused
    // without a hash.
    let refused_by_hash = seen.get("NOT_AUTHENTICATED").copied().unwrap_or(0);
    let throttled = seen.get("AUTHENTICATION_THROTTLED").copied().unwrap_or(0);
    assert_eq!(
        refused_by_hash + throttled,
        seen.values().sum::<usize>(),
        "{seen:?}"
    );
    let budget = ADDRESS_BURST
        + USERNAME_BURST
        + (flood_seconds / ADDRESS_REFILL.as_secs_f64()).ceil() as usize
        + (flood_seconds / USERNAME_REFILL.as_secs_f64()).ceil() as usize;
    assert!(
        (USERNAME_BURST..=budget).contains(&refused_by_hash),
        "{refused_by_hash} wrong secrets were verified, expected at most {budget}"
    );
    assert!(throttled > 10 * refused_by_hash, "{seen:?}");
    // Generous bounds for a loaded machine (the goal is under 100 ms; see the benchmark):
    // 500 ms, or four times a first login without the flood when the machine is slower.
    let bound = Duration::from_millis(500).max(quiet_p50 * 4);
    assert!(
        first_p50 < bound,
        "first logins {first_logins:?}, without the flood {quiet_p50:?}"
    );
    assert!(logged_in_p50 < bound / 2, "{logged_in:?}");

    // After the flood: alice's own secret works at once from another address, a credential
    // never used works from the flooding address, and alice's secret from the flooding
    // address once that address's budget has a token again.
    elsewhere.call(&consult(&alice)).ok();
    let newcomer = Org {
        username: "newcomer".into(),
        password: "newcomer-secret-0123456789".into(),
        ..org_a()
    };
    app.add_credential(&newcomer);
    flooder.call(&consult(&newcomer)).ok();
    let deadline = Instant::now() + ADDRESS_REFILL * 3;
    loop {
        let answer = flooder.call(&consult(&alice));
        match reason(&answer).as_str() {
            "OK" => break,
            "AUTHENTICATION_THROTTLED" => {
                assert!(
                    Instant::now() < deadline,
                    "still throttled: {}",
                    answer.body
                )
            }
            other => panic!("{other}: {}", answer.body),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Wrong secrets for `org` from `from`, one after the other, until eight were throttled: the
/// first ones are verified and refused, then the throttle refuses without verifying, but for
/// the tokens that come back meanwhile.
#[track_caller]
fn guesses_until_throttled(org: &Org, from: &From) -> Vec<String> {
    let start = Instant::now();
    let mut answers = Vec::new();
    let mut throttled = 0;
    while throttled < 8 {
        let answer = from.call(&consult(&with_secret(
            org,
            &format!("guess-{}", answers.len()),
        )));
        throttled += usize::from(reason(&answer) == "AUTHENTICATION_THROTTLED");
        answers.push(answer);
        assert!(answers.len() < 200, "never throttled");
    }
    let elapsed = start.elapsed();
    let reasons: Vec<String> = answers.iter().map(reason).collect();
    // Each failure spends a token of the address's budget (and the username's first).
    assert!(
        reasons[..ADDRESS_BURST]
            .iter()
            .all(|r| r == "NOT_AUTHENTICATED"),
        "{reasons:?}"
    );
    let verified = reasons.iter().filter(|r| *r == "NOT_AUTHENTICATED").count();
    assert_eq!(verified + throttled, reasons.len(), "{reasons:?}");
    let refilled = (elapsed.as_secs_f64() / ADDRESS_REFILL.as_secs_f64()).ceil() as usize;
    assert!(
        verified <= ADDRESS_BURST + refilled + 1,
        "{verified} verified in {elapsed:?}: {reasons:?}"
    );
    let throttled = answers.last().expect("answers");
    assert_eq!(throttled.faultcode().as_deref(), Some("soapenv:Client"));
    let diagnostic = throttled
        .text(&["serviceFault", "detail", "diagnostic"])
        .unwrap_or_default();
    assert!(
        diagnostic.starts_with(
            "too many failed logins for this username from this address: try again in "
        ),
        "{diagnostic}"
    );
    assert!(throttled.fault_fields().is_empty());
    reasons
}

/// Failed logins are throttled per username and address, whether or not the username
/// exists, and a throttled address cannot use a remembered secret either.
fn failures_are_throttled_per_username_and_address(backend: Backend) {
    let _one = one_at_a_time();
    let app = TestApp::start(backend);
    let alice = org_a();
    let here = From::new(&app, "127.0.0.4");
    let other = From::new(&app, "127.0.0.5");
    // Alice is logged in from here (her secret is remembered) before the failures.
    here.call(&consult(&alice)).ok();
    let mut alice_reasons = guesses_until_throttled(&alice, &here);
    // Right after a verified failure neither budget has a token (the next is 2 s away).
    for i in 0.. {
        let answer = here.call(&consult(&with_secret(&alice, &format!("more-{i}"))));
        alice_reasons.push(reason(&answer));
        if reason(&answer) == "NOT_AUTHENTICATED" {
            break;
        }
        assert!(i < 40, "{alice_reasons:?}");
    }
    // Alice's own secret is refused from the throttled address too: a throttled guesser
    // learns nothing, even of a remembered secret. From another address it works.
    here.call(&consult(&alice))
        .fault("AUTHENTICATION_THROTTLED");
    other.call(&consult(&alice)).ok();
    // Another credential from the throttled address is still admitted.
    here.call(&consult(&org_b())).ok();

    // An unknown username is treated as a known one.
    let nobody = Org {
        username: "nobody".into(),
        ..org_a()
    };
    let nobody_reasons = guesses_until_throttled(&nobody, &From::new(&app, "127.0.0.7"));

    // Every refusal is in the audit trail under its reason.
    let audit = app.audit(Some(NISS_1));
    let outcomes = |username: &str, outcome: &str| {
        audit
            .iter()
            .filter(|e| e["username"] == username && e["outcome"] == outcome)
            .count()
    };
    let count = |reasons: &[String], reason: &str| reasons.iter().filter(|r| *r == reason).count();
    for (username, reasons, extra) in [("alice", &alice_reasons, 1), ("nobody", &nobody_reasons, 0)]
    {
        assert_eq!(
            outcomes(username, "AUTHENTICATION_THROTTLED"),
            count(reasons, "AUTHENTICATION_THROTTLED") + extra
        );
        assert_eq!(
            outcomes(username, "NOT_AUTHENTICATED"),
            count(reasons, "NOT_AUTHENTICATED")
        );
    }
}

/// Many connections of one client logging in at once with the same secret (a client's pool
/// starting): one verification serves them all, none is throttled.
fn simultaneous_first_logins_of_one_client_all_succeed(backend: Backend) {
    let _one = one_at_a_time();
    let app = TestApp::start(backend);
    let alice = org_a();
    let threads: Vec<_> = (0..32)
        .map(|_| {
            let from = From::new(&app, "127.0.0.6");
            let alice = alice.clone();
            std::thread::spawn(move || reason(&from.call(&consult(&alice))))
        })
        .collect();
    let reasons: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(reasons.iter().all(|r| r == "OK"), "{reasons:?}");
}

backend_tests!(
    a_wrong_password_flood_does_not_delay_other_logins,
    failures_are_throttled_per_username_and_address,
    simultaneous_first_logins_of_one_client_all_succeed,
);
