//! What an endpoint reports from [`run_once`](super::Endpoint::run_once),
//! and the handles that name sessions and requests.
//!
//! # What borrows what
//!
//! An [`Event`] lives for one call of the `run_once` callback. A message
//! that came in one packet is handed over as [`Cow::Borrowed`]: a slice
//! of the endpoint's receive batch, valid until the callback returns, and
//! never copied by the endpoint. A message reassembled from several packets
//! is [`Cow::Owned`]: the reassembly buffer itself, which
//! [`Cow::into_owned`] moves out without a copy. To keep an event past the
//! callback, call [`Event::into_owned`] (which copies a borrowed payload).

use std::borrow::Cow;
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

/// A received message body: borrowed from the receive batch when it came in
/// one packet, the reassembly buffer when it came in several (see the
/// [module doc](self)). Derefs to `&[u8]`.
pub type Payload<'a> = Cow<'a, [u8]>;

/// A response as a client receives it: like [`Response`], but its payload
/// may borrow the receive batch (see [`Payload`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedResponse<'a> {
    /// Outcome of the request.
    pub status: Status,
    /// Time the request waited on the server before it ran (ns).
    pub queue_ns: u64,
    /// Time the request ran on the server (ns).
    pub exec_ns: u64,
    /// The output (empty for most error statuses).
    pub payload: Payload<'a>,
}

impl ReceivedResponse<'_> {
    /// The same response with a payload of its own; copies a borrowed
    /// payload (one allocation), moves an owned one.
    pub fn into_owned(self) -> ReceivedResponse<'static> {
        ReceivedResponse {
            status: self.status,
            queue_ns: self.queue_ns,
            exec_ns: self.exec_ns,
            payload: Cow::Owned(self.payload.into_owned()),
        }
    }
}

impl From<ReceivedResponse<'_>> for Response {
    /// Copies a borrowed payload, moves an owned one.
    fn from(r: ReceivedResponse<'_>) -> Response {
        Response {
            status: r.status,
            queue_ns: r.queue_ns,
            exec_ns: r.exec_ns,
            payload: r.payload.into_owned(),
        }
    }
}

/// Something that happened during a [`run_once`](super::Endpoint::run_once)
/// round. `'a` is the round's receive batch: only the payloads of
/// [`Event::Request`] and [`Event::Response`] borrow it (see the
/// [module doc](self)); every other variant is `Event<'static>` already.
#[derive(Debug)]
pub enum Event<'a> {
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
        /// The request message: borrowed from the receive batch if it came
        /// in one packet, the reassembly buffer otherwise.
        payload: Payload<'a>,
    },
    /// Client: a complete response arrived.
    Response {
        /// The session the request was sent on.
        session: SessionId,
        /// The tag given to `send_request`.
        tag: u64,
        /// The request type of the request.
        req_type: u16,
        /// The response; its payload borrows like a request's.
        response: ReceivedResponse<'a>,
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

impl Event<'_> {
    /// The event with no borrow of the receive batch, to keep it past the
    /// callback: copies a single-packet payload (one allocation), moves a
    /// reassembled one, and costs nothing for the other variants.
    pub fn into_owned(self) -> Event<'static> {
        match self {
            Event::Connected(s) => Event::Connected(s),
            Event::ConnectFailed { session, reason } => Event::ConnectFailed { session, reason },
            Event::Request {
                token,
                req_type,
                payload,
            } => Event::Request {
                token,
                req_type,
                payload: Cow::Owned(payload.into_owned()),
            },
            Event::Response {
                session,
                tag,
                req_type,
                response,
            } => Event::Response {
                session,
                tag,
                req_type,
                response: response.into_owned(),
            },
            Event::RequestFailed {
                session,
                tag,
                error,
            } => Event::RequestFailed {
                session,
                tag,
                error,
            },
            Event::SessionReset(s) => Event::SessionReset(s),
        }
    }
}
