//! The listener budget of an http01 Gateway, shared fairly between namespaces: one tenant can
//! only crowd out itself.
//!
//! A Gateway holds at most 64 listeners; the fixed ones (`http`, passthrough) come first and the
//! per-host listeners share the rest (the *capacity*). Won hostnames are placed in this order:
//!
//! 1. **Platform namespaces** (trusted; Cozystack's precedence), in precedence order.
//! 2. **Every other namespace** (the owner included) gets a max-min fair share of what is left:
//!    each namespace's demand is its won hostnames, capped at `per_namespace` for namespaces
//!    other than the owner (0: no cap); the capacity is filled level by level, so a namespace
//!    asking for more than its share never pushes another below `min(its demand, the share)`.
//!    Slots left over after the last full level go one by one to the namespaces still wanting
//!    more, in the precedence order of their next hostname.
//!
//! Within a namespace, its hostnames are kept in precedence order (oldest winning route first,
//! then hostname), so a tenant adding names drops its own newest names first.

use std::collections::BTreeMap;

/// One won hostname competing for a per-host listener, in global precedence order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub host: &'a str,
    pub namespace: &'a str,
    pub platform: bool,
}

/// Why a namespace's hostnames did not all get a listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareLimit {
    /// The namespace reached `per_namespace`.
    Cap(usize),
    /// The Gateway is full; the namespace holds its fair share.
    FairShare,
}

/// A namespace that wanted more listeners than it got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortfall {
    pub kept: usize,
    pub wanted: usize,
    pub limit: ShareLimit,
}

/// What the budget keeps: indexes into the candidates (ascending), and the namespaces short of
/// listeners.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allocation {
    pub kept: Vec<usize>,
    pub short: BTreeMap<String, Shortfall>,
}

