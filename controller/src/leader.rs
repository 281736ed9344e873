//! Leader election on a `coordination.k8s.io/v1` Lease, so only one replica reconciles and writes.
//!
//! Every retry period each replica reads the Lease and [`decide`]s: the holder renews; a
//! candidate acquires it when it is free (no holder: released on graceful shutdown) or expired.
//! Expiry is judged on the local monotonic clock — how long the Lease has been seen unchanged
//! (same resourceVersion) — never by comparing another node's `renewTime` with our wall clock,
//! so clock skew cannot make two replicas leaders. Writes are `update`s carrying the observed
//! resourceVersion: of two candidates racing for a free or expired Lease one gets 409 Conflict.
//!
//! The leader stops reconciling when it cannot renew for the renew deadline (shorter than the
//! lease duration, so it has stopped before a standby may take over), and on shutdown it stops
//! the reconciler first and then releases the Lease (no holder), so a standby takes over at its
//! next retry instead of after the lease duration.
//!
//! API calls: get, create (first start), update — the chart's leader-election Role.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

/// Where and how to elect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderConfig {
    pub namespace: String,
    pub lease_name: String,
    /// holderIdentity written by this replica (the pod name).
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

/// What the Lease allows this replica to do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// We hold it: write a new renewTime.
    Renew,
    /// Free or expired: take it over.
    Acquire,
    /// Someone else holds a live lease.
    Wait,
}

/// Pure decision for candidate `me` given the Lease spec as read and how long this replica has
/// seen it unchanged. `default_duration` applies when the Lease has no leaseDurationSeconds.
pub fn decide(spec: Option<&LeaseSpec>, me: &str, unchanged_for: Duration, default_duration: Duration) -> Decision {
    let Some(spec) = spec else { return Decision::Acquire };
    match spec.holder_identity.as_deref() {
        Some(h) if h == me => Decision::Renew,
        None | Some("") => Decision::Acquire,
        Some(_) => {
            let duration = spec
                .lease_duration_seconds
                .filter(|s| *s > 0)
                .map_or(default_duration, |s| Duration::from_secs(s.unsigned_abs().into()));
            if unchanged_for >= duration {
                Decision::Acquire
            } else {
                Decision::Wait
            }
        }
    }
}

/// The spec `me` writes to hold the Lease from `now`: a renewal keeps acquireTime and
/// leaseTransitions, a takeover from another (or no) holder sets acquireTime and counts a transition.
pub fn claimed(prev: Option<&LeaseSpec>, me: &str, now: Timestamp, duration: Duration) -> LeaseSpec {
    let prev = prev.cloned().unwrap_or_default();
    let renewal = prev.holder_identity.as_deref() == Some(me);
    let transitions = prev.lease_transitions.unwrap_or(0);
    let had_holder = prev.holder_identity.as_deref().is_some_and(|h| !h.is_empty());
    LeaseSpec {
        holder_identity: Some(me.to_owned()),
        lease_duration_seconds: Some(i32::try_from(duration.as_secs().max(1)).unwrap_or(i32::MAX)),
        acquire_time: if renewal {
            prev.acquire_time.clone().or(Some(MicroTime(now)))
        } else {
            Some(MicroTime(now))
        },
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(if renewal || !had_holder {
            transitions
        } else {
            transitions.saturating_add(1)
        }),
        ..prev
    }
}

/// The spec written on graceful shutdown: no holder, so any candidate acquires at once.
pub fn released(prev: &LeaseSpec, now: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: None,
        lease_duration_seconds: Some(1),
        renew_time: Some(MicroTime(now)),
        ..prev.clone()
    }
}

/// Election state shared with /readyz and /metrics.
#[derive(Debug, Default)]
pub struct LeaderState {
    leader: AtomicBool,
    transitions: AtomicU64,
    /// Last successful read or write of the Lease.
    last_contact: Mutex<Option<Instant>>,
}

