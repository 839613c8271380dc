//! The client half of the protocol: connect, sending requests under
//! credits, and reassembling responses (loss recovery is in
//! `loss_recovery.rs`, the connect framing in `handshake.rs`).

use std::borrow::Cow;
use std::net::SocketAddrV4;
use std::time::Instant;

use super::event::{Event, ReceivedResponse, SessionId};
use super::message_layout::{MAX_PACKETS, packet_range, packets_for, place};
use super::session::{ClientSide, ClientSlot, Role, Session};
use super::tx_queue::{PayloadRef, SlotBytes};
use super::{Core, SESSION_SLOTS, TERN_HEADER};
use crate::error::RpcError;
use crate::wire::connect::{ConnectPacket, ConnectRepr, ConnectStatus};
use crate::wire::response::{PREAMBLE_LEN, PreamblePacket, PreambleRepr};
use crate::wire::tern::{PacketKind, TernRepr};

impl Core {
    pub(super) fn connect(&mut self, server: SocketAddrV4) -> Result<SessionId, RpcError> {
        if self.sessions.live() >= self.config.max_sessions {
            return Err(RpcError::TooManySessions(self.config.max_sessions));
        }
        let now = Instant::now();
        let credits = self.config.credits as usize;
        let chunk = self.max_datagram - TERN_HEADER;
        let id = self.sessions.insert(|id| Session {
            id,
            peer: server,
            remote: 0,
            peer_nonce: 0,
            chunk,
            role: Role::Client(Box::new(ClientSide {
                connected: false,
                connect_sent: now,
                connect_retries: 0,
                slots: Default::default(),
                credits,
                outstanding: 0,
                next_slot: 0,
                in_tx_queue: false,
            })),
        });
        self.queue_connect(server, id.num);
        Ok(id)
    }

    pub(super) fn on_connect_ack(&mut self, peer: SocketAddrV4, hdr: &TernRepr, payload: &[u8]) {
        let Ok(ack) = ConnectPacket::new_checked(payload).and_then(|p| ConnectRepr::parse(&p))
        else {
            self.stats.malformed_dropped += 1;
            return;
        };
        let max_dg = self.max_datagram;
        let Some(s) = self
            .sessions
            .get_mut(hdr.session)
            .filter(|s| s.peer == peer && !s.is_server())
        else {
            // We forgot this session (e.g. we restarted): tell the server.
            if ack.status == ConnectStatus::Accepted {
                self.reject_unknown(peer, hdr);
            } else {
                self.stats.unknown_session_dropped += 1;
            }
            return;
        };
        let id = s.id;
        let Some(c) = s.client_mut() else { return };
        if c.connected {
            self.stats.duplicates_suppressed += 1;
            return;
        }
        if ack.status == ConnectStatus::Refused {
            self.sessions.remove(hdr.session);
            self.notices.push(Event::ConnectFailed {
                session: id,
                reason: "refused by server: too many sessions".into(),
            });
            return;
        }
        if (ack.max_datagram as usize) < 64 {
            self.stats.malformed_dropped += 1;
            return;
        }
        c.connected = true;
        s.remote = ack.server_session;
        s.peer_nonce = ack.nonce;
        s.chunk = max_dg.min(ack.max_datagram as usize) - TERN_HEADER;
        self.sessions.index_client(hdr.session);
        self.notices.push(Event::Connected(id));
    }

    pub(super) fn send_request(
        &mut self,
        sid: SessionId,
        req_type: u16,
        payload: Vec<u8>,
        tag: u64,
    ) -> Result<(), RpcError> {
        let max_message = self.config.max_message;
        let max_outstanding = self.config.max_outstanding;
        let s = self
            .sessions
            .by_id_mut(sid)
            .ok_or(RpcError::NoSuchSession)?;
        let chunk = s.chunk;
        let c = s.client_mut().ok_or(RpcError::NoSuchSession)?;
        if !c.connected {
            return Err(RpcError::NotConnected);
        }
        if c.outstanding >= max_outstanding {
            return Err(RpcError::SessionBusy);
        }
        let pkts = packets_for(payload.len(), chunk);
        if payload.len() > max_message || pkts > MAX_PACKETS {
            return Err(RpcError::TooLarge {
                len: payload.len(),
                max: max_message,
            });
        }
        let Some(i) = c.slots.iter().position(|x| !x.busy) else {
            return Err(RpcError::SessionBusy);
        };
        let slot = &mut c.slots[i];
        slot.req_num = if slot.used {
            slot.req_num.wrapping_add(SESSION_SLOTS as u32)
        } else {
            i as u32
        };
        slot.used = true;
        slot.busy = true;
        slot.tag = tag;
        slot.req_type = req_type;
        slot.req = payload;
        slot.req_pkts = pkts;
        slot.req_next = 0;
        slot.req_acked.reset(pkts);
        slot.resp_len = None;
        slot.resp_pkts = 0;
        slot.rfr_next = 1;
        slot.in_flight = 0;
        slot.last_progress = None;
        slot.retries = 0;
        slot.backoff_exp = 0;
        c.outstanding += 1;
        if !c.in_tx_queue {
            c.in_tx_queue = true;
            self.pending.push_back(sid.num);
        }
        self.stats.requests_sent += 1;
        Ok(())
    }

