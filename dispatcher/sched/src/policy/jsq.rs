//! `jsq`: join the shortest queue. Each request goes to the worker with the
//! fewest requests handed over and not finished (queued or running); ties
//! go to the lowest index. Reads one atomic per worker.

use super::{Decision, Policy, RequestInfo, WorkerView};

/// Join-shortest-queue by request count.
#[derive(Clone, Copy, Debug, Default)]
pub struct JoinShortestQueue;

impl Policy for JoinShortestQueue {
    fn name(&self) -> &'static str {
        "jsq"
    }

    fn assign(&mut self, _req: &RequestInfo, workers: &dyn WorkerView) -> Decision {
        let mut best = 0;
        let mut best_len = workers.queue_len(0);
        for i in 1..workers.len() {
            if best_len == 0 {
                break; // nothing beats an empty queue
            }
            let len = workers.queue_len(i);
            if len < best_len {
                best = i;
                best_len = len;
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
    fn picks_fewest_requests() {
        let mut p = JoinShortestQueue;
        let r = req(1, 100, 10);
        // Queue lengths 3, 1, 2: worker 1, even though its work is the largest.
        let view = [
            busy(50, 1, 10, 3, 30),
            busy(50, 1, 1_000, 1, 1_000),
            busy(50, 1, 10, 2, 20),
        ];
        assert_eq!(p.assign(&r, &view), Decision::Assign(1));
    }

    #[test]
    fn idle_worker_wins_and_ties_go_low() {
        let mut p = JoinShortestQueue;
        let r = req(1, 100, 10);
        assert_eq!(
            p.assign(&r, &[busy(50, 1, 10, 1, 10), idle(), idle()]),
            Decision::Assign(1)
        );
        assert_eq!(
            p.assign(&r, &[busy(50, 1, 10, 2, 20), busy(50, 1, 10, 2, 20)]),
            Decision::Assign(0)
        );
        assert_eq!(p.assign(&r, &[idle()]), Decision::Assign(0));
    }
}
