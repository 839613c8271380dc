//! Errors of the RPC layer.

use std::io;

/// What went wrong in an [`Endpoint`](crate::Endpoint) or
/// [`Client`](crate::Client) call, or why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The session already has its maximum of outstanding requests.
    #[error("session busy: all request slots are in flight")]
    SessionBusy,
    /// No live session has this id (never opened, closed, or reset).
    #[error("no such session")]
    NoSuchSession,
    /// The session exists but its connect has not completed.
    #[error("session not connected yet")]
    NotConnected,
    /// A message is larger than the endpoint allows.
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Length of the message.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The endpoint already has `max_sessions` sessions.
    #[error("too many sessions (limit {0})")]
    TooManySessions(usize),
    /// Connecting failed (refused by the server or no answer).
    #[error("connect failed: {0}")]
    ConnectFailed(String),
    /// No answer after the last retransmission, or a call's own timeout.
    #[error("timed out")]
    TimedOut,
    /// The session was reset (the peer restarted or closed it).
    #[error("session reset by peer")]
    SessionReset,
    /// The request token is stale: its session was reset or closed, or the
    /// request was already answered.
    #[error("stale request token")]
    StaleToken,
    /// An operating-system error from the transport.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}
