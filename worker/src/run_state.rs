//! A worker's scheduling state, in one place: what it shares with the
//! dispatcher ([`WorkerShared`]: published state, inbox, completion queue),
//! what it shares with the request running on it ([`RunSlot`]: the
//! execution deadline and the reschedule flag the epoch callback reads),
//! and the arithmetic that turns a function's execution-time limit into the
//! deadline of one run slice.
//!
//! The pool (`pool.rs`) creates these, the worker loop (`worker_loop.rs`)
//! and the sandbox's epoch callback read and write
//! them; none of those files imports another for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crossbeam::queue::{ArrayQueue, SegQueue};
use tern_sched::{Completion, Job, WorkerState};

/// What one worker shares with the dispatcher.
pub(crate) struct WorkerShared {
    pub state: WorkerState,
    /// Jobs handed over and not yet taken into the local run queue.
    pub inbox: ArrayQueue<Job>,
    /// Finished jobs, drained by [`WorkerPool::poll_completions`](crate::WorkerPool::poll_completions).
    pub completions: SegQueue<Completion>,
    /// Read by the epoch callback of the request running on this worker.
    pub slot: Arc<RunSlot>,
}

impl WorkerShared {
    /// A fresh worker's shared state with an inbox of `inbox_capacity` jobs.
    pub fn new(inbox_capacity: usize) -> Self {
        WorkerShared {
            state: WorkerState::new(),
            inbox: ArrayQueue::new(inbox_capacity),
            completions: SegQueue::new(),
            slot: Arc::new(RunSlot::default()),
        }
    }
}

/// Shared between a worker thread and the request running on it: read by the
/// epoch callback inside the guest, written by the worker loop (each slice)
/// and by the dispatcher (new arrivals, preemption). One per worker,
/// allocated once.
#[derive(Debug, Default)]
pub(crate) struct RunSlot {
    /// Absolute time at which the running request exceeds its execution
    /// limit, given the execution time it used before this slice.
    exec_deadline_ns: AtomicU64,
    /// Set when the worker's scheduler should look at its inbox at the next
    /// epoch tick: a job arrived, or the dispatcher asked for a preemption.
    reschedule: AtomicBool,
}

impl RunSlot {
    /// Starts a run slice at `now_ns` of a request limited to `max_exec` of
    /// execution that has already run `used_ns`: the request times out at
    /// `now + (max_exec - used)` (saturating; never before `now`).
    #[inline]
    pub fn start_slice(&self, now_ns: u64, max_exec: Duration, used_ns: u64) {
        self.exec_deadline_ns.store(
            slice_deadline_ns(now_ns, max_exec, used_ns),
            Ordering::Relaxed,
        );
    }

    /// Lifts the execution limit (a sandbox that is instantiated but never
    /// called).
    pub fn no_exec_limit(&self) {
        self.exec_deadline_ns.store(u64::MAX, Ordering::Relaxed);
    }

    /// Whether the running request has used up its execution time at `now_ns`.
    #[inline]
    pub fn exec_limit_passed(&self, now_ns: u64) -> bool {
        now_ns >= self.exec_deadline_ns.load(Ordering::Relaxed)
    }

    /// Asks the worker to look at its inbox at the next epoch check.
    #[inline]
    pub fn request_reschedule(&self) {
        self.reschedule.store(true, Ordering::Relaxed);
    }

    /// Clears the request, before the worker drains its inbox (an arrival
    /// after the drain sets it again).
    #[inline]
    pub fn clear_reschedule(&self) {
        self.reschedule.store(false, Ordering::Relaxed);
    }

    /// Whether a reschedule was asked for since the last clear.
    #[inline]
    pub fn reschedule_requested(&self) -> bool {
        self.reschedule.load(Ordering::Relaxed)
    }
}

/// `max_exec` in ns, saturating at `u64::MAX` (about 584 years).
#[inline]
fn exec_budget_ns(max_exec: Duration) -> u64 {
    u64::try_from(max_exec.as_nanos()).unwrap_or(u64::MAX)
}

/// The absolute time a slice starting at `now_ns` ends its request, when the
/// request is limited to `max_exec` and has run `used_ns` already.
#[inline]
fn slice_deadline_ns(now_ns: u64, max_exec: Duration, used_ns: u64) -> u64 {
    now_ns.saturating_add(exec_budget_ns(max_exec).saturating_sub(used_ns))
}

/// The start a resumed request publishes: `now_ns` minus the execution time
/// it used before (so `start + expected` is still its expected finish),
/// kept at least 1 because 0 means "nothing running" in the published state.
#[inline]
pub(crate) fn virtual_start_ns(now_ns: u64, used_ns: u64) -> u64 {
    now_ns - used_ns.min(now_ns - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn a_slice_gets_what_is_left_of_the_limit() {
        let limit = Duration::from_millis(10);
        assert_eq!(slice_deadline_ns(100 * MS, limit, 0), 110 * MS);
        assert_eq!(slice_deadline_ns(100 * MS, limit, 4 * MS), 106 * MS);
        // Used up (or more): the deadline is now, so the next check ends it.
        assert_eq!(slice_deadline_ns(100 * MS, limit, 12 * MS), 100 * MS);
        // No overflow for absurd limits.
        assert_eq!(slice_deadline_ns(5, Duration::MAX, 0), u64::MAX);
        assert_eq!(exec_budget_ns(Duration::from_micros(3)), 3_000);
    }

    #[test]
    fn the_slot_says_when_the_limit_passed() {
        let slot = RunSlot::default();
        slot.start_slice(100 * MS, Duration::from_millis(10), 4 * MS);
        assert!(!slot.exec_limit_passed(106 * MS - 1));
        assert!(slot.exec_limit_passed(106 * MS));
        slot.no_exec_limit();
        assert!(!slot.exec_limit_passed(u64::MAX - 1));
    }

    #[test]
    fn reschedule_is_set_until_cleared() {
        let slot = RunSlot::default();
        assert!(!slot.reschedule_requested());
        slot.request_reschedule();
        assert!(slot.reschedule_requested());
        slot.clear_reschedule();
        assert!(!slot.reschedule_requested());
    }

    #[test]
    fn virtual_start_keeps_the_expected_finish() {
        assert_eq!(virtual_start_ns(50 * MS, 20 * MS), 30 * MS);
        assert_eq!(virtual_start_ns(50 * MS, 0), 50 * MS);
        // Never 0 ("nothing running"), even when more ran than the clock says.
        assert_eq!(virtual_start_ns(10, 99), 1);
    }
}
