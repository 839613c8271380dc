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
//! - [`policy`]: the policy trait, the [`WorkerView`](policy::WorkerView)
//!   policies read workers through, what they know of a request
//!   ([`RequestInfo`](policy::RequestInfo)) and what they decide
//!   ([`Decision`](policy::Decision)); the policies (`rr`, `jsq`, `lld`,
//!   `edf`) and the table `--policy` is looked up in. Pure logic: no I/O,
//!   no clock.
//! - [`admission`]: the `--admission` check (can a request still meet its
//!   deadline on the worker chosen for it).
//! - [`spec`]: SLEdge/SLEdgeScale-compatible spec files (routes → modules,
//!   expected execution times, deadlines), read by the dispatcher and the
//!   load generator alike.
//!
//! The wasmtime side (`tern-worker`) depends on this crate, never the
//! reverse, so a crate that only schedules or only reads spec files
//! (the load generator) compiles no cranelift.

pub mod admission;
pub mod clock;
pub mod job;
pub mod policy;
pub mod slab;
pub mod spec;
pub mod worker_state;

pub use job::{Completion, FunctionId, Job, Outcome};
pub use worker_state::{WorkerSnapshot, WorkerState};
