//! Hostile peers (issue 10, items 2-6): packets crafted by hand with the
//! `wire` views from a raw UDP socket, against a real endpoint served on its
//! own thread. Each test asserts what must hold whatever the attacker sends:
//! reassembly memory bounded by bytes received and by the budget, sessions
//! reclaimed so that a fresh client is accepted, at most one execution per
//! request slot, response packets bounded by credits, and live sessions
//! surviving spoofed connects. Each prints the figures it measured.

mod common;

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{CALL_TIMEOUT, loopback, pattern};
use tern_rpc::transport::udp::UdpTransport;
use tern_rpc::transport::{RxBatch, Transport, TxDatagram};
use tern_rpc::wire::connect::{ConnectPacket, ConnectRepr, ConnectStatus};
use tern_rpc::wire::response::{PREAMBLE_LEN, PreamblePacket, PreambleRepr};
use tern_rpc::wire::tern::{HEADER_LEN, PacketKind, TernPacket, TernRepr};
use tern_rpc::{
    Client, Ctl, Endpoint, EndpointConfig, EndpointStats, Event, IdleMode, IdleStrategy,
    IncomingRequest, RequestToken, Response, Service, Status,
};

/// Echoes the payload at once.
const ECHO: u16 = 1;
/// Held without an answer until the test releases it (a long execution).
const HOLD: u16 = 2;
/// Answered with a 1 MiB response.
const BIG: u16 = 3;
const BIG_LEN: usize = 1 << 20;

/// Payload bytes per packet with the default 1472-byte datagrams.
const CHUNK: usize = 1472 - HEADER_LEN;

/// What the test sees of the server while it runs.
#[derive(Default)]
struct Shared {
    /// The server's counters, published every round.
    stats: Mutex<EndpointStats>,
    /// Live sessions, published every round.
    sessions: AtomicU64,
    /// Requests the handler ran, by type.
    executions: Mutex<HashMap<u16, u64>>,
    /// Set to answer every held request.
    release: AtomicBool,
}

struct TestService {
    shared: Arc<Shared>,
    held: Vec<RequestToken>,
}

impl Service for TestService {
    fn on_request(&mut self, ctl: &mut Ctl<'_>, request: IncomingRequest<'_>) {
        *self
            .shared
            .executions
            .lock()
            .unwrap()
            .entry(request.req_type)
            .or_default() += 1;
        match request.req_type {
            ECHO => {
                let _ = ctl.respond(request.token, Response::ok(request.payload.into_owned()));
            }
            HOLD => self.held.push(request.token),
            BIG => {
                let _ = ctl.respond(request.token, Response::ok(pattern(BIG_LEN, 3)));
            }
            _ => {
                let _ = ctl.respond(request.token, Response::error(Status::NoSuchFunction));
            }
        }
    }

    fn poll(&mut self, ctl: &mut Ctl<'_>) -> bool {
        *self.shared.stats.lock().unwrap() = ctl.stats().clone();
        if self.shared.release.load(Ordering::Relaxed) {
            for t in self.held.drain(..) {
                let _ = ctl.respond(t, Response::ok(b"released".to_vec()));
            }
        }
        false
    }
}

/// A server endpoint with `config` served on its own thread.
struct Server {
    addr: SocketAddrV4,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Server {
    fn start(config: EndpointConfig) -> Server {
        let mut ep = Endpoint::new(UdpTransport::bind(loopback()).unwrap(), config);
        let addr = ep.local_addr();
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (shared2, stop2) = (shared.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let mut service = TestService {
                shared: shared2.clone(),
                held: Vec::new(),
            };
            // serve()'s loop written out, so that the session count (not
            // part of Ctl) can be published each round.
            let mut idle = IdleStrategy::new(IdleMode::Adaptive);
            while !stop2.load(Ordering::Relaxed) {
                let mut busy = ep.run_once(|ctl, event| {
                    if let Event::Request {
                        token,
                        req_type,
                        payload,
                    } = event
                    {
                        service.on_request(
                            ctl,
                            IncomingRequest {
                                token,
                                req_type,
                                payload,
                            },
                        );
                    }
                });
                busy |= service.poll(&mut ep.ctl());
                shared2
                    .sessions
                    .store(ep.session_count() as u64, Ordering::Relaxed);
                if busy {
                    idle.reset();
                } else {
                    idle.idle();
                }
            }
        });
        Server {
            addr,
            shared,
            stop,
            handle: Some(handle),
        }
    }

