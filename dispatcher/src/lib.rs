//! The Tern dispatcher: spec files, pluggable scheduling policies and the
//! `dispatcher` binary's main loop (DESIGN.md §2, §6, §7).
//!
//! - [`spec`]: SLEdge/SLEdgeScale-compatible spec files (routes → modules,
//!   expected execution times, deadlines). The load generator reads specs
//!   through this module too.
//! - [`policy`]: the policy trait, the policies (`rr`, `jsq`, `lld`, `edf`)
//!   and their table; pure logic over a view of the workers.
//! - [`admission`]: the `--admission` check.

pub mod admission;
pub mod policy;
pub mod spec;
