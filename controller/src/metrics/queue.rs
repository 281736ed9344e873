//! The reconcile queue as seen from its edges.
//!
//! kube-runtime's scheduler is internal to its Controller. What this controller observes is a
//! request going in (a watch event asks for a reconcile of a TenantGateway: the TenantGateway
//! trigger stream, or an index hit sent to `reconcile_on`; [`crate::run`]) and a reconcile
//! starting ([`crate::tolerant::reconcile`]). The scheduler merges the requests for one
//! TenantGateway that wait together into one reconcile, so the queue kept here holds at most one
//! entry per TenantGateway: the time of its oldest request not yet served.
//!
//! - A request for a TenantGateway that is being reconciled waits for that reconcile to end (the
//!   runner holds it), and is served by the next start.
//! - Timed requeues (`Action::requeue`, `error_policy`) are scheduled inside kube-runtime and
//!   are not requests here; a reconcile they start serves whatever request was waiting.
//! - A request for an object no longer in the cache is consumed without a reconcile
//!   (kube-runtime reports `ObjectNotFound`): [`RequestQueue::dropped`].
//! - A request arriving in the instant between the runner taking an earlier request of the same
//!   object and that reconcile's first line is counted as served by it (the approximation).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use crate::index::TgwKey;

/// Upper bounds (seconds) of the queue wait histogram: from a free worker (about a millisecond)
/// to a full initial list of hundreds of TenantGateways at 4 concurrent reconciles.
pub const WAIT_BUCKETS: [f64; 15] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Requests waiting for a reconcile, with the depth gauge and the wait histogram they feed.
#[derive(Debug)]
pub struct RequestQueue {
    waiting: Mutex<HashMap<TgwKey, Instant>>,
    /// `tgw_reconcile_queue_depth`.
    pub(super) depth: Gauge,
    /// `tgw_reconcile_queue_wait_seconds`.
    pub(super) wait: Histogram,
}

impl Default for RequestQueue {
    fn default() -> Self {
        RequestQueue {
            waiting: Mutex::default(),
            depth: Gauge::default(),
            wait: Histogram::new(WAIT_BUCKETS),
        }
    }
}

impl RequestQueue {
    fn update(&self, f: impl FnOnce(&mut HashMap<TgwKey, Instant>)) {
        let mut waiting = self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut waiting);
        self.depth.set(i64::try_from(waiting.len()).unwrap_or(i64::MAX));
    }

    /// A reconcile of `key` was requested at `at`; an earlier unserved request keeps its time.
    pub fn requested(&self, key: TgwKey, at: Instant) {
        self.update(|w| {
            w.entry(key).or_insert(at);
        });
    }

    /// A reconcile of `key` started at `at`: the waiting request (if any) is served, and its wait
    /// observed.
    pub fn started(&self, key: &TgwKey, at: Instant) {
        self.update(|w| {
            if let Some(since) = w.remove(key) {
                self.wait.observe(at.saturating_duration_since(since).as_secs_f64());
            }
        });
    }

    /// The request for `key` was consumed without a reconcile (the object left the cache).
    pub fn dropped(&self, key: &TgwKey) {
        self.update(|w| {
            w.remove(key);
        });
    }

    /// The reconciler stopped (shutdown, leadership lost): nothing waits any more.
    pub fn clear(&self) {
        self.update(HashMap::clear);
    }

    /// Whether a request for `key` waits (a watch event asked for it since its last start).
    pub fn is_waiting(&self, key: &TgwKey) -> bool {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(key)
    }

    /// Requests waiting now.
    pub fn depth(&self) -> i64 {
        self.depth.get()
    }

    /// (count, sum in seconds) of the waits observed.
    #[cfg(test)]
    pub fn waits(&self) -> (u64, f64) {
        (self.wait.count(), self.wait.sum())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn key(name: &str) -> TgwKey {
        ("tenant-a".to_owned(), name.to_owned())
    }

    #[test]
    fn a_start_serves_the_oldest_waiting_request_of_its_object() {
        let q = RequestQueue::default();
        let t0 = Instant::now();
        q.requested(key("x"), t0);
        q.requested(key("x"), t0 + Duration::from_millis(300));
        q.requested(key("y"), t0 + Duration::from_millis(100));
        assert_eq!(q.depth(), 2, "two objects wait; the second request of x merges");
        q.started(&key("x"), t0 + Duration::from_millis(500));
        assert_eq!(q.depth(), 1);
        assert_eq!(q.waits(), (1, 0.5), "measured from the first request of x");
    }

    #[test]
    fn a_start_without_a_request_observes_nothing() {
        let q = RequestQueue::default();
        q.started(&key("x"), Instant::now());
        assert_eq!(
            (q.depth(), q.waits()),
            (0, (0, 0.0)),
            "a timed requeue is not a request"
        );
    }

    #[test]
    fn a_request_during_a_reconcile_waits_for_the_next_start() {
        let q = RequestQueue::default();
        let t0 = Instant::now();
        q.requested(key("x"), t0);
        q.started(&key("x"), t0 + Duration::from_millis(10));
        q.requested(key("x"), t0 + Duration::from_millis(20));
        assert_eq!(q.depth(), 1, "the running reconcile does not serve a later request");
        q.started(&key("x"), t0 + Duration::from_millis(1020));
        assert_eq!(q.depth(), 0);
        let (count, sum) = q.waits();
        assert_eq!(count, 2);
        assert!((sum - 1.01).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn dropped_and_cleared_requests_leave_without_a_wait() {
        let q = RequestQueue::default();
        let t0 = Instant::now();
        q.requested(key("gone"), t0);
        q.requested(key("x"), t0);
        q.requested(key("y"), t0);
        q.dropped(&key("gone"));
        assert_eq!(q.depth(), 2);
        q.clear();
        assert_eq!((q.depth(), q.waits()), (0, (0, 0.0)));
    }
}
