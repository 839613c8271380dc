//! tern-loadgen: the open-loop load generator every Tern performance figure
//! is measured with.
//!
//! * [`arrivals`]: seeded Poisson or constant schedules of *intended* send
//!   times.
//! * [`mix`]: which routes to call, with what weights and bodies.
//! * [`route_stats`], [`report`]: HdrHistogram accounting per route, and the
//!   figures of a run (offered vs achieved rate, percentiles, deadline-met %,
//!   errors by status, server queueing and execution time).
//! * [`csv`], [`plot`]: result files and their plots.
//! * [`rate_list`]: the rates of a sweep.
//! * [`engine`], [`sweep`]: the open-loop run over tern-rpc, and sweeps.
//! * [`fault`]: `--fault`, client-side drop/duplicate/reorder injection.
//! * [`call`]: one invocation (`loadgen call`).
//! * [`echo_server`]: a worker-less server, the reference for loadgen's own
//!   limit.
//!
//! `--server` takes a [`TransportAddr`](tern_rpc::transport::TransportAddr)
//! (`udp://IP:PORT`, `dpdk://IP:PORT?...`), opened as a client.
//!
//! Latency is always measured from a request's intended send time, never
//! from when loadgen managed to send it, so a stalled server or a slow
//! generator shows up in the tail instead of being hidden (no coordinated
//! omission).

#![warn(missing_docs)]

pub mod arrivals;
pub mod call;
pub mod csv;
pub mod echo_server;
pub mod engine;
pub mod error;
pub mod fault;
pub mod mix;
pub mod percentiles;
pub mod plot;
pub mod rate_list;
pub mod report;
pub mod route_stats;
pub mod sweep;

pub use error::LoadgenError;
