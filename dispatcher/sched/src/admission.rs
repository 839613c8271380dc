//! Admission control (`--admission`, SLEdge's "SledgeEDF" admission): a
//! request whose deadline cannot be met given the work queued ahead of it
//! on the worker the policy chose is rejected at once with
//! `rejected-overload`, instead of queueing only to miss its deadline and
//! delay others.
//!
//! Pure logic over a [`WorkerSnapshot`], like the policies. What counts as
//! "ahead" is [`work_ahead_ns`]: under FIFO local queues all queued work;
//! under local EDF all of it except a running request with a later
//! deadline. Queued work is not broken down by deadline in the published
//! state, so under EDF the check is conservative (it may reject a request
//! that later-deadline queued work would have yielded to).

use crate::worker_state::WorkerSnapshot;

use crate::policy::{RequestInfo, work_ahead_ns};

/// Whether `req` can meet its deadline on the worker whose state is `w`:
/// `now + work ahead + expected <= deadline`. Costs a few integer ops.
#[inline]
pub fn admits(req: &RequestInfo, w: &WorkerSnapshot, local_edf: bool) -> bool {
    let ahead = work_ahead_ns(w, req.now_ns, req.deadline_ns, local_edf);
    req.now_ns
        .saturating_add(ahead)
        .saturating_add(req.expected_ns)
        <= req.deadline_ns
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
}
