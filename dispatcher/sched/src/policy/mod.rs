//! Scheduling policies: where the dispatcher puts each request.
//!
//! A policy is pure decision logic (ARCHITECTURE.md §7): given what is known about
//! one request ([`RequestInfo`], including the current time) and a
//! [`WorkerView`] of the workers' published state, it returns a
//! [`Decision`]. Policies do no I/O and read no clock, so the same code runs
//! in the live dispatcher (over the workers' atomics) and in a simulator or
//! a unit test (over hand-built [`WorkerSnapshot`]s).
//!
//! Every policy has one file here and one line in [`POLICIES`], the table
//! `--policy NAME` is looked up in.
//!
//! Cost: a decision reads a few atomics per worker through the view (one
//! virtual call each) and allocates nothing; see tern-dispatcher's `dispatch_cost`
//! example for measured figures.

use std::fmt;

use crate::worker_state::{WorkerSnapshot, WorkerState};

mod edf;
mod jsq;
mod lld;
mod rr;

pub use edf::Edf;
pub use jsq::JoinShortestQueue;
pub use lld::LeastLoaded;
pub use rr::RoundRobin;

/// What a policy knows about the request it places. Times are
/// [`clock::now_ns`](crate::clock::now_ns) values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// The request's RPC request type (its route).
    pub request_type: u16,
    /// Now: when the decision is made.
    pub now_ns: u64,
    /// Absolute deadline (arrival + the route's relative deadline).
    pub deadline_ns: u64,
    /// Expected execution time (the route's `expected-execution-us`).
    pub expected_ns: u64,
}

/// A policy's verdict on one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Hand the request to worker `i`.
    Assign(usize),
    /// Hand the request to worker `i` and make it re-run its local
    /// scheduler at once (bump the epoch) so that the request starts now
    /// instead of after the running one's quantum.
    AssignAndPreempt(usize),
    /// Refuse the request (`rejected-overload`).
    Reject,
}

/// Read access to the workers' published state.
///
/// The narrow accessors exist so that a policy needing only queue lengths
/// reads one atomic per worker rather than a whole [`WorkerSnapshot`]; their
/// defaults go through [`snapshot`](Self::snapshot).
pub trait WorkerView {
    /// Number of workers.
    fn len(&self) -> usize;
    /// Whether there are no workers.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Everything worker `i` publishes.
    fn snapshot(&self, i: usize) -> WorkerSnapshot;
    /// Requests handed to worker `i` and not finished.
    fn queue_len(&self, i: usize) -> u32 {
        self.snapshot(i).queue_len
    }
    /// Expected work (ns) handed to worker `i` and not finished.
    fn queued_work_ns(&self, i: usize) -> u64 {
        self.snapshot(i).queued_work_ns
    }
    /// Whether worker `i` has nothing to run.
    fn is_idle(&self, i: usize) -> bool {
        self.snapshot(i).idle
    }
}

// `&dyn WorkerView` needs a sized implementor, so the views are implemented
// for the sized containers a caller holds (arrays, vectors, slice
// references) rather than for unsized slices.

macro_rules! snapshot_view {
    ($($ty:ty $(, const $n:ident)?);* $(;)?) => {$(
        /// Hand-built state, for tests and the simulator.
        impl<$(const $n: usize)?> WorkerView for $ty {
            fn len(&self) -> usize {
                self[..].len()
            }
            #[inline]
            fn snapshot(&self, i: usize) -> WorkerSnapshot {
                self[i]
            }
        }
    )*};
}

snapshot_view! {
    [WorkerSnapshot; N], const N;
    Vec<WorkerSnapshot>;
    &[WorkerSnapshot];
}

/// Workers whose state is live: their [`WorkerState`] atomics, by index.
/// Every implementor is a [`WorkerView`] whose narrow accessors read one
/// relaxed atomic each (the dispatcher's workers, or plain lists of states).
pub trait LiveWorkers {
    /// Number of workers.
    fn worker_count(&self) -> usize;
    /// What worker `i` publishes. Panics if `i >= worker_count()`.
    fn state(&self, i: usize) -> &WorkerState;
}

