//! The RPC layer's idle strategy, offered to the workers.
//!
//! tern-worker does not depend on tern-rpc (DESIGN.md §1), so it takes any
//! [`Idle`]; this newtype makes every poll loop of the process, the
//! dispatcher's and the workers', wait the same way (`--idle`).

use std::sync::Arc;

use tern_rpc::{IdleMode, IdleStrategy};
use tern_worker::{Idle, IdleFactory};

/// A [`tern_rpc::IdleStrategy`] as a worker [`Idle`]. Costs what the
/// strategy costs: a spin hint, a yield, or a park of at most 50 µs (a
/// submit unparks the worker at once).
pub struct WorkerIdle(IdleStrategy);

impl Idle for WorkerIdle {
    #[inline]
    fn idle(&mut self) {
        self.0.idle();
    }
    #[inline]
    fn reset(&mut self) {
        self.0.reset();
    }
}

/// A factory giving each worker its own strategy in `mode`.
pub fn idle_factory(mode: IdleMode) -> IdleFactory {
    Arc::new(move || Box::new(WorkerIdle(IdleStrategy::new(mode))) as Box<dyn Idle>)
}