    pub(super) fn close(&mut self, sid: SessionId) {
        let Some(s) = self.sessions.by_id(sid) else {
            return;
        };
        let (peer, connected) = (s.peer, s.client().is_some_and(|c| c.connected));
        self.remove_session(sid.num);
        if connected {
            self.queue_reset(peer, sid.num);
        }
    }

    /// Looks up the client session and busy slot a server packet is for.
    /// Counts and answers packets that match nothing.
    fn client_target(&mut self, peer: SocketAddrV4, hdr: &TernRepr) -> Option<(u16, usize)> {
        let slot = hdr.req_num as usize % SESSION_SLOTS;
        match self.sessions.get(hdr.session) {
            Some(s) if s.peer == peer && s.client().is_some_and(|c| c.connected) => {
                let c = s.client()?;
                let sl = &c.slots[slot];
                if sl.busy && sl.req_num == hdr.req_num {
                    Some((hdr.session, slot))
                } else {
                    self.stats.stale_dropped += 1;
                    None
                }
            }
            _ => {
                self.reject_unknown(peer, hdr);
                None
            }
        }
    }

    pub(super) fn on_credit_return(&mut self, now: Instant, peer: SocketAddrV4, hdr: &TernRepr) {
        let Some((num, slot_i)) = self.client_target(peer, hdr) else {
            return;
        };
        let Some(c) = self.sessions.get_mut(num).and_then(|s| s.client_mut()) else {
            return;
        };
        let slot = &mut c.slots[slot_i];
        // A credit-return covers packets first..first+count.
        let (first, count) = (hdr.pkt_num as usize, hdr.msg_len as usize);
        if count == 0 || first + count > slot.req_next {
            // Acknowledges a packet we never sent.
            self.stats.malformed_dropped += 1;
            return;
        }
        let mut fresh = 0;
        for pkt in first..first + count {
            if slot.req_acked.insert(pkt) {
                fresh += 1;
            }
        }
        if fresh > 0 {
            slot.in_flight -= fresh;
            c.credits += fresh;
            slot.last_progress = Some(now);
            slot.retries = 0;
            slot.backoff_exp = 0;
            if !c.in_tx_queue && c.slots.iter().any(ClientSlot::has_new_packet) {
                c.in_tx_queue = true;
                self.pending.push_back(num);
            }
        } else if first + count == slot.req_pkts && slot.resp_len.is_none() {
            // "Still executing" answer to a probe: the server is alive, so
            // do not give up, but keep the backoff growing: the request is
            // queued, and probing it every base timeout floods a busy server.
            slot.last_progress = Some(now);
            slot.retries = 0;
        } else {
            self.stats.duplicates_suppressed += 1;
        }
    }

