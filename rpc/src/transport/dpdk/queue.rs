//! [`DpdkTransport`]: one RX/TX queue pair of a DPDK port, speaking
//! Ethernet/IPv4/UDP itself.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::ptr::NonNull;
use std::time::Instant;

use dpdk_sys as sys;

use super::arp_table::{ArpTable, SharedArp};
use super::mbuf::Mbuf;
use super::port::{self, OpenPort};
use super::{DpdkConfig, DpdkStats, eal};
use crate::transport::{RxBatch, Transport, TxDatagram};
use crate::wire::arp::{ArpPacket, ArpRepr, operation};
use crate::wire::ethernet::{self, EthernetFrame, EthernetRepr, MacAddr, ethertype};
use crate::wire::ipv4::{self, Ipv4Packet, Ipv4Repr, protocol};
use crate::wire::udp::{self, UdpPacket, UdpRepr};

/// Frames received or sent per `rte_eth_*_burst` call.
const BURST: usize = 32;
const HEADERS: usize = ethernet::HEADER_LEN + ipv4::HEADER_LEN + udp::HEADER_LEN;
const TTL: u8 = 64;

/// A [`Transport`] over one RX/TX queue pair of a DPDK Ethernet port.
///
/// Writes Ethernet, IPv4 (with header checksum) and UDP headers on send and
/// checks them on receive (IPv4 checksum; UDP checksum when the sender set
/// one; destination MAC, IP and port), answers ARP requests for its address
/// inside [`recv`](Transport::recv), and resolves peers' MAC addresses with
/// ARP (see `arp_table` for what happens to datagrams meanwhile). Peers
/// must be on the same Ethernet segment (no routing).
///
/// Build with [`DpdkTransport::open`] (one per queue). Each transport is
/// `Send`, to be moved to its endpoint thread, but not `Sync`.
///
/// Costs per datagram: one mbuf allocation and one copy of the payload on
/// each side; the IPv4 checksum over 20 bytes; the UDP checksum over the
/// datagram when [`DpdkConfig::udp_checksum`] is on (both ways).
pub struct DpdkTransport {
    port_id: u16,
    port_name: String,
    queue: u16,
    pool: NonNull<sys::rte_mempool>,
    mac: MacAddr,
    local: SocketAddrV4,
    max_datagram: usize,
    udp_checksum: bool,
    ip_ident: u16,
    arp: ArpTable,
    /// Frames built for the current send call, ready for tx_burst.
    tx: Vec<*mut sys::rte_mbuf>,
    /// Frames released from the ARP table, waiting to go out.
    released: Vec<Mbuf>,
    /// ARP requests to send (addresses).
    ask: Vec<Ipv4Addr>,
    /// Reassembly space for frames that span several mbuf segments.
    scratch: Vec<u8>,
    stats: DpdkStats,
}

// SAFETY: the raw mbuf pointers in `tx` are owned by this transport only
// (always empty between calls), the mempool is thread-safe, and a DPDK queue
// may be polled from any one thread at a time; the transport is not Sync, so
// only its owner thread touches it.
unsafe impl Send for DpdkTransport {}

