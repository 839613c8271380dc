//! Fuzz target `endpoint`: whole datagrams from hostile peers into a real
//! [`Endpoint`], over an in-memory transport (no socket, no thread).
//!
//! The input is a script of datagrams, each `[control][len lo][len hi]
//! [bytes]`: the control byte's low 2 bits pick the sender (127.0.0.2,
//! ports 40000-40003), bit 2 asks the harness to write into the datagram's
//! session field (bytes 4..6) the session number the endpoint last gave
//! that peer (random numbers the fuzzer could not guess, so without this
//! it would never get past the session lookup), and bit 3 ends a receive
//! batch (one `run_once`). The endpoint serves (it echoes every request)
//! and is also a client of peer 3 (it connects at start and sends a
//! 3,000-byte request once connected), so both roles see hostile packets.
//!
//! Nothing may panic, and for everything the endpoint sends:
//!
//! - each datagram fits the transport's datagram size and starts with a
//!   valid Tern header; a connect or connect-ack carries a valid payload;
//! - it only sends to peers it heard from (and to peer 3, its server);
//! - no amplification: to each peer other than its server it sends at most
//!   `credits + 1` packets per packet received from that peer (a
//!   request-for-response yields at most `credits` packets; everything
//!   else answers one packet with one).

#![no_main]

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};

use libfuzzer_sys::fuzz_target;
use tern_rpc::transport::{RxBatch, Transport, TxDatagram};
use tern_rpc::wire::connect::{ConnectPacket, ConnectRepr};
use tern_rpc::wire::tern::{PacketKind, TernPacket, TernRepr};
use tern_rpc::{Endpoint, EndpointConfig, Event, Response};

const MAX_DATAGRAM: usize = 1472;
const PEER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const PATCH_SESSION: u8 = 0b100;
const END_BATCH: u8 = 0b1000;

fn peer(i: u8) -> SocketAddrV4 {
    SocketAddrV4::new(PEER_IP, 40_000 + u16::from(i & 3))
}

/// The peer the endpoint is a client of.
fn server() -> SocketAddrV4 {
    peer(3)
}

/// A transport that hands out queued datagrams and checks and records
/// what the endpoint sends.
#[derive(Default)]
struct MemTransport {
    inbox: VecDeque<(SocketAddrV4, Vec<u8>)>,
    received: HashMap<SocketAddrV4, usize>,
    sent: HashMap<SocketAddrV4, usize>,
    /// Per peer: the session number the endpoint last named as its own.
    own_session: HashMap<SocketAddrV4, u16>,
}

impl MemTransport {
    fn check_sent(&mut self, d: &TxDatagram<'_>) {
        assert!(d.len() <= MAX_DATAGRAM, "datagram of {} bytes", d.len());
        let mut bytes = d.header.to_vec();
        bytes.extend_from_slice(d.payload);
        let view = TernPacket::new_checked(&bytes[..]).expect("sent header is whole");
        let hdr = TernRepr::parse(&view).expect("sent header is valid");
        let payload = view.payload();
        match hdr.kind {
            PacketKind::Connect | PacketKind::ConnectAck => {
                let c = ConnectPacket::new_checked(payload)
                    .and_then(|p| ConnectRepr::parse(&p))
                    .expect("sent connect payload is valid");
                let own = if hdr.kind == PacketKind::Connect {
                    hdr.session
                } else {
                    c.server_session
                };
                self.own_session.insert(d.peer, own);
            }
            _ => {}
        }
        assert!(
            d.peer == server() || self.received.contains_key(&d.peer),
            "sent to {} which never sent anything",
            d.peer
        );
        *self.sent.entry(d.peer).or_default() += 1;
    }
}

impl Transport for MemTransport {
    fn max_datagram(&self) -> usize {
        MAX_DATAGRAM
    }

    fn local_addr(&self) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 31_850)
    }

    fn send(&mut self, batch: &[TxDatagram<'_>]) -> io::Result<usize> {
        for d in batch {
            self.check_sent(d);
        }
        Ok(batch.len())
    }

    fn recv(&mut self, out: &mut RxBatch) -> io::Result<usize> {
        out.clear();
        while let Some((from, bytes)) = self.inbox.pop_front() {
            if !out.push(from, &bytes) {
                self.inbox.push_front((from, bytes));
                break;
            }
        }
        Ok(out.len())
    }
}

/// One receive batch: the endpoint takes what is queued, serves, sends.
fn round(ep: &mut Endpoint<MemTransport>) {
    ep.run_once(|ctl, event| match event {
        Event::Request { token, payload, .. } => {
            let _ = ctl.respond(token, Response::ok(payload.into_owned()));
        }
        Event::Connected(s) => {
            let _ = ctl.send_request(s, 1, vec![0x5a; 3000], 7);
        }
        _ => {}
    });
}

fuzz_target!(|data: &[u8]| {
    let config = EndpointConfig {
        max_sessions: 64,
        ..EndpointConfig::default()
    };
    let credits = config.credits as usize;
    let mut ep = Endpoint::new(MemTransport::default(), config);
    let _ = ep.connect(server());
    round(&mut ep);
    let mut rest = data;
    while let [control, lo, hi, tail @ ..] = rest {
        let len = (usize::from(*lo) | usize::from(*hi) << 8).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        let from = peer(*control);
        let mut bytes = bytes.to_vec();
        let t = ep.transport_mut();
        if control & PATCH_SESSION != 0
            && bytes.len() >= 6
            && let Some(s) = t.own_session.get(&from)
        {
            bytes[4..6].copy_from_slice(&s.to_be_bytes());
        }
        *t.received.entry(from).or_default() += 1;
        t.inbox.push_back((from, bytes));
        if control & END_BATCH != 0 {
            round(&mut ep);
        }
    }
    round(&mut ep);
    round(&mut ep);
    let t = ep.transport();
    for (to, &sent) in &t.sent {
        if *to == server() {
            continue;
        }
        let received = t.received.get(to).copied().unwrap_or(0);
        assert!(
            sent <= (credits + 1) * received,
            "amplification: {sent} packets to {to} for {received} received"
        );
    }
});
