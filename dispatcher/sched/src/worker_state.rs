//! The state a worker publishes for the dispatcher's policies.
//!
//! Each worker owns one [`WorkerState`] and is its only writer; the
//! dispatcher core reads it without locks to decide where a request goes.
//! Every field sits on its own cache line so that a worker updating its
//! running deadline does not invalidate the line holding its queue length.
//! Readings are snapshots: a policy may act on a value a few hundred
//! nanoseconds old, which is the same race SLEdgeScale's dispatcher lives with.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

/// A worker's published state. Times are [`clock::now_ns`](crate::clock::now_ns) values.
#[derive(Debug, Default)]
pub struct WorkerState {
    /// Requests handed to this worker and not yet finished (queued in the
    /// inbox or local run queue, or running).
    queue_len: CachePadded<AtomicU32>,
    /// Sum of the expected execution time (ns) of those requests.
    queued_work_ns: CachePadded<AtomicU64>,
    /// Absolute deadline (ns) of the request running now; 0 when none runs.
    running_deadline_ns: CachePadded<AtomicU64>,
    /// When the request running now started (ns); 0 when none runs.
    running_start_ns: CachePadded<AtomicU64>,
    /// Expected execution time (ns) of the request running now.
    running_expected_ns: CachePadded<AtomicU64>,
    /// Whether the request running now has overrun its expected execution
    /// time and been demoted below every request that has not (a
    /// preemptible worker then switches to any of those that arrives).
    running_demoted: CachePadded<AtomicBool>,
    /// True while the worker has nothing to run.
    idle: CachePadded<AtomicBool>,
}

/// A plain copy of a [`WorkerState`] at one moment: what policies decide on.
/// Built by [`WorkerState::snapshot`], or by hand in tests and the simulator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerSnapshot {
    /// Requests handed over and not finished.
    pub queue_len: u32,
    /// Expected work of those requests, ns.
    pub queued_work_ns: u64,
    /// Deadline of the running request, ns; 0 when none runs.
    pub running_deadline_ns: u64,
    /// Start of the running request, ns; 0 when none runs.
    pub running_start_ns: u64,
    /// Expected execution time of the running request, ns.
    pub running_expected_ns: u64,
    /// Whether the running request overran its expected execution time and
    /// was demoted: it yields to any request that has not, whatever the
    /// deadlines ([`running_key`](Self::running_key)).
    pub running_demoted: bool,
    /// Whether the worker has nothing to run.
    pub idle: bool,
}

impl WorkerSnapshot {
    /// The running request's place in the worker's local EDF order: its
    /// deadline, or `u64::MAX` once it is demoted (later than any request
    /// that has not overrun); 0 when none runs. What a policy compares a new
    /// request's deadline with to decide whether the worker would switch to
    /// it. Costs a branch.
    #[inline]
    pub fn running_key(&self) -> u64 {
        if self.running_demoted && self.running_deadline_ns != 0 {
            u64::MAX
        } else {
            self.running_deadline_ns
        }
    }
}

impl WorkerState {
    /// A state for a new, idle worker.
    pub fn new() -> Self {
        let s = WorkerState::default();
        s.idle.store(true, Ordering::Relaxed);
        s
    }

    /// Reads every field (seven relaxed loads, no fences).
    #[inline]
    pub fn snapshot(&self) -> WorkerSnapshot {
        WorkerSnapshot {
            queue_len: self.queue_len.load(Ordering::Relaxed),
            queued_work_ns: self.queued_work_ns.load(Ordering::Relaxed),
            running_deadline_ns: self.running_deadline_ns.load(Ordering::Relaxed),
            running_start_ns: self.running_start_ns.load(Ordering::Relaxed),
            running_expected_ns: self.running_expected_ns.load(Ordering::Relaxed),
            running_demoted: self.running_demoted.load(Ordering::Relaxed),
            idle: self.idle.load(Ordering::Relaxed),
        }
    }

    /// Requests handed over and not finished.
    #[inline]
    pub fn queue_len(&self) -> u32 {
        self.queue_len.load(Ordering::Relaxed)
    }

    /// Expected work handed over and not finished, ns.
    #[inline]
    pub fn queued_work_ns(&self) -> u64 {
        self.queued_work_ns.load(Ordering::Relaxed)
    }

