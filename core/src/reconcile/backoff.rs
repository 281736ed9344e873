//! Retry delays for failed reconciles: per object, exponential with jitter, capped. A struggling
//! API server (or a webhook outage that fails every write) then sees each failing object less and
//! less often instead of every few seconds, and objects that failed together do not retry in step.
//!
//! The `n`-th consecutive failure (n ≥ 1) waits `min(max, base · 2^(n-1))` scaled by a factor in
//! [0.5, 1.0] taken from a hash of the object's key and `n`: deterministic for one object, spread
//! across objects. The caller resets `n` on success and on a spec change.

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
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes().chain(failures.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let permille = u32::try_from(h % 501).unwrap_or(0) + 500;
    full.mul_f64(f64::from(permille) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

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
