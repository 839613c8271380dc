//! Loss recovery, all on the client (the server never sends unprompted):
//! when the retransmission timers run, the exponential backoff, and what a
//! request without progress sends again.
//!
//! A request that made no progress for `backoff(rto, backoff_exp)` sends its
//! unanswered request packets again (the last one as a probe once all were
//! answered), or asks again for the response packets still missing. Past
//! `max_retransmits` rounds without a sign of life it fails with
//! [`RpcError::TimedOut`]. Connects are retried the same way.

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use super::Core;
use super::client_role::{queue_request_packet, queue_rfr};
use super::config::SESSION_SLOTS;
use super::event::Event;
use super::session::ClientSlot;
use super::tx_queue::TxQueue;
use crate::error::RpcError;

impl Core {
    /// The timer stage of a round at `now`; `backlog` says the receive
    /// batch came back full (more packets may be waiting).
    ///
    /// The timers run only when this thread has kept up: after a gap
    /// between rounds (it was descheduled) or with more packets waiting,
    /// missing answers may simply be unread, and retransmitting then only
    /// adds load. A scan is put off at most once in a row, so that a loop
    /// that always polls slowly still retransmits.
    pub(super) fn run_timers(&mut self, now: Instant, backlog: bool) {
        if now >= self.next_server_scan {
            self.scan_servers(now);
            self.next_server_scan = now + self.server_scan_interval;
        }
        let kept_up = now.duration_since(self.last_poll) < self.scan_interval && !backlog;
        self.last_poll = now;
        if now >= self.next_scan {
            if kept_up || self.scan_deferred {
                self.scan_timers(now);
                self.scan_deferred = false;
            } else {
                self.scan_deferred = true;
            }
            self.next_scan = now + self.scan_interval;
        }
    }

    /// Retransmits for requests without progress, fails those out of
    /// retries, and retries connects. Failures become notices.
    fn scan_timers(&mut self, now: Instant) {
        let rto = self.config.retransmit_timeout;
        let max_retries = self.config.max_retransmits;
        let mut i = 0;
        while i < self.sessions.clients.len() {
            let num = self.sessions.clients[i];
            i += 1;
            let Some(s) = self.sessions.get_mut(num) else {
                continue;
            };
            let (id, peer, remote, chunk) = (s.id, s.peer, s.remote, s.chunk);
            let Some(c) = s.client_mut() else { continue };
            if !c.connected {
                if now.duration_since(c.connect_sent) < backoff(rto, c.connect_retries) {
                    continue;
                }
                c.connect_retries += 1;
                if c.connect_retries > max_retries {
                    self.sessions.remove(num);
                    i -= 1; // remove() swapped another session into place i-1
                    self.notices.push(Event::ConnectFailed {
                        session: id,
                        reason: format!("no answer from {peer} after {max_retries} retries"),
                    });
                } else {
                    c.connect_sent = now;
                    self.stats.retransmits += 1;
                    self.queue_connect(peer, num);
                }
                continue;
            }
            if c.outstanding == 0 {
                continue;
            }
            for si in 0..SESSION_SLOTS {
                let slot = &mut c.slots[si];
                let Some(last) = slot.last_progress else {
                    continue;
                };
                if !slot.busy || now.duration_since(last) < backoff(rto, slot.backoff_exp) {
                    continue;
                }
                slot.retries += 1;
                slot.backoff_exp += 1;
                if slot.retries > max_retries {
                    c.credits += slot.release();
                    c.outstanding -= 1;
                    self.stats.requests_failed += 1;
                    self.notices.push(Event::RequestFailed {
                        session: id,
                        tag: slot.tag,
                        error: RpcError::TimedOut,
                    });
                    continue;
                }
                slot.last_progress = Some(now);
                let target = Target {
                    peer,
                    remote,
                    num,
                    chunk,
                };
                self.stats.retransmits += retransmit(&mut self.txq, target, si, slot);
            }
            if !c.in_tx_queue && c.slots.iter().any(ClientSlot::has_new_packet) {
                c.in_tx_queue = true;
                self.pending.push_back(num);
            }
        }
    }
}

/// The retransmission timeout after `retries` rounds without progress: doubles
/// each round up to 32 times the base, so a peer that stalls for a while
/// (a descheduled thread on a loaded machine) is not given up on too soon.
fn backoff(rto: Duration, retries: u32) -> Duration {
    rto * (1u32 << retries.min(5))
}

/// Where a client session's packets go.
#[derive(Clone, Copy)]
struct Target {
    peer: SocketAddrV4,
    /// The server's number for the session.
    remote: u16,
    /// Our number for the session.
    num: u16,
    /// Payload bytes per packet.
    chunk: usize,
}

/// Queues again what the request in `slot` (slot index `si`) is waiting
/// for; returns how many packets that is.
fn retransmit(txq: &mut TxQueue, t: Target, si: usize, slot: &ClientSlot) -> u64 {
    let (peer, remote, num, chunk) = (t.peer, t.remote, t.num, t.chunk);
    let mut sent = 0;
    if slot.req_acked.count() < slot.req_pkts {
        for pkt in 0..slot.req_next {
            if !slot.req_acked.contains(pkt) {
                queue_request_packet(txq, peer, remote, num, si, slot, chunk, pkt);
                sent += 1;
            }
        }
    } else if slot.resp_len.is_none() {
        // Everything was acknowledged but no response yet: probe with the
        // last request packet.
        queue_request_packet(txq, peer, remote, num, si, slot, chunk, slot.req_pkts - 1);
        sent += 1;
    } else {
        // Ask again for each run of missing response packets.
        let mut pkt = 1;
        while pkt < slot.rfr_next {
            if slot.resp_got.contains(pkt) {
                pkt += 1;
                continue;
            }
            let first = pkt;
            while pkt < slot.rfr_next && !slot.resp_got.contains(pkt) {
                pkt += 1;
            }
            queue_rfr(txq, peer, remote, slot, first, pkt - first);
            sent += (pkt - first) as u64;
        }
    }
    sent
}
