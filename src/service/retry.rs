//! When a durable outbox (webhooks, e-mails) tries a failed message again: Standard
//! Webhooks' schedule of delays, about 28 hours in all, each with ±10 % of jitter so that
//! the messages failed together are not all tried again in the same second.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::store::outbox::AfterFailure;

/// The delays after each failed attempt.
const RETRY_DELAYS: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// When to try again after `attempts` attempts (this one included), with ±10 % jitter.
pub fn after_failure(attempts: i32, now: NaiveDateTime) -> AfterFailure {
    match RETRY_DELAYS.get((attempts.max(1) - 1) as usize) {
        None => AfterFailure::GiveUp,
        Some(delay) => {
            let jitter = 0.9 + 0.2 * rand::random::<f64>();
            let delay = chrono::Duration::milliseconds((delay.as_millis() as f64 * jitter) as i64);
            AfterFailure::RetryAt(now + delay)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retries_back_off_then_give_up() {
        let now = crate::store::now();
        let AfterFailure::RetryAt(first) = after_failure(1, now) else {
            panic!("no retry")
        };
        assert!(first - now >= chrono::Duration::milliseconds(4500));
        assert!(first - now <= chrono::Duration::milliseconds(5500));
        assert!(matches!(after_failure(7, now), AfterFailure::RetryAt(_)));
        assert_eq!(after_failure(8, now), AfterFailure::GiveUp);
    }
}