/// Places `candidates` (in global precedence order) into `capacity` listeners.
pub fn allocate(candidates: &[Candidate<'_>], capacity: usize, owner: &str, per_namespace: usize) -> Allocation {
    let mut kept = Vec::new();
    let mut left = capacity;
    // 1. Platform namespaces, in precedence order.
    let mut wanted: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        *wanted.entry(c.namespace).or_default() += 1;
        if c.platform && left > 0 {
            kept.push(i);
            left -= 1;
        }
    }
    // 2. The others: per-namespace queues in precedence order, demands capped.
    let mut queues: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, c) in candidates.iter().enumerate().filter(|(_, c)| !c.platform) {
        match queues.iter_mut().find(|(ns, _)| *ns == c.namespace) {
            Some((_, q)) => q.push(i),
            None => queues.push((c.namespace, vec![i])),
        }
    }
    let cap_of = |ns: &str| {
        if ns == owner || per_namespace == 0 {
            usize::MAX
        } else {
            per_namespace
        }
    };
    let demand: Vec<usize> = queues.iter().map(|(ns, q)| q.len().min(cap_of(ns))).collect();
    // Water level: the largest L with sum(min(d, L)) <= left.
    let total = |l: usize| demand.iter().map(|d| (*d).min(l)).sum::<usize>();
    let max_level = demand.iter().copied().max().unwrap_or(0);
    let (mut lo, mut hi) = (0, max_level);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if total(mid) <= left { lo = mid } else { hi = mid - 1 }
    }
    let mut given: Vec<usize> = demand.iter().map(|d| (*d).min(lo)).collect();
    left -= total(lo);
    // Leftover slots: one each to namespaces still wanting more, by their next hostname.
    let mut waiting: Vec<usize> = (0..queues.len()).filter(|&q| given[q] < demand[q]).collect();
    waiting.sort_by_key(|&q| queues[q].1[given[q]]);
    for q in waiting.into_iter().take(left) {
        given[q] += 1;
    }
    for (q, (_, idx)) in queues.iter().enumerate() {
        kept.extend_from_slice(&idx[..given[q]]);
    }
    kept.sort_unstable();
    // Shortfalls.
    let mut short = BTreeMap::new();
    for (q, (ns, _)) in queues.iter().enumerate() {
        let want = wanted[ns];
        if given[q] < want {
            let limit = if given[q] == cap_of(ns) {
                ShareLimit::Cap(per_namespace)
            } else {
                ShareLimit::FairShare
            };
            short.insert(
                (*ns).to_owned(),
                Shortfall {
                    kept: given[q],
                    wanted: want,
                    limit,
                },
            );
        }
    }
    for (ns, want) in wanted {
        let got = kept.iter().filter(|&&i| candidates[i].namespace == ns).count();
        if got < want && !short.contains_key(ns) {
            short.insert(
                ns.to_owned(),
                Shortfall {
                    kept: got,
                    wanted: want,
                    limit: ShareLimit::FairShare,
                },
            );
        }
    }
    Allocation { kept, short }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// `spec`: (namespace, platform, number of hostnames), in precedence order of their first
    /// hostname; hostnames interleave as the table lists them.
    fn candidates(spec: &[(&'static str, bool, usize)]) -> Vec<Candidate<'static>> {
        let mut out = Vec::new();
        for (ns, platform, n) in spec {
            for i in 0..*n {
                let host: &'static str = Box::leak(format!("h{i}.{ns}").into_boxed_str());
                out.push(Candidate {
                    host,
                    namespace: ns,
                    platform: *platform,
                });
            }
        }
        out
    }

    /// Listeners kept per namespace.
    fn kept_per_namespace(c: &[Candidate<'_>], a: &Allocation) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for &i in &a.kept {
            *m.entry(c[i].namespace.to_owned()).or_default() += 1;
        }
        m
    }

    fn m(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[rstest]
    #[case::room_for_everyone(&[("root", false, 3), ("alice", false, 5)], 62, 16, m(&[("root", 3), ("alice", 5)]))]
    #[case::a_greedy_child_is_capped(&[("bob", false, 64), ("root", false, 2)], 62, 16, m(&[("bob", 16), ("root", 2)]))]
    #[case::the_owner_is_not_capped(&[("root", false, 40)], 62, 16, m(&[("root", 40)]))]
    #[case::four_greedy_children_leave_the_owner_its_share(
        &[("a", false, 16), ("b", false, 16), ("c", false, 16), ("d", false, 16), ("root", false, 5)],
        62, 16, m(&[("a", 15), ("b", 14), ("c", 14), ("d", 14), ("root", 5)])
    )]
    #[case::without_a_cap_fair_share_still_holds(
        &[("bob", false, 64), ("root", false, 10), ("alice", false, 3)],
        62, 0, m(&[("bob", 49), ("root", 10), ("alice", 3)])
    )]
    #[case::platform_first(&[("cozy-x", true, 5), ("bob", false, 64)], 10, 16, m(&[("cozy-x", 5), ("bob", 5)]))]
    #[case::later_tenants_keep_their_share(
        &[("bob", false, 16), ("carol", false, 16), ("dave", false, 16), ("erin", false, 16), ("root", false, 1), ("late", false, 1)],
        62, 16, m(&[("bob", 15), ("carol", 15), ("dave", 15), ("erin", 15), ("root", 1), ("late", 1)])
    )]
    fn fair_shares(
        #[case] spec: &[(&'static str, bool, usize)],
        #[case] capacity: usize,
        #[case] per_namespace: usize,
        #[case] want: BTreeMap<String, usize>,
    ) {
        let c = candidates(spec);
        let a = allocate(&c, capacity, "root", per_namespace);
        assert!(a.kept.len() <= capacity);
        assert_eq!(kept_per_namespace(&c, &a), want);
    }

    #[test]
    fn shortfalls_say_which_limit_applied() {
        let c = candidates(&[("bob", false, 20), ("root", false, 50)]);
        let a = allocate(&c, 62, "root", 16);
        assert_eq!(
            a.short,
            BTreeMap::from([
                (
                    "bob".to_owned(),
                    Shortfall {
                        kept: 16,
                        wanted: 20,
                        limit: ShareLimit::Cap(16)
                    }
                ),
                (
                    "root".to_owned(),
                    Shortfall {
                        kept: 46,
                        wanted: 50,
                        limit: ShareLimit::FairShare
                    }
                ),
            ])
        );
    }

    #[test]
    fn a_namespace_adding_names_never_lowers_another_below_its_share() {
        // Property over growing demands of one namespace: the others keep at least
        // min(demand, capacity / namespaces).
        for greedy in 0..80 {
            let c = candidates(&[("root", false, 12), ("greedy", false, greedy), ("alice", false, 30)]);
            let a = allocate(&c, 62, "root", 0);
            let k = kept_per_namespace(&c, &a);
            let share = 62 / 3;
            assert!(
                k.get("root").copied().unwrap_or(0) >= 12.min(share),
                "greedy={greedy}: {k:?}"
            );
            assert!(
                k.get("alice").copied().unwrap_or(0) >= 30.min(share),
                "greedy={greedy}: {k:?}"
            );
            assert_eq!(
                a.kept.len(),
                62.min(42 + greedy),
                "greedy={greedy}: the capacity is used"
            );
        }
    }
}