impl LeaderState {
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }
    /// How often this replica became leader.
    pub fn acquisitions(&self) -> u64 {
        self.transitions.load(Ordering::Relaxed)
    }
    fn set_leader(&self, v: bool) {
        if v && !self.leader.swap(true, Ordering::Relaxed) {
            self.transitions.fetch_add(1, Ordering::Relaxed);
        } else if !v {
            self.leader.store(false, Ordering::Relaxed);
        }
    }
    fn contact(&self) {
        if let Ok(mut g) = self.last_contact.lock() {
            *g = Some(Instant::now());
        }
    }
    /// Whether the Lease was read or written within `within` (a healthy standby keeps reading it).
    pub fn in_contact(&self, within: Duration) -> bool {
        self.last_contact
            .lock()
            .ok()
            .and_then(|g| *g)
            .is_some_and(|t| t.elapsed() <= within)
    }
}

/// One replica's view of the Lease between attempts.
struct Elector {
    api: Api<Lease>,
    cfg: LeaderConfig,
    /// resourceVersion last seen and when it was first seen (local monotonic clock).
    observed: Option<(String, Instant)>,
}

impl Elector {
    /// Acquires or renews; `Ok(true)` when this replica holds the Lease afterwards.
    async fn try_acquire_or_renew(&mut self) -> kube::Result<bool> {
        let now = Instant::now();
        let Some(lease) = self.api.get_opt(&self.cfg.lease_name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.cfg.lease_name.clone()),
                    namespace: Some(self.cfg.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(claimed(
                    None,
                    &self.cfg.identity,
                    Timestamp::now(),
                    self.cfg.lease_duration,
                )),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(l) => {
                    self.observed = l.resource_version().map(|rv| (rv, now));
                    Ok(true)
                }
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let rv = lease.resource_version().unwrap_or_default();
        if self.observed.as_ref().is_none_or(|(seen, _)| *seen != rv) {
            self.observed = Some((rv, now));
        }
        let unchanged_for = self
            .observed
            .as_ref()
            .map_or(Duration::ZERO, |(_, at)| now.duration_since(*at));
        match decide(
            lease.spec.as_ref(),
            &self.cfg.identity,
            unchanged_for,
            self.cfg.lease_duration,
        ) {
            Decision::Wait => Ok(false),
            Decision::Acquire | Decision::Renew => {
                let mut next = lease.clone();
                next.spec = Some(claimed(
                    lease.spec.as_ref(),
                    &self.cfg.identity,
                    Timestamp::now(),
                    self.cfg.lease_duration,
                ));
                match self
                    .api
                    .replace(&self.cfg.lease_name, &PostParams::default(), &next)
                    .await
                {
                    Ok(l) => {
                        self.observed = l.resource_version().map(|rv| (rv, now));
                        Ok(true)
                    }
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Gives the Lease up if we still hold it.
    async fn release(&mut self) -> kube::Result<()> {
        let Some(lease) = self.api.get_opt(&self.cfg.lease_name).await? else {
            return Ok(());
        };
        let Some(spec) = lease
            .spec
            .as_ref()
            .filter(|s| s.holder_identity.as_deref() == Some(&self.cfg.identity))
        else {
            return Ok(());
        };
        let mut next = lease.clone();
        next.spec = Some(released(spec, Timestamp::now()));
        self.api
            .replace(&self.cfg.lease_name, &PostParams::default(), &next)
            .await?;
        Ok(())
    }

    /// One attempt bounded by the renew deadline (a hung request must not keep a stale leader).
    async fn attempt(&mut self, state: &LeaderState) -> bool {
        let deadline = self.cfg.renew_deadline;
        match tokio::time::timeout(deadline, self.try_acquire_or_renew()).await {
            Ok(Ok(held)) => {
                state.contact();
                held
            }
            Ok(Err(e)) => {
                tracing::warn!(lease = %self.cfg.lease_name, error = %e, "leader election: lease request failed");
                false
            }
            Err(_) => {
                tracing::warn!(lease = %self.cfg.lease_name, "leader election: lease request timed out");
                false
            }
        }
    }
}

/// Why the leader phase ended.
enum Ended {
    Shutdown,
    Lost,
    Reconciler(anyhow::Result<()>),
}

/// Campaigns for the Lease until `shutdown`; while leader, runs `lead(stop)` and cancels `stop`
/// when leadership ends. Returns when `shutdown` is cancelled (after stopping the reconciler and
/// releasing the Lease) or with the reconciler's error if it stops on its own.
pub async fn run_elected<F, Fut>(
    client: Client,
    cfg: LeaderConfig,
    state: std::sync::Arc<LeaderState>,
    shutdown: CancellationToken,
    mut lead: F,
) -> anyhow::Result<()>
where
    F: FnMut(CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut elector = Elector {
        api: Api::namespaced(client, &cfg.namespace),
        cfg: cfg.clone(),
        observed: None,
    };
    let span = tracing::info_span!("leader_election", lease = %format!("{}/{}", cfg.namespace, cfg.lease_name), identity = %cfg.identity);
    tracing::info!(parent: &span, "leader election: candidate");
    loop {
        // Candidate: try now, then every retry period.
        loop {
            if elector.attempt(&state).await {
                break;
            }
            tokio::select! {
                () = shutdown.cancelled() => {
                    tracing::info!(parent: &span, "leader election: shutdown while standby");
                    return Ok(());
                }
                () = tokio::time::sleep(cfg.retry_period) => {}
            }
        }
        state.set_leader(true);
        tracing::info!(parent: &span, "leader election: acquired the lease, starting the reconciler");
        let stop = CancellationToken::new();
        // Also stops the reconciler if this future is dropped (aborted) while leading.
        let _stop_on_drop = stop.clone().drop_guard();
        let mut task = tokio::spawn(lead(stop.clone()));
        let mut last_renew = Instant::now();
        let ended = loop {
            tokio::select! {
                () = shutdown.cancelled() => break Ended::Shutdown,
                r = &mut task => break Ended::Reconciler(r.unwrap_or_else(|e| Err(anyhow::anyhow!("reconciler task: {e}")))),
                () = tokio::time::sleep(cfg.retry_period) => {
                    if elector.attempt(&state).await {
                        last_renew = Instant::now();
                    } else if last_renew.elapsed() >= cfg.renew_deadline || !still_ours(&mut elector).await {
                        break Ended::Lost;
                    }
                }
            }
        };
        // Stop writing before anyone else may start: the reconciler finishes in-flight work first.
        stop.cancel();
        let result = match ended {
            Ended::Reconciler(r) => Some(r.and_then(|()| Err(anyhow::anyhow!("the reconciler stopped unexpectedly")))),
            Ended::Shutdown | Ended::Lost => {
                match task.await {
                    Ok(Err(e)) => tracing::warn!(parent: &span, error = %e, "reconciler ended with an error"),
                    Err(e) => tracing::warn!(parent: &span, error = %e, "reconciler task failed"),
                    Ok(Ok(())) => {}
                }
                matches!(ended, Ended::Shutdown).then_some(Ok(()))
            }
        };
        state.set_leader(false);
        match result {
            None => {
                tracing::warn!(parent: &span, "leader election: lost the lease, reconciler stopped; standing by");
            }
            Some(r) => {
                match tokio::time::timeout(cfg.renew_deadline, elector.release()).await {
                    Ok(Ok(())) => tracing::info!(parent: &span, "leader election: released the lease"),
                    Ok(Err(e)) => {
                        tracing::warn!(parent: &span, error = %e, "leader election: releasing the lease failed")
                    }
                    Err(_) => tracing::warn!(parent: &span, "leader election: releasing the lease timed out"),
                }
                return r;
            }
        }
    }
}

/// After a failed renewal within the deadline: whether the last read still names us (a 409 or a
/// read showing another holder means we lost it already).
async fn still_ours(elector: &mut Elector) -> bool {
    match tokio::time::timeout(elector.cfg.retry_period, elector.api.get_opt(&elector.cfg.lease_name)).await {
        Ok(Ok(Some(l))) => l.spec.and_then(|s| s.holder_identity).as_deref() == Some(elector.cfg.identity.as_str()),
        Ok(Ok(None)) => false,
        // Cannot tell: keep leading until the renew deadline.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Duration = Duration::from_secs(15);

    fn spec(holder: Option<&str>, secs: Option<i32>) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            lease_duration_seconds: secs,
            lease_transitions: Some(3),
            acquire_time: Some(MicroTime(Timestamp::UNIX_EPOCH)),
            renew_time: Some(MicroTime(Timestamp::UNIX_EPOCH)),
            ..Default::default()
        }
    }

    #[test]
    fn decisions() {
        let s = Duration::from_secs;
        let cases: &[(Option<LeaseSpec>, Duration, Decision, &str)] = &[
            (None, s(0), Decision::Acquire, "lease without spec"),
            (
                Some(spec(None, Some(15))),
                s(0),
                Decision::Acquire,
                "released (no holder)",
            ),
            (
                Some(spec(Some(""), Some(15))),
                s(0),
                Decision::Acquire,
                "released (empty holder)",
            ),
            (Some(spec(Some("me"), Some(15))), s(0), Decision::Renew, "held by me"),
            (
                Some(spec(Some("me"), Some(15))),
                s(100),
                Decision::Renew,
                "held by me, even if stale",
            ),
            (
                Some(spec(Some("other"), Some(15))),
                s(0),
                Decision::Wait,
                "fresh, other holder",
            ),
            (
                Some(spec(Some("other"), Some(15))),
                s(14),
                Decision::Wait,
                "just before expiry",
            ),
            (Some(spec(Some("other"), Some(15))), s(15), Decision::Acquire, "expired"),
            (
                Some(spec(Some("other"), Some(60))),
                s(30),
                Decision::Wait,
                "lease's own duration wins",
            ),
            (
                Some(spec(Some("other"), None)),
                s(14),
                Decision::Wait,
                "no duration: default",
            ),
            (
                Some(spec(Some("other"), None)),
                s(15),
                Decision::Acquire,
                "no duration: default expired",
            ),
            (
                Some(spec(Some("other"), Some(0))),
                s(15),
                Decision::Acquire,
                "zero duration: default",
            ),
            (
                Some(spec(Some("other"), Some(1))),
                s(1),
                Decision::Acquire,
                "released by another implementation",
            ),
        ];
        for (spec, unchanged, want, what) in cases {
            assert_eq!(decide(spec.as_ref(), "me", *unchanged, D), *want, "{what}");
        }
    }

    #[test]
    fn claim_and_release() {
        let t1 = Timestamp::from_second(1_000).expect("ts");
        let t2 = Timestamp::from_second(2_000).expect("ts");
        let fresh = claimed(None, "me", t1, D);
        assert_eq!(fresh.holder_identity.as_deref(), Some("me"));
        assert_eq!(fresh.lease_duration_seconds, Some(15));
        assert_eq!(fresh.lease_transitions, Some(0));
        assert_eq!(fresh.acquire_time, Some(MicroTime(t1)));

        let renewed = claimed(Some(&fresh), "me", t2, D);
        assert_eq!(renewed.acquire_time, Some(MicroTime(t1)), "renewal keeps acquireTime");
        assert_eq!(renewed.renew_time, Some(MicroTime(t2)));
        assert_eq!(renewed.lease_transitions, Some(0));

        let taken = claimed(Some(&spec(Some("other"), Some(15))), "me", t2, D);
        assert_eq!(taken.lease_transitions, Some(4), "takeover counts a transition");
        assert_eq!(taken.acquire_time, Some(MicroTime(t2)));

        let rel = released(&renewed, t2);
        assert_eq!(rel.holder_identity, None);
        assert_eq!(rel.lease_duration_seconds, Some(1));
        assert_eq!(
            decide(Some(&rel), "other", Duration::ZERO, D),
            Decision::Acquire,
            "a standby takes a released lease at once"
        );
        let after_release = claimed(Some(&rel), "other", t2, D);
        assert_eq!(
            after_release.lease_transitions,
            Some(0),
            "taking a free lease is not a transition from a holder"
        );
    }

    #[test]
    fn state() {
        let s = LeaderState::default();
        assert!(!s.is_leader());
        assert!(!s.in_contact(D));
        s.contact();
        assert!(s.in_contact(D));
        s.set_leader(true);
        s.set_leader(true);
        assert!(s.is_leader());
        assert_eq!(s.acquisitions(), 1);
        s.set_leader(false);
        assert!(!s.is_leader());
    }
}
