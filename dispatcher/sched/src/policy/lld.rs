//! `lld`: least loaded. Each request goes to the worker with the least
//! expected work handed over and not finished (the sum of the routes'
//! `expected-execution-us`); ties go to the shorter queue, then the lowest
//! index. Reads one or two atomics per worker.

use super::{Decision, Policy, RequestInfo, WorkerView};

/// Least queued expected work.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeastLoaded;

impl Policy for LeastLoaded {
    fn name(&self) -> &'static str {
        "lld"
    }

    fn assign(&mut self, _req: &RequestInfo, workers: &dyn WorkerView) -> Decision {
        let mut best = 0;
        let mut best_work = workers.queued_work_ns(0);
        let mut best_len: Option<u32> = None; // read lazily, only on ties
        for i in 1..workers.len() {
            let work = workers.queued_work_ns(i);
            if work < best_work {
                best = i;
                best_work = work;
                best_len = None;
            } else if work == best_work {
                let bl = *best_len.get_or_insert_with(|| workers.queue_len(best));
                let len = workers.queue_len(i);
                if len < bl {
                    best = i;
                    best_len = Some(len);
                }
            }
        }
        Decision::Assign(best)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn picks_least_work_not_fewest_requests() {
        let mut p = LeastLoaded;
        let r = req(1, 100, 10);
        // Worker 0: one 1 ms request; worker 1: three 10 µs ones -> worker 1.
        let view = [
            busy(50, 1, 1_000_000, 1, 1_000_000),
            busy(50, 1, 10_000, 3, 30_000),
        ];
        assert_eq!(p.assign(&r, &view), Decision::Assign(1));
    }

    #[test]
    fn ties_go_to_shorter_queue_then_low_index() {
        let mut p = LeastLoaded;
        let r = req(1, 100, 10);
        // Equal work, queue lengths 3 and 2 -> worker 2 (worker 0 has more work).
        let view = [
            busy(50, 1, 10, 5, 50),
            busy(50, 1, 10, 3, 30),
            busy(50, 1, 10, 2, 30),
        ];
        assert_eq!(p.assign(&r, &view), Decision::Assign(2));
        assert_eq!(p.assign(&r, &[idle(), idle()]), Decision::Assign(0));
        assert_eq!(
            p.assign(&r, &[busy(50, 1, 10, 1, 10), idle()]),
            Decision::Assign(1)
        );
    }
}