    fn stats(&self) -> EndpointStats {
        self.shared.stats.lock().unwrap().clone()
    }

    fn executions(&self, req_type: u16) -> u64 {
        *self
            .shared
            .executions
            .lock()
            .unwrap()
            .get(&req_type)
            .unwrap_or(&0)
    }

    fn sessions(&self) -> u64 {
        self.shared.sessions.load(Ordering::Relaxed)
    }

    /// Waits until the server has received `n` packets in all.
    fn wait_rx(&self, n: u64) {
        let deadline = Instant::now() + CALL_TIMEOUT;
        while self.stats().packets_rx < n {
            assert!(
                Instant::now() < deadline,
                "server received only {} of {n} packets",
                self.stats().packets_rx
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        // The round that received them has published its counters; one more
        // round has sent what they queued.
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A raw socket sending hand-made packets.
struct Raw {
    t: UdpTransport,
    rx: RxBatch,
    server: SocketAddrV4,
    /// Datagrams and bytes this socket sent.
    sent: u64,
    sent_bytes: u64,
}

/// A received packet: header and payload.
struct Got {
    hdr: TernRepr,
    payload: Vec<u8>,
}

impl Got {
    fn status(&self) -> Option<Status> {
        PreamblePacket::new_checked(&self.payload[..])
            .and_then(|p| PreambleRepr::parse(&p))
            .ok()
            .map(|p| p.status)
    }
}

impl Raw {
    fn new(server: SocketAddrV4) -> Raw {
        Raw {
            t: UdpTransport::bind(loopback()).unwrap(),
            rx: RxBatch::new(64, 2048),
            server,
            sent: 0,
            sent_bytes: 0,
        }
    }

    fn send(&mut self, hdr: TernRepr, payload: &[u8]) {
        let h = hdr.to_bytes();
        let d = [TxDatagram {
            peer: self.server,
            header: &h,
            payload,
        }];
        while self.t.send(&d).unwrap() == 0 {
            std::thread::yield_now();
        }
        self.sent += 1;
        self.sent_bytes += (h.len() + payload.len()) as u64;
    }

    /// Everything that arrives until `quiet` passes without a packet.
    fn drain(&mut self, quiet: Duration) -> Vec<Got> {
        let mut out = Vec::new();
        let mut last = Instant::now();
        while last.elapsed() < quiet {
            let n = self.t.recv(&mut self.rx).unwrap();
            for i in 0..n {
                let bytes = self.rx.get(i).1;
                if let Ok(p) = TernPacket::new_checked(bytes)
                    && let Ok(hdr) = TernRepr::parse(&p)
                {
                    out.push(Got {
                        hdr,
                        payload: p.payload().to_vec(),
                    });
                }
            }
            if n > 0 {
                last = Instant::now();
            } else {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        out
    }

    /// Sends a connect for our session `session` with `nonce` once.
    fn send_connect(&mut self, session: u16, nonce: u64) {
        let body = ConnectRepr {
            nonce,
            max_datagram: 1472,
            status: ConnectStatus::Accepted,
            server_session: 0,
        };
        self.send(
            header(PacketKind::Connect, session, 0, 0, 0),
            &body.to_bytes(),
        );
    }

    /// Connects our session `session` with `nonce`; returns the server's
    /// number, or None if refused.
    fn connect(&mut self, session: u16, nonce: u64) -> Option<u16> {
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            assert!(Instant::now() < deadline, "no connect-ack");
            self.send_connect(session, nonce);
            for g in self.drain(Duration::from_millis(20)) {
                if g.hdr.kind == PacketKind::ConnectAck && g.hdr.session == session {
                    let ack =
                        ConnectRepr::parse(&ConnectPacket::new_checked(&g.payload[..]).unwrap())
                            .unwrap();
                    return (ack.status == ConnectStatus::Accepted).then_some(ack.server_session);
                }
            }
        }
    }
}

fn header(kind: PacketKind, session: u16, pkt_num: u16, req_num: u32, msg_len: u32) -> TernRepr {
    TernRepr {
        kind,
        req_type: 0,
        session,
        pkt_num,
        req_num,
        msg_len,
    }
}

fn request(session: u16, req_type: u16, req_num: u32, pkt_num: u16, msg_len: u32) -> TernRepr {
    TernRepr {
        req_type,
        ..header(PacketKind::Request, session, pkt_num, req_num, msg_len)
    }
}

/// Resident set size of this process in KiB (the server runs in it).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// One blocking echo call from a fresh client endpoint.
fn fresh_call(server: SocketAddrV4) -> Result<Vec<u8>, tern_rpc::RpcError> {
    let mut c = Client::connect_udp(server, CALL_TIMEOUT)?;
    let r = c.call(ECHO, b"fresh".to_vec(), CALL_TIMEOUT)?;
    assert_eq!(r.status, Status::Ok);
    Ok(r.payload)
}

// ---------------------------------------------------------------- item 2

/// Item 2: the last packet of an 8 MiB request, in every slot of several
/// sessions, must cost about one packet each, not 8 MiB.
#[test]
fn claimed_length_costs_nothing_until_received() {
    let server = Server::start(EndpointConfig::default());
    let mut raw = Raw::new(server.addr);
    // 20 sessions x 8 slots: before the fix each zero-filled 8 MiB (the
    // issue saw 20 sessions OOM-kill the server in a 1 GiB cgroup).
    let sessions = 20u16;
    let rss_before = rss_kib();
    let msg_len = 8u32 << 20;
    let last = ((msg_len as usize).div_ceil(CHUNK) - 1) as u16;
    let last_len = msg_len as usize - last as usize * CHUNK;
    let body = vec![0xA5u8; last_len];
    for c in 0..sessions {
        let num = raw.connect(100 + c, 7).expect("accepted");
        for slot in 0..8 {
            raw.send(request(num, ECHO, slot, last, msg_len), &body);
        }
    }
    let sent = raw.sent;
    server.wait_rx(sent);
    let rss_after = rss_kib();
    let s = server.stats();
    eprintln!(
        "item 2: {} datagrams ({} B) claiming {} MiB each: RSS {} -> {} MiB (+{} MiB); server {s:?}",
        sent,
        raw.sent_bytes,
        msg_len >> 20,
        rss_before >> 10,
        rss_after >> 10,
        rss_after.saturating_sub(rss_before) >> 10
    );
    assert!(
        rss_after.saturating_sub(rss_before) < 32 << 10,
        "RSS grew {} KiB for {} B received",
        rss_after - rss_before,
        raw.sent_bytes
    );
    // What the server holds is what it received, plus 64 B of bookkeeping
    // per packet kept.
    assert!(
        s.reassembly_peak > 0 && s.reassembly_peak <= raw.sent_bytes + 64 * sent,
        "{s:?}"
    );
    drop(raw);
    assert!(fresh_call(server.addr).is_ok());
}

/// Sends packets `0..n` of request `req_num` (of `msg_len` bytes) on
/// server session `num`, pacing to the server.
fn send_prefix(raw: &mut Raw, server: &Server, num: u16, req_num: u32, msg_len: u32, n: u16) {
    let body = vec![0x5Au8; CHUNK];
    for pkt in 0..n {
        raw.send(request(num, ECHO, req_num, pkt, msg_len), &body);
        if pkt % 64 == 63 {
            server.wait_rx(raw.sent - 32);
            raw.drain(Duration::ZERO);
        }
    }
}

/// The last packet of request `req_num` (of `msg_len` bytes): the status
/// of the response it gets.
fn send_last(raw: &mut Raw, num: u16, req_num: u32, msg_len: u32) -> Option<Status> {
    let last = ((msg_len as usize).div_ceil(CHUNK) - 1) as u16;
    let len = msg_len as usize - last as usize * CHUNK;
    raw.send(request(num, ECHO, req_num, last, msg_len), &vec![0x5A; len]);
    raw.drain(Duration::from_millis(30))
        .iter()
        .find(|g| g.hdr.kind == PacketKind::Response && g.hdr.req_num == req_num)
        .and_then(Got::status)
}

/// Item 2: partly received requests in 16 slots, 58 KB each, against a
/// 256 KiB budget: the server holds at most the budget and refuses the
/// requests past it with rejected-overload.
#[test]
fn reassembly_memory_stays_within_the_budget() {
    let budget = 256 << 10;
    let server = Server::start(EndpointConfig {
        reassembly_budget: budget,
        ..Default::default()
    });
    let mut raw = Raw::new(server.addr);
    let msg_len = 1u32 << 20;
    let nums = [raw.connect(1, 3).unwrap(), raw.connect(2, 3).unwrap()];
    for &num in &nums {
        for slot in 0..8 {
            send_prefix(&mut raw, &server, num, slot, msg_len, 40);
        }
    }
    server.wait_rx(raw.sent);
    let held = server.stats();
    let mut rejected = 0;
    for &num in &nums {
        for slot in 0..8 {
            if send_last(&mut raw, num, slot, msg_len) == Some(Status::RejectedOverload) {
                rejected += 1;
            }
        }
    }
    let s = server.stats();
    eprintln!(
        "item 2: 16 requests x 40 packets against a {budget} B budget: held {} B (peak {}), \
         {} refused, {rejected} answered rejected-overload",
        held.reassembly_bytes, s.reassembly_peak, s.reassembly_rejected
    );
    assert!(s.reassembly_peak <= budget as u64, "{s:?}");
    assert!(s.reassembly_rejected >= 1, "{s:?}");
    assert_eq!(rejected, s.reassembly_rejected);
    assert!(fresh_call(server.addr).is_ok());
}

/// Item 2: a request that stops half-way is dropped after
/// `reassembly_timeout` and its memory freed; its last packet is then
/// answered rejected-overload.
#[test]
fn stalled_reassembly_is_dropped_after_its_timeout() {
    let server = Server::start(EndpointConfig {
        reassembly_timeout: Duration::from_millis(100),
        ..Default::default()
    });
    let mut raw = Raw::new(server.addr);
    let num = raw.connect(1, 3).unwrap();
    let msg_len = 1u32 << 20;
    send_prefix(&mut raw, &server, num, 0, msg_len, 10);
    server.wait_rx(raw.sent);
    let during = server.stats().reassembly_bytes;
    let deadline = Instant::now() + CALL_TIMEOUT;
    while server.stats().reassembly_bytes > 0 {
        assert!(Instant::now() < deadline, "reassembly never dropped");
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = send_last(&mut raw, num, 0, msg_len);
    let s = server.stats();
    eprintln!(
        "item 2: stalled request held {during} B, then {} B; timeouts {}, last packet {status:?}",
        s.reassembly_bytes, s.reassembly_timeouts
    );
    assert!(during >= 10 * CHUNK as u64);
    assert_eq!(s.reassembly_timeouts, 1);
    assert_eq!(status, Some(Status::RejectedOverload));
    assert_eq!(server.executions(ECHO), 0);
}

// ---------------------------------------------------------------- item 3

/// Item 3: connects for 5,000 session numbers from one socket (more than
/// the 4,096 slots) must not lock out a fresh client.
#[test]
fn connect_flood_does_not_lock_out_a_fresh_client() {
    let server = Server::start(EndpointConfig::default());
    let mut raw = Raw::new(server.addr);
    let flood = 5_000u16;
    for s in 0..flood {
        raw.send_connect(s, 99);
        if s % 256 == 255 {
            // Pace to the server so that the socket buffer drops nothing.
            server.wait_rx(raw.sent - 128);
            raw.drain(Duration::ZERO);
        }
    }
    server.wait_rx(raw.sent);
    let acks = raw.drain(Duration::from_millis(50));
    let refused = acks
        .iter()
        .filter(|g| {
            g.hdr.kind == PacketKind::ConnectAck
                && ConnectPacket::new_checked(&g.payload[..])
                    .and_then(|p| ConnectRepr::parse(&p))
                    .is_ok_and(|a| a.status == ConnectStatus::Refused)
        })
        .count();
    let flood_end = Instant::now();
    let fresh = fresh_call(server.addr);
    let took = flood_end.elapsed();
    let s = server.stats();
    eprintln!(
        "item 3: {flood} connects, {refused} refused, then a fresh client: {:?} after {took:?}; \
         sessions {}; server {s:?}",
        fresh
            .as_ref()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        server.sessions()
    );
    assert_eq!(fresh.expect("fresh client served"), b"fresh");
    assert!(s.sessions_evicted >= 1, "{s:?}");
}

/// Item 3: idle server sessions, half-open ones included, are reclaimed
/// after `session_idle_timeout`.
#[test]
fn idle_sessions_expire() {
    let server = Server::start(EndpointConfig {
        session_idle_timeout: Duration::from_millis(200),
        ..Default::default()
    });
    let mut raw = Raw::new(server.addr);
    let n = 100u16;
    for c in 0..n {
        raw.send_connect(c, 5);
    }
    // Half of them established by a request.
    server.wait_rx(raw.sent);
    let acks = raw.drain(Duration::from_millis(20));
    for g in acks
        .iter()
        .filter(|g| g.hdr.kind == PacketKind::ConnectAck && g.hdr.session % 2 == 0)
    {
        let ack = ConnectRepr::parse(&ConnectPacket::new_checked(&g.payload[..]).unwrap()).unwrap();
        raw.send(request(ack.server_session, ECHO, 0, 0, 1), b"x");
    }
    server.wait_rx(raw.sent);
    let live = server.sessions();
    let start = Instant::now();
    let deadline = start + CALL_TIMEOUT;
    while server.sessions() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} sessions never expired",
            server.sessions()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = start.elapsed();
    let s = server.stats();
    eprintln!("item 3: {live} sessions, all expired {took:?} after the last packet; server {s:?}");
    assert_eq!(live, n as u64);
    assert_eq!(s.sessions_expired, n as u64);
    assert_eq!(server.executions(ECHO), n as u64 / 2);
}

// ---------------------------------------------------------------- item 4

/// Item 4: request numbers 0, 8, 16, ... on one session all fall in slot 0;
/// while its request executes, none of the others may run.
#[test]
fn one_slot_runs_one_request_at_a_time() {
    let server = Server::start(EndpointConfig::default());
    let mut raw = Raw::new(server.addr);
    let num = raw.connect(5, 11).expect("accepted");
    let n = 3_000u32;
    let mut answers = Vec::new();
    for i in 0..n {
        raw.send(request(num, HOLD, i * 8, 0, 8), &u64::from(i).to_le_bytes());
        if i % 256 == 255 {
            server.wait_rx(raw.sent - 128);
            answers.extend(raw.drain(Duration::ZERO));
        }
    }
    server.wait_rx(raw.sent);
    answers.extend(raw.drain(Duration::from_millis(50)));
    let executed = server.executions(HOLD);
    let refused = answers
        .iter()
        .filter(|g| {
            g.hdr.kind == PacketKind::Response && g.status() == Some(Status::RejectedOverload)
        })
        .count();
    // Requests of another session are not held up by them.
    let fresh = fresh_call(server.addr);
    server.shared.release.store(true, Ordering::Relaxed);
    let s = server.stats();
    eprintln!(
        "item 4: {n} requests in slot 0 of one session: {executed} executed, {refused} answered \
         rejected-overload; fresh client {:?}; server {s:?}",
        fresh.is_ok()
    );
    assert_eq!(executed, 1, "one slot, one request executing");
    assert_eq!(refused as u32, n - 1);
    assert_eq!(s.requests_refused_busy, u64::from(n - 1));
    assert!(fresh.is_ok());
}

// ---------------------------------------------------------------- item 5

/// Item 5: asking 20 times for the 719 further packets of a 1 MiB response
/// must not send more than the credits allow per ask, nor more than twice
/// the response in all; and server session numbers are not sequential.
#[test]
fn request_for_response_is_bounded_by_credits() {
    let config = EndpointConfig::default();
    let credits = config.credits as u64;
    let server = Server::start(config);
    let mut raw = Raw::new(server.addr);
    let num = raw.connect(9, 13).expect("accepted");
    raw.send(request(num, BIG, 0, 0, 0), &[]);
    server.wait_rx(raw.sent);
    let first = raw.drain(Duration::from_millis(20));
    assert!(
        first
            .iter()
            .any(|g| g.hdr.kind == PacketKind::Response && g.hdr.pkt_num == 0)
    );
    let resp_len = (BIG_LEN + PREAMBLE_LEN) as u32;
    let pkts = (resp_len as usize).div_ceil(CHUNK) as u64;
    let tx_before = server.stats().packets_tx;
    let bytes_before = server.stats().bytes_tx;
    let (sent_before, sent_bytes_before) = (raw.sent, raw.sent_bytes);
    let asks = 20u64;
    let mut got = 0u64;
    for _ in 0..asks {
        let mut h = header(PacketKind::RequestForResponse, num, 1, 0, pkts as u32 - 1);
        h.req_type = BIG;
        raw.send(h, &[]);
        server.wait_rx(raw.sent);
        got += raw
            .drain(Duration::from_millis(5))
            .iter()
            .filter(|g| g.hdr.kind == PacketKind::Response)
            .count() as u64;
    }
    let s = server.stats();
    let (tx, bytes) = (s.packets_tx - tx_before, s.bytes_tx - bytes_before);
    let asked_bytes = raw.sent_bytes - sent_bytes_before;
    eprintln!(
        "item 5: {asks} asks for {} packets ({asked_bytes} B): server sent {tx} packets, {bytes} B \
         (x{:.0}); attacker received {got}",
        pkts - 1,
        bytes as f64 / asked_bytes as f64
    );
    assert_eq!(raw.sent - sent_before, asks);
    assert!(s.response_packets_refused > 0);
    assert!(
        tx <= asks * credits,
        "{tx} packets for {asks} asks of {credits} credits"
    );
    assert!(
        tx <= 2 * pkts + credits,
        "{tx} packets for a response of {pkts}"
    );

    // Session numbers: 64 connects from one socket.
    let nums: Vec<u16> = (0..64)
        .map(|i| raw.connect(1000 + i, 13).unwrap())
        .collect();
    let sequential = nums
        .windows(2)
        .filter(|w| w[1] == w[0].wrapping_add(1))
        .count();
    eprintln!(
        "item 5: server session numbers {:?}..., {sequential} of 63 sequential",
        &nums[..6]
    );
    assert!(sequential < 8, "session numbers are predictable: {nums:?}");
}

// ---------------------------------------------------------------- item 6

/// Item 6: connects with a new nonce from a client's address (what a
/// spoofer sends) leave its live sessions working; only a restart proved by
/// the new session's first request resets the session it names.
#[test]
fn spoofed_connects_do_not_reset_live_sessions() {
    let server = Server::start(EndpointConfig::default());
    let mut raw = Raw::new(server.addr);
    let nonce = 21;
    let live: Vec<(u16, u16)> = (0..8)
        .map(|c| (c, raw.connect(c, nonce).unwrap()))
        .collect();
    let echo_on = |raw: &mut Raw, num: u16, req_num: u32| -> Vec<Got> {
        raw.send(request(num, ECHO, req_num, 0, 2), b"hi");
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let got = raw.drain(Duration::from_millis(20));
            if !got.is_empty() || Instant::now() > deadline {
                return got;
            }
            raw.send(request(num, ECHO, req_num, 0, 2), b"hi");
        }
    };
    let has = |got: &[Got], kind: PacketKind| got.iter().any(|g| g.hdr.kind == kind);
    // Whether server session `num` still answers an echo.
    let answers = |raw: &mut Raw, num: u16, req_num: u32| {
        has(&echo_on(raw, num, req_num), PacketKind::Response)
    };
    for &(_, num) in &live {
        assert!(answers(&mut raw, num, 0));
    }
    // Five spoofed connects with new nonces, naming live client sessions
    // (and one naming none).
    for (i, c) in [0u16, 1, 2, 3, 500].into_iter().enumerate() {
        raw.send_connect(c, 1000 + i as u64);
    }
    server.wait_rx(raw.sent);
    raw.drain(Duration::from_millis(20));
    let alive = live
        .iter()
        .filter(|&&(_, num)| answers(&mut raw, num, 8))
        .count();
    let s = server.stats();
    eprintln!(
        "item 6: after 5 spoofed connects, {alive} of {} sessions still answer; sessions_reset {}",
        live.len(),
        s.sessions_reset
    );
    assert_eq!(alive, live.len());
    assert_eq!(s.sessions_reset, 0);

    // A real restart of client session 0's endpoint: a connect with a new
    // nonce naming it, then a request on the new session (possible only
    // with its connect-ack). Now the old session 0 is gone, and only it
    // (and the spoofed session that named it between).
    let renewed = raw.connect(0, 5000).unwrap();
    assert!(answers(&mut raw, renewed, 0));
    let old = echo_on(&mut raw, live[0].1, 16);
    assert!(has(&old, PacketKind::Reset), "old session 0 was reset");
    let still = live[1..]
        .iter()
        .filter(|&&(_, num)| answers(&mut raw, num, 16))
        .count();
    let s = server.stats();
    eprintln!(
        "item 6: after a proven restart naming session 0: {still} of {} others answer; \
         sessions_reset {}",
        live.len() - 1,
        s.sessions_reset
    );
    assert_eq!(still, live.len() - 1);
    assert_eq!(
        s.sessions_reset, 2,
        "old session 0 and the spoofed one that named it"
    );
}
