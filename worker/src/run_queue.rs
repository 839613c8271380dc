//! A worker's local run queue: FIFO, or EDF by absolute deadline (ties in
//! arrival order).

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

/// The order in which a worker runs the jobs it holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LocalQueue {
    /// Arrival order: nothing queued is ever earlier than the running job,
    /// so even a preemptible worker resumes it at once.
    #[default]
    Fifo,
    /// Earliest absolute deadline first; on a preemptible worker a running
    /// job is suspended at its next epoch yield when a job with an earlier
    /// deadline arrives.
    Edf,
}

pub(crate) struct Keyed<T> {
    deadline_ns: u64,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Keyed<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline_ns, self.seq) == (other.deadline_ns, other.seq)
    }
}
impl<T> Eq for Keyed<T> {}
impl<T> PartialOrd for Keyed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Keyed<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.deadline_ns, self.seq).cmp(&(other.deadline_ns, other.seq))
    }
}

/// The queue itself. Amortised O(1) push/pop for FIFO, O(log n) for EDF.
pub(crate) enum RunQueue<T> {
    Fifo(VecDeque<T>),
    Edf {
        heap: BinaryHeap<Reverse<Keyed<T>>>,
        seq: u64,
    },
}

impl<T> RunQueue<T> {
    pub fn new(kind: LocalQueue) -> Self {
        match kind {
            LocalQueue::Fifo => RunQueue::Fifo(VecDeque::with_capacity(64)),
            LocalQueue::Edf => RunQueue::Edf {
                heap: BinaryHeap::with_capacity(64),
                seq: 0,
            },
        }
    }

    pub fn push(&mut self, deadline_ns: u64, item: T) {
        match self {
            RunQueue::Fifo(q) => q.push_back(item),
            RunQueue::Edf { heap, seq } => {
                *seq += 1;
                heap.push(Reverse(Keyed {
                    deadline_ns,
                    seq: *seq,
                    item,
                }));
            }
        }
    }

    pub fn pop(&mut self) -> Option<T> {
        match self {
            RunQueue::Fifo(q) => q.pop_front(),
            RunQueue::Edf { heap, .. } => heap.pop().map(|Reverse(k)| k.item),
        }
    }

    /// The earliest deadline held (EDF only; `None` for FIFO or when empty).
    pub fn earliest_deadline(&self) -> Option<u64> {
        match self {
            RunQueue::Fifo(_) => None,
            RunQueue::Edf { heap, .. } => heap.peek().map(|Reverse(k)| k.deadline_ns),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            RunQueue::Fifo(q) => q.len(),
            RunQueue::Edf { heap, .. } => heap.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_keeps_arrival_order() {
        let mut q = RunQueue::new(LocalQueue::Fifo);
        for (d, v) in [(30, 'a'), (10, 'b'), (20, 'c')] {
            q.push(d, v);
        }
        assert_eq!(q.earliest_deadline(), None);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, ['a', 'b', 'c']);
    }

    #[test]
    fn edf_orders_by_deadline_then_arrival() {
        let mut q = RunQueue::new(LocalQueue::Edf);
        for (d, v) in [(30, 'a'), (10, 'b'), (20, 'c'), (10, 'd')] {
            q.push(d, v);
        }
        assert_eq!(q.earliest_deadline(), Some(10));
        assert_eq!(q.len(), 4);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, ['b', 'd', 'c', 'a']);
    }
}
