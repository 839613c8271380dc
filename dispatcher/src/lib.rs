//! The Tern dispatcher: spec files, pluggable scheduling policies and the
//! `dispatcher` binary (DESIGN.md §2, §6, §7).
//!
//! - [`spec`]: SLEdge/SLEdgeScale-compatible spec files (routes → modules,
//!   expected execution times, deadlines). The load generator reads specs
//!   through this module too.
//! - [`policy`]: the policy trait, the policies (`rr`, `jsq`, `lld`, `edf`)
//!   and their table; pure logic over a view of the workers.
//! - [`admission`]: the `--admission` check.
//! - [`dispatch`]: the dispatcher core, from request to worker and from
//!   completion to response, without the network.
//! - [`server`]: start-up and the event loop of the `dispatcher` binary;
//!   [`cli`]: its flags and config file; [`transport_choice`]: `--transport`.

pub mod cli;
pub mod dispatch;
pub mod server;
pub mod spec;
pub mod transport_choice;
