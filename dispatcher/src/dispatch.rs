//! The dispatcher core: the per-request path from "a request arrived" to
//! "a worker has it" and from "a worker finished it" to "here is the
//! response", without the network.
//!
//! [`Dispatcher`] owns the [route table](crate::route_table), the policy and
//! the in-flight [`Slab`]; it talks to the workers through the [`Workers`]
//! trait (the real [`WorkerPool`], or the no-op workers of the
//! `dispatch_cost` benchmark) and hands responses back with the caller's
//! token type `T` (an RPC [`RequestToken`](tern_rpc::RequestToken) in the
//! binary). One thread owns it, like the RPC endpoint it sits beside.
//!
//! Cost per request: one table index for the route, one policy decision,
//! one in-flight slot (no allocation once warm), one inbox push; per
//! completion one slot lookup and the
//! [outcome-to-status mapping](crate::outcome_status). The
//! request body moves into the job and the output into the response without
//! copies.

use tern_rpc::{Response, Status};
use tern_sched::admission::{HeldWork, admits, admits_edf};
use tern_sched::policy::{Decision, LiveWorkers, Policy, RequestInfo};
use tern_sched::slab::Slab;
use tern_sched::{Completion, Job, WorkerState};
use tern_worker::WorkerPool;

use crate::outcome_status::{response_body, status_of};
use crate::route_table::{RouteCounters, RouteEntry, RouteTable};

/// The workers as the dispatcher core needs them. Implemented by
/// [`WorkerPool`]; the benchmark implements it with no-op threads.
pub trait Workers {
    /// Number of workers.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// What worker `i` publishes for the policies.
    fn state(&self, i: usize) -> &WorkerState;
    /// Hands `job` to worker `i` (accounting included); gives it back if the
    /// inbox is full.
    fn submit(&self, i: usize, job: Job) -> Result<(), Job>;
    /// Makes worker `i` re-run its local scheduler at once.
    fn preempt(&self, i: usize);
    /// Whether a running request yields to an earlier deadline queued behind
    /// it (what admission counts as work ahead depends on it).
    fn preemptible(&self) -> bool;
    /// Moves finished jobs into `out`; returns how many.
    fn poll_completions(&self, out: &mut Vec<Completion>) -> usize;
}

impl Workers for WorkerPool {
    fn len(&self) -> usize {
        WorkerPool::len(self)
    }
    #[inline]
    fn state(&self, i: usize) -> &WorkerState {
        WorkerPool::state(self, i)
    }
    #[inline]
    fn submit(&self, i: usize, job: Job) -> Result<(), Job> {
        WorkerPool::submit(self, i, job)
    }
    fn preempt(&self, i: usize) {
        WorkerPool::preempt(self, i)
    }
    fn preemptible(&self) -> bool {
        WorkerPool::preemptible(self)
    }
    #[inline]
    fn poll_completions(&self, out: &mut Vec<Completion>) -> usize {
        WorkerPool::poll_completions(self, out)
    }
}

/// The live [`WorkerView`](tern_sched::policy::WorkerView) over a [`Workers`]: relaxed loads of the atomics.
struct LiveView<'a, W: ?Sized>(&'a W);

impl<W: Workers + ?Sized> LiveWorkers for LiveView<'_, W> {
    fn worker_count(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn state(&self, i: usize) -> &WorkerState {
        self.0.state(i)
    }
}

/// Settings of a [`Dispatcher`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DispatchConfig {
    /// Reject requests whose deadline cannot be met (`--admission`).
    pub admission: bool,
}

struct InFlight<T> {
    token: T,
    route: u32,
    /// The worker it went to and its absolute deadline: where it sits in
    /// that worker's [`HeldWork`] (EDF admission).
    worker: u32,
    deadline_ns: u64,
}

/// The dispatcher core. `T` is the caller's handle for answering a request.
pub struct Dispatcher<W, T> {
    workers: W,
    policy: Box<dyn Policy>,
    /// Whether the workers preempt: a running request with a later deadline
    /// is then not work ahead of a new one (admission).
    preempting_workers: bool,
    admission: bool,
    /// Per worker, the requests handed over and not completed, by deadline:
    /// what EDF admission counts (kept only with admission on preempting
    /// workers; empty otherwise).
    held: Vec<HeldWork>,
    routes: RouteTable,
    unknown_type: u64,
    /// In-flight requests under their job ids; a stale or duplicate
    /// completion finds nothing.
    in_flight: Slab<InFlight<T>>,
    completions: Vec<Completion>,
}