    /// Whether the worker has nothing to run.
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.idle.load(Ordering::Relaxed)
    }

    /// Called by the dispatcher when it hands the worker a request of
    /// `expected_ns` expected work, before pushing it to the inbox, so that
    /// the next decision already sees it. Clears `idle`.
    #[inline]
    pub fn on_assigned(&self, expected_ns: u64) {
        self.queue_len.fetch_add(1, Ordering::Relaxed);
        self.queued_work_ns
            .fetch_add(expected_ns, Ordering::Relaxed);
        self.idle.store(false, Ordering::Relaxed);
    }

    /// Takes one request of `expected_ns` out of the unfinished count: the
    /// inverse of what [`on_assigned`](Self::on_assigned) adds.
    #[inline]
    fn uncount(&self, expected_ns: u64) {
        self.queue_len.fetch_sub(1, Ordering::Relaxed);
        self.queued_work_ns
            .fetch_sub(expected_ns, Ordering::Relaxed);
    }

    /// Called by the dispatcher when the inbox refused a request it had
    /// counted with [`on_assigned`](Self::on_assigned).
    #[inline]
    pub fn on_assign_undone(&self, expected_ns: u64) {
        self.uncount(expected_ns);
    }

    /// Called by the worker when a request starts or resumes running (not
    /// demoted: call [`on_demoted`](Self::on_demoted) after it for one that
    /// is).
    #[inline]
    pub fn on_running(&self, deadline_ns: u64, start_ns: u64, expected_ns: u64) {
        self.running_demoted.store(false, Ordering::Relaxed);
        self.running_deadline_ns
            .store(deadline_ns, Ordering::Relaxed);
        self.running_start_ns.store(start_ns, Ordering::Relaxed);
        self.running_expected_ns
            .store(expected_ns, Ordering::Relaxed);
        self.idle.store(false, Ordering::Relaxed);
    }

    /// Called by the worker when the request running now has overrun its
    /// expected execution time and is demoted below every request that has
    /// not (see [`WorkerSnapshot::running_key`]). One relaxed store.
    #[inline]
    pub fn on_demoted(&self) {
        self.running_demoted.store(true, Ordering::Relaxed);
    }

    /// Called by the worker when a request of `expected_ns` expected work
    /// finished (whatever its status).
    #[inline]
    pub fn on_finished(&self, expected_ns: u64) {
        self.uncount(expected_ns);
        self.running_deadline_ns.store(0, Ordering::Relaxed);
        self.running_start_ns.store(0, Ordering::Relaxed);
        self.running_expected_ns.store(0, Ordering::Relaxed);
        self.running_demoted.store(false, Ordering::Relaxed);
    }

    /// Called by the worker when its inbox and run queue are empty: marks it
    /// idle unless a request has been assigned meanwhile (the dispatcher
    /// counts a request in `queue_len` before pushing it), so that a request
    /// racing with the worker going idle never leaves it marked idle with
    /// work pending. Returns whether it is now idle. Costs a fence.
    #[inline]
    pub fn on_idle_if_empty(&self) -> bool {
        if self.queue_len.load(Ordering::Relaxed) != 0 {
            return false;
        }
        self.idle.store(true, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.queue_len.load(Ordering::SeqCst) != 0 {
            self.idle.store(false, Ordering::Relaxed);
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounting_round_trip() {
        let s = WorkerState::new();
        assert!(s.is_idle());
        s.on_assigned(1_000);
        s.on_assigned(2_000);
        assert_eq!((s.queue_len(), s.queued_work_ns()), (2, 3_000));
        assert!(!s.is_idle());
        s.on_running(50, 10, 1_000);
        let snap = s.snapshot();
        assert_eq!((snap.running_deadline_ns, snap.running_start_ns), (50, 10));
        assert_eq!((snap.running_demoted, snap.running_key()), (false, 50));
        s.on_demoted();
        let snap = s.snapshot();
        assert_eq!((snap.running_demoted, snap.running_key()), (true, u64::MAX));
        // Resuming another request clears it.
        s.on_running(50, 10, 1_000);
        assert_eq!(s.snapshot().running_key(), 50);
        s.on_demoted();
        s.on_finished(1_000);
        s.on_assign_undone(2_000);
        assert!(s.on_idle_if_empty());
        assert_eq!(
            s.snapshot(),
            WorkerSnapshot {
                idle: true,
                ..Default::default()
            }
        );
    }

    #[test]
    fn idle_only_when_nothing_is_assigned() {
        let s = WorkerState::new();
        s.on_assigned(10);
        // The worker found its queues empty, but a job is on its way.
        assert!(!s.on_idle_if_empty());
        assert!(!s.is_idle());
        s.on_running(5, 1, 10);
        s.on_finished(10);
        assert!(s.on_idle_if_empty());
        assert!(s.is_idle());
    }
}
