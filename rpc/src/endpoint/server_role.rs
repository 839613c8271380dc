//! The server half of the protocol: accepting sessions, reassembling
//! requests, suppressing duplicates, and serving saved responses.

use std::borrow::Cow;
use std::net::SocketAddrV4;
use std::time::Instant;

use super::event::{Event, RequestToken, Response};
use super::message_layout::{MAX_PACKETS, packet_range, packets_for};
use super::session::{PeerKey, Role, ServerSide, ServerSlot, ServerState, Session};
use super::tx_queue::{MAX_HEADER, PayloadRef, SlotBytes};
use super::{Core, SESSION_SLOTS, TERN_HEADER, req_after};
use crate::error::RpcError;
use crate::status::Status;
use crate::wire::connect::{ConnectPacket, ConnectRepr, ConnectStatus};
use crate::wire::response::{PREAMBLE_LEN, PreambleRepr};
use crate::wire::tern::{PacketKind, TernPacket, TernRepr};

impl Core {
    /// A connect. Rules (ARCHITECTURE.md §3, "Hostile peers"): the same
    /// nonce for a session we have is a retransmission (ack again); a new
    /// nonce opens a new session and never resets one by itself; the
    /// session the connect names (same address, same client session
    /// number) is reset only when the new one is established. A full table
    /// evicts a half-open or idle session before it refuses.
    pub(super) fn on_connect(
        &mut self,
        now: Instant,
        peer: SocketAddrV4,
        hdr: &TernRepr,
        payload: &[u8],
    ) {
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
        let named = self.sessions.find(key);
        if let Some(num) = named
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
        // A new nonce naming a session we have: the peer may have
        // restarted, or someone may be spoofing its address. The old
        // session lives on until the new one proves itself.
        let supersedes = named.and_then(|num| self.sessions.get(num)).map(|s| s.id);
        if self.sessions.live() >= self.config.max_sessions && !self.evict_one() {
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
            role: Role::Server(Box::new(ServerSide::new(now, supersedes))),
        });
        self.stats.connects_accepted += 1;
        self.queue_connect_ack(peer, hdr.session, ConnectStatus::Accepted, id.num);
    }

    /// Marks server session `num` as alive at `now`; on its first request
    /// packet it is established, and the session its connect superseded
    /// (same address and client session number, another nonce) is reset:
    /// knowing our random session number proves the new endpoint receives
    /// at that address, so the old one is gone.
    fn touch(&mut self, now: Instant, num: u16, request: bool) {
        let Some(s) = self.sessions.get_mut(num) else {
            return;
        };
        let (peer, remote, nonce) = (s.peer, s.remote, s.peer_nonce);
        let Some(server) = s.server_mut() else {
            return;
        };
        server.last_rx = now;
        if !request || server.established {
            return;
        }
        server.established = true;
        let mut next = server.supersedes.take();
        // Down the chain of sessions each connect named (a spoofed connect
        // may sit between the old session and this one).
        while let Some(old) = next {
            let Some(o) = self.sessions.by_id(old).filter(|o| {
                o.is_server() && o.peer == peer && o.remote == remote && o.peer_nonce != nonce
            }) else {
                break;
            };
            next = o.server().and_then(|x| x.supersedes);
            self.reset_session(old.num);
        }
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
        now: Instant,
        peer: SocketAddrV4,
        hdr: &TernRepr,
        payload: &'a [u8],
    ) -> Option<Event<'a>> {
        let max_message = self.config.max_message;
        let budget = self.config.reassembly_budget as u64;
        let num = self.server_target(peer, hdr)?;
        let len = hdr.msg_len as usize;
        let chunk = self.sessions.get(num)?.chunk;
        let pkts = packets_for(len, chunk);
        let pkt = hdr.pkt_num as usize;
        let (start, end) = packet_range(len, chunk, pkt);
        if pkt >= pkts || payload.len() != end - start {
            self.stats.malformed_dropped += 1;
            return None;
        }
        self.touch(now, num, true);
        let s = self.sessions.get_mut(num)?;
        let (id, remote) = (s.id, s.remote);
        let Role::Server(server) = &mut s.role else {
            return None;
        };
        let slot_i = hdr.req_num as usize % SESSION_SLOTS;
        let slot = &mut server.slots[slot_i];
        let fresh = matches!(slot.state, ServerState::Idle) || req_after(hdr.req_num, slot.req_num);
        if !fresh && hdr.req_num != slot.req_num {
            self.stats.stale_dropped += 1;
            return None;
        }
        let last = pkt + 1 == pkts;
        if fresh && matches!(slot.state, ServerState::Executing) {
            // A ninth outstanding request: its slot's request still runs,
            // and a client only reuses a slot once answered. Not executed;
            // the last packet gets rejected-overload, unsaved.
            self.stats.requests_refused_busy += 1;
            if last {
                queue_error_response(&mut self.txq, peer, remote, hdr, Status::RejectedOverload);
            }
            return None;
        }
        if fresh {
            // A superseded partial request frees its buffer.
            let freed = slot.req_buf.clear();
            self.stats.reassembly_bytes -= freed as u64;
            slot.req_num = hdr.req_num;
            slot.req_type = hdr.req_type;
            slot.req_len = len;
            slot.req_pkts = pkts;
            slot.resp_payload = Vec::new();
            if len > max_message || pkts > MAX_PACKETS {
                // Refuse without buffering: answer every packet, the last
                // with a too-large response.
                set_rejected(slot, chunk, Status::TooLarge);
            } else {
                slot.state = ServerState::Receiving;
                slot.req_got.reset(pkts);
                slot.req_rx_at = Some(now);
            }
        } else if slot.req_len != len || slot.req_type != hdr.req_type {
            self.stats.malformed_dropped += 1;
            return None;
        }
        match slot.state {
            ServerState::Receiving => {
                if slot.req_got.contains(pkt) {
                    self.stats.duplicates_suppressed += 1;
                } else if pkts > 1 {
                    let before = slot.req_buf.held() as u64;
                    let after = slot.req_buf.held_after(start, payload.len(), len) as u64;
                    if after > before && self.stats.reassembly_bytes - before + after > budget {
                        // Over the reassembly budget: fail this request (not
                        // the ones further along) and free what it held.
                        let freed = slot.req_buf.clear();
                        self.stats.reassembly_bytes -= freed as u64;
                        self.stats.reassembly_rejected += 1;
                        set_rejected(slot, chunk, Status::RejectedOverload);
                        answer_responded(self, peer, remote, num, slot_i, hdr, last);
                        return None;
                    }
                    slot.req_got.insert(pkt);
                    slot.req_buf.place(start, payload, len);
                    slot.req_rx_at = Some(now);
                    // Counted from the buffer itself, so the gauge always is
                    // the sum of what the buffers hold.
                    let after = slot.req_buf.held() as u64;
                    self.stats.reassembly_bytes = self.stats.reassembly_bytes + after - before;
                    self.stats.reassembly_peak =
                        self.stats.reassembly_peak.max(self.stats.reassembly_bytes);
                } else {
                    slot.req_got.insert(pkt);
                }
                if !last {
                    queue_credit_return(&mut self.credit_runs, &mut self.txq, peer, remote, hdr);
                }
                if slot.req_got.is_full() {
                    // One packet: hand over the received bytes themselves.
                    let body = if pkts > 1 {
                        self.stats.reassembly_bytes -= slot.req_buf.held() as u64;
                        Cow::Owned(slot.req_buf.take())
                    } else {
                        Cow::Borrowed(payload)
                    };
                    slot.state = ServerState::Executing;
                    slot.req_rx_at = None;
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
                if !fresh {
                    self.stats.duplicates_suppressed += 1;
                }
                answer_responded(self, peer, remote, num, slot_i, hdr, last);
            }
            ServerState::Idle => {}
        }
        None
    }

    /// A request-for-response: sends the response packets it asks for,
    /// at most the server's `credits` per ask, and at most twice the
    /// response's packets plus `credits` over the response's life (room for
    /// loss recovery, not for amplification).
    pub(super) fn on_rfr(&mut self, now: Instant, peer: SocketAddrV4, hdr: &TernRepr) {
        let Some(num) = self.server_target(peer, hdr) else {
            return;
        };
        let credits = self.config.credits as usize;
        let Some(s) = self.sessions.get_mut(num) else {
            return;
        };
        let (chunk, remote) = (s.chunk, s.remote);
        let Some(server) = s.server_mut() else {
            return;
        };
        let slot_i = hdr.req_num as usize % SESSION_SLOTS;
        let slot = &mut server.slots[slot_i];
        if slot.req_num != hdr.req_num || !matches!(slot.state, ServerState::Responded) {
            self.stats.stale_dropped += 1;
            return;
        }
        let (first, asked) = (hdr.pkt_num as usize, hdr.msg_len as usize);
        if first == 0 || asked == 0 || first + asked > slot.resp_pkts {
            self.stats.malformed_dropped += 1;
            return;
        }
        server.last_rx = now;
        let count = asked.min(credits).min(send_allowance(slot, credits));
        self.stats.response_packets_refused += (asked - count) as u64;
        slot.resp_sent += count;
        let slot = &server.slots[slot_i];
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
        let Role::Server(server) = &mut s.role else {
            return Err(RpcError::StaleToken);
        };
        let slot_i = token.slot as usize;
        let slot = server.slots.get_mut(slot_i).ok_or(RpcError::StaleToken)?;
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
        slot.resp_sent = 1;
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
    slot.resp_sent = 0;
    slot.req_rx_at = None;
    slot.state = ServerState::Responded;
}

