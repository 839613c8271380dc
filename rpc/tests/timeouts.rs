//! Retransmission timers: a request that runs far longer than the whole
//! retransmission budget still completes (the server answers probes with
//! "still executing"), and a vanished server makes requests fail with
//! `TimedOut` instead of hanging.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tern_rpc::{EndpointConfig, Event, Response, RpcError};

fn fast_timers() -> EndpointConfig {
    // Without answers a request would give up after 1+2+4+8 = 15 ms.
    EndpointConfig {
        retransmit_timeout: Duration::from_millis(1),
        max_retransmits: 3,
        ..Default::default()
    }
}

#[test]
fn long_running_request_is_kept_alive_by_probes() {
    let mut server = udp_endpoint(fast_timers());
    let mut client = udp_endpoint(fast_timers());
    let s = connect_pair(&mut client, &mut server);
    // Multi-packet request, so probes follow credit-returns.
    let msg = pattern(5_000, 1);
    client.send_request(s, ECHO, msg.clone(), 1).unwrap();
    let mut held = None;
    let mut executions = 0;
    let started = Instant::now();
    let response = step_pair_until(&mut client, &mut server, |_, server, events| {
        let mut done = None;
        for e in events {
            match e {
                Event::Request { token, payload, .. } => {
                    executions += 1;
                    held = Some((token, payload));
                }
                Event::Response { response, .. } => done = Some(response),
                other => panic!("unexpected {other:?}"),
            }
        }
        if done.is_some() {
            return done;
        }
        // "Execute" for 300 ms, 20 times the give-up time without answers.
        if started.elapsed() > Duration::from_millis(300)
            && let Some((token, payload)) = held.take()
        {
            server
                .respond(token, Response::ok(payload.into_owned()))
                .unwrap();
        }
        std::thread::sleep(Duration::from_micros(200));
        None
    });
    assert_eq!(response.payload, msg);
    assert_eq!(executions, 1);
    assert!(
        client.stats().retransmits > 0,
        "the client must have probed"
    );
    assert!(server.stats().duplicates_suppressed > 0);
    assert_eq!(client.stats().requests_failed, 0);
    // "Still executing" answers keep the request alive but must not reset
    // the backoff: probing every base timeout (1 ms) would send ~300 probes
    // in these 300 ms; doubling up to 32 ms sends ~14. A slower machine
    // only sends fewer.
    assert!(
        client.stats().retransmits <= 30,
        "a request queued at a busy server was probed {} times in ~300 ms",
        client.stats().retransmits
    );
}

#[test]
fn requests_to_a_vanished_server_time_out() {
    let mut server = udp_endpoint(fast_timers());
    let mut client = udp_endpoint(fast_timers());
    let s = connect_pair(&mut client, &mut server);
    drop(server);
    for tag in 0..3 {
        client.send_request(s, ECHO, vec![1, 2, 3], tag).unwrap();
    }
    let mut failed = Vec::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + CALL_TIMEOUT;
    while failed.len() < 3 {
        assert!(Instant::now() < deadline);
        round(&mut client, &mut events);
        for e in events.drain(..) {
            match e {
                Event::RequestFailed {
                    tag,
                    error: RpcError::TimedOut,
                    ..
                } => failed.push(tag),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    failed.sort_unstable();
    assert_eq!(failed, [0, 1, 2]);
    assert_eq!(client.outstanding(s), 0);
    assert!(client.can_send(s));
}
