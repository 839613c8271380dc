//! tern-rpc: a poll-mode, eRPC-style RPC layer.

pub mod transport;
