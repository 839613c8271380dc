//! `rr`: round robin. Each request goes to the worker after the previous
//! one's, whatever the workers' state. Reads no worker state; costs one
//! add and one compare.

use super::{Decision, Policy, RequestInfo, WorkerView};

/// Round robin over the workers.
#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    next: usize,
}

impl Policy for RoundRobin {
    fn name(&self) -> &'static str {
        "rr"
    }

    fn assign(&mut self, _req: &RequestInfo, workers: &dyn WorkerView) -> Decision {
        let n = workers.len();
        // The modulo guards against a view that shrank; usually `next < n`.
        let i = if self.next < n {
            self.next
        } else {
            self.next % n
        };
        self.next = if i + 1 == n { 0 } else { i + 1 };
        Decision::Assign(i)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn cycles_regardless_of_state() {
        let mut p = RoundRobin::default();
        // Worker 0 is idle, 1 is loaded, 2 is idle: rr still cycles 0, 1, 2.
        let view = [idle(), busy(50, 1, 10, 9, 900), idle()];
        let r = req(1, 100, 10);
        let got: Vec<_> = (0..7).map(|_| p.assign(&r, &view)).collect();
        let want: Vec<_> = [0, 1, 2, 0, 1, 2, 0]
            .into_iter()
            .map(Decision::Assign)
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn survives_fewer_workers() {
        let mut p = RoundRobin::default();
        let three = [idle(); 3];
        p.assign(&req(1, 100, 10), &three);
        p.assign(&req(1, 100, 10), &three);
        // next is 2; with one worker left it must pick 0.
        assert_eq!(p.assign(&req(1, 100, 10), &[idle()]), Decision::Assign(0));
    }
}
