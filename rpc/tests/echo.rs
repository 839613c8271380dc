//! Echo of messages from 0 B to 8 MiB over real loopback sockets, and the
//! blocking client.

mod common;

use common::*;
use tern_rpc::{Client, EndpointConfig, Status};

#[test]
fn a_client_hands_over_its_connected_endpoint() {
    let server = EchoServer::start(EndpointConfig::default());
    let client = Client::connect_udp(server.addr, CALL_TIMEOUT).expect("connect");
    let (mut ep, s) = client.into_parts();
    assert!(ep.is_connected(s));
    assert_eq!(ep.peer_of(s), Some(server.addr));
    let sessions = [s];
    run_closed_loop(
        &mut ep,
        &sessions,
        3,
        CALL_TIMEOUT,
        |tag| (ECHO, pattern(10, tag)),
        |tag, resp| assert_eq!(resp.payload, pattern(10, tag)),
    );
    assert_eq!(server.stop().stats.requests_received, 3);
}

#[test]
fn echo_message_sizes_from_0_to_8_mib() {
    let server = EchoServer::start(EndpointConfig::default());
    let mut client = Client::connect_udp(server.addr, CALL_TIMEOUT).expect("connect");
    for (i, len) in [0usize, 1, 1024, 64 << 10, 1 << 20, 8 << 20]
        .into_iter()
        .enumerate()
    {
        echo(&mut client, &pattern(len, i as u64));
    }
    // Odd sizes around packet boundaries.
    let chunk = 1472 - 16;
    for len in [
        chunk - 1,
        chunk,
        chunk + 1,
        2 * chunk - 20,
        2 * chunk - 21,
        2 * chunk - 19,
        3 * chunk,
    ] {
        echo(&mut client, &pattern(len, len as u64));
    }
    let resp = client.call(999, vec![1, 2, 3], CALL_TIMEOUT).unwrap();
    assert_eq!(resp.status, Status::NoSuchFunction);
    assert!(resp.payload.is_empty());
    let report = server.stop();
    assert_eq!(report.stats.malformed_dropped, 0);
    assert_eq!(report.stats.requests_received, 14);
}

#[test]
fn oversized_request_is_refused_locally() {
    let server = EchoServer::start(EndpointConfig::default());
    let mut client = Client::connect_udp(server.addr, CALL_TIMEOUT).unwrap();
    let err = client
        .call(ECHO, vec![0; (8 << 20) + 1], CALL_TIMEOUT)
        .unwrap_err();
    assert!(matches!(err, tern_rpc::RpcError::TooLarge { .. }), "{err}");
}

#[test]
fn server_with_smaller_limit_answers_too_large() {
    let server = EchoServer::start(EndpointConfig {
        max_message: 10_000,
        ..Default::default()
    });
    let mut client = Client::connect_udp(server.addr, CALL_TIMEOUT).unwrap();
    let resp = client.call(ECHO, vec![7; 50_000], CALL_TIMEOUT).unwrap();
    assert_eq!(resp.status, Status::TooLarge);
    let resp = client.call(ECHO, vec![7; 5_000], CALL_TIMEOUT).unwrap();
    assert_eq!(resp.status, Status::Ok);
    assert_eq!(resp.payload, vec![7; 5_000]);
}
