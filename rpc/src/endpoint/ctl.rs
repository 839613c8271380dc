//! What a [`run_once`](super::Endpoint::run_once) callback may do to the
//! endpoint while an event borrows its receive batch.

use std::net::SocketAddrV4;

use super::Core;
use super::event::{RequestToken, Response, SessionId};
use super::stats::EndpointStats;
use crate::error::RpcError;

/// The endpoint's controls inside a round: everything but the transport and
/// the receive batch, which the event being handled may borrow. Each method
/// behaves, costs and fails exactly as the [`Endpoint`](super::Endpoint)
/// method of the same name; what it queues leaves at the end of the round
/// (the round's last transmit stage).
pub struct Ctl<'a> {
    core: &'a mut Core,
}

impl<'a> Ctl<'a> {
    pub(super) fn new(core: &'a mut Core) -> Self {
        Ctl { core }
    }

    /// Server role: answers the request `token` names; see
    /// [`Endpoint::respond`](super::Endpoint::respond).
    pub fn respond(&mut self, token: RequestToken, response: Response) -> Result<(), RpcError> {
        self.core.respond(token, response)
    }

    /// Client role: sends a request; see
    /// [`Endpoint::send_request`](super::Endpoint::send_request).
    pub fn send_request(
        &mut self,
        s: SessionId,
        req_type: u16,
        payload: Vec<u8>,
        tag: u64,
    ) -> Result<(), RpcError> {
        self.core.send_request(s, req_type, payload, tag)
    }

    /// Client role: opens a session to `server`; see
    /// [`Endpoint::connect`](super::Endpoint::connect).
    pub fn connect(&mut self, server: SocketAddrV4) -> Result<SessionId, RpcError> {
        self.core.connect(server)
    }

    /// Closes session `s`; see [`Endpoint::close`](super::Endpoint::close).
    pub fn close(&mut self, s: SessionId) {
        self.core.close(s)
    }

    /// Whether client session `s` completed its connect.
    pub fn is_connected(&self, s: SessionId) -> bool {
        self.core.is_connected(s)
    }

    /// Whether `send_request` on `s` would be accepted now.
    pub fn can_send(&self, s: SessionId) -> bool {
        self.core.can_send(s)
    }

    /// Requests outstanding on client session `s` (0 if it is not live).
    pub fn outstanding(&self, s: SessionId) -> usize {
        self.core.outstanding(s)
    }

    /// The peer of session `s`, if it is live.
    pub fn peer_of(&self, s: SessionId) -> Option<SocketAddrV4> {
        self.core.peer_of(s)
    }

    /// The endpoint's counters so far.
    pub fn stats(&self) -> &EndpointStats {
        &self.core.stats
    }
}
