//! The process-wide monotonic clock in nanoseconds that deadlines, queueing
//! times and worker state are expressed in.
//!
//! Absolute times in Tern are `u64` nanoseconds since the first call to
//! [`now_ns`] in this process: cheap to store in an atomic, to compare and to
//! subtract, and never 0 once the clock has started (0 means "none" in
//! [`WorkerState`](crate::worker_state::WorkerState)).

use std::sync::OnceLock;
use std::time::Instant;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since this process's clock origin (at least 1). Costs one
/// `clock_gettime(CLOCK_MONOTONIC)` through the vDSO (~20 ns).
#[inline]
pub fn now_ns() -> u64 {
    let origin = *ORIGIN.get_or_init(Instant::now);
    (origin.elapsed().as_nanos() as u64).max(1)
}
