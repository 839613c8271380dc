//! The server half of the protocol: accepting sessions, reassembling
//! requests, suppressing duplicates, and serving saved responses.

use std::borrow::Cow;
use std::net::SocketAddrV4;

use super::event::{Event, RequestToken, Response};
use super::message_layout::{MAX_PACKETS, packet_range, packets_for, place};
use super::session::{PeerKey, Role, ServerSlot, ServerState, Session};
use super::tx_queue::{MAX_HEADER, PayloadRef, SlotBytes};
use super::{Core, SESSION_SLOTS, TERN_HEADER, req_after};
use crate::error::RpcError;
use crate::status::Status;
use crate::wire::connect::{ConnectPacket, ConnectRepr, ConnectStatus};
use crate::wire::response::{PREAMBLE_LEN, PreambleRepr};
use crate::wire::tern::{PacketKind, TernPacket, TernRepr};

impl Core {
    pub(super) fn on_connect(&mut self, peer: SocketAddrV4, hdr: &TernRepr, payload: &[u8]) {
        let Ok(req) = ConnectPacket::new_checked(payload).and_then(|p| ConnectRepr::parse(&p))
        else {
            self.stats.malformed_dropped += 1;
            return;
        };
        if (req.max_datagram as usize) < 64 {
            self.stats.malformed_dropped += 1;
            return;
        }
        let key = PeerKey {
            peer,
            remote: hdr.session,
            server_role: true,
        };
        if let Some(num) = self.sessions.find(key)
            && self
                .sessions
                .get(num)
                .is_some_and(|s| s.peer_nonce == req.nonce)
        {
            // A retransmitted connect: the ack was lost.
            self.stats.duplicates_suppressed += 1;
            self.queue_connect_ack(peer, hdr.session, ConnectStatus::Accepted, num);
            return;
        }
        // A different nonce from this address means the peer endpoint
        // restarted: its old sessions are dead.
        for num in self.sessions.server_sessions_of(peer) {
            if self
                .sessions
                .get(num)
                .is_some_and(|s| s.peer_nonce != req.nonce)
            {
                self.reset_session(num);
            }
        }
        if self.sessions.live() >= self.config.max_sessions {
            self.stats.connects_refused += 1;
            self.queue_connect_ack(peer, hdr.session, ConnectStatus::Refused, 0);
            return;
        }
        let chunk = self.max_datagram.min(req.max_datagram as usize) - TERN_HEADER;
        let id = self.sessions.insert(|id| Session {
            id,
            peer,
            remote: hdr.session,
            peer_nonce: req.nonce,
            chunk,
            role: Role::Server(Box::default()),
        });
        self.stats.connects_accepted += 1;
        self.queue_connect_ack(peer, hdr.session, ConnectStatus::Accepted, id.num);
    }

    /// The server session `hdr` addresses, if it exists and belongs to
    /// `peer`; otherwise answers with a reset.
    fn server_target(&mut self, peer: SocketAddrV4, hdr: &TernRepr) -> Option<u16> {
        match self.sessions.get(hdr.session) {
            Some(s) if s.peer == peer && s.is_server() => Some(hdr.session),
            _ => {
                self.reject_unknown(peer, hdr);
                None
            }
        }
    }