impl<W: Workers, T: Copy> Dispatcher<W, T> {
    /// A dispatcher over `workers`, deciding with `policy`, serving `routes`
    /// (request types must be unique, as [`Spec`](tern_sched::spec::Spec) ensures).
    pub fn new(
        workers: W,
        policy: Box<dyn Policy>,
        routes: Vec<RouteEntry>,
        config: DispatchConfig,
    ) -> Self {
        assert!(
            !workers.is_empty(),
            "a dispatcher needs at least one worker"
        );
        let preempting_workers = workers.preemptible();
        let held = if config.admission && preempting_workers {
            (0..workers.len())
                .map(|_| HeldWork::with_capacity(64))
                .collect()
        } else {
            Vec::new()
        };
        Dispatcher {
            preempting_workers,
            workers,
            policy,
            admission: config.admission,
            held,
            routes: RouteTable::new(routes),
            unknown_type: 0,
            in_flight: Slab::new(),
            completions: Vec::with_capacity(256),
        }
    }

    /// The workers.
    pub fn workers(&self) -> &W {
        &self.workers
    }

    /// The routes, in the order given to [`new`](Self::new).
    pub fn routes(&self) -> &[RouteEntry] {
        self.routes.routes()
    }

    /// Counters per route, in the order of [`routes`](Self::routes).
    pub fn counters(&self) -> &[RouteCounters] {
        self.routes.counters()
    }

    /// Requests whose type no route serves.
    pub fn unknown_type_count(&self) -> u64 {
        self.unknown_type
    }

    /// Requests handed to workers and not yet completed.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Consumes the dispatcher, returning the workers (e.g. to shut them down).
    pub fn into_workers(self) -> W {
        self.workers
    }

    /// Places one request that arrived at `now_ns`. Returns `None` when a
    /// worker has it (the response comes from
    /// [`poll_completions`](Self::poll_completions)), or the response to
    /// send at once: `no-such-function`, `too-large`, or
    /// `rejected-overload` (admission control, or a full inbox).
    #[inline]
    pub fn on_request(
        &mut self,
        token: T,
        req_type: u16,
        payload: Vec<u8>,
        now_ns: u64,
    ) -> Option<Response> {
        let ri = match self.routes.lookup(req_type) {
            Some(i) => i,
            None => {
                self.unknown_type += 1;
                return Some(immediate(
                    Status::NoSuchFunction,
                    format!("no function serves request type {req_type}").into_bytes(),
                ));
            }
        };
        self.routes.counters_mut(ri).requests += 1;
        let route = self.routes.entry(ri);
        if let Some(max) = route.max_request
            && payload.len() > max
        {
            let msg = format!(
                "request body of {} bytes exceeds {} bytes for {}",
                payload.len(),
                max,
                route.name
            );
            return Some(self.answer_now(ri, Status::TooLarge, msg.into_bytes()));
        }
        let function = route.function;
        let info = RequestInfo {
            request_type: req_type,
            now_ns,
            deadline_ns: now_ns.saturating_add(route.relative_deadline_ns),
            expected_ns: route.expected_ns,
        };
        let decision = self.policy.assign(&info, &LiveView(&self.workers));
        let (worker, preempt) = match decision {
            Decision::Assign(i) => (i, false),
            Decision::AssignAndPreempt(i) => (i, true),
            Decision::Reject => {
                return Some(self.answer_now(
                    ri,
                    Status::RejectedOverload,
                    b"rejected by policy".to_vec(),
                ));
            }
        };
        if worker >= self.workers.len() {
            tracing::error!(
                policy = self.policy.name(),
                worker,
                "policy chose a worker that does not exist"
            );
            return Some(self.answer_now(
                ri,
                Status::Internal,
                b"policy chose no valid worker".to_vec(),
            ));
        }
        // FIFO workers: everything held is ahead. EDF workers: the work
        // due before this deadline, and no held request pushed past its own.
        if self.admission && {
            let snapshot = self.workers.state(worker).snapshot();
            match self.held.get(worker) {
                Some(held) => !admits_edf(&info, &snapshot, held),
                None => !admits(&info, &snapshot, self.preempting_workers),
            }
        } {
            return Some(self.answer_now(
                ri,
                Status::RejectedOverload,
                b"deadline cannot be met".to_vec(),
            ));
        }
        let id = self.in_flight.insert(InFlight {
            token,
            route: ri as u32,
            worker: worker as u32,
            deadline_ns: info.deadline_ns,
        });
        let job = Job {
            id,
            function,
            payload,
            arrival_ns: now_ns,
            deadline_ns: info.deadline_ns,
            expected_ns: info.expected_ns,
        };
        match self.workers.submit(worker, job) {
            Ok(()) => {
                if let Some(held) = self.held.get_mut(worker) {
                    held.insert(info.deadline_ns, id, info.expected_ns);
                }
                if preempt {
                    self.workers.preempt(worker);
                }
                None
            }
            Err(_job) => {
                self.in_flight.remove(id);
                Some(self.answer_now(ri, Status::RejectedOverload, b"worker queue full".to_vec()))
            }
        }
    }

