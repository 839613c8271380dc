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

    session_controls!();
}