impl<L: LiveWorkers + ?Sized> WorkerView for L {
    fn len(&self) -> usize {
        self.worker_count()
    }
    #[inline]
    fn snapshot(&self, i: usize) -> WorkerSnapshot {
        self.state(i).snapshot()
    }
    #[inline]
    fn queue_len(&self, i: usize) -> u32 {
        self.state(i).queue_len()
    }
    #[inline]
    fn queued_work_ns(&self, i: usize) -> u64 {
        self.state(i).queued_work_ns()
    }
    #[inline]
    fn is_idle(&self, i: usize) -> bool {
        self.state(i).is_idle()
    }
}

macro_rules! live_list {
    ($($ty:ty),* $(,)?) => {$(
        /// Live state held as a list of references (tests, benchmarks).
        impl LiveWorkers for $ty {
            fn worker_count(&self) -> usize {
                self[..].len()
            }
            fn state(&self, i: usize) -> &WorkerState {
                self[i]
            }
        }
    )*};
}

live_list!(Vec<&WorkerState>, &[&WorkerState]);

/// A scheduling policy (ARCHITECTURE.md §7).
pub trait Policy: Send {
    /// The name `--policy` selects it by.
    fn name(&self) -> &'static str;

    /// Whether workers should order their local run queues by deadline
    /// (EDF) rather than by arrival (FIFO) under this policy.
    fn wants_local_edf(&self) -> bool {
        false
    }

    /// Decides where `req` goes. `workers` is never empty. Must not
    /// allocate, block or read a clock (`req.now_ns` is the time).
    fn assign(&mut self, req: &RequestInfo, workers: &dyn WorkerView) -> Decision;
}

/// Constructor of a policy, as stored in [`POLICIES`].
pub type PolicyCtor = fn() -> Box<dyn Policy>;

/// Every policy, by name: the table `--policy NAME` is looked up in.
pub static POLICIES: &[(&str, PolicyCtor)] = &[
    ("rr", || Box::new(RoundRobin::default())),
    ("jsq", || Box::new(JoinShortestQueue)),
    ("lld", || Box::new(LeastLoaded)),
    ("edf", || Box::new(Edf)),
];

/// `--policy` named a policy that is not in [`POLICIES`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPolicy(pub String);

impl fmt::Display for UnknownPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown policy \"{}\" (valid policies: {})",
            self.0,
            policy_names().join(", ")
        )
    }
}

impl std::error::Error for UnknownPolicy {}

/// The names of every policy, in table order.
pub fn policy_names() -> Vec<&'static str> {
    POLICIES.iter().map(|(n, _)| *n).collect()
}

/// A fresh instance of the policy called `name`.
pub fn by_name(name: &str) -> Result<Box<dyn Policy>, UnknownPolicy> {
    POLICIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, ctor)| ctor())
        .ok_or_else(|| UnknownPolicy(name.to_string()))
}

/// Remaining expected execution time (ns) of the request `w` is running at
/// `now_ns`: its expected time minus what it has run so far, at least 0.
/// 0 when nothing runs.
#[inline]
pub fn running_remaining_ns(w: &WorkerSnapshot, now_ns: u64) -> u64 {
    if w.running_deadline_ns == 0 {
        return 0;
    }
    let elapsed = now_ns.saturating_sub(w.running_start_ns);
    w.running_expected_ns.saturating_sub(elapsed)
}