    /// A request packet; returns the request once it is complete. A
    /// single-packet request's payload borrows `payload` (no copy).
    pub(super) fn on_request<'a>(
        &mut self,
        peer: SocketAddrV4,
        hdr: &TernRepr,
        payload: &'a [u8],
    ) -> Option<Event<'a>> {
        let max_message = self.config.max_message;
        let num = self.server_target(peer, hdr)?;
        let s = self.sessions.get_mut(num)?;
        let (id, chunk, remote) = (s.id, s.chunk, s.remote);
        let Role::Server(slots) = &mut s.role else {
            return None;
        };
        let len = hdr.msg_len as usize;
        let pkts = packets_for(len, chunk);
        let pkt = hdr.pkt_num as usize;
        let (start, end) = packet_range(len, chunk, pkt);
        if pkt >= pkts || payload.len() != end - start {
            self.stats.malformed_dropped += 1;
            return None;
        }
        let slot_i = hdr.req_num as usize % SESSION_SLOTS;
        let slot = &mut slots[slot_i];
        let fresh = matches!(slot.state, ServerState::Idle) || req_after(hdr.req_num, slot.req_num);
        if !fresh && hdr.req_num != slot.req_num {
            self.stats.stale_dropped += 1;
            return None;
        }
        if fresh {
            slot.req_num = hdr.req_num;
            slot.req_type = hdr.req_type;
            slot.req_len = len;
            slot.req_pkts = pkts;
            slot.resp_payload = Vec::new();
            if len > max_message || pkts > MAX_PACKETS {
                // Refuse without buffering: answer every packet, the last
                // with a too-large response.
                set_response(slot, chunk, Status::TooLarge, 0, 0, Vec::new());
            } else {
                slot.state = ServerState::Receiving;
                slot.req_got.reset(pkts);
                slot.req_buf = if pkts > 1 {
                    Vec::with_capacity(len)
                } else {
                    Vec::new()
                };
            }
        } else if slot.req_len != len || slot.req_type != hdr.req_type {
            self.stats.malformed_dropped += 1;
            return None;
        }
        let last = pkt + 1 == pkts;
        match slot.state {
            ServerState::Receiving => {
                if slot.req_got.insert(pkt) {
                    if pkts > 1 {
                        place(&mut slot.req_buf, start, payload);
                    }
                } else {
                    self.stats.duplicates_suppressed += 1;
                }
                if !last {
                    queue_credit_return(&mut self.credit_runs, &mut self.txq, peer, remote, hdr);
                }
                if slot.req_got.is_full() {
                    // One packet: hand over the received bytes themselves.
                    let body = if pkts > 1 {
                        Cow::Owned(std::mem::take(&mut slot.req_buf))
                    } else {
                        Cow::Borrowed(payload)
                    };
                    slot.state = ServerState::Executing;
                    self.stats.requests_received += 1;
                    return Some(Event::Request {
                        token: RequestToken {
                            session: id,
                            slot: slot_i as u8,
                            req_num: hdr.req_num,
                        },
                        req_type: hdr.req_type,
                        payload: body,
                    });
                }
            }
            ServerState::Executing => {
                // Retransmission while the request runs: acknowledge; for
                // the last packet this tells the client we are executing.
                self.stats.duplicates_suppressed += 1;
                queue_credit_return(&mut self.credit_runs, &mut self.txq, peer, remote, hdr);
            }
            ServerState::Responded => {
                self.stats.duplicates_suppressed += 1;
                if last {
                    queue_response_packet(&mut self.txq, peer, remote, num, slot_i, slot, chunk, 0);
                } else {
                    queue_credit_return(&mut self.credit_runs, &mut self.txq, peer, remote, hdr);
                }
            }
            ServerState::Idle => {}
        }
        None
    }

    pub(super) fn on_rfr(&mut self, peer: SocketAddrV4, hdr: &TernRepr, payload: &[u8]) {
        if !payload.is_empty() {
            self.stats.malformed_dropped += 1;
            return;
        }
        let Some(num) = self.server_target(peer, hdr) else {
            return;
        };
        let Some(s) = self.sessions.get(num) else {
            return;
        };
        let (chunk, remote) = (s.chunk, s.remote);
        let Some(slots) = s.server_slots() else {
            return;
        };
        let slot_i = hdr.req_num as usize % SESSION_SLOTS;
        let slot = &slots[slot_i];
        if slot.req_num != hdr.req_num || !matches!(slot.state, ServerState::Responded) {
            self.stats.stale_dropped += 1;
            return;
        }
        let (first, count) = (hdr.pkt_num as usize, hdr.msg_len as usize);
        if first == 0 || count == 0 || first + count > slot.resp_pkts {
            self.stats.malformed_dropped += 1;
            return;
        }
        for pkt in first..first + count {
            queue_response_packet(&mut self.txq, peer, remote, num, slot_i, slot, chunk, pkt);
        }
    }

    pub(super) fn respond(
        &mut self,
        token: RequestToken,
        response: Response,
    ) -> Result<(), RpcError> {
        let max_message = self.config.max_message;
        let s = self
            .sessions
            .by_id_mut(token.session)
            .ok_or(RpcError::NoSuchSession)?;
        let (peer, remote, chunk, num) = (s.peer, s.remote, s.chunk, s.id.num);
        let Role::Server(slots) = &mut s.role else {
            return Err(RpcError::StaleToken);
        };
        let slot_i = token.slot as usize;
        let slot = slots.get_mut(slot_i).ok_or(RpcError::StaleToken)?;
        if slot.req_num != token.req_num || !matches!(slot.state, ServerState::Executing) {
            return Err(RpcError::StaleToken);
        }
        let len = response.payload.len();
        let result = if len > max_message || packets_for(len + PREAMBLE_LEN, chunk) > MAX_PACKETS {
            set_response(
                slot,
                chunk,
                Status::TooLarge,
                response.queue_ns,
                response.exec_ns,
                Vec::new(),
            );
            Err(RpcError::TooLarge {
                len,
                max: max_message,
            })
        } else {
            set_response(
                slot,
                chunk,
                response.status,
                response.queue_ns,
                response.exec_ns,
                response.payload,
            );
            Ok(())
        };
        self.stats.responses_sent += 1;
        queue_response_packet(&mut self.txq, peer, remote, num, slot_i, slot, chunk, 0);
        result
    }
}

