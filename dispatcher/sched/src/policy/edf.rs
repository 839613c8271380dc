//! `edf`: SLEdgeScale's earliest-deadline-first dispatch (ARCHITECTURE.md §7).
//!
//! For each request, in order:
//!
//! 1. an idle worker (nothing handed over and unfinished), lowest index
//!    first;
//! 2. else preempt a busy worker whose running request has a later deadline
//!    than this one and slack left: it would still meet its deadline after
//!    waiting for this request's expected execution time; or whose running
//!    request is demoted (it overran its expected execution time, so it no
//!    longer holds its deadline's priority). Among several,
//!    the one with the most slack. The dispatcher bumps the epoch so the
//!    worker switches at once rather than at the end of its quantum;
//! 3. else the worker with the least expected work due before this request
//!    ([`work_ahead_ns`] under local EDF), ties to the shorter queue.
//!
//! Workers run local EDF, so a request placed on a worker runs before that
//! worker's queued requests with later deadlines.
//!
//! Cost: one atomic per worker when some worker is idle; otherwise one
//! [`WorkerSnapshot`](crate::worker_state::WorkerSnapshot) per worker.

use super::{Decision, Policy, RequestInfo, WorkerView, running_remaining_ns, work_ahead_ns};

/// SLEdgeScale's EDF with preemption.
#[derive(Clone, Debug, Default)]
pub struct Edf;

impl Policy for Edf {
    fn name(&self) -> &'static str {
        "edf"
    }

    fn wants_local_edf(&self) -> bool {
        true
    }

    fn assign(&mut self, req: &RequestInfo, workers: &dyn WorkerView) -> Decision {
        let n = workers.len();
        for i in 0..n {
            if workers.queue_len(i) == 0 {
                return Decision::Assign(i);
            }
        }
        let now = req.now_ns;
        // (worker, slack after waiting for this request)
        let mut preempt: Option<(usize, u64)> = None;
        // (worker, work due before this request, queue length)
        let mut least: (usize, u64, u32) = (0, u64::MAX, u32::MAX);
        for i in 0..n {
            let w = workers.snapshot(i);
            // A demoted request (it overran its expected time) has the
            // latest key and all the slack there is: any request within
            // its cost preempts it.
            if w.running_key() > req.deadline_ns {
                let finish = now
                    .saturating_add(running_remaining_ns(&w, now))
                    .saturating_add(req.expected_ns);
                if let Some(slack) = w.running_key().checked_sub(finish)
                    && preempt.is_none_or(|(_, best)| slack > best)
                {
                    preempt = Some((i, slack));
                }
            }
            let due = work_ahead_ns(&w, now, req.deadline_ns, true);
            if (due, w.queue_len) < (least.1, least.2) {
                least = (i, due, w.queue_len);
            }
        }
        match preempt {
            Some((i, _)) => Decision::AssignAndPreempt(i),
            None => Decision::Assign(least.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    const MS: u64 = 1_000_000;
    const US: u64 = 1_000;

    #[test]
    fn idle_worker_first() {
        let mut p = Edf;
        // Worker 1 idle; worker 0 runs a late-deadline request it could be
        // preempted from, but an idle worker wins.
        let view = [busy(100 * MS, 1, MS, 1, MS), idle(), idle()];
        assert_eq!(
            p.assign(&req(10, 10 * US + 10, 10 * US), &view),
            Decision::Assign(1)
        );
    }

    #[test]
    fn preempts_later_deadline_with_slack() {
        let mut p = Edf;
        let now = MS;
        // Short request: 10 µs expected, deadline now + 100 µs.
        let r = req(now, now + 100 * US, 10 * US);
        // Worker 0: running a request due at now + 50 µs (earlier): not a candidate.
        // Worker 1: running a 1 ms request due at now + 10 ms, started 100 µs ago: slack plenty.
        let view = [
            busy(now + 50 * US, now - 10 * US, 20 * US, 1, 20 * US),
            busy(now + 10 * MS, now - 100 * US, MS, 1, MS),
        ];
        assert_eq!(p.assign(&r, &view), Decision::AssignAndPreempt(1));
    }

    #[test]
    fn picks_most_slack_among_candidates() {
        let mut p = Edf;
        let now = MS;
        let r = req(now, now + 100 * US, 10 * US);
        let view = [
            busy(now + 2 * MS, now, MS, 1, MS), // slack 2ms - 1ms - 10µs
            busy(now + 9 * MS, now, MS, 1, MS), // slack 9ms - 1ms - 10µs: most
            busy(now + 5 * MS, now, MS, 1, MS),
        ];
        assert_eq!(p.assign(&r, &view), Decision::AssignAndPreempt(1));
    }

    #[test]
    fn no_preemption_without_slack() {
        let mut p = Edf;
        let now = MS;
        // Long request (500 µs) arrives with deadline now + 600 µs.
        let r = req(now, now + 600 * US, 500 * US);
        // Worker 0 runs a request due at now + 700 µs with 300 µs left: waiting
        // 500 µs more would make it miss (now + 800 > now + 700): no preemption.
        // Worker 1 has more queued work than worker 0 in total.
        let w0 = busy(now + 700 * US, now - 100 * US, 400 * US, 1, 400 * US);
        let w1 = busy(now + 50 * US, now, 300 * US, 3, 900 * US);
        let d = p.assign(&r, &[w0, w1]);
        // Least work due before it: worker 0's running one (later deadline,
        // preempted by local EDF anyway) does not count -> 0 ns vs 900 µs.
        assert_eq!(d, Decision::Assign(0));
    }

    #[test]
    fn least_work_due_before_deadline_otherwise() {
        let mut p = Edf;
        let now = MS;
        let r = req(now, now + MS, 10 * US);
        // Both run requests with earlier deadlines (no preemption). Worker 0
        // has 500 µs of work left in all, worker 1 has 200 µs left.
        let w0 = busy(now + 100 * US, now - 100 * US, 300 * US, 2, 600 * US);
        let w1 = busy(now + 100 * US, now - 200 * US, 400 * US, 1, 400 * US);
        assert_eq!(p.assign(&r, &[w0, w1]), Decision::Assign(1));
        // Equal work due: the shorter queue wins.
        let w2 = busy(now + 100 * US, now, 100 * US, 3, 300 * US);
        let w3 = busy(now + 100 * US, now, 100 * US, 2, 300 * US);
        assert_eq!(p.assign(&r, &[w2, w3]), Decision::Assign(1));
    }

    #[test]
    fn a_demoted_request_is_preempted_whatever_its_deadline() {
        let mut p = Edf;
        let now = 10 * MS;
        // Worker 0 runs a request that overran and whose deadline has
        // passed: by deadline it is the earliest, but it is demoted.
        let mut w0 = busy(now - MS, now - 5 * MS, 100 * US, 1, 100 * US);
        let r = req(now, now + 2 * MS, 50 * US);
        assert_eq!(p.assign(&r, &[w0]), Decision::Assign(0), "not demoted");
        w0.running_demoted = true;
        assert_eq!(p.assign(&r, &[w0]), Decision::AssignAndPreempt(0));
    }

    #[test]
    fn overrunning_request_has_no_remaining_work() {
        let mut p = Edf;
        let now = 10 * MS;
        // Worker 0's request was expected to take 1 ms but has run 5 ms; its
        // deadline is far, so it can still wait: preempt it.
        let w0 = busy(now + 50 * MS, now - 5 * MS, MS, 1, MS);
        let r = req(now, now + MS, 100 * US);
        assert_eq!(p.assign(&r, &[w0]), Decision::AssignAndPreempt(0));
    }
}
