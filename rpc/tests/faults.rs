//! 100,000 RPCs under 5% drop + 5% duplication + 5% reordering (both
//! directions) complete with correct payloads, and none runs twice.

mod common;

use std::time::Duration;

use common::*;
use tern_rpc::transport::fault::{FaultConfig, FaultDirection, FaultInjector};
use tern_rpc::transport::udp::UdpTransport;
use tern_rpc::{Endpoint, EndpointConfig, SessionId, Status};

/// A client endpoint with `config` whose socket injects `faults`, with
/// `sessions` sessions connected to `server`.
fn faulty_client(
    server: &EchoServer,
    config: EndpointConfig,
    faults: FaultConfig,
    sessions: usize,
) -> (Endpoint<FaultInjector<UdpTransport>>, Vec<SessionId>) {
    let transport = FaultInjector::new(UdpTransport::bind(loopback()).unwrap(), faults);
    let mut ep = Endpoint::new(transport, config);
    let ids = connect_all(&mut ep, server.addr, sessions);
    (ep, ids)
}

/// Request `tag`: its id, then a body; every 50th spans several packets.
fn request(tag: u64) -> Vec<u8> {
    let len = if tag.is_multiple_of(50) {
        5_000
    } else {
        (tag % 64) as usize
    };
    let mut p = tag.to_le_bytes().to_vec();
    p.extend_from_slice(&pattern(len, tag));
    p
}

#[test]
fn hundred_thousand_rpcs_under_drop_duplication_and_reordering() {
    let config = EndpointConfig {
        retransmit_timeout: Duration::from_millis(20),
        // Faults alone never need this many rounds; a loaded machine
        // stalling the server thread for a while must not fail the test.
        max_retransmits: 1_000,
        ..Default::default()
    };
    let server = EchoServer::start(config.clone());
    let faults = FaultConfig {
        drop: 0.05,
        duplicate: 0.05,
        reorder: 0.05,
        reorder_window: Duration::from_micros(300),
        seed: 0x7e57,
        direction: FaultDirection::Both,
        ..Default::default()
    };
    let (mut ep, sessions) = faulty_client(&server, config, faults, 16);
    let total = 100_000u64;
    let mut answered = vec![false; total as usize];
    run_closed_loop(
        &mut ep,
        &sessions,
        total,
        Duration::from_secs(600),
        |tag| (COUNTED, request(tag)),
        |tag, resp| {
            assert_eq!(resp.status, Status::Ok);
            assert_eq!((resp.queue_ns, resp.exec_ns), (1, 2));
            let mut expect = request(tag);
            expect.reverse();
            assert!(resp.payload == expect, "wrong payload for tag {tag}");
            assert!(
                !std::mem::replace(&mut answered[tag as usize], true),
                "tag {tag} answered twice"
            );
        },
    );
    let client_stats = ep.stats().clone();
    let injected = ep.transport().stats();
    let report = server.stop();

    // Every request ran exactly once.
    assert_eq!(report.executions.len() as u64, total);
    let twice: Vec<_> = report.executions.iter().filter(|&(_, &n)| n != 1).collect();
    assert!(twice.is_empty(), "executed more than once: {twice:?}");
    assert_eq!(report.stats.requests_received, total);
    // The faults really happened and were recovered from.
    assert!(
        injected.dropped > 1_000 && injected.duplicated > 1_000 && injected.reordered > 1_000,
        "{injected:?}"
    );
    assert!(client_stats.retransmits > 0, "{client_stats:?}");
    assert!(report.stats.duplicates_suppressed > 0, "{:?}", report.stats);
    assert_eq!(client_stats.requests_failed, 0);
    eprintln!(
        "client {client_stats:?}\nserver {:?}\nfaults {injected:?}",
        report.stats
    );
}

#[test]
fn delayed_datagrams_and_multi_packet_messages_survive() {
    // Delays longer than the retransmission timeout make the client resend
    // while the originals are still on their way: both copies arrive, and
    // the request still runs once.
    let config = EndpointConfig {
        retransmit_timeout: Duration::from_millis(2),
        max_retransmits: 1_000,
        ..Default::default()
    };
    let server = EchoServer::start(config.clone());
    let faults = FaultConfig {
        delay_probability: 0.2,
        delay: Duration::from_millis(5),
        drop: 0.01,
        seed: 99,
        direction: FaultDirection::Both,
        ..Default::default()
    };
    let (mut ep, sessions) = faulty_client(&server, config, faults, 2);
    let total = 400u64;
    let body = |tag: u64| {
        let mut p = tag.to_le_bytes().to_vec();
        p.extend_from_slice(&pattern(
            if tag.is_multiple_of(4) { 100_000 } else { 10 },
            tag,
        ));
        p
    };
    run_closed_loop(
        &mut ep,
        &sessions,
        total,
        Duration::from_secs(300),
        |tag| (COUNTED, body(tag)),
        |tag, resp| {
            let mut expect = body(tag);
            expect.reverse();
            assert!(resp.payload == expect, "wrong payload for tag {tag}");
        },
    );
    assert!(ep.transport().stats().delayed > 100);
    let report = server.stop();
    assert_eq!(report.executions.len() as u64, total);
    assert!(report.executions.values().all(|&n| n == 1));
}
