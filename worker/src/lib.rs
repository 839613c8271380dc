#![warn(missing_docs)]
//! tern-worker: per-core worker loops that run each request in a fresh
//! wasmtime sandbox.
//!
//! The pieces, in the order a request meets them:
//!
//! - [`Runtime`]: one wasmtime [`Engine`](wasmtime::Engine) (cranelift, the
//!   pooling allocator, epoch interruption, async calls), the registered
//!   functions, and the on-disk cache of compiled modules.
//! - [`Runtime::register`]: compiles (or loads from the cache) a `.wasm`
//!   file, detects its [`Abi`], and prepares an `InstancePre` so that each
//!   request only instantiates.
//! - [`WorkerPool`]: per-core worker threads, each with a bounded lock-free
//!   inbox, a local run queue ([`LocalQueue::Fifo`] or [`LocalQueue::Edf`]),
//!   and a completion queue back to the dispatcher; a preemptible worker
//!   ([`WorkerPoolConfig::preemptible`]) suspends a running request at an
//!   epoch yield and switches to an earlier deadline.
//!
//! What crosses between the dispatcher and the workers is defined in
//! `tern-sched`, which builds without wasmtime: the [`Job`](tern_sched::Job)
//! a worker is handed (naming its function by a
//! [`FunctionId`](tern_sched::FunctionId) that [`Runtime::register`] hands
//! out in registration order), the [`Completion`](tern_sched::Completion)
//! that comes back, the [`WorkerState`](tern_sched::WorkerState) each worker
//! publishes for the policies, and the clock. Import them from `tern_sched`.
//!
//! Every request gets its own store and instance; a trap, stack overflow,
//! runaway loop, out-of-memory or oversized output ends that request with its
//! own [`Outcome`](tern_sched::Outcome) and the worker keeps serving.

mod cache;
mod executor;
mod function;
mod invoke;
mod pool;
mod run_queue;
mod run_state;
mod runtime;
mod sandbox;
mod wasi;
mod worker_loop;

pub use function::{Abi, FunctionLimits, RegisterError};
pub use pool::{WorkerPool, WorkerPoolConfig};
pub use run_queue::LocalQueue;
pub use runtime::{CacheStats, ResidentSandbox, Runtime, RuntimeConfig};