/// Expected work (ns) that runs on worker `w` before a request with
/// deadline `deadline_ns` placed there now, as far as the published state
/// tells: the queued work less what the running request has done already;
/// under local EDF, less the running request's remainder too when its
/// deadline is later or it is demoted ([`WorkerSnapshot::running_key`]: the
/// worker preempts it). Queued requests are not
/// broken down by deadline in [`WorkerState`], so under EDF this is an upper
/// bound.
#[inline]
pub fn work_ahead_ns(w: &WorkerSnapshot, now_ns: u64, deadline_ns: u64, local_edf: bool) -> u64 {
    let remaining = running_remaining_ns(w, now_ns);
    let done = w.running_expected_ns.saturating_sub(remaining);
    let ahead = w.queued_work_ns.saturating_sub(done);
    if local_edf && w.running_key() > deadline_ns {
        ahead.saturating_sub(remaining)
    } else {
        ahead
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A worker with nothing to run.
    pub fn idle() -> WorkerSnapshot {
        WorkerSnapshot {
            idle: true,
            ..Default::default()
        }
    }

    /// A worker running a request (deadline `deadline`, started at `start`,
    /// expected `expected`), with `queued` requests of `queued_work` ns
    /// handed over in all (the running one included).
    pub fn busy(
        deadline: u64,
        start: u64,
        expected: u64,
        queued: u32,
        queued_work: u64,
    ) -> WorkerSnapshot {
        WorkerSnapshot {
            queue_len: queued,
            queued_work_ns: queued_work,
            running_deadline_ns: deadline,
            running_start_ns: start,
            running_expected_ns: expected,
            running_demoted: false,
            idle: false,
        }
    }

    /// A request decided at `now`, with `deadline` and `expected`.
    pub fn req(now: u64, deadline: u64, expected: u64) -> RequestInfo {
        RequestInfo {
            request_type: 1,
            now_ns: now,
            deadline_ns: deadline,
            expected_ns: expected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn table_lookup() {
        assert_eq!(policy_names(), ["rr", "jsq", "lld", "edf"]);
        for name in policy_names() {
            assert_eq!(by_name(name).unwrap().name(), name);
        }
        assert!(by_name("edf").unwrap().wants_local_edf());
        assert!(!by_name("rr").unwrap().wants_local_edf());
        let err = by_name("fifo").err().unwrap().to_string();
        assert_eq!(
            err,
            "unknown policy \"fifo\" (valid policies: rr, jsq, lld, edf)"
        );
    }

    #[test]
    fn live_view_reads_the_atomics() {
        let a = WorkerState::new();
        let b = WorkerState::new();
        b.on_assigned(5_000);
        let live: Vec<&WorkerState> = vec![&a, &b];
        assert_eq!(WorkerView::len(&live), 2);
        assert!(live.is_idle(0) && !live.is_idle(1));
        assert_eq!((live.queue_len(1), live.queued_work_ns(1)), (1, 5_000));
        assert_eq!(live.snapshot(1), b.snapshot());
        // The same decision over the live view and over a copy of it.
        let copy: Vec<WorkerSnapshot> = [&a, &b].iter().map(|s| s.snapshot()).collect();
        for name in policy_names() {
            let r = req(10, 1_000_000, 1_000);
            assert_eq!(
                by_name(name).unwrap().assign(&r, &live),
                by_name(name).unwrap().assign(&r, &copy)
            );
        }
    }

    #[test]
    fn work_ahead_accounts_for_progress_and_edf() {
        // Running since 100 a request of 1000 expected (deadline 5000), plus 2000 queued.
        let w = busy(5_000, 100, 1_000, 2, 3_000);
        // At 400 it has done 300: 700 left of it, 2700 ahead in all.
        assert_eq!(running_remaining_ns(&w, 400), 700);
        assert_eq!(work_ahead_ns(&w, 400, 9_000, false), 2_700);
        // FIFO: an earlier deadline still waits for everything.
        assert_eq!(work_ahead_ns(&w, 400, 1_000, false), 2_700);
        // Local EDF with an earlier deadline: the running one is preempted.
        assert_eq!(work_ahead_ns(&w, 400, 1_000, true), 2_000);
        // Overrun (ran longer than expected): nothing of it counts as left.
        assert_eq!(running_remaining_ns(&w, 5_000), 0);
        assert_eq!(work_ahead_ns(&w, 5_000, 9_000, true), 2_000);
        assert_eq!(work_ahead_ns(&idle(), 5_000, 9_000, true), 0);
    }
}
