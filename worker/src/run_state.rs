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
    /// A fresh worker's shared state with an inbox of `inbox_capacity`
    /// jobs, reading the runtime's tick count `ticks`.
    pub fn new(inbox_capacity: usize, ticks: Arc<AtomicU64>) -> Self {
        WorkerShared {
            state: WorkerState::new(),
            inbox: ArrayQueue::new(inbox_capacity),
            completions: SegQueue::new(),
            slot: Arc::new(RunSlot::with_ticks(ticks)),
        }
    }
}

/// Shared between a worker thread and the request running on it: read by the
/// epoch callback inside the guest, written by the worker loop (each slice)
/// and by the dispatcher (new arrivals, preemption). One per worker,
/// allocated once.
#[derive(Debug)]
pub(crate) struct RunSlot {
    /// Absolute time at which the running request exceeds its execution
    /// limit, given the execution time it used before this slice.
    exec_deadline_ns: AtomicU64,
    /// Absolute deadline of the running request, from which each epoch tick
    /// it runs through counts as overdue (the second ends it: see
    /// [`OVERDUE_TICKS`]); `u64::MAX` when it has none.
    overdue_ns: AtomicU64,
    /// Absolute time at which the running request overruns its expected
    /// execution time enough to be demoted ([`demote_at_ns`]); `u64::MAX`
    /// when it is demoted already or cannot be (not preemptible).
    demote_ns: AtomicU64,
    /// Set by the epoch callback when it yields so that the worker demotes
    /// the request; taken by the worker.
    demote_now: AtomicBool,
    /// The runtime ticker's tick count (`TickCount` in `runtime.rs`); a slot
    /// of its own that never moves for `invoke_blocking`.
    ticks: Arc<AtomicU64>,
    /// Set when the worker's scheduler should look at its inbox at the next
    /// epoch tick: a job arrived, or the dispatcher asked for a preemption.
    reschedule: AtomicBool,
}

impl Default for RunSlot {
    /// No limits, no reschedule asked for, a tick count that never moves.
    fn default() -> Self {
        RunSlot::with_ticks(Arc::default())
    }
}

/// What the limits say about the running request at one epoch tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tick {
    /// It has used up its execution-time limit: end it.
    pub exec_limit: bool,
    /// It is past its deadline (the callback ends it at the
    /// [`OVERDUE_TICKS`]-th such tick).
    pub overdue: bool,
    /// It has overrun its expected time enough to be demoted.
    pub demote: bool,
}

/// The ticks past its deadline a request may run through; it is ended at
/// the last. A tick counts only when the request also saw the tick before
/// it (it ran through the whole interval; the ticker counts its own ticks,
/// not the dispatcher's epoch bumps): a request that was merely late,
/// descheduled by the OS, or suspended, and that ends within a quantum, is
/// answered; one that keeps running past its deadline is ended within
/// about three quanta of running.
pub(crate) const OVERDUE_TICKS: u32 = 2;

impl RunSlot {
    /// A slot with no limits reading the tick count `ticks`.
    pub fn with_ticks(ticks: Arc<AtomicU64>) -> Self {
        RunSlot {
            exec_deadline_ns: AtomicU64::new(u64::MAX),
            overdue_ns: AtomicU64::new(u64::MAX),
            demote_ns: AtomicU64::new(u64::MAX),
            demote_now: AtomicBool::new(false),
            ticks,
            reschedule: AtomicBool::new(false),
        }
    }

