//! Idle strategies shared by every poll loop (ARCHITECTURE.md §4).
//!
//! A poll loop calls [`IdleStrategy::reset`] after a round that found work
//! and [`IdleStrategy::idle`] after one that found none. `Spin` keeps the
//! core busy (lowest latency, for dedicated cores); `Adaptive` spins for a
//! few microseconds, then yields, then parks for short intervals, so that when threads
//! outnumber cores (this 2-core machine class) an idle loop gives its core
//! away. A parked loop can be woken at once with [`std::thread::Thread::unpark`].

use std::time::{Duration, Instant};

use crate::code_enum::code_enum;

code_enum! {
    /// How a poll loop waits when a round found no work; the name is the
    /// one command lines take (`"spin"` or `"adaptive"`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub enum IdleMode: UnknownIdleMode {
        /// Busy-poll with a CPU spin hint; never gives the core away.
        Spin = 0 => "spin",
        /// Spin, then `yield_now`, then `park_timeout`: the default, right where
        /// threads outnumber cores.
        #[default]
        Adaptive = 1 => "adaptive",
    }
}

/// A name that is not an [`IdleMode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown idle mode {0:?} (expected \"spin\" or \"adaptive\")")]
pub struct UnknownIdleMode(pub String);

/// How long `Adaptive` spins after its last busy round before yielding.
///
/// Bounded by time, not rounds: a poll round may cost a system call (a
/// microsecond or more), and on Linux a thread woken by this one is often
/// queued on this CPU (wake-affine placement), where it waits until this
/// loop gives the core away. Measured on the 2-core VM: a spinning waker
/// delays the thread it unparks by ~1 ms (the scheduler tick); a yielding
/// one by ~5 µs. So the spin phase stays short.
const SPIN_FOR: Duration = Duration::from_micros(10);
/// How long `Adaptive` yields (after spinning) before it starts parking.
const YIELD_FOR: Duration = Duration::from_micros(200);
/// How long one park lasts at most.
const PARK: Duration = Duration::from_micros(50);

/// The state of one poll loop's idle strategy. Cheap: a mode and the time
/// the current idle stretch began.
#[derive(Debug, Clone)]
pub struct IdleStrategy {
    mode: IdleMode,
    /// When the current run of idle rounds began; `None` after a busy round.
    idle_since: Option<Instant>,
}

impl IdleStrategy {
    /// A fresh strategy in `mode`.
    pub fn new(mode: IdleMode) -> Self {
        IdleStrategy {
            mode,
            idle_since: None,
        }
    }

    /// The mode.
    pub fn mode(&self) -> IdleMode {
        self.mode
    }

    /// Call after a round that found work: the next idle round spins again.
    #[inline]
    pub fn reset(&mut self) {
        self.idle_since = None;
    }

    /// Call after a round that found no work. `Spin`: one spin hint
    /// (nanoseconds). `Adaptive`: a spin hint for the first 10 µs of an idle
    /// stretch, then `thread::yield_now` until 210 µs, then
    /// `thread::park_timeout(50 µs)` until [`reset`](Self::reset). Each
    /// adaptive round reads the monotonic clock once (~20 ns).
    #[inline]
    pub fn idle(&mut self) {
        match self.mode {
            IdleMode::Spin => std::hint::spin_loop(),
            IdleMode::Adaptive => {
                let now = Instant::now();
                let idle_for = now.duration_since(*self.idle_since.get_or_insert(now));
                if idle_for < SPIN_FOR {
                    std::hint::spin_loop();
                } else if idle_for < SPIN_FOR + YIELD_FOR {
                    std::thread::yield_now();
                } else {
                    std::thread::park_timeout(PARK);
                }
            }
        }
    }
}

impl Default for IdleStrategy {
    fn default() -> Self {
        IdleStrategy::new(IdleMode::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        assert_eq!("spin".parse::<IdleMode>(), Ok(IdleMode::Spin));
        assert_eq!("adaptive".parse::<IdleMode>(), Ok(IdleMode::Adaptive));
        assert!("busy".parse::<IdleMode>().is_err());
        assert_eq!(IdleMode::default(), IdleMode::Adaptive);
        assert_eq!(IdleMode::Spin.to_string(), "spin");
    }

    #[test]
    fn adaptive_parks_and_unpark_wakes_it() {
        // A parked idle loop must wake on unpark: run the strategy into its
        // park phase on a thread and wake it; the test only checks that it
        // returns (park_timeout bounds each park anyway).
        let h = std::thread::spawn(|| {
            let mut s = IdleStrategy::new(IdleMode::Adaptive);
            let start = Instant::now();
            while start.elapsed() < SPIN_FOR + YIELD_FOR + PARK * 4 {
                s.idle();
            }
            s.reset();
            s.idle_since
        });
        h.thread().unpark();
        assert_eq!(h.join().unwrap(), None);
    }
}
