//! Admission control (`--admission`, SLEdge's "SledgeEDF" admission): a
//! request whose deadline cannot be met given the work queued ahead of it
//! on the worker the policy chose is rejected at once with
//! `rejected-overload`, instead of queueing only to miss its deadline and
//! delay others.
//!
//! Pure logic, like the policies. What counts as "ahead" depends on the
//! worker's local order:
//!
//! - FIFO workers ([`admits`]): all the work handed over and unfinished,
//!   less what the running request has done ([`work_ahead_ns`]). A new
//!   request goes behind all of it and delays nobody, so that is the whole
//!   rule.
//! - EDF workers ([`admits_edf`]): the published state does not break the
//!   queued work down by deadline, so the dispatcher keeps, per worker, the
//!   requests it handed over by deadline ([`HeldWork`]). A request is
//!   admitted when the work with deadlines up to its own (less the running
//!   request's progress) plus its own expected time fits before its
//!   deadline, *and* it makes no held request that would have met its
//!   deadline miss it (every later-deadline request is delayed by the new
//!   one's expected time). So when expected execution times are honest,
//!   every admitted request meets its deadline.

use std::collections::VecDeque;

use crate::worker_state::WorkerSnapshot;

use crate::policy::{RequestInfo, running_remaining_ns, work_ahead_ns};

/// Whether `req` can meet its deadline on the worker whose state is `w`:
/// `now + work ahead + expected <= deadline`, with the work ahead of
/// [`work_ahead_ns`]. Exact for FIFO workers; for EDF workers it counts
/// queued later-deadline work too (conservative) and does not check the
/// requests it would delay: use [`admits_edf`] there. Costs a few integer
/// ops.
#[inline]
pub fn admits(req: &RequestInfo, w: &WorkerSnapshot, local_edf: bool) -> bool {
    let ahead = work_ahead_ns(w, req.now_ns, req.deadline_ns, local_edf);
    req.now_ns
        .saturating_add(ahead)
        .saturating_add(req.expected_ns)
        <= req.deadline_ns
}

/// The requests handed to one worker and not yet seen complete, in deadline
/// order (ties by id): what EDF admission counts as ahead of a new request
/// and what it must not push past a deadline. Kept by the dispatcher (its
/// only writer): [`insert`](Self::insert) when a job is handed over,
/// [`remove`](Self::remove) when its completion comes back. A completion not
/// yet drained leaves its request counted a little longer (conservative).
///
/// A sorted ring buffer: requests mostly arrive with the latest deadline
/// (insert at the back) and finish with the earliest (remove at the front),
/// so both are O(log n) searches plus short shifts, and nothing allocates
/// once the buffer has grown to the number of requests a worker may hold.
#[derive(Clone, Debug, Default)]
pub struct HeldWork {
    /// (deadline, id, expected), sorted by (deadline, id).
    entries: VecDeque<(u64, u64, u64)>,
}

impl HeldWork {
    /// An empty ledger with room for `n` requests before it allocates.
    pub fn with_capacity(n: usize) -> Self {
        HeldWork {
            entries: VecDeque::with_capacity(n),
        }
    }

    /// Records request `id` with absolute deadline `deadline_ns` and
    /// `expected_ns` of expected work. O(log n) plus the shift of the
    /// shorter side.
    pub fn insert(&mut self, deadline_ns: u64, id: u64, expected_ns: u64) {
        let at = self
            .entries
            .partition_point(|&(d, i, _)| (d, i) < (deadline_ns, id));
        self.entries.insert(at, (deadline_ns, id, expected_ns));
    }

