//! What an endpoint reports from [`poll`](super::Endpoint::poll), and the
//! handles that name sessions and requests.

use std::fmt;

use crate::error::RpcError;
use crate::status::Status;

/// Names one session of one endpoint. Copy, hashable, and never reused for a
/// later session of the same endpoint (it carries a generation number), so a
/// stale id is detected rather than aliased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId {
    pub(crate) num: u16,
    pub(crate) generation: u32,
}

impl SessionId {
    /// The session number on the wire (this endpoint's side).
    pub fn number(self) -> u16 {
        self.num
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}.{}", self.num, self.generation)
    }
}

/// Names one received request until it is answered with
/// [`Endpoint::respond`](super::Endpoint::respond). Copy; 12 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestToken {
    pub(crate) session: SessionId,
    pub(crate) slot: u8,
    pub(crate) req_num: u32,
}

impl RequestToken {
    /// The server-side session the request arrived on.
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// The request number (unique per session while the request is live).
    pub fn req_num(&self) -> u32 {
        self.req_num
    }
}

/// A response: what a server hands to [`respond`](super::Endpoint::respond)
/// and what a client receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Outcome of the request.
    pub status: Status,
    /// Time the request waited on the server before it ran (ns).
    pub queue_ns: u64,
    /// Time the request ran on the server (ns).
    pub exec_ns: u64,
    /// The output (empty for most error statuses).
    pub payload: Vec<u8>,
}

impl Response {
    /// A [`Status::Ok`] response carrying `payload`, with zero times.
    pub fn ok(payload: Vec<u8>) -> Self {
        Response {
            status: Status::Ok,
            queue_ns: 0,
            exec_ns: 0,
            payload,
        }
    }

    /// An empty response with `status`, with zero times.
    pub fn error(status: Status) -> Self {
        Response {
            status,
            queue_ns: 0,
            exec_ns: 0,
            payload: Vec::new(),
        }
    }
}

/// Something that happened during [`poll`](super::Endpoint::poll).
#[derive(Debug)]
pub enum Event {
    /// Client: the session's connect was accepted; requests may be sent.
    Connected(SessionId),
    /// Client: the connect was refused or went unanswered; the session is gone.
    ConnectFailed {
        /// The session that failed.
        session: SessionId,
        /// Why, in words.
        reason: String,
    },
    /// Server: a complete request arrived. Answer it with
    /// [`respond`](super::Endpoint::respond) and `token`.
    Request {
        /// Names this request for `respond`.
        token: RequestToken,
        /// The request type the client sent.
        req_type: u16,
        /// The request message.
        payload: Vec<u8>,
    },
    /// Client: a complete response arrived.
    Response {
        /// The session the request was sent on.
        session: SessionId,
        /// The tag given to `send_request`.
        tag: u64,
        /// The request type of the request.
        req_type: u16,
        /// The response.
        response: Response,
    },
    /// Client: a request failed: no answer after `max_retransmits`
    /// ([`RpcError::TimedOut`]) or its session was reset ([`RpcError::SessionReset`]).
    RequestFailed {
        /// The session the request was sent on.
        session: SessionId,
        /// The tag given to `send_request`.
        tag: u64,
        /// Why it failed.
        error: RpcError,
    },
    /// Either role: the peer restarted or dropped the session; it is gone
    /// here too (its outstanding requests were failed just before, and any
    /// request tokens of it are now stale).
    SessionReset(SessionId),
}
