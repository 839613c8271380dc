//! The ARP cache of one DPDK queue, and the frames held while a peer's MAC
//! address is being resolved.
//!
//! Choice: a datagram to a peer whose MAC is unknown is *held* (as a built
//! frame, up to [`ArpTable::MAX_HELD`] frames) while an ARP request is
//! outstanding, and sent the moment the reply arrives; requests are repeated
//! every [`ArpTable::RETRY`] and held frames dropped after
//! [`ArpTable::GIVE_UP`] (the protocol's retransmission then tries again).
//! Holding rather than dropping keeps the first connect of a session from
//! waiting a whole retransmission timeout.
//!
//! Entries never expire but are overwritten by what the peer sends: every
//! IPv4 frame and every ARP packet from a peer refreshes its entry, so a
//! restarted peer with a new MAC is learnt from its first packet.
//!
//! The queues of one port share what they learn ([`SharedArp`]): an ARP
//! reply may arrive on any queue, so a queue that misses in its own table
//! looks in the shared one (a lock, on misses and changes only).

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::mbuf::Mbuf;
use crate::wire::ethernet::MacAddr;

/// A frame waiting for its destination MAC (bytes 0..6 still unset).
struct HeldFrame {
    ip: Ipv4Addr,
    frame: Mbuf,
    since: Instant,
}

/// What all queues of a port have learnt.
pub(crate) type SharedArp = Arc<Mutex<HashMap<Ipv4Addr, MacAddr>>>;

/// IPv4 → MAC cache plus frames held for unresolved peers.
pub(crate) struct ArpTable {
    entries: HashMap<Ipv4Addr, MacAddr>,
    shared: SharedArp,
    /// The last lookup, which is almost always the next one too.
    last: Option<(Ipv4Addr, MacAddr)>,
    held: VecDeque<HeldFrame>,
    /// When the last ARP request for each unresolved IP went out.
    asked: HashMap<Ipv4Addr, Instant>,
    /// Held frames dropped (table full or no reply in time).
    pub(crate) dropped: u64,
}

impl ArpTable {
    /// Most frames held at once; the oldest is dropped beyond this.
    pub(crate) const MAX_HELD: usize = 256;
    /// Interval between ARP requests for the same unresolved address.
    pub(crate) const RETRY: Duration = Duration::from_millis(100);
    /// How long a frame is held before it is dropped.
    pub(crate) const GIVE_UP: Duration = Duration::from_secs(1);

    pub(crate) fn new(shared: SharedArp) -> Self {
        ArpTable {
            entries: HashMap::new(),
            shared,
            last: None,
            held: VecDeque::new(),
            asked: HashMap::new(),
            dropped: 0,
        }
    }

    /// The MAC of `ip`, if known. O(1); no hashing when `ip` was the last lookup.
    pub(crate) fn lookup(&mut self, ip: Ipv4Addr) -> Option<MacAddr> {
        if let Some((last_ip, mac)) = self.last
            && last_ip == ip
        {
            return Some(mac);
        }
        let mac = match self.entries.get(&ip) {
            Some(&mac) => mac,
            None => {
                let mac = *self
                    .shared
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&ip)?;
                self.entries.insert(ip, mac);
                mac
            }
        };
        self.last = Some((ip, mac));
        Some(mac)
    }

    /// Records that `ip` is at `mac`. Returns true when frames are held for
    /// `ip` (take them with [`take_held`](Self::take_held)).
    pub(crate) fn learn(&mut self, ip: Ipv4Addr, mac: MacAddr) -> bool {
        if mac.is_multicast() || mac == MacAddr::ZERO || ip.is_unspecified() || ip.is_broadcast() {
            return false;
        }
        if self.last.is_some_and(|(i, m)| i == ip && m == mac) {
            return false;
        }
        if self.entries.get(&ip) == Some(&mac) && !self.asked.contains_key(&ip) {
            return false;
        }
        self.entries.insert(ip, mac);
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ip, mac);
        if self.last.is_some_and(|(i, _)| i == ip) {
            self.last = Some((ip, mac));
        }
        self.asked.remove(&ip).is_some()
    }

    /// Holds `frame` for `ip` until its MAC is known. Returns true if an ARP
    /// request for `ip` should go out now (none sent within [`RETRY`](Self::RETRY)).
    pub(crate) fn hold(&mut self, ip: Ipv4Addr, frame: Mbuf, now: Instant) -> bool {
        if self.held.len() >= Self::MAX_HELD {
            self.held.pop_front();
            self.dropped += 1;
        }
        self.held.push_back(HeldFrame {
            ip,
            frame,
            since: now,
        });
        self.should_ask(ip, now)
    }

    fn should_ask(&mut self, ip: Ipv4Addr, now: Instant) -> bool {
        match self.asked.get(&ip) {
            Some(&t) if now.duration_since(t) < Self::RETRY => false,
            _ => {
                self.asked.insert(ip, now);
                true
            }
        }
    }

    /// Removes the frames held for `ip`, writes `mac` as their Ethernet
    /// destination and appends them to `out`, oldest first.
    pub(crate) fn take_held(&mut self, ip: Ipv4Addr, mac: MacAddr, out: &mut Vec<Mbuf>) {
        let mut i = 0;
        while i < self.held.len() {
            if self.held[i].ip == ip {
                let mut frame = self.held.remove(i).expect("in range").frame;
                frame.first_segment_mut()[..6].copy_from_slice(&mac.0);
                out.push(frame);
            } else {
                i += 1;
            }
        }
    }

    /// Whether any frame is held (so [`tick`](Self::tick) has work).
    pub(crate) fn has_held(&self) -> bool {
        !self.held.is_empty()
    }

    /// Drops frames held past [`GIVE_UP`](Self::GIVE_UP) and appends to
    /// `ask` the addresses whose ARP request should be repeated now.
    pub(crate) fn tick(&mut self, now: Instant, ask: &mut Vec<Ipv4Addr>, resolved: &mut Vec<Mbuf>) {
        // Another queue of the port may have received the ARP reply.
        let mut pending: Vec<Ipv4Addr> = self.held.iter().map(|h| h.ip).collect();
        pending.dedup();
        for ip in pending {
            let known = self
                .shared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&ip)
                .copied();
            if let Some(mac) = known
                && self.learn(ip, mac)
            {
                self.take_held(ip, mac, resolved);
            }
        }
        let before = self.held.len();
        self.held
            .retain(|h| now.duration_since(h.since) < Self::GIVE_UP);
        self.dropped += (before - self.held.len()) as u64;
        let mut ips: Vec<Ipv4Addr> = self.held.iter().map(|h| h.ip).collect();
        ips.dedup();
        for ip in ips {
            if !ask.contains(&ip) && self.should_ask(ip, now) {
                ask.push(ip);
            }
        }
        if self.held.is_empty() {
            self.asked.clear();
        }
    }
}
