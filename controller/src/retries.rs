//! Retries that never hammer a struggling API server: per-object exponential backoff with jitter
//! for failed reconciles ([`tgw_core::backoff`]), reset on success and on a spec change, and one
//! cap on reconcile starts per second for the whole controller.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tgw_core::backoff::{RetryPolicy, retry_delay};

/// One object in backoff.
#[derive(Clone, Debug)]
struct Entry {
    failures: u32,
    /// `metadata.generation` the failures were counted at; another generation starts over.
    generation: Option<i64>,
    next: Instant,
}

/// Per-object failure counts (keyed `ns/name`) and the delays they earn.
#[derive(Debug, Default)]
pub struct Retries {
    policy: RetryPolicy,
    state: Mutex<BTreeMap<String, Entry>>,
}

impl Retries {
    pub fn new(policy: RetryPolicy) -> Retries {
        Retries {
            policy,
            state: Mutex::default(),
        }
    }

    /// A reconcile of `key` at `generation` failed: the delay before its retry.
    pub fn failed(&self, key: &str, generation: Option<i64>) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let failures = match state.get(key) {
            Some(e) if e.generation == generation => e.failures.saturating_add(1),
            _ => 1,
        };
        let delay = retry_delay(&self.policy, failures, key);
        state.insert(
            key.to_owned(),
            Entry {
                failures,
                generation,
                next: Instant::now() + delay,
            },
        );
        delay
    }

    /// A reconcile of `key` succeeded (or the object is gone): its backoff ends.
    pub fn succeeded(&self, key: &str) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// Whether `key` at `generation` is in backoff: its last reconcile at this generation failed.
    pub fn in_backoff(&self, key: &str, generation: Option<i64>) -> bool {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .is_some_and(|e| e.generation == generation)
    }

    /// Consecutive failures of `key` so far.
    pub fn failures(&self, key: &str) -> u32 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .map_or(0, |e| e.failures)
    }

    /// (objects in backoff, time until the soonest retry).
    pub fn snapshot(&self) -> (usize, Option<Duration>) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let soonest = state.values().map(|e| e.next.saturating_duration_since(now)).min();
        (state.len(), soonest)
    }
}

/// At most `per_second` reconcile starts per second, whatever triggered them (0: no cap).
#[derive(Debug)]
pub struct StartLimiter {
    interval: Option<Duration>,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl StartLimiter {
    pub fn new(per_second: u32) -> StartLimiter {
        StartLimiter {
            interval: (per_second > 0).then(|| Duration::from_secs(1) / per_second),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for this start's slot.
    pub async fn acquire(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(tokio::time::Instant::now());
            *next = at + interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_count_up_and_reset_on_success_and_on_a_spec_change() {
        let r = Retries::new(RetryPolicy::default());
        let delays: Vec<Duration> = (0..4).map(|_| r.failed("a/b", Some(1))).collect();
        assert_eq!(r.failures("a/b"), 4);
        assert!(delays.windows(2).all(|w| w[1] > w[0]), "{delays:?}");
        assert!(r.in_backoff("a/b", Some(1)) && !r.in_backoff("a/b", Some(2)));
        r.failed("a/b", Some(2));
        assert_eq!(r.failures("a/b"), 1, "a new generation starts over");
        r.succeeded("a/b");
        assert_eq!((r.failures("a/b"), r.snapshot().0), (0, 0));
    }

    #[tokio::test]
    async fn the_start_limiter_spaces_starts() {
        let l = StartLimiter::new(100);
        let t0 = Instant::now();
        for _ in 0..11 {
            l.acquire().await;
        }
        // 11 starts at 100 per second: the last one 100 ms after the first.
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(99), "{took:?}");
        let unlimited = StartLimiter::new(0);
        let t1 = Instant::now();
        for _ in 0..1000 {
            unlimited.acquire().await;
        }
        assert!(t1.elapsed() < Duration::from_millis(50), "no cap: {:?}", t1.elapsed());
    }
}