/// Queues a credit-return for request packet `hdr.pkt_num`, merged into
/// the previous one when that acknowledges the packets just before it
/// in the same request (the message-length field counts the packets a
/// credit-return covers), so a batch of packets costs one answer.
fn queue_credit_return(
    runs: &mut Vec<super::CreditReturnRun>,
    txq: &mut super::tx_queue::TxQueue,
    peer: SocketAddrV4,
    remote: u16,
    hdr: &TernRepr,
) {
    let extends = |m: &super::CreditReturnRun| {
        m.peer == peer
            && m.session == remote
            && m.req_num == hdr.req_num
            && m.first as u32 + m.count == hdr.pkt_num as u32
    };
    if let Some(m) = runs.iter_mut().find(|m| extends(m))
        && let Some(item) = txq.items.get_mut(m.index)
    {
        m.count += 1;
        TernPacket::new_unchecked(&mut item.header[..]).set_msg_len(m.count);
        return;
    }
    let cr = TernRepr {
        kind: PacketKind::CreditReturn,
        req_type: hdr.req_type,
        session: remote,
        pkt_num: hdr.pkt_num,
        req_num: hdr.req_num,
        msg_len: 1,
    };
    runs.push(super::CreditReturnRun {
        index: txq.items.len(),
        peer,
        session: remote,
        req_num: hdr.req_num,
        first: hdr.pkt_num,
        count: 1,
    });
    txq.push(peer, &cr.to_bytes(), PayloadRef::None);
}

/// Saves a response in `slot` (state `Responded`).
fn set_response(
    slot: &mut ServerSlot,
    chunk: usize,
    status: Status,
    queue_ns: u64,
    exec_ns: u64,
    payload: Vec<u8>,
) {
    slot.preamble = PreambleRepr {
        status,
        queue_ns,
        exec_ns,
    }
    .to_bytes();
    slot.resp_len = payload.len() + PREAMBLE_LEN;
    slot.resp_pkts = packets_for(slot.resp_len, chunk);
    slot.resp_payload = payload;
    slot.req_buf = Vec::new();
    slot.state = ServerState::Responded;
}

/// Queues response packet `pkt` of the response saved in `slot`. Packet 0
/// carries the preamble in its header part.
#[allow(clippy::too_many_arguments)]
fn queue_response_packet(
    txq: &mut super::tx_queue::TxQueue,
    peer: SocketAddrV4,
    remote: u16,
    num: u16,
    slot_i: usize,
    slot: &ServerSlot,
    chunk: usize,
    pkt: usize,
) {
    let (start, end) = packet_range(slot.resp_len, chunk, pkt);
    let hdr = TernRepr {
        kind: PacketKind::Response,
        req_type: slot.req_type,
        session: remote,
        pkt_num: pkt as u16,
        req_num: slot.req_num,
        msg_len: slot.resp_len as u32,
    };
    let mut head = [0u8; MAX_HEADER];
    head[..TERN_HEADER].copy_from_slice(&hdr.to_bytes());
    let head_len = if pkt == 0 {
        head[TERN_HEADER..].copy_from_slice(&slot.preamble);
        MAX_HEADER
    } else {
        TERN_HEADER
    };
    // Message bytes start..end, minus the preamble, are payload bytes:
    let (ps, pe) = (start.max(PREAMBLE_LEN) - PREAMBLE_LEN, end - PREAMBLE_LEN);
    txq.push(
        peer,
        &head[..head_len],
        PayloadRef::Response(SlotBytes {
            num,
            slot: slot_i as u8,
            req_num: slot.req_num,
            start: ps as u32,
            end: pe as u32,
        }),
    );
}