impl DpdkTransport {
    /// Initialises the EAL with `config.eal_args` (first call in this
    /// process), opens `config.port` with `config.queues` queue pairs and
    /// returns one transport per queue: queue `i` listens on
    /// `config.local_ip : config.udp_port + i`.
    ///
    /// With more than one queue, each queue's UDP port is steered to it with
    /// an `rte_flow` rule (IPv4 destination `local_ip`, UDP destination
    /// `udp_port + i` → queue `i`; mlx5 and most hardware PMDs support
    /// this). `net_memif` needs no rules: its queue `i` is the peer's queue
    /// `i`. Other PMDs without `rte_flow` fail with an error naming the
    /// reason. The queues share what they learn through ARP.
    /// Errors explain what is missing (EAL arguments, unknown port, memory).
    /// A port may be opened once per process.
    pub fn open(config: &DpdkConfig) -> io::Result<Vec<DpdkTransport>> {
        if config.local_ip.is_unspecified() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a DPDK transport needs its own IPv4 address (--local-ip)",
            ));
        }
        let queues = config.queues.max(1);
        if config.udp_port as u32 + queues as u32 > 65536 || config.udp_port == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "UDP ports {}..{} are not all valid",
                    config.udp_port,
                    config.udp_port as u32 + queues as u32
                ),
            ));
        }
        let OpenPort {
            port_id,
            name,
            mac,
            pools,
        } = port::open(config)?;
        let frame_max = ethernet::HEADER_LEN + config.mtu as usize;
        let shared_arp = SharedArp::default();
        Ok(pools
            .into_iter()
            .enumerate()
            .map(|(q, pool)| DpdkTransport {
                port_id,
                port_name: name.clone(),
                queue: q as u16,
                pool,
                mac,
                local: SocketAddrV4::new(config.local_ip, config.udp_port + q as u16),
                max_datagram: port::max_udp_payload(config.mtu),
                udp_checksum: config.udp_checksum,
                ip_ident: 0,
                arp: ArpTable::new(shared_arp.clone()),
                tx: Vec::with_capacity(BURST),
                released: Vec::new(),
                ask: Vec::new(),
                scratch: vec![0; frame_max.max(9216)],
                stats: DpdkStats::default(),
            })
            .collect())
    }

    /// Opens a one-queue port and returns its transport (see [`open`](Self::open)).
    pub fn open_single(config: &DpdkConfig) -> io::Result<DpdkTransport> {
        let mut config = config.clone();
        config.queues = 1;
        Ok(Self::open(&config)?.pop().expect("one queue"))
    }

    /// This port's MAC address.
    pub fn mac_addr(&self) -> MacAddr {
        self.mac
    }

    /// The DPDK port id and device name ("net_memif0", "0000:41:00.0").
    pub fn port(&self) -> (u16, &str) {
        (self.port_id, &self.port_name)
    }

    /// The queue pair this transport owns.
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Whether the port's link is up now (a memif pair is up once both sides
    /// connected; a veth once both ends are up). Costs one
    /// `rte_eth_link_get_nowait` call.
    pub fn link_up(&self) -> bool {
        let mut link = sys::rte_eth_link::default();
        // SAFETY: the port is valid and started; link is a valid out pointer.
        let rc = unsafe { sys::rte_eth_link_get_nowait(self.port_id, &mut link) };
        rc == 0 && link.link_status() == sys::RTE_ETH_LINK_UP as u16
    }

    /// Counters of this queue.
    pub fn stats(&self) -> &DpdkStats {
        &self.stats
    }

    /// The MAC address ARP resolved (or traffic taught) for `ip`, if any.
    pub fn resolved(&mut self, ip: Ipv4Addr) -> Option<MacAddr> {
        self.arp.lookup(ip)
    }

    /// Sends an ARP request for `ip` now (also done automatically when a
    /// datagram goes to an unresolved peer). False if no mbuf was free or the
    /// NIC queue was full.
    pub fn request_arp(&mut self, ip: Ipv4Addr) -> bool {
        self.send_arp(operation::REQUEST, MacAddr::BROADCAST, MacAddr::ZERO, ip)
    }

    fn send_arp(
        &mut self,
        op: u16,
        eth_dst: MacAddr,
        target_mac: MacAddr,
        target_ip: Ipv4Addr,
    ) -> bool {
        let Some(mut m) = Mbuf::alloc(self.pool) else {
            self.stats.tx_no_mbuf += 1;
            return false;
        };
        // 60 bytes: the Ethernet minimum without FCS (ARP is 28 + 14).
        let Some(bytes) = m.append(60) else {
            return false;
        };
        bytes.fill(0);
        let mut eth = EthernetFrame::new_unchecked(&mut bytes[..]);
        EthernetRepr {
            src_addr: self.mac,
            dst_addr: eth_dst,
            ethertype: ethertype::ARP,
        }
        .emit(&mut eth);
        ArpRepr {
            operation: op,
            sender_mac: self.mac,
            sender_ip: *self.local.ip(),
            target_mac,
            target_ip,
        }
        .emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
        let mut raw = m.into_raw();
        // SAFETY: raw is a valid mbuf we own; the queue was set up by port::open
        // and only this transport (one thread) uses it.
        let sent = unsafe { sys::tern_eth_tx_burst(self.port_id, self.queue, &mut raw, 1) };
        if sent == 0 {
            // SAFETY: the NIC did not take it, so we still own it.
            drop(unsafe { Mbuf::from_raw(NonNull::new_unchecked(raw)) });
            self.stats.tx_ring_full += 1;
            return false;
        }
        match op {
            operation::REQUEST => self.stats.arp_requests_sent += 1,
            _ => self.stats.arp_replies_sent += 1,
        }
        true
    }

    /// Builds the frame for `d` in a fresh mbuf, destination MAC left for the
    /// caller. None when no mbuf is free.
    fn build(&mut self, d: &TxDatagram<'_>) -> Option<Mbuf> {
        let len = d.len();
        let mut m = Mbuf::alloc(self.pool)?;
        let bytes = m.append(HEADERS + len)?;
        let mut eth = EthernetFrame::new_unchecked(&mut bytes[..]);
        eth.set_src_addr(self.mac);
        eth.set_ethertype(ethertype::IPV4);
        self.ip_ident = self.ip_ident.wrapping_add(1);
        let mut ip = Ipv4Packet::new_unchecked(eth.payload_mut());
        Ipv4Repr {
            src_addr: *self.local.ip(),
            dst_addr: *d.peer.ip(),
            protocol: protocol::UDP,
            ident: self.ip_ident,
            ttl: TTL,
            payload_len: udp::HEADER_LEN + len,
        }
        .emit(&mut ip);
        let mut udp = UdpPacket::new_unchecked(ip.payload_mut());
        UdpRepr {
            src_port: self.local.port(),
            dst_port: d.peer.port(),
            payload_len: len,
        }
        .emit(&mut udp);
        let payload = udp.payload_mut();
        payload[..d.header.len()].copy_from_slice(d.header);
        payload[d.header.len()..].copy_from_slice(d.payload);
        if self.udp_checksum {
            udp.fill_checksum(*self.local.ip(), *d.peer.ip());
        }
        Some(m)
    }

    /// Puts `self.tx` on the wire; returns how many the NIC took and frees
    /// the rest.
    fn flush_tx(&mut self) -> usize {
        let n = self.tx.len();
        let mut sent = 0;
        // A full TX ring usually drains within a few polls; try a few times
        // before giving the rest back.
        for _ in 0..4 {
            if sent == n {
                break;
            }
            // SAFETY: tx[sent..] are valid mbufs we own; the queue is ours.
            sent += unsafe {
                sys::tern_eth_tx_burst(
                    self.port_id,
                    self.queue,
                    self.tx.as_mut_ptr().add(sent),
                    (n - sent) as u16,
                )
            } as usize;
        }
        for &raw in &self.tx[sent..] {
            // SAFETY: the NIC did not take these; we still own them.
            drop(unsafe { Mbuf::from_raw(NonNull::new_unchecked(raw)) });
        }
        self.stats.tx_frames += sent as u64;
        self.stats.tx_ring_full += (n - sent) as u64;
        self.tx.clear();
        sent
    }

    /// Sends frames released by ARP resolution and repeats due ARP requests.
    fn service_arp(&mut self) {
        if self.arp.has_held() {
            let mut ask = std::mem::take(&mut self.ask);
            self.arp.tick(Instant::now(), &mut ask, &mut self.released);
            for ip in ask.drain(..) {
                self.request_arp(ip);
            }
            self.ask = ask;
        }
        if !self.released.is_empty() {
            for m in self.released.drain(..) {
                self.tx.push(m.into_raw());
            }
            self.flush_tx();
        }
        self.stats.arp_held_dropped = self.arp.dropped;
    }

    /// Handles one received frame: ARP is answered or learnt from; a UDP
    /// datagram for us is pushed into `out`. Returns whether `out` got one.
    fn handle_frame(&mut self, m: &Mbuf, out: &mut RxBatch) -> bool {
        let mut scratch = std::mem::take(&mut self.scratch);
        let pushed = match m.bytes(&mut scratch) {
            Some(bytes) => self.handle_bytes(bytes, m.ol_flags(), out),
            None => {
                self.stats.rx_malformed += 1;
                false
            }
        };
        self.scratch = scratch;
        pushed
    }

    fn handle_bytes(&mut self, bytes: &[u8], ol_flags: u64, out: &mut RxBatch) -> bool {
        let Ok(eth) = EthernetFrame::new_checked(bytes) else {
            self.stats.rx_malformed += 1;
            return false;
        };
        let dst = eth.dst_addr();
        if dst != self.mac && dst != MacAddr::BROADCAST {
            self.stats.rx_not_for_us += 1;
            return false;
        }
        match eth.ethertype() {
            ethertype::IPV4 => self.handle_ipv4(eth.src_addr(), eth.payload(), ol_flags, out),
            ethertype::ARP => {
                self.handle_arp(eth.payload());
                false
            }
            _ => {
                self.stats.rx_not_for_us += 1;
                false
            }
        }
    }

    fn handle_arp(&mut self, bytes: &[u8]) {
        let Ok(arp) = ArpPacket::new_checked(bytes).and_then(|p| ArpRepr::parse(&p)) else {
            self.stats.rx_malformed += 1;
            return;
        };
        let me = *self.local.ip();
        let (sender_ip, sender_mac) = (arp.sender_ip, arp.sender_mac);
        // Learn from any ARP naming us, and refresh peers we already know.
        if (arp.target_ip == me || self.arp.lookup(sender_ip).is_some())
            && self.arp.learn(sender_ip, sender_mac)
        {
            self.arp
                .take_held(sender_ip, sender_mac, &mut self.released);
        }
        if arp.operation == operation::REQUEST && arp.target_ip == me {
            self.send_arp(operation::REPLY, sender_mac, sender_mac, sender_ip);
        }
        self.stats.rx_arp += 1;
    }

    fn handle_ipv4(
        &mut self,
        src_mac: MacAddr,
        bytes: &[u8],
        ol_flags: u64,
        out: &mut RxBatch,
    ) -> bool {
        let Ok(ip) = Ipv4Packet::new_checked(bytes) else {
            self.stats.rx_malformed += 1;
            return false;
        };
        if ip.dst_addr() != *self.local.ip() || ip.protocol() != protocol::UDP {
            self.stats.rx_not_for_us += 1;
            return false;
        }
        let ip_ok = ol_flags & sys::RTE_MBUF_F_RX_IP_CKSUM_MASK as u64
            == sys::RTE_MBUF_F_RX_IP_CKSUM_GOOD as u64;
        if ip.is_fragment() || !(ip_ok || ip.verify_checksum()) {
            self.stats.rx_malformed += 1;
            return false;
        }
        let Ok(udp) = UdpPacket::new_checked(ip.payload()) else {
            self.stats.rx_malformed += 1;
            return false;
        };
        if udp.dst_port() != self.local.port() {
            self.stats.rx_not_for_us += 1;
            return false;
        }
        let l4_ok = ol_flags & sys::RTE_MBUF_F_RX_L4_CKSUM_MASK as u64
            == sys::RTE_MBUF_F_RX_L4_CKSUM_GOOD as u64;
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        if !(l4_ok || udp.verify_checksum(src, dst)) {
            self.stats.rx_malformed += 1;
            return false;
        }
        if self.arp.learn(src, src_mac) {
            self.arp.take_held(src, src_mac, &mut self.released);
        }
        let peer = SocketAddrV4::new(src, udp.src_port());
        if !out.push(peer, udp.payload()) {
            self.stats.rx_too_large += 1;
            return false;
        }
        self.stats.rx_datagrams += 1;
        true
    }
}

