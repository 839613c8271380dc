#![warn(missing_docs)]
//! The Tern dispatcher: spec files, the dispatcher core and the
//! `dispatcher` binary (DESIGN.md §2, §6, §7). The policies and admission
//! it applies live in `tern-sched` (`tern_sched::policy`,
//! `tern_sched::admission`), which builds without wasmtime.
//!
//! - [`spec`]: SLEdge/SLEdgeScale-compatible spec files (routes → modules,
//!   expected execution times, deadlines). The load generator reads specs
//!   through this module too.
//! - [`dispatch`]: the dispatcher core, from request to worker and from
//!   completion to response, without the network.
//! - [`route_table`]: the routes by request type and their counters.
//! - [`outcome_status`]: how a worker's outcome becomes an RPC status and
//!   response body.
//! - [`server`]: start-up and the event loop of the `dispatcher` binary;
//!   [`cli`]: its flags and config file; [`transport_choice`]: `--transport`.

pub mod cli;
pub mod dispatch;
pub mod outcome_status;
pub mod route_table;
pub mod server;
pub mod spec;
pub mod transport_choice;
