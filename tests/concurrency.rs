//! Many clients at once on a few register keys (NISS, dossier type). Whatever order the
//! server serialises the calls in, the lines stay disjoint and apart (no overlap, no
//! adjacency); with registrations only, the result is the merge of every registered period.

#[macro_use]
mod common;

use std::thread;

use chrono::{Days, NaiveDate};

use common::{org_a, Backend, Request, TestApp, NISS_1, NISS_2, NISS_3};

const THREADS: u64 = 16;
const CALLS_PER_THREAD: u64 = 25;
const NISS: [&str; 3] = [NISS_1, NISS_2, NISS_3];
const TYPES: [&str; 2] = ["EMPLOYEE", "BENEFICIARY"];
/// A period as days after 2024-01-01, both included; `OPEN` as the end of an open period.
type Span = (u64, u64);
const OPEN: u64 = u64::MAX;

/// xorshift64*: small, seeded, good enough to pick test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % n
    }

    /// A short period in the first months of 2024; now and then an open one near the end.
    fn span(&mut self) -> Span {
        if self.below(40) == 0 {
            (140 + self.below(10), OPEN)
        } else {
            let begin = self.below(150);
            (begin, begin + self.below(10))
        }
    }
}

fn seed() -> u64 {
    std::env::var("TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_240_101)
}

fn date(day: u64) -> String {
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date");
    (start + Days::new(day)).to_string()
}

fn day(date: &str) -> u64 {
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date");
    let date: NaiveDate = date.parse().expect("a date");
    u64::try_from((date - start).num_days()).expect("a date after 2024-01-01")
}

fn period_text((begin, end): Span) -> String {
    match end {
        OPEN => format!("{}..", date(begin)),
        end => format!("{}..{}", date(begin), date(end)),
    }
}

/// `TYPE begin..end` lines of an answer as spans.
fn spans(lines: &[String]) -> Vec<Span> {
    lines
        .iter()
        .map(|line| {
            let (_, period) = line.split_once(' ').expect("TYPE period");
            let (begin, end) = period.split_once("..").expect("begin..end");
            let end = if end.is_empty() { OPEN } else { day(end) };
            (day(begin), end)
        })
        .collect()
}

/// Sorted, with overlapping and touching spans joined.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable();
    let mut merged: Vec<Span> = Vec::new();
    for (begin, end) in spans {
        match merged.last_mut() {
            Some(last) if last.1 == OPEN || last.1 + 1 >= begin => last.1 = last.1.max(end),
            _ => merged.push((begin, end)),
        }
    }
    merged
}

/// The days of `spans` outside `removed` (both merged).
fn subtract(spans: &[Span], removed: &[Span]) -> Vec<Span> {
    let mut left = spans.to_vec();
    for &(r_begin, r_end) in removed {
        left = left
            .into_iter()
            .flat_map(|(begin, end)| {
                if end < r_begin || (r_end != OPEN && r_end < begin) {
                    return vec![(begin, end)];
                }
                let mut pieces = Vec::new();
                if begin < r_begin {
                    pieces.push((begin, r_begin - 1));
                }
                if r_end != OPEN && (end == OPEN || r_end < end) {
                    pieces.push((r_end + 1, end));
                }
                pieces
            })
            .collect();
    }
    left
}

/// Whether every span of `inner` lies within one span of `outer` (merged).
fn covers(outer: &[Span], inner: &[Span]) -> bool {
    inner
        .iter()
        .all(|&(begin, end)| outer.iter().any(|&(b, e)| b <= begin && end <= e))
}

/// Sorted by begin, no overlap, at least one day between consecutive lines.
#[track_caller]
fn assert_disjoint_and_apart(spans: &[Span], context: &str) {
    for pair in spans.windows(2) {
        let ((_, end), (next_begin, _)) = (pair[0], pair[1]);
        assert!(
            end != OPEN && end + 1 < next_begin,
            "{context}: lines overlap or touch: {spans:?}"
        );
    }
}

/// What one client did to one key.
#[derive(Debug, Clone, Copy)]
enum Op {
    Register(Span),
    Unregister(Span),
    UnregisterAll,
}

/// Runs `THREADS` clients making `CALLS_PER_THREAD` calls each, checks every answer, and
/// returns every operation per key (index into NISS × TYPES).
fn run_clients(app: &TestApp, registrations_only: bool) -> Vec<Vec<Op>> {
    let seed = seed();
    let per_thread: Vec<Vec<(usize, Op)>> = thread::scope(|scope| {
        let clients: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || {
                    let mut rng = Rng::new(seed ^ (t << 32));
                    let mut done = Vec::new();
                    for _ in 0..CALLS_PER_THREAD {
                        let key = usize::try_from(rng.below(6)).expect("small");
                        let op = match rng.below(20) {
                            _ if registrations_only => Op::Register(rng.span()),
                            0 => Op::UnregisterAll,
                            1..=7 => Op::Unregister(rng.span()),
                            _ => Op::Register(rng.span()),
                        };
                        call(app, key, op, seed);
                        done.push((key, op));
                    }
                    done
                })
            })
            .collect();
        clients
            .into_iter()
            .map(|c| c.join().expect("a client thread"))
            .collect()
    });
    let mut per_key = vec![Vec::new(); NISS.len() * TYPES.len()];
    for (key, op) in per_thread.into_iter().flatten() {
        per_key[key].push(op);
    }
    per_key
}