impl Drop for DpdkTransport {
    fn drop(&mut self) {
        // Held and released frames are Mbufs and free themselves; `tx` is
        // always empty between calls. The port and its pools stay for the
        // process's life (see port.rs).
        debug_assert!(self.tx.is_empty());
    }
}

impl Transport for DpdkTransport {
    fn max_datagram(&self) -> usize {
        self.max_datagram
    }

    fn local_addr(&self) -> SocketAddrV4 {
        self.local
    }

    fn send(&mut self, batch: &[TxDatagram<'_>]) -> io::Result<usize> {
        eal::register_thread();
        let mut done = 0;
        let mut now = None;
        while done < batch.len() {
            let chunk = &batch[done..batch.len().min(done + BURST)];
            // Index in `batch` of each frame in `self.tx`, to report how many
            // datagrams went when the NIC takes only some. (Datagrams held
            // for ARP past that point are reported as not taken and may be
            // sent twice if the caller retries them; the protocol tolerates
            // duplicates.)
            let mut tx_index = [0usize; BURST];
            let mut consumed = 0;
            let mut out_of_mbufs = false;
            for (i, d) in chunk.iter().enumerate() {
                if d.len() > self.max_datagram {
                    // Report what went before it; the oversized one is the
                    // error of the next call.
                    let frames = self.tx.len();
                    let sent = self.flush_tx();
                    if sent < frames {
                        return Ok(tx_index[sent]);
                    }
                    if done + i > 0 {
                        return Ok(done + i);
                    }
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "datagram of {} B exceeds max_datagram {}",
                            d.len(),
                            self.max_datagram
                        ),
                    ));
                }
                let Some(mut m) = self.build(d) else {
                    self.stats.tx_no_mbuf += 1;
                    out_of_mbufs = true;
                    break;
                };
                let peer_ip = *d.peer.ip();
                let dst = if peer_ip.is_broadcast() {
                    Some(MacAddr::BROADCAST)
                } else {
                    self.arp.lookup(peer_ip)
                };
                match dst {
                    Some(mac) => {
                        m.first_segment_mut()[..6].copy_from_slice(&mac.0);
                        tx_index[self.tx.len()] = done + i;
                        self.tx.push(m.into_raw());
                    }
                    None => {
                        let t = *now.get_or_insert_with(Instant::now);
                        if self.arp.hold(peer_ip, m, t) {
                            self.request_arp(peer_ip);
                        }
                        self.stats.arp_held += 1;
                    }
                }
                consumed = i + 1;
            }
            let frames = self.tx.len();
            let sent = self.flush_tx();
            if sent < frames {
                return Ok(tx_index[sent]);
            }
            done += consumed;
            if out_of_mbufs {
                break;
            }
        }
        self.service_arp();
        Ok(done)
    }

    fn recv(&mut self, out: &mut RxBatch) -> io::Result<usize> {
        eal::register_thread();
        out.clear();
        self.service_arp();
        let mut raw = [std::ptr::null_mut::<sys::rte_mbuf>(); BURST];
        let want = out.capacity().min(BURST) as u16;
        // SAFETY: raw has room for `want` pointers; the queue is ours.
        let n = unsafe { sys::tern_eth_rx_burst(self.port_id, self.queue, raw.as_mut_ptr(), want) }
            as usize;
        self.stats.rx_frames += n as u64;
        for &r in &raw[..n] {
            // SAFETY: rx_burst returned n valid mbufs that we now own.
            let m = unsafe { Mbuf::from_raw(NonNull::new_unchecked(r)) };
            self.handle_frame(&m, out);
        }
        if !self.released.is_empty() {
            self.service_arp();
        }
        Ok(out.len())
    }
}
