//! A server endpoint fed 1,000,000 random and truncated packets keeps
//! serving and counts every one of them as dropped.

mod common;

use std::net::SocketAddrV4;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use tern_rpc::transport::udp::UdpTransport;
use tern_rpc::transport::{RxBatch, Transport, TxDatagram};
use tern_rpc::wire::connect::{ConnectPacket, ConnectRepr, ConnectStatus};
use tern_rpc::wire::tern::{HEADER_LEN, MAGIC, PacketKind, TernPacket, TernRepr, VERSION};
use tern_rpc::{Client, EndpointConfig, Status};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Opens a session by hand and returns the server's number for it, so that
/// truncated packets can address a live session.
fn handshake(raw: &mut UdpTransport, server: SocketAddrV4) -> u16 {
    let hdr = TernRepr {
        kind: PacketKind::Connect,
        req_type: 0,
        session: 77,
        pkt_num: 0,
        req_num: 0,
        msg_len: 0,
    };
    let body = ConnectRepr {
        nonce: 42,
        max_datagram: 1472,
        status: ConnectStatus::Accepted,
        server_session: 0,
    };
    let (h, b) = (hdr.to_bytes(), body.to_bytes());
    let mut rx = RxBatch::new(8, 2048);
    let deadline = Instant::now() + CALL_TIMEOUT;
    loop {
        assert!(Instant::now() < deadline, "no connect-ack");
        raw.send(&[TxDatagram {
            peer: server,
            header: &h,
            payload: &b,
        }])
        .unwrap();
        std::thread::sleep(Duration::from_millis(5));
        for i in 0..raw.recv(&mut rx).unwrap() {
            let packet = TernPacket::new_checked(rx.get(i).1).unwrap();
            if TernRepr::parse(&packet).unwrap().kind == PacketKind::ConnectAck {
                let body = ConnectPacket::new_checked(packet.payload()).unwrap();
                return ConnectRepr::parse(&body).unwrap().server_session;
            }
        }
    }
}

/// One bad packet into `buf`: random bytes (half of them with a valid
/// magic/version byte pair so parsing gets further), or a valid packet for
/// the live session truncated by at least one byte.
fn bad_packet(rng: &mut Rng, live: u16, buf: &mut Vec<u8>) {
    buf.clear();
    match rng.below(4) {
        0 | 1 => {
            let len = rng.below(120) as usize;
            buf.extend((0..len).map(|_| rng.next() as u8));
            if rng.below(2) == 0 && len >= 2 {
                buf[0] = MAGIC;
                buf[1] = (VERSION << 4) | rng.below(8) as u8;
            }
        }
        _ => {
            let kinds = [
                PacketKind::Request,
                PacketKind::RequestForResponse,
                PacketKind::Connect,
                PacketKind::Response,
                PacketKind::CreditReturn,
            ];
            let kind = kinds[rng.below(kinds.len() as u64) as usize];
            let msg_len = 1 + rng.below(5000) as u32;
            let pkt_num =
                (rng.below(4) as u16).min(((msg_len as usize - 1) / (1472 - HEADER_LEN)) as u16);
            let hdr = TernRepr {
                kind,
                req_type: rng.next() as u16,
                session: live,
                pkt_num,
                req_num: rng.next() as u32,
                msg_len,
            };
            buf.extend_from_slice(&hdr.to_bytes());
            let full =
                (msg_len as usize - pkt_num as usize * (1472 - HEADER_LEN)).min(1472 - HEADER_LEN);
            // A real payload length for its position, then cut short.
            let body = match kind {
                PacketKind::Connect => tern_rpc::wire::connect::CONNECT_LEN,
                _ => full,
            };
            buf.extend((0..body).map(|_| rng.next() as u8));
            let cut = 1 + rng.below(buf.len() as u64) as usize;
            buf.truncate(buf.len() - cut);
        }
    }
}

#[test]
fn million_malformed_packets_are_dropped_and_the_server_keeps_serving() {
    let server = EchoServer::start(EndpointConfig::default());
    let mut raw = UdpTransport::bind(loopback()).unwrap();
    let live = handshake(&mut raw, server.addr);
    // A long retransmission timeout: the legit client never retransmits
    // spuriously, so every drop the server counts comes from the fuzzer.
    let config = EndpointConfig {
        retransmit_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let mut client = Client::connect_with(
        UdpTransport::bind(loopback()).unwrap(),
        server.addr,
        config,
        CALL_TIMEOUT,
    )
    .unwrap();
    let legit_before = server.packets_rx.load(Ordering::Relaxed);

    let total = 1_000_000u64;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut bufs: Vec<Vec<u8>> = (0..64).map(|_| Vec::with_capacity(2048)).collect();
    let mut rx = RxBatch::new(64, 2048);
    let mut fed = 0u64;
    let mut calls = 0;
    let start = Instant::now();
    while fed < total {
        let n = (total - fed).min(64) as usize;
        for b in bufs.iter_mut().take(n) {
            bad_packet(&mut rng, live, b);
        }
        let batch: Vec<TxDatagram<'_>> = bufs[..n]
            .iter()
            .map(|b| TxDatagram {
                peer: server.addr,
                header: b,
                payload: &[],
            })
            .collect();
        let mut sent = 0;
        while sent < n {
            sent += raw.send(&batch[sent..]).unwrap();
        }
        fed += n as u64;
        // Drain the resets the server sends back.
        while raw.recv(&mut rx).unwrap() > 0 {}
        // Pace: never more than a few thousand packets ahead of the server,
        // so the socket buffer never overflows and every packet is counted.
        let deadline = Instant::now() + CALL_TIMEOUT;
        while server.packets_rx.load(Ordering::Relaxed) + 4096 < legit_before + fed {
            assert!(Instant::now() < deadline, "server stopped reading");
            std::thread::yield_now();
        }
        // Interleave real calls: the server keeps serving.
        if fed.is_multiple_of(100_032) {
            let msg = pattern(3000, fed);
            let resp = client
                .call(ECHO, msg.clone(), CALL_TIMEOUT)
                .expect("call during fuzzing");
            assert_eq!(resp.status, Status::Ok);
            assert!(resp.payload == msg);
            calls += 1;
        }
    }
    let resp = client
        .call(ECHO, b"still here".to_vec(), CALL_TIMEOUT)
        .unwrap();
    assert_eq!(resp.payload, b"still here");
    let report = server.stop();
    let s = &report.stats;
    eprintln!(
        "fed {fed} in {:?} ({calls} calls between); server {s:?}",
        start.elapsed()
    );
    // Every fed packet arrived and was dropped: malformed, addressed to a
    // session that does not exist, or (a truncation that left a valid
    // header-only packet) for a request the session does not have.
    assert!(s.packets_rx >= legit_before + fed);
    assert_eq!(s.dropped(), fed);
    assert!(s.malformed_dropped > fed / 2, "{s:?}");
    assert_eq!(s.requests_received, calls + 1);
}