/// Makes one call and checks what must hold of its answer whatever else runs.
fn call(app: &TestApp, key: usize, op: Op, seed: u64) {
    let (ssin, code) = (NISS[key / TYPES.len()], TYPES[key % TYPES.len()]);
    let request = match op {
        Op::Register(span) => Request::register(&org_a(), ssin, code, &period_text(span)),
        Op::Unregister(span) => Request::unregister(&org_a(), ssin, code, Some(&period_text(span))),
        Op::UnregisterAll => Request::unregister(&org_a(), ssin, code, None),
    };
    let context = format!("seed {seed}, {op:?} on {ssin} {code}");
    let answer = app.call(&request);
    assert_eq!(answer.http_status, 200, "{context}: {}", answer.body);
    let lines = spans(&answer.lines());
    assert_disjoint_and_apart(&lines, &context);
    match op {
        Op::Register(span) => {
            assert_eq!(answer.status(), "OK", "{context}");
            assert!(covers(&lines, &[span]), "{context}: not in {lines:?}");
        }
        Op::Unregister(span) => {
            assert!(
                ["OK", "NO_RESULT"].contains(&answer.status().as_str()),
                "{context}"
            );
            assert_eq!(subtract(&lines, &[span]), lines, "{context}: still there");
        }
        Op::UnregisterAll => assert_eq!(lines, [], "{context}"),
    }
}

/// The lines of one key as the register holds them at the end.
fn final_lines(app: &TestApp, key: usize) -> Vec<Span> {
    let (ssin, code) = (NISS[key / TYPES.len()], TYPES[key % TYPES.len()]);
    let answer = app
        .call(&Request::consult(&org_a(), ssin).dossier_type(code))
        .ok();
    spans(&answer.lines())
}

fn start(backend: Backend) -> TestApp {
    TestApp::start_with(backend, &["--db-connections", "8", "--workers", "4"])
}

/// Every call recorded once, all successful.
fn assert_audited(app: &TestApp, calls: usize) {
    let trail = app.audit(None);
    assert_eq!(trail.len(), calls);
    assert!(
        trail.iter().all(|entry| entry["outcome"] == "OK"),
        "{trail:?}"
    );
}

fn concurrent_registrations_give_the_merge_of_all_periods(backend: Backend) {
    let app = start(backend);
    let per_key = run_clients(&app, true);
    for (key, ops) in per_key.iter().enumerate() {
        let registered = ops.iter().map(|op| match op {
            Op::Register(span) => *span,
            _ => unreachable!("registrations only"),
        });
        let expected = merge(registered.collect());
        assert_eq!(
            final_lines(&app, key),
            expected,
            "seed {}, key {key}",
            seed()
        );
    }
    assert_audited(&app, (THREADS * CALLS_PER_THREAD) as usize + per_key.len());
}

fn concurrent_registrations_and_unregistrations_keep_lines_apart(backend: Backend) {
    let app = start(backend);
    let per_key = run_clients(&app, false);
    for (key, ops) in per_key.iter().enumerate() {
        let lines = final_lines(&app, key);
        let context = format!("seed {}, key {key}", seed());
        assert_disjoint_and_apart(&lines, &context);
        // Only registered days can be there, and a registered day nobody removed must be.
        let registered = merge(
            ops.iter()
                .filter_map(|op| match op {
                    Op::Register(span) => Some(*span),
                    _ => None,
                })
                .collect(),
        );
        let removed = merge(
            ops.iter()
                .filter_map(|op| match op {
                    Op::Register(_) => None,
                    Op::Unregister(span) => Some(*span),
                    Op::UnregisterAll => Some((0, OPEN)),
                })
                .collect(),
        );
        assert!(
            covers(&registered, &lines),
            "{context}: {lines:?} not registered"
        );
        let kept = subtract(&registered, &removed);
        assert!(
            covers(&lines, &kept),
            "{context}: {kept:?} lost from {lines:?}"
        );
    }
    assert_audited(&app, (THREADS * CALLS_PER_THREAD) as usize + per_key.len());
}

#[test]
fn span_algebra_matches_the_register_rules() {
    assert_eq!(
        merge(vec![(5, 9), (0, 3), (4, 4), (11, 12)]),
        [(0, 9), (11, 12)]
    );
    assert_eq!(merge(vec![(5, OPEN), (7, 9), (0, 1)]), [(0, 1), (5, OPEN)]);
    assert_eq!(subtract(&[(0, 10)], &[(3, 4)]), [(0, 2), (5, 10)]);
    assert_eq!(subtract(&[(0, OPEN)], &[(3, 4)]), [(0, 2), (5, OPEN)]);
    assert_eq!(subtract(&[(0, 10), (20, 30)], &[(5, OPEN)]), [(0, 4)]);
    assert!(covers(&[(0, 10), (12, OPEN)], &[(1, 3), (20, OPEN)]));
    assert!(!covers(&[(0, 10), (12, OPEN)], &[(9, 12)]));
    assert_eq!(spans(&["E 2024-01-02..".into()]), [(1, OPEN)]);
    assert_eq!(period_text((59, 59)), "2024-02-29..2024-02-29");
}

backend_tests!(
    concurrent_registrations_give_the_merge_of_all_periods,
    concurrent_registrations_and_unregistrations_keep_lines_apart,
);
