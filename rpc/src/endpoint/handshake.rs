//! The framing of session control packets, written once: connect,
//! connect-ack and reset. The roles decide *when* to send them and change
//! session state; this file builds the headers and payloads and queues them.

use std::net::SocketAddrV4;

use super::tx_queue::PayloadRef;
use super::{Core, TERN_HEADER};
use crate::wire::connect::{CONNECT_LEN, ConnectRepr, ConnectStatus};
use crate::wire::tern::{PacketKind, TernRepr};

/// A header-only or connect packet's Tern header: no request, no message.
fn control_header(kind: PacketKind, session: u16) -> TernRepr {
    TernRepr {
        kind,
        req_type: 0,
        session,
        pkt_num: 0,
        req_num: 0,
        msg_len: 0,
    }
}

impl Core {
    /// Queues a connect (or connect-ack) packet addressed to the peer's
    /// session `session`, carrying this endpoint's nonce and largest
    /// datagram.
    fn queue_connect_packet(
        &mut self,
        peer: SocketAddrV4,
        kind: PacketKind,
        session: u16,
        status: ConnectStatus,
        server_session: u16,
    ) {
        let body = ConnectRepr {
            nonce: self.nonce,
            max_datagram: self.max_datagram as u16,
            status,
            server_session,
        };
        let mut bytes = [0u8; TERN_HEADER + CONNECT_LEN];
        bytes[..TERN_HEADER].copy_from_slice(&control_header(kind, session).to_bytes());
        bytes[TERN_HEADER..].copy_from_slice(&body.to_bytes());
        self.txq.push(peer, &bytes, PayloadRef::None);
    }

    /// Client role: queues a connect for our session `num` to `server`.
    pub(super) fn queue_connect(&mut self, server: SocketAddrV4, num: u16) {
        self.queue_connect_packet(server, PacketKind::Connect, num, ConnectStatus::Accepted, 0);
    }

    /// Server role: queues the answer to a connect from the client's
    /// session `client_session`; `server_session` is ours (0 if refused).
    pub(super) fn queue_connect_ack(
        &mut self,
        peer: SocketAddrV4,
        client_session: u16,
        status: ConnectStatus,
        server_session: u16,
    ) {
        self.queue_connect_packet(
            peer,
            PacketKind::ConnectAck,
            client_session,
            status,
            server_session,
        );
    }

    /// Queues a reset telling `peer` that its session `session` is gone
    /// here, and counts it.
    pub(super) fn queue_reset(&mut self, peer: SocketAddrV4, session: u16) {
        self.stats.resets_sent += 1;
        self.txq.push(
            peer,
            &control_header(PacketKind::Reset, session).to_bytes(),
            PayloadRef::None,
        );
    }
}