    /// Collects finished jobs and calls `respond` with each one's token and
    /// response. Returns how many it handled. Never blocks.
    #[inline]
    pub fn poll_completions(&mut self, mut respond: impl FnMut(T, Response)) -> usize {
        let mut completions = std::mem::take(&mut self.completions);
        self.workers.poll_completions(&mut completions);
        let n = completions.len();
        for c in completions.drain(..) {
            let Some(flight) = self.in_flight.remove(c.id) else {
                tracing::warn!(id = c.id, "completion for no request in flight");
                continue;
            };
            if let Some(held) = self.held.get_mut(flight.worker as usize) {
                held.remove(flight.deadline_ns, c.id);
            }
            let status = status_of(&c.outcome);
            let payload = response_body(&c.outcome, c.output);
            let counters = self.routes.counters_mut(flight.route as usize);
            counters.by_status[status as usize] += 1;
            counters.completed += 1;
            counters.queue_ns += c.queue_ns;
            counters.exec_ns += c.exec_ns;
            respond(
                flight.token,
                Response {
                    status,
                    queue_ns: c.queue_ns,
                    exec_ns: c.exec_ns,
                    payload,
                },
            );
        }
        self.completions = completions;
        n
    }

    fn answer_now(&mut self, route: usize, status: Status, payload: Vec<u8>) -> Response {
        self.routes.counters_mut(route).by_status[status as usize] += 1;
        immediate(status, payload)
    }
}