    /// The ticker's count of its ticks so far. One relaxed load.
    #[inline]
    pub fn tick_count(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// Starts a run slice at `now_ns` of a request limited to `max_exec` of
    /// execution that has already run `used_ns`: the request times out at
    /// `now + (max_exec - used)` (saturating; never before `now`). No
    /// deadline and no demotion unless [`set_overdue_at`](Self::set_overdue_at)
    /// and [`set_demote_at`](Self::set_demote_at) follow.
    #[inline]
    pub fn start_slice(&self, now_ns: u64, max_exec: Duration, used_ns: u64) {
        self.exec_deadline_ns.store(
            slice_deadline_ns(now_ns, max_exec, used_ns),
            Ordering::Relaxed,
        );
        self.overdue_ns.store(u64::MAX, Ordering::Relaxed);
        self.demote_ns.store(u64::MAX, Ordering::Relaxed);
        self.demote_now.store(false, Ordering::Relaxed);
    }

    /// The running request is due at `deadline_ns`: ticks from then on
    /// count as overdue.
    #[inline]
    pub fn set_deadline(&self, deadline_ns: u64) {
        self.overdue_ns.store(deadline_ns, Ordering::Relaxed);
    }

    /// Has the running request yield for demotion at the first tick at or
    /// after `at_ns` ([`demote_at_ns`]).
    #[inline]
    pub fn set_demote_at(&self, at_ns: u64) {
        self.demote_ns.store(at_ns, Ordering::Relaxed);
    }

    /// Lifts the execution limit (a sandbox that is instantiated but never
    /// called).
    pub fn no_exec_limit(&self) {
        self.exec_deadline_ns.store(u64::MAX, Ordering::Relaxed);
        self.overdue_ns.store(u64::MAX, Ordering::Relaxed);
        self.demote_ns.store(u64::MAX, Ordering::Relaxed);
    }

    /// What the limits say about the running request at a tick at
    /// `now_ns`: three relaxed loads and compares.
    #[inline]
    pub fn tick(&self, now_ns: u64) -> Tick {
        Tick {
            exec_limit: now_ns >= self.exec_deadline_ns.load(Ordering::Relaxed),
            overdue: now_ns >= self.overdue_ns.load(Ordering::Relaxed),
            demote: now_ns >= self.demote_ns.load(Ordering::Relaxed),
        }
    }

    /// Called by the epoch callback as it yields for demotion.
    #[inline]
    pub fn request_demotion(&self) {
        self.demote_now.store(true, Ordering::Relaxed);
    }

    /// Whether the callback asked for the running request to be demoted
    /// since the last call; clears the request.
    #[inline]
    pub fn take_demotion(&self) -> bool {
        self.demote_now.swap(false, Ordering::Relaxed)
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

/// How many times its expected execution time a request may run before it
/// counts as overrunning and is demoted below every request that does not.
/// Four: far enough above an honest estimate that a request merely slowed
/// by a loaded machine keeps its place (demoting every slow request would
/// round-robin them all past their deadlines), while a runaway one is
/// still demoted within a few of its claimed costs.
pub(crate) const DEMOTE_AFTER_EXPECTED: u64 = 4;

/// Execution time after which a request expected to take `expected_ns` is
/// demoted: [`DEMOTE_AFTER_EXPECTED`] times it (the callback also waits
/// for a second tick, so never before about a quantum).
#[inline]
pub(crate) fn demote_after_ns(expected_ns: u64) -> u64 {
    expected_ns.saturating_mul(DEMOTE_AFTER_EXPECTED)
}

/// When a slice starting at `now_ns` after `used_ns` of execution reaches
/// the demotion point of a request expected to take `expected_ns`.
#[inline]
pub(crate) fn demote_at_ns(now_ns: u64, used_ns: u64, expected_ns: u64) -> u64 {
    now_ns.saturating_add(demote_after_ns(expected_ns).saturating_sub(used_ns))
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
    fn the_slot_says_which_limit_passed() {
        let slot = RunSlot::default();
        assert_eq!(slot.tick(u64::MAX - 1), Tick::default());
        slot.start_slice(100 * MS, Duration::from_millis(10), 4 * MS);
        assert_eq!(slot.tick(106 * MS - 1), Tick::default());
        assert!(slot.tick(106 * MS).exec_limit);
        slot.set_deadline(103 * MS);
        slot.set_demote_at(101 * MS);
        assert_eq!(slot.tick(101 * MS - 1), Tick::default());
        let t = slot.tick(101 * MS);
        assert!(t.demote && !t.overdue && !t.exec_limit);
        let t = slot.tick(103 * MS);
        assert!(t.demote && t.overdue && !t.exec_limit);
        // A new slice starts without deadline or demotion.
        slot.request_demotion();
        slot.start_slice(300 * MS, Duration::from_millis(10), 0);
        assert_eq!(slot.tick(305 * MS), Tick::default());
        assert!(!slot.take_demotion(), "cleared by the new slice");
        slot.request_demotion();
        assert!(slot.take_demotion() && !slot.take_demotion());
        slot.no_exec_limit();
        assert_eq!(slot.tick(u64::MAX - 1), Tick::default());
    }

    #[test]
    fn demotion_after_four_times_the_expected_time() {
        assert_eq!(demote_after_ns(50_000), 200_000);
        assert_eq!(demote_at_ns(100 * MS, 0, 50_000), 100 * MS + 200_000);
        assert_eq!(demote_at_ns(100 * MS, 30_000, 50_000), 100 * MS + 170_000);
        assert_eq!(demote_at_ns(100 * MS, MS, 50_000), 100 * MS);
        assert_eq!(demote_at_ns(5, 0, u64::MAX), u64::MAX);
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
