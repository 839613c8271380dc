//! What a worker does when it has nothing to run.
//!
//! The dispatcher passes an implementation wrapping tern-rpc's idle strategy
//! (`spin` on dedicated cores, `adaptive` where threads outnumber cores); this
//! crate does not depend on tern-rpc, hence the trait. [`ParkIdle`] is the
//! built-in adaptive strategy used by tests and benchmarks.

use std::time::Duration;

/// An idle strategy, owned by one worker thread.
///
/// [`WorkerPool::submit`](crate::WorkerPool::submit) always unparks the
/// worker thread, so an implementation may `std::thread::park` (ideally with
/// a timeout, so shutdown is noticed) without missing work.
pub trait Idle: Send {
    /// Called each time the worker found nothing to do.
    fn idle(&mut self);
    /// Called when the worker found work again.
    fn reset(&mut self);
}

/// Spin a little, then yield, then park with a timeout: polls fast while
/// work keeps coming, costs no CPU when none does.
#[derive(Clone, Debug)]
pub struct ParkIdle {
    rounds: u32,
    spin_rounds: u32,
    yield_rounds: u32,
    park_timeout: Duration,
}

impl ParkIdle {
    /// Spins for `spin_rounds` idle calls, yields the CPU for the next
    /// `yield_rounds`, then parks for at most `park_timeout` at a time.
    pub fn new(spin_rounds: u32, yield_rounds: u32, park_timeout: Duration) -> Self {
        ParkIdle {
            rounds: 0,
            spin_rounds,
            yield_rounds,
            park_timeout,
        }
    }
}

impl Default for ParkIdle {
    /// 100 spins, 10 yields, then parks of at most 1 ms.
    fn default() -> Self {
        ParkIdle::new(100, 10, Duration::from_millis(1))
    }
}

impl Idle for ParkIdle {
    fn idle(&mut self) {
        self.rounds = self.rounds.saturating_add(1);
        if self.rounds <= self.spin_rounds {
            std::hint::spin_loop();
        } else if self.rounds <= self.spin_rounds + self.yield_rounds {
            std::thread::yield_now();
        } else {
            std::thread::park_timeout(self.park_timeout);
        }
    }

    fn reset(&mut self) {
        self.rounds = 0;
    }
}