    /// A response packet; returns the response once it is complete. A
    /// single-packet response's payload borrows `payload` (no copy).
    pub(super) fn on_response<'a>(
        &mut self,
        now: Instant,
        peer: SocketAddrV4,
        hdr: &TernRepr,
        payload: &'a [u8],
    ) -> Option<Event<'a>> {
        let max_message = self.config.max_message;
        let (num, slot_i) = self.client_target(peer, hdr)?;
        let s = self.sessions.get_mut(num)?;
        let (id, chunk) = (s.id, s.chunk);
        let c = s.client_mut()?;
        let slot = &mut c.slots[slot_i];
        let total = hdr.msg_len as usize;
        let pkt = hdr.pkt_num as usize;
        let pkts = packets_for(total, chunk);
        let (start, end) = packet_range(total, chunk, pkt);
        let valid = total >= PREAMBLE_LEN
            && total - PREAMBLE_LEN <= max_message
            && pkts <= MAX_PACKETS
            && pkt < pkts
            && payload.len() == end - start
            && hdr.req_type == slot.req_type
            && slot.resp_len.is_none_or(|l| l == total)
            && (pkt == 0 || pkt < slot.rfr_next)
            && (pkt > 0 || slot.req_next == slot.req_pkts);
        if !valid {
            self.stats.malformed_dropped += 1;
            return None;
        }
        if pkt == 0 && slot.resp_len.is_none() {
            if PreamblePacket::new_checked(payload)
                .and_then(|p| PreambleRepr::parse(&p))
                .is_err()
            {
                self.stats.malformed_dropped += 1;
                return None;
            }
            slot.resp_len = Some(total);
            slot.resp_pkts = pkts;
            slot.resp_got.reset(pkts);
            slot.resp_buf = if pkts == 1 {
                Vec::new()
            } else {
                Vec::with_capacity(total - PREAMBLE_LEN)
            };
            // Response packet 0 means the server has the whole request.
            for i in 0..slot.req_pkts {
                if slot.req_acked.insert(i) {
                    slot.in_flight -= 1;
                    c.credits += 1;
                }
            }
        }
        if !slot.resp_got.insert(pkt) {
            self.stats.duplicates_suppressed += 1;
            return None;
        }
        if pkt == 0 {
            slot.preamble.copy_from_slice(&payload[..PREAMBLE_LEN]);
            // A one-packet response is handed over from `payload` below.
            if pkts > 1 {
                place(&mut slot.resp_buf, 0, &payload[PREAMBLE_LEN..]);
            }
        } else {
            slot.in_flight -= 1;
            c.credits += 1;
            place(&mut slot.resp_buf, start - PREAMBLE_LEN, payload);
        }
        slot.last_progress = Some(now);
        slot.retries = 0;
        slot.backoff_exp = 0;
        let mut done = None;
        if slot.resp_got.is_full() {
            let pre = PreambleRepr::parse(&PreamblePacket::new_unchecked(&slot.preamble))
                .unwrap_or(PreambleRepr {
                    status: crate::Status::Internal,
                    queue_ns: 0,
                    exec_ns: 0,
                });
            let body = if pkts == 1 {
                Cow::Borrowed(&payload[PREAMBLE_LEN..])
            } else {
                Cow::Owned(std::mem::take(&mut slot.resp_buf))
            };
            let response = ReceivedResponse {
                status: pre.status,
                queue_ns: pre.queue_ns,
                exec_ns: pre.exec_ns,
                payload: body,
            };
            c.credits += slot.release();
            c.outstanding -= 1;
            self.stats.responses_received += 1;
            done = Some(Event::Response {
                session: id,
                tag: slot.tag,
                req_type: slot.req_type,
                response,
            });
        }
        if !c.in_tx_queue && c.slots.iter().any(ClientSlot::has_new_packet) {
            c.in_tx_queue = true;
            self.pending.push_back(num);
        }
        done
    }

    /// Puts new packets of queued sessions in flight as their credits allow.
    pub(super) fn pump_pending(&mut self, now: Instant) {
        let rounds = self.pending.len();
        for _ in 0..rounds {
            let Some(num) = self.pending.pop_front() else {
                break;
            };
            let Some(s) = self.sessions.get_mut(num) else {
                continue;
            };
            let (peer, remote, chunk) = (s.peer, s.remote, s.chunk);
            let Some(c) = s.client_mut() else { continue };
            c.in_tx_queue = false;
            while c.credits > 0 {
                let Some(i) = (0..SESSION_SLOTS)
                    .map(|k| (c.next_slot + k) % SESSION_SLOTS)
                    .find(|&i| c.slots[i].has_new_packet())
                else {
                    break;
                };
                c.next_slot = (i + 1) % SESSION_SLOTS;
                let slot = &mut c.slots[i];
                let sent = if slot.req_next < slot.req_pkts {
                    let pkt = slot.req_next;
                    slot.req_next += 1;
                    queue_request_packet(&mut self.txq, peer, remote, num, i, slot, chunk, pkt);
                    1
                } else {
                    // One request-for-response asks for as many response
                    // packets as credits allow.
                    let first = slot.rfr_next;
                    let count = c.credits.min(slot.resp_pkts - first);
                    slot.rfr_next += count;
                    queue_rfr(&mut self.txq, peer, remote, slot, first, count);
                    count
                };
                slot.in_flight += sent;
                if slot.last_progress.is_none() {
                    slot.last_progress = Some(now);
                }
                c.credits -= sent;
            }
            // Out of credits with work left: an answer re-queues the session.
        }
    }
}

/// Queues request packet `pkt` of the request in `slot`.
#[allow(clippy::too_many_arguments)]
pub(super) fn queue_request_packet(
    txq: &mut super::tx_queue::TxQueue,
    peer: SocketAddrV4,
    remote: u16,
    num: u16,
    slot_i: usize,
    slot: &ClientSlot,
    chunk: usize,
    pkt: usize,
) {
    let (start, end) = packet_range(slot.req.len(), chunk, pkt);
    let hdr = TernRepr {
        kind: PacketKind::Request,
        req_type: slot.req_type,
        session: remote,
        pkt_num: pkt as u16,
        req_num: slot.req_num,
        msg_len: slot.req.len() as u32,
    };
    txq.push(
        peer,
        &hdr.to_bytes(),
        PayloadRef::Request(SlotBytes {
            num,
            slot: slot_i as u8,
            req_num: slot.req_num,
            start: start as u32,
            end: end as u32,
        }),
    );
}

/// Queues a request-for-response for response packets `first..first+count`
/// (the message-length field carries `count`).
pub(super) fn queue_rfr(
    txq: &mut super::tx_queue::TxQueue,
    peer: SocketAddrV4,
    remote: u16,
    slot: &ClientSlot,
    first: usize,
    count: usize,
) {
    let hdr = TernRepr {
        kind: PacketKind::RequestForResponse,
        req_type: slot.req_type,
        session: remote,
        pkt_num: first as u16,
        req_num: slot.req_num,
        msg_len: count as u32,
    };
    txq.push(peer, &hdr.to_bytes(), PayloadRef::None);
}
