//! The Tern dispatcher: the `dispatcher` binary and the core it runs
//! (ARCHITECTURE.md §2, §6, §7).
//!
//! The scheduling code it decides with lives in `tern-sched`
//! (`dispatcher/sched`), which builds without wasmtime: the spec reader
//! ([`tern_sched::spec`]), the policies and their table
//! ([`tern_sched::policy`]), the `--admission` check
//! ([`tern_sched::admission`]), and the job and worker-state types.
//!
//! - [`dispatch`]: the dispatcher core, from request to worker and from
//!   completion to response, without the network.
//! - [`route_table`]: the routes by request type and their counters.
//! - [`outcome_status`]: how a worker's outcome becomes an RPC status and
//!   response body.
//! - [`server`]: start-up and the event loop of the `dispatcher` binary;
//!   [`cli`]: its flags and TOML config file (`--listen` takes a tern-rpc
//!   `TransportAddr`).

#![warn(missing_docs)]

pub mod cli;
pub mod dispatch;
pub mod outcome_status;
pub mod route_table;
pub mod server;
