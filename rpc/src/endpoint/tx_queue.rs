//! Packets waiting to be sent, and the flush that hands them to the
//! transport in one batch.
//!
//! A queued packet holds its header bytes and a *reference* to its payload
//! (session, slot, request number, byte range) rather than a copy, so message
//! bytes go from the request or saved response straight to the transport.
//! If the referenced slot moved on before the flush (reset, new request),
//! the packet is skipped: the protocol recovers as from a loss.

use std::net::SocketAddrV4;

use super::session::{ServerState, SessionTable};
use super::stats::EndpointStats;
use crate::transport::{Transport, TxDatagram};
use crate::wire::response::PREAMBLE_LEN;
use crate::wire::tern::HEADER_LEN;

/// Largest header part of a datagram: Tern header + response preamble.
pub(crate) const MAX_HEADER: usize = HEADER_LEN + PREAMBLE_LEN;

/// Where a queued packet's payload lives.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PayloadRef {
    /// No payload beyond the header part.
    None,
    /// Bytes of client session `num`'s request in `slot`.
    Request(SlotBytes),
    /// Bytes of server session `num`'s saved response payload in `slot`.
    Response(SlotBytes),
}

/// Bytes `start..end` of the message in one request slot, valid while the
/// slot still holds request `req_num` (checked when the packet is sent).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotBytes {
    pub num: u16,
    pub slot: u8,
    pub req_num: u32,
    pub start: u32,
    pub end: u32,
}

impl SlotBytes {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One packet to send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxItem {
    pub peer: SocketAddrV4,
    pub header: [u8; MAX_HEADER],
    pub header_len: u8,
    pub payload: PayloadRef,
}

/// Packets waiting for the transport, with reusable scratch space.
#[derive(Default)]
pub(crate) struct TxQueue {
    pub items: Vec<TxItem>,
    /// Datagram index -> item index, for partial sends.
    positions: Vec<usize>,
    /// Allocation reused for the datagram batch (always empty between calls).
    scratch: Vec<TxDatagram<'static>>,
}

/// Reuses an empty vector's allocation for a vector of another lifetime.
/// The in-place `collect` keeps the buffer (same element layout) and the
/// closure never runs because the vector is empty.
fn recycle<'a, 'b>(mut v: Vec<TxDatagram<'a>>) -> Vec<TxDatagram<'b>> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("vector is empty"))
        .collect()
}

impl TxQueue {
    /// Queues a packet whose whole UDP payload is `header` + the referenced bytes.
    #[inline]
    pub fn push(&mut self, peer: SocketAddrV4, header: &[u8], payload: PayloadRef) {
        let mut h = [0u8; MAX_HEADER];
        h[..header.len()].copy_from_slice(header);
        self.items.push(TxItem {
            peer,
            header: h,
            header_len: header.len() as u8,
            payload,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sends queued packets until the transport stops taking them; returns
    /// how many it took. Packets it did not take stay queued, in order.
    pub fn flush<T: Transport>(
        &mut self,
        transport: &mut T,
        sessions: &SessionTable,
        stats: &mut EndpointStats,
    ) -> usize {
        if self.items.is_empty() {
            return 0;
        }
        let mut batch: Vec<TxDatagram<'_>> = recycle(std::mem::take(&mut self.scratch));
        self.positions.clear();
        let mut bytes = 0u64;
        for (idx, item) in self.items.iter().enumerate() {
            let Some(payload) = resolve(sessions, item.payload) else {
                continue;
            };
            let d = TxDatagram {
                peer: item.peer,
                header: &item.header[..item.header_len as usize],
                payload,
            };
            bytes += d.len() as u64;
            batch.push(d);
            self.positions.push(idx);
        }
        let mut sent = 0;
        while sent < batch.len() {
            match transport.send(&batch[sent..]) {
                Ok(0) => break,
                Ok(n) => sent += n,
                Err(_) => {
                    stats.io_errors += 1;
                    break;
                }
            }
        }
        let all_sent = sent == batch.len();
        if !all_sent {
            bytes = batch[..sent].iter().map(|d| d.len() as u64).sum();
        }
        self.scratch = recycle(batch);
        if all_sent {
            self.items.clear();
        } else {
            stats.tx_deferred += 1;
            let first_unsent = self.positions[sent];
            self.items.drain(..first_unsent);
        }
        stats.packets_tx += sent as u64;
        stats.bytes_tx += bytes;
        sent
    }
}

/// The payload bytes `r` refers to, if the slot still holds that request.
fn resolve(sessions: &SessionTable, r: PayloadRef) -> Option<&[u8]> {
    match r {
        PayloadRef::None => Some(&[]),
        PayloadRef::Request(b) => {
            let s = sessions.get(b.num)?.client()?.slots.get(b.slot as usize)?;
            if !s.busy || s.req_num != b.req_num {
                return None;
            }
            s.req.get(b.range())
        }
        PayloadRef::Response(b) => {
            let s = sessions.get(b.num)?.server_slots()?.get(b.slot as usize)?;
            if !matches!(s.state, ServerState::Responded) || s.req_num != b.req_num {
                return None;
            }
            s.resp_payload.get(b.range())
        }
    }
}