/// Saves an empty response with `status` in `slot` (a request refused
/// before it ran); its reassembly buffer must already be freed.
pub(super) fn set_rejected(slot: &mut ServerSlot, chunk: usize, status: Status) {
    debug_assert_eq!(slot.req_buf.held(), 0);
    set_response(slot, chunk, status, 0, 0, Vec::new());
}

/// Response packets the saved response in `slot` may still send: twice its
/// packets plus `credits`, less those sent.
fn send_allowance(slot: &ServerSlot, credits: usize) -> usize {
    (2 * slot.resp_pkts + credits).saturating_sub(slot.resp_sent)
}

/// Answers request packet `hdr` of a request whose response is saved in
/// slot `slot_i`: the last packet gets response packet 0 again (within the
/// slot's send allowance), the others a credit-return.
fn answer_responded(
    core: &mut Core,
    peer: SocketAddrV4,
    remote: u16,
    num: u16,
    slot_i: usize,
    hdr: &TernRepr,
    last: bool,
) {
    if !last {
        queue_credit_return(&mut core.credit_runs, &mut core.txq, peer, remote, hdr);
        return;
    }
    let credits = core.config.credits as usize;
    let Some(s) = core.sessions.get_mut(num) else {
        return;
    };
    let chunk = s.chunk;
    let Some(server) = s.server_mut() else {
        return;
    };
    let slot = &mut server.slots[slot_i];
    if send_allowance(slot, credits) == 0 {
        core.stats.response_packets_refused += 1;
        return;
    }
    slot.resp_sent += 1;
    queue_response_packet(&mut core.txq, peer, remote, num, slot_i, slot, chunk, 0);
}

/// Queues a one-packet response with `status` and no payload for request
/// `hdr`, without saving it (a request refused without taking its slot).
fn queue_error_response(
    txq: &mut super::tx_queue::TxQueue,
    peer: SocketAddrV4,
    remote: u16,
    hdr: &TernRepr,
    status: Status,
) {
    let resp = TernRepr {
        kind: PacketKind::Response,
        req_type: hdr.req_type,
        session: remote,
        pkt_num: 0,
        req_num: hdr.req_num,
        msg_len: PREAMBLE_LEN as u32,
    };
    let mut head = [0u8; MAX_HEADER];
    head[..TERN_HEADER].copy_from_slice(&resp.to_bytes());
    head[TERN_HEADER..].copy_from_slice(
        &PreambleRepr {
            status,
            queue_ns: 0,
            exec_ns: 0,
        }
        .to_bytes(),
    );
    txq.push(peer, &head, PayloadRef::None);
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
