//! Server-side limits in time and space: sessions that expire, half-open
//! and idle sessions evicted for a new client, partly received requests
//! dropped after a timeout.
//!
//! The server still sends nothing unprompted: expiry and timeouts only
//! free state (and report [`Event::SessionReset`] to the application); a
//! client learns of them from the answer to its next packet.
//!
//! The scan runs every quarter of the shorter of `reassembly_timeout` and
//! `session_idle_timeout` (between 10 ms and 1 s), and only while the
//! endpoint has server sessions. It walks the whole session table
//! (65,536 entries, tens of microseconds).

use std::time::Instant;

use super::Core;
use super::event::{Event, SessionId};
use super::server_role::set_rejected;
use super::session::ServerState;
use crate::status::Status;

/// Idle sessions one eviction scan queues, so that a burst of connects to a
/// full table costs one table walk per this many evictions.
const EVICT_BATCH: usize = 64;

impl Core {
    /// Expires idle server sessions and drops stalled reassemblies.
    pub(super) fn scan_servers(&mut self, now: Instant) {
        if self.sessions.servers() == 0 {
            self.sessions.half_open.clear();
            return;
        }
        let idle_timeout = self.config.session_idle_timeout;
        let reassembly_timeout = self.config.reassembly_timeout;
        for num in 0..=u16::MAX {
            let Some(s) = self.sessions.get_mut(num) else {
                continue;
            };
            let chunk = s.chunk;
            let Some(server) = s.server_mut() else {
                continue;
            };
            if now.duration_since(server.last_rx) >= idle_timeout {
                self.stats.sessions_expired += 1;
                self.drop_server_session(num);
                continue;
            }
            let mut freed = 0;
            for slot in server.slots.iter_mut() {
                if matches!(slot.state, ServerState::Receiving)
                    && slot
                        .req_rx_at
                        .is_some_and(|t| now.duration_since(t) >= reassembly_timeout)
                {
                    freed += slot.req_buf.clear();
                    set_rejected(slot, chunk, Status::RejectedOverload);
                    self.stats.reassembly_timeouts += 1;
                }
            }
            self.release_reassembly(freed);
        }
        let mut queue = std::mem::take(&mut self.sessions.half_open);
        queue.retain(|&id| is_half_open(&self.sessions, id));
        self.sessions.half_open = queue;
    }

    /// Removes server session `num` (expired or evicted) and tells the
    /// application.
    fn drop_server_session(&mut self, num: u16) {
        if let Some(s) = self.remove_session(num) {
            self.notices.push(Event::SessionReset(s.id));
        }
    }

    /// Makes room for one new session in a full table: evicts the oldest
    /// half-open server session, else the one idle longest with nothing
    /// arriving or executing. Returns false if every session is busy (or a
    /// client session).
    pub(super) fn evict_one(&mut self) -> bool {
        while let Some(id) = self.sessions.half_open.pop_front() {
            if is_half_open(&self.sessions, id) {
                self.stats.sessions_evicted += 1;
                self.drop_server_session(id.num);
                return true;
            }
        }
        for refill in [false, true] {
            if refill {
                self.fill_evict_queue();
            }
            while let Some((seen, id)) = self.evict_queue.pop() {
                let still_idle = self
                    .sessions
                    .by_id(id)
                    .and_then(|s| s.server())
                    .is_some_and(|x| {
                        x.last_rx == seen && !x.slots.iter().any(|slot| slot.in_progress())
                    });
                if still_idle {
                    self.stats.sessions_evicted += 1;
                    self.drop_server_session(id.num);
                    return true;
                }
            }
        }
        false
    }

    /// Queues the [`EVICT_BATCH`] server sessions idle longest (nothing
    /// arriving or executing), the longest idle last.
    fn fill_evict_queue(&mut self) {
        let mut idle: Vec<(Instant, SessionId)> = (0..=u16::MAX)
            .filter_map(|num| {
                let s = self.sessions.get(num)?;
                let x = s.server()?;
                (!x.slots.iter().any(|slot| slot.in_progress())).then_some((x.last_rx, s.id))
            })
            .collect();
        if idle.len() > EVICT_BATCH {
            idle.select_nth_unstable(EVICT_BATCH);
            idle.truncate(EVICT_BATCH);
        }
        idle.sort_unstable_by(|a, b| b.cmp(a));
        self.evict_queue = idle;
    }
}

/// Whether `id` is a live server session that never sent a request.
fn is_half_open(sessions: &super::SessionTable, id: SessionId) -> bool {
    sessions
        .by_id(id)
        .and_then(|s| s.server())
        .is_some_and(|x| !x.established)
}