fn immediate(status: Status, payload: Vec<u8>) -> Response {
    Response {
        status,
        queue_ns: 0,
        exec_ns: 0,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use tern_sched::{FunctionId, Outcome, policy};

    /// Workers that record what they are given and complete on demand.
    struct FakeWorkers {
        states: Vec<WorkerState>,
        inbox: RefCell<Vec<(usize, Job)>>,
        capacity: usize,
        preempted: RefCell<Vec<usize>>,
        done: RefCell<Vec<Completion>>,
        preemptible: bool,
    }

    impl FakeWorkers {
        fn new(n: usize, capacity: usize) -> Self {
            FakeWorkers {
                states: (0..n).map(|_| WorkerState::new()).collect(),
                inbox: RefCell::new(Vec::new()),
                capacity,
                preempted: RefCell::new(Vec::new()),
                done: RefCell::new(Vec::new()),
                preemptible: false,
            }
        }

        /// The same workers, saying they preempt.
        fn preempting(mut self) -> Self {
            self.preemptible = true;
            self
        }

        /// Finishes the oldest job with `outcome` and `output`.
        fn finish(&self, outcome: Outcome, output: &[u8]) -> u64 {
            let (worker, job) = self.inbox.borrow_mut().remove(0);
            self.states[worker].on_finished(job.expected_ns);
            self.done.borrow_mut().push(Completion {
                id: job.id,
                worker,
                outcome,
                output: output.to_vec(),
                queue_ns: 7,
                exec_ns: 11,
            });
            job.id
        }
    }

    impl Workers for FakeWorkers {
        fn len(&self) -> usize {
            self.states.len()
        }
        fn state(&self, i: usize) -> &WorkerState {
            &self.states[i]
        }
        fn submit(&self, i: usize, job: Job) -> Result<(), Job> {
            if self.inbox.borrow().len() >= self.capacity {
                return Err(job);
            }
            self.states[i].on_assigned(job.expected_ns);
            self.inbox.borrow_mut().push((i, job));
            Ok(())
        }
        fn preempt(&self, i: usize) {
            self.preempted.borrow_mut().push(i);
        }
        fn preemptible(&self) -> bool {
            self.preemptible
        }
        fn poll_completions(&self, out: &mut Vec<Completion>) -> usize {
            let mut done = self.done.borrow_mut();
            let n = done.len();
            out.append(&mut done);
            n
        }
    }

    fn route(function: FunctionId, ty: u16, expected_us: u64, deadline_us: u64) -> RouteEntry {
        RouteEntry {
            name: format!("/r{ty}"),
            request_type: ty,
            function,
            expected_ns: expected_us * 1_000,
            relative_deadline_ns: deadline_us * 1_000,
            max_request: Some(16),
        }
    }

    /// A dispatcher over `workers` with two routes: type 1 (function 0,
    /// 10 µs expected, 100 µs deadline) and type 5 (function 1, 1 ms, 2 ms).
    /// The fake workers never run a function, so no runtime backs the ids.
    fn dispatcher(
        workers: FakeWorkers,
        policy: &str,
        admission: bool,
    ) -> Dispatcher<FakeWorkers, u32> {
        let routes = vec![
            route(FunctionId::new(0), 1, 10, 100),
            route(FunctionId::new(1), 5, 1_000, 2_000),
        ];
        Dispatcher::new(
            workers,
            policy::by_name(policy).unwrap(),
            routes,
            DispatchConfig { admission },
        )
    }

    fn responses<W: Workers>(d: &mut Dispatcher<W, u32>) -> Vec<(u32, Response)> {
        let mut out = Vec::new();
        d.poll_completions(|t, r| out.push((t, r)));
        out
    }

    #[test]
    fn request_to_job_to_response() {
        let mut d = dispatcher(FakeWorkers::new(2, 64), "rr", false);
        assert!(d.on_request(100, 1, b"in".to_vec(), 1_000).is_none());
        assert!(d.on_request(101, 5, b"in2".to_vec(), 2_000).is_none());
        assert_eq!(d.in_flight(), 2);
        {
            let inbox = d.workers().inbox.borrow();
            let (w0, j0) = &inbox[0];
            let (w1, j1) = &inbox[1];
            assert_eq!((*w0, *w1), (0, 1), "round robin");
            assert_eq!(
                (
                    j0.payload.as_slice(),
                    j0.arrival_ns,
                    j0.deadline_ns,
                    j0.expected_ns
                ),
                (&b"in"[..], 1_000, 101_000, 10_000)
            );
            assert_eq!((j1.deadline_ns, j1.expected_ns), (2_002_000, 1_000_000));
            assert_eq!(
                (j0.function.index(), j1.function.index()),
                (0, 1),
                "each job names its route's function"
            );
        }
        d.workers().finish(Outcome::Ok, b"out");
        d.workers().finish(Outcome::Trap("unreachable".into()), b"");
        let got = responses(&mut d);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            (
                100,
                Response {
                    status: Status::Ok,
                    queue_ns: 7,
                    exec_ns: 11,
                    payload: b"out".to_vec()
                }
            )
        );
        assert_eq!((got[1].0, got[1].1.status), (101, Status::Trap));
        assert_eq!(got[1].1.payload, b"trap: unreachable");
        assert_eq!(d.in_flight(), 0);
        let c = &d.counters()[0];
        assert_eq!(
            (
                c.requests,
                c.count(Status::Ok),
                c.completed,
                c.queue_ns,
                c.exec_ns
            ),
            (1, 1, 1, 7, 11)
        );
        assert_eq!(d.counters()[1].count(Status::Trap), 1);
    }

    #[test]
    fn immediate_answers() {
        let mut d = dispatcher(FakeWorkers::new(1, 1), "jsq", false);
        let r = d.on_request(1, 2, Vec::new(), 10).unwrap();
        assert_eq!(r.status, Status::NoSuchFunction);
        assert_eq!(r.payload, b"no function serves request type 2");
        let r = d.on_request(2, 60_000, Vec::new(), 10).unwrap();
        assert_eq!(r.status, Status::NoSuchFunction);
        assert_eq!(d.unknown_type_count(), 2);
        let r = d.on_request(3, 1, vec![0; 17], 10).unwrap();
        assert_eq!(r.status, Status::TooLarge);
        // The inbox holds one: the second is rejected, and accounted nowhere.
        assert!(d.on_request(4, 1, Vec::new(), 10).is_none());
        let r = d.on_request(5, 1, Vec::new(), 10).unwrap();
        assert_eq!(r.status, Status::RejectedOverload);
        assert_eq!(d.in_flight(), 1);
        assert_eq!(d.counters()[0].count(Status::RejectedOverload), 1);
        assert_eq!(d.counters()[0].count(Status::TooLarge), 1);
        assert_eq!(d.counters()[0].requests, 3);
    }

    #[test]
    fn stale_and_duplicate_completions_are_dropped() {
        let mut d = dispatcher(FakeWorkers::new(1, 8), "rr", false);
        assert!(d.on_request(1, 1, Vec::new(), 10).is_none());
        let id = d.workers().finish(Outcome::Ok, b"");
        assert_eq!(responses(&mut d).len(), 1);
        // The same id again (e.g. a confused worker), and one never issued.
        for bogus in [id, id + 99, id | (7 << 32)] {
            d.workers().done.borrow_mut().push(Completion {
                id: bogus,
                worker: 0,
                outcome: Outcome::Ok,
                output: Vec::new(),
                queue_ns: 0,
                exec_ns: 0,
            });
        }
        // None is answered or counted, and nothing is left in flight.
        assert!(responses(&mut d).is_empty());
        assert_eq!(d.in_flight(), 0);
        let c = &d.counters()[0];
        assert_eq!((c.completed, c.count(Status::Ok)), (1, 1));
        // The slot is reused with a new generation; the old id stays stale.
        assert!(d.on_request(2, 1, Vec::new(), 10).is_none());
        let new_id = d.workers().inbox.borrow()[0].1.id;
        assert_eq!(new_id as u32, id as u32);
        assert_ne!(new_id, id);
    }

    #[test]
    fn edf_preempts_through_the_workers() {
        let mut d = dispatcher(FakeWorkers::new(1, 8), "edf", false);
        // A long request (deadline 2 ms) runs; a short one (deadline 100 µs) arrives.
        assert!(d.on_request(1, 5, Vec::new(), 1_000).is_none());
        d.workers().states[0].on_running(1_000 + 2_000_000, 1_000, 1_000_000);
        assert!(d.on_request(2, 1, Vec::new(), 2_000).is_none());
        assert_eq!(*d.workers().preempted.borrow(), [0]);
    }

    #[test]
    fn admission_rejects_what_cannot_meet_its_deadline() {
        let mut d = dispatcher(FakeWorkers::new(1, 64), "lld", true);
        // 1 ms each, deadline 2 ms: the first two fit (0 and 1 ms ahead), the third not.
        assert!(d.on_request(1, 5, Vec::new(), 1_000).is_none());
        assert!(d.on_request(2, 5, Vec::new(), 1_000).is_none());
        let r = d.on_request(3, 5, Vec::new(), 1_000).unwrap();
        assert_eq!(r.status, Status::RejectedOverload);
        assert_eq!(d.in_flight(), 2);
        // Once one finishes there is room again.
        d.workers().finish(Outcome::Ok, b"");
        responses(&mut d);
        assert!(d.on_request(4, 5, Vec::new(), 1_000).is_none());
    }

    #[test]
    fn edf_admission_counts_only_earlier_deadlines_and_protects_later_ones() {
        // Preempting workers, policy edf: admission projects held work in
        // deadline order.
        let mut d = dispatcher(FakeWorkers::new(1, 64).preempting(), "edf", true);
        // Three 1 ms requests (deadline 2 ms after arrival) at t = 0: the
        // first two fit, the third would end at 3 ms.
        for token in 0..2 {
            assert!(d.on_request(token, 5, Vec::new(), 0).is_none());
        }
        let r = d.on_request(2, 5, Vec::new(), 0).unwrap();
        assert_eq!(r.status, Status::RejectedOverload);
        // A 10 µs request due at 100 µs runs before both (earlier deadline),
        // but would push the second 1 ms one to 2.01 ms: refused.
        let r = d.on_request(3, 1, Vec::new(), 0).unwrap();
        assert_eq!(r.status, Status::RejectedOverload);
        // Once the first completes, 1 ms of slack is back: the short one is
        // admitted, and so the ledger forgot the finished request.
        d.workers().finish(Outcome::Ok, b"");
        assert_eq!(responses(&mut d).len(), 1);
        assert!(d.on_request(4, 1, Vec::new(), 0).is_none());
        assert_eq!(d.in_flight(), 2);
        // One of each route was refused.
        assert_eq!(d.counters()[1].count(Status::RejectedOverload), 1);
        assert_eq!(d.counters()[0].count(Status::RejectedOverload), 1);
    }

    #[test]
    fn admission_counts_a_later_deadline_as_ahead_only_without_preemption() {
        // A 1 ms request (deadline 2 ms) runs; a 10 µs one (deadline 100 µs)
        // arrives. Workers that preempt will run it first; others will not.
        for (workers, admitted) in [
            (FakeWorkers::new(1, 8), false),
            (FakeWorkers::new(1, 8).preempting(), true),
        ] {
            let mut d = dispatcher(workers, "lld", true);
            assert!(d.on_request(1, 5, Vec::new(), 1_000).is_none());
            d.workers().states[0].on_running(1_000 + 2_000_000, 1_000, 1_000_000);
            let r = d.on_request(2, 1, Vec::new(), 2_000);
            assert_eq!(
                r.map(|r| r.status),
                (!admitted).then_some(Status::RejectedOverload),
                "preemptible workers: {admitted}"
            );
        }
    }
}
