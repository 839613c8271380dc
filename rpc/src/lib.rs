//! tern-rpc: a poll-mode, eRPC-style RPC layer.
//!
//! An [`Endpoint`] owns one [`Transport`](transport::Transport) and is
//! driven by one thread calling [`Endpoint::run_once`]; it opens sessions in-band,
//! cuts messages of up to 8 MiB into packets, limits packets in flight with
//! per-session credits, retransmits from the client after a timeout, and
//! executes each request at most once (the server keeps the last response
//! per request slot). [`Client`] wraps an endpoint in blocking calls for
//! tools and tests. See `rpc/README.md` for the wire format and ARCHITECTURE.md
//! §2-4 for where this sits in Tern.

#![warn(missing_docs)]

pub mod client;
mod code_enum;
pub mod endpoint;
pub mod error;
pub mod idle;
pub mod serve;
pub mod status;
pub mod transport;
pub mod wire;

pub use client::Client;
pub use endpoint::{
    Ctl, Endpoint, EndpointConfig, EndpointStats, Event, Payload, ReceivedResponse, RequestToken,
    Response, SessionId,
};
pub use error::RpcError;
pub use idle::{IdleMode, IdleStrategy};
pub use serve::{IncomingRequest, Service, serve};
pub use status::Status;