    /// Forgets request `id` recorded with `deadline_ns`; returns whether it
    /// was there. O(log n) plus the shift of the shorter side.
    pub fn remove(&mut self, deadline_ns: u64, id: u64) -> bool {
        match self
            .entries
            .binary_search_by(|&(d, i, _)| (d, i).cmp(&(deadline_ns, id)))
        {
            Ok(at) => {
                self.entries.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// Requests recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// EDF admission: whether `req` placed now on the worker whose published
/// state is `w` and whose held requests are `held` (the running one
/// included) meets its deadline without making a held request that would
/// meet its own miss it. Work is projected in deadline order; the running
/// request's progress is credited from its place in that order on (all of
/// it when it is demoted: it then runs after everything else). Requests
/// already projected to miss are not protected (they miss anyway). Costs
/// one pass over `held`: O(requests held), no allocation.
pub fn admits_edf(req: &RequestInfo, w: &WorkerSnapshot, held: &HeldWork) -> bool {
    let now = req.now_ns;
    let (d, e) = (req.deadline_ns, req.expected_ns);
    // Where in deadline order the running request sits, and how much of
    // the work counted from there on is already done (or, demoted, not
    // ahead of anyone).
    let (run_d, credit) = if w.running_deadline_ns == 0 {
        (u64::MAX, 0)
    } else if w.running_demoted {
        (w.running_deadline_ns, w.running_expected_ns)
    } else {
        let left = running_remaining_ns(w, now);
        (
            w.running_deadline_ns,
            w.running_expected_ns.saturating_sub(left),
        )
    };
    let finish = |work: u64, at: u64| {
        let credit = if at >= run_d { credit } else { 0 };
        now.saturating_add(work.saturating_sub(credit))
    };
    let mut work = 0u64;
    let mut later = held.entries.iter().peekable();
    while let Some(&&(dj, _, ej)) = later.peek() {
        if dj > d {
            break;
        }
        work = work.saturating_add(ej);
        later.next();
    }
    if finish(work, d).saturating_add(e) > d {
        return false;
    }
    for &(dj, _, ej) in later {
        work = work.saturating_add(ej);
        let f = finish(work, dj);
        if f <= dj && f.saturating_add(e) > dj {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::test_support::*;

    const US: u64 = 1_000;

    #[test]
    fn idle_worker_admits_what_fits() {
        let now = 1_000 * US;
        assert!(admits(&req(now, now + 100 * US, 10 * US), &idle(), false));
        assert!(admits(&req(now, now + 10 * US, 10 * US), &idle(), false));
        // Expected longer than the deadline allows: rejected even when idle.
        assert!(!admits(&req(now, now + 9 * US, 10 * US), &idle(), true));
        let none = HeldWork::default();
        assert!(admits_edf(
            &req(now, now + 10 * US, 10 * US),
            &idle(),
            &none
        ));
        assert!(!admits_edf(
            &req(now, now + 9 * US, 10 * US),
            &idle(),
            &none
        ));
    }

    #[test]
    fn queued_work_ahead_counts() {
        let now = 1_000 * US;
        // 1 ms running (just started, deadline far) + 1 ms queued.
        let w = busy(now + 10_000 * US, now, 1_000 * US, 2, 2_000 * US);
        let short = req(now, now + 100 * US, 10 * US);
        // FIFO: the short one waits 2 ms -> rejected.
        assert!(!admits(&short, &w, false));
        // Local EDF: the running one yields, the queued 1 ms is still
        // counted (conservative) -> rejected too.
        assert!(!admits(&short, &w, true));
        // With a 1.5 ms deadline: FIFO still no (2 ms ahead), EDF yes (1 ms ahead).
        let medium = req(now, now + 1_500 * US, 10 * US);
        assert!(!admits(&medium, &w, false));
        assert!(admits(&medium, &w, true));
        // Progress of the running request counts: 900 µs later, 1.1 ms is left.
        let later = req(now + 900 * US, now + 900 * US + 1_200 * US, 10 * US);
        assert!(admits(&later, &w, false));
    }

    /// A worker running a request (`deadline`, started at `start`,
    /// `expected`) plus `queued` (deadline, expected) pairs, as both the
    /// published state and the dispatcher's ledger say it.
    fn edf_worker(
        running: Option<(u64, u64, u64)>,
        queued: &[(u64, u64)],
    ) -> (WorkerSnapshot, HeldWork) {
        let mut held = HeldWork::default();
        let mut all: Vec<(u64, u64)> = queued.to_vec();
        if let Some((d, _, e)) = running {
            all.push((d, e));
        }
        for (id, &(d, e)) in all.iter().enumerate() {
            held.insert(d, id as u64, e);
        }
        let total = all.iter().map(|&(_, e)| e).sum();
        let w = match running {
            Some((d, start, e)) => busy(d, start, e, all.len() as u32, total),
            None => WorkerSnapshot {
                queue_len: all.len() as u32,
                queued_work_ns: total,
                ..Default::default()
            },
        };
        (w, held)
    }

    #[test]
    fn edf_counts_only_earlier_deadlines_as_ahead() {
        let now = 1_000 * US;
        // Queued: 500 µs due at +1 ms, 5 ms due at +10 ms. Nothing runs.
        let (w, held) = edf_worker(
            None,
            &[
                (now + 1_000 * US, 500 * US),
                (now + 10_000 * US, 5_000 * US),
            ],
        );
        // 1 ms due at +2 ms: only the 500 µs is ahead (finishes at +1.5 ms),
        // and the 5 ms one still ends at +6.5 ms < +10 ms -> admitted.
        let r = req(now, now + 2_000 * US, 1_000 * US);
        assert!(admits_edf(&r, &w, &held));
        // The snapshot rule counts all 5.5 ms as ahead and would refuse it.
        assert!(!admits(&r, &w, true));
        // Due at +1.4 ms it does not fit behind the 500 µs.
        assert!(!admits_edf(
            &req(now, now + 1_400 * US, 1_000 * US),
            &w,
            &held
        ));
        // Equal deadlines run in arrival order: the held one first.
        assert!(!admits_edf(
            &req(now, now + 1_000 * US, 600 * US),
            &w,
            &held
        ));
        assert!(admits_edf(&req(now, now + 1_000 * US, 500 * US), &w, &held));
    }

    #[test]
    fn edf_refuses_what_would_make_a_held_request_miss() {
        let now = 1_000 * US;
        // 5.5 ms due at +6 ms: meets it with 0.5 ms to spare.
        let (w, held) = edf_worker(None, &[(now + 6_000 * US, 5_500 * US)]);
        // 400 µs due at +1 ms would still leave it on time.
        assert!(admits_edf(&req(now, now + 1_000 * US, 400 * US), &w, &held));
        // 600 µs due at +1 ms fits itself but pushes the held one to +6.1 ms.
        assert!(!admits_edf(
            &req(now, now + 1_000 * US, 600 * US),
            &w,
            &held
        ));
        // A held request that misses anyway is not protected: 5 ms due at +3 ms.
        let (w, held) = edf_worker(None, &[(now + 3_000 * US, 5_000 * US)]);
        assert!(admits_edf(&req(now, now + 1_000 * US, 600 * US), &w, &held));
    }

    #[test]
    fn edf_credits_the_running_requests_progress() {
        let now = 10_000 * US;
        // Running: 1 ms expected, due at +1 ms, started 600 µs ago.
        let running = Some((now + 1_000 * US, now - 600 * US, 1_000 * US));
        let (w, held) = edf_worker(running, &[]);
        // 400 µs of it is left: 500 µs due at +1 ms ends at +900 µs.
        assert!(admits_edf(&req(now, now + 1_000 * US, 500 * US), &w, &held));
        assert!(!admits_edf(
            &req(now, now + 1_000 * US, 700 * US),
            &w,
            &held
        ));
        // A new request due before the running one's deadline preempts it:
        // nothing is ahead of it, and 500 µs leaves the running one on
        // time (its 400 µs end at +900 µs).
        assert!(admits_edf(&req(now, now + 900 * US, 500 * US), &w, &held));
        // 900 µs fits before its own deadline but would end the running
        // one at +1.3 ms, past its +1 ms: refused.
        assert!(!admits_edf(&req(now, now + 900 * US, 900 * US), &w, &held));
    }

    #[test]
    fn edf_a_demoted_running_request_is_ahead_of_nobody() {
        let now = 10_000 * US;
        // Running: expected 100 µs, overdue by 1 ms and demoted.
        let (mut w, held) = edf_worker(Some((now - 1_000 * US, now - 3_000 * US, 100 * US)), &[]);
        let r = req(now, now + 100 * US, 100 * US);
        w.running_demoted = false;
        // Not demoted, nothing of it counts as left either (it overran).
        assert!(admits_edf(&r, &w, &held));
        w.running_demoted = true;
        assert!(admits_edf(&r, &w, &held));
        // And a second overdue one queued with it still counts in full.
        let (mut w, held) = edf_worker(
            Some((now - 1_000 * US, now - 3_000 * US, 100 * US)),
            &[(now - 500 * US, 50 * US)],
        );
        w.running_demoted = true;
        assert!(!admits_edf(&r, &w, &held));
        assert!(admits_edf(&req(now, now + 150 * US, 100 * US), &w, &held));
    }

    #[test]
    fn held_work_keeps_deadline_order() {
        let mut h = HeldWork::with_capacity(4);
        for (d, id) in [(30, 1), (10, 2), (20, 3), (10, 0)] {
            h.insert(d, id, d * 2);
        }
        let order: Vec<_> = h.entries.iter().map(|&(d, id, _)| (d, id)).collect();
        assert_eq!(order, [(10, 0), (10, 2), (20, 3), (30, 1)]);
        assert!(h.remove(10, 2));
        assert!(!h.remove(10, 2), "gone already");
        assert!(!h.remove(20, 1), "wrong deadline");
        assert_eq!(h.len(), 3);
        for (d, id) in [(10, 0), (20, 3), (30, 1)] {
            assert!(h.remove(d, id));
        }
        assert!(h.is_empty());
    }
}
