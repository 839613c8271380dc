//! 100,000 RPCs under 5% drop + 5% duplication + 5% reordering (both
//! directions) complete with correct payloads, and none runs twice.

mod common;

use std::time::Duration;

use common::*;
use tern_rpc::transport::fault::{FaultConfig, FaultDirection, FaultInjector, FaultStats};
use tern_rpc::transport::udp::UdpTransport;
use tern_rpc::{Endpoint, EndpointConfig, EndpointStats, Status};

/// What one run under faults leaves to assert on.
struct FaultyRun {
    client: EndpointStats,
    injected: FaultStats,
    server: ServerReport,
}

/// Runs `total` COUNTED requests (`body(tag)`, which starts with the tag as
/// the request's id) over `sessions` sessions from a client whose socket
/// injects `faults` to an echo server, both retransmitting after
/// `retransmit_timeout`. Checks every response (ok, service times 1 and
/// 2 ns, the payload reversed), each tag answered once, and each request
/// executed exactly once on the server. Panics when `limit` passes.
fn counted_under_faults(
    retransmit_timeout: Duration,
    faults: FaultConfig,
    sessions: usize,
    total: u64,
    limit: Duration,
    body: impl Fn(u64) -> Vec<u8>,
) -> FaultyRun {
    let config = EndpointConfig {
        retransmit_timeout,
        // Faults alone never need this many rounds; a loaded machine
        // stalling the server thread for a while must not fail the test.
        max_retransmits: 1_000,
        ..Default::default()
    };
    let server = EchoServer::start(config.clone());
    let transport = FaultInjector::new(UdpTransport::bind(loopback()).unwrap(), faults);
    let mut ep = Endpoint::new(transport, config);
    let ids = connect_all(&mut ep, server.addr, sessions);
    run_closed_loop(
        &mut ep,
        &ids,
        total,
        limit,
        |tag| (COUNTED, body(tag)),
        |tag, resp| {
            assert_eq!(resp.status, Status::Ok);
            assert_eq!((resp.queue_ns, resp.exec_ns), (1, 2));
            let mut expect = body(tag);
            expect.reverse();
            assert!(resp.payload == expect, "wrong payload for tag {tag}");
        },
    );
    let run = FaultyRun {
        client: ep.stats().clone(),
        injected: ep.transport().stats(),
        server: server.stop(),
    };
    // Every request ran exactly once.
    let executions = &run.server.executions;
    assert_eq!(executions.len() as u64, total);
    let twice: Vec<_> = executions.iter().filter(|&(_, &n)| n != 1).collect();
    assert!(twice.is_empty(), "executed more than once: {twice:?}");
    assert_eq!(run.server.stats.requests_received, total);
    assert_eq!(run.client.requests_failed, 0);
    run
}

/// The tag as the request's id, then `len` pattern bytes.
fn counted_body(tag: u64, len: usize) -> Vec<u8> {
    let mut p = tag.to_le_bytes().to_vec();
    p.extend_from_slice(&pattern(len, tag));
    p
}

#[test]
fn hundred_thousand_rpcs_under_drop_duplication_and_reordering() {
    let faults = FaultConfig {
        drop: 0.05,
        duplicate: 0.05,
        reorder: 0.05,
        reorder_window: Duration::from_micros(300),
        seed: 0x7e57,
        direction: FaultDirection::Both,
        ..Default::default()
    };
    // Every 50th request spans several packets.
    let run = counted_under_faults(
        Duration::from_millis(20),
        faults,
        16,
        100_000,
        Duration::from_secs(600),
        |tag| {
            counted_body(
                tag,
                if tag.is_multiple_of(50) {
                    5_000
                } else {
                    (tag % 64) as usize
                },
            )
        },
    );
    // The faults really happened and were recovered from.
    let (injected, client, server) = (run.injected, run.client, run.server.stats);
    assert!(
        injected.dropped > 1_000 && injected.duplicated > 1_000 && injected.reordered > 1_000,
        "{injected:?}"
    );
    assert!(client.retransmits > 0, "{client:?}");
    assert!(server.duplicates_suppressed > 0, "{server:?}");
    eprintln!("client {client:?}\nserver {server:?}\nfaults {injected:?}");
}

#[test]
fn delayed_datagrams_and_multi_packet_messages_survive() {
    // Delays longer than the retransmission timeout make the client resend
    // while the originals are still on their way: both copies arrive, and
    // the request still runs once.
    let faults = FaultConfig {
        delay_probability: 0.2,
        delay: Duration::from_millis(5),
        drop: 0.01,
        seed: 99,
        direction: FaultDirection::Both,
        ..Default::default()
    };
    let run = counted_under_faults(
        Duration::from_millis(2),
        faults,
        2,
        400,
        Duration::from_secs(300),
        |tag| counted_body(tag, if tag.is_multiple_of(4) { 100_000 } else { 10 }),
    );
    assert!(run.injected.delayed > 100);
}
