//! Retry delays for failed reconciles: per object, exponential with jitter, capped. A struggling
//! API server (or a webhook outage that fails every write) then sees each failing object less and
//! less often instead of every few seconds, and objects that failed together do not retry in step.
//!
//! The `n`-th consecutive failure (n ≥ 1) waits `min(max, base · 2^(n-1))` scaled by a factor in
//! [0.5, 1.0] taken from a hash of the object's key and `n`: deterministic for one object, spread
//! across objects. The caller resets `n` on success and on a spec change.
//!
//! A retry yields to waiting work ([`retry_yield`]): while requests from watch events (a new
//! TenantGateway, a spec change, a route or namespace change) wait for a reconcile, an object
//! whose start is only its timed retry steps back for about as long as the cap on reconcile
//! starts needs to serve them. Failing objects then cannot take the starts that first
//! reconciles need (at 2,000 TenantGateways with cert-manager's webhook down, they did).

use std::time::Duration;

/// Base and cap of the retry delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

/// The delay before retrying after the `failures`-th consecutive failure of object `key`.
pub fn retry_delay(policy: &RetryPolicy, failures: u32, key: &str) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    let full = policy.base.saturating_mul(1u32 << doublings).min(policy.max);
    // FNV-1a over the key and the failure count: a stable spread in [0.5, 1.0].
    let h = fnv(key.bytes().chain(failures.to_le_bytes()));
    let permille = u32::try_from(h % 501).unwrap_or(0) + 500;
    full.mul_f64(f64::from(permille) / 1000.0)
}

/// Shortest and longest time a retry steps back for waiting requests.
pub const MIN_YIELD: Duration = Duration::from_secs(1);
pub const MAX_YIELD: Duration = Duration::from_secs(60);

/// Whether a start that is only object `key`'s timed retry steps back, and for how long:
/// `None` when no request from a watch event waits (`waiting`, this object's own excluded), else
/// the time the cap of `per_second` starts needs to serve them (unknown cap: one start per
/// 50 ms, the default's rate), clamped to [[`MIN_YIELD`], [`MAX_YIELD`]] and spread by up to a
/// quarter with a hash of `key` so yielding objects do not come back in step.
pub fn retry_yield(waiting: usize, per_second: u32, key: &str) -> Option<Duration> {
    if waiting == 0 {
        return None;
    }
    let rate = if per_second == 0 { 20 } else { per_second };
    let drain = Duration::from_secs(u64::try_from(waiting).unwrap_or(u64::MAX)) / rate;
    let base = drain.clamp(MIN_YIELD, MAX_YIELD);
    let spread = u32::try_from(fnv(key.bytes()) % 251).unwrap_or(0);
    Some(base + base.mul_f64(f64::from(spread) / 1000.0))
}

fn fnv(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::nothing_waits(0, 20, None)]
    #[case::one_request_waits(1, 20, Some((1_000, 1_250)))]
    #[case::a_first_list_of_1800(1_800, 20, Some((60_000, 75_000)))]
    #[case::four_hundred_at_the_default_cap(400, 20, Some((20_000, 25_000)))]
    #[case::no_cap_counts_as_the_default_rate(400, 0, Some((20_000, 25_000)))]
    #[case::a_fast_cap(400, 200, Some((2_000, 2_500)))]
    fn a_retry_yields_while_requests_wait(
        #[case] waiting: usize,
        #[case] per_second: u32,
        #[case] want_ms: Option<(u128, u128)>,
    ) {
        for key in ["tenant-a/cozystack", "tenant-b/cozystack"] {
            let got = retry_yield(waiting, per_second, key).map(|d| d.as_millis());
            match (got, want_ms) {
                (None, None) => {}
                (Some(ms), Some((lo, hi))) => assert!((lo..=hi).contains(&ms), "{key}: {ms} ms not in {lo}..={hi}"),
                _ => panic!("{key}: {got:?}, expected {want_ms:?}"),
            }
        }
    }

    #[rstest]
    #[case::first_failure(1, 500, 1_000)]
    #[case::second_failure(2, 1_000, 2_000)]
    #[case::fifth_failure(5, 8_000, 16_000)]
    #[case::capped(12, 150_000, 300_000)]
    #[case::far_beyond_the_cap(1_000, 150_000, 300_000)]
    fn delays_double_up_to_the_cap_with_jitter(#[case] failures: u32, #[case] min_ms: u128, #[case] max_ms: u128) {
        for key in ["tenant-a/cozystack", "tenant-b/cozystack", "x/y"] {
            let d = retry_delay(&RetryPolicy::default(), failures, key).as_millis();
            assert!((min_ms..=max_ms).contains(&d), "{key} after {failures}: {d} ms");
        }
    }

    #[test]
    fn deterministic_per_object_and_spread_across_objects() {
        let p = RetryPolicy::default();
        assert_eq!(retry_delay(&p, 3, "a/b"), retry_delay(&p, 3, "a/b"));
        let delays: std::collections::BTreeSet<u128> = (0..200)
            .map(|i| retry_delay(&p, 4, &format!("tenant-{i}/cozystack")).as_millis())
            .collect();
        assert!(
            delays.len() > 150,
            "200 objects failing together retry at {} distinct times",
            delays.len()
        );
    }
}
