#![warn(missing_docs)]
//! tern-sched: Tern's scheduling code, built and tested without wasmtime.
//!
//! Everything the dispatcher's decisions read and everything a policy
//! simulator needs, with no sandbox behind it:
//!
//! - [`clock`]: the process-wide monotonic clock in nanoseconds that every
//!   time here is expressed in.
//! - [`job`]: what the dispatcher hands a worker ([`Job`]), what comes back
//!   ([`Completion`], [`Outcome`]), and the [`FunctionId`] index that names
//!   a registered function.
//! - [`worker_state`]: what each worker publishes for the policies
//!   ([`WorkerState`], in cache-padded atomics) and a plain copy of it
//!   ([`WorkerSnapshot`]).
//!
//! The wasmtime side (`tern-worker`) depends on this crate, never the
//! reverse, so a crate that only schedules or only reads spec files
//! (the load generator) compiles no cranelift.

pub mod clock;
pub mod job;
pub mod worker_state;

pub use job::{Completion, FunctionId, Job, Outcome};
pub use worker_state::{WorkerSnapshot, WorkerState};
