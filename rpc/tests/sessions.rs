//! Many sessions against one server, and 8 outstanding requests per session.

mod common;

use std::time::Duration;

use common::*;
use tern_rpc::{EndpointConfig, Event, RpcError, Status};

#[test]
fn thousand_sessions_against_one_server() {
    let server = EchoServer::start(EndpointConfig::default());
    let mut ep = udp_endpoint(EndpointConfig::default());
    let sessions = connect_all(&mut ep, server.addr, 1000);
    assert_eq!(ep.session_count(), 1000);
    let per_session = 3u64;
    let total = sessions.len() as u64 * per_session;
    run_closed_loop(
        &mut ep,
        &sessions,
        total,
        Duration::from_secs(240),
        |tag| (ECHO, pattern(1 + (tag % 200) as usize, tag)),
        |tag, resp| {
            assert_eq!(resp.status, Status::Ok);
            assert_eq!(resp.payload, pattern(1 + (tag % 200) as usize, tag));
        },
    );
    let report = server.stop();
    assert_eq!(report.stats.connects_accepted, 1000);
    assert_eq!(report.stats.requests_received, total);
    assert_eq!(report.stats.dropped(), 0);
}

#[test]
fn eight_outstanding_requests_per_session_are_in_flight_together() {
    // Client and server endpoints polled alternately on this thread; the
    // server holds requests until all 8 of a session's are waiting, which
    // proves they were outstanding at the same time.
    let mut server = udp_endpoint(EndpointConfig::default());
    let mut client = udp_endpoint(EndpointConfig::default());
    let sessions = [
        connect_pair(&mut client, &mut server),
        connect_pair(&mut client, &mut server),
    ];
    let mut tag = 0u64;
    for &s in &sessions {
        for _ in 0..8 {
            assert!(client.can_send(s));
            // Mix sizes so that multi-packet requests share the credits.
            let len = if tag.is_multiple_of(3) { 20_000 } else { 100 };
            client
                .send_request(s, ECHO, pattern(len, tag), tag)
                .unwrap();
            tag += 1;
        }
        assert!(!client.can_send(s));
        assert_eq!(client.outstanding(s), 8);
        assert!(matches!(
            client.send_request(s, ECHO, vec![], 99),
            Err(RpcError::SessionBusy)
        ));
    }
    let mut held = Vec::new();
    let mut answered = std::collections::HashMap::new();
    step_pair_until(&mut client, &mut server, |_, server, events| {
        for e in events {
            match e {
                Event::Request { token, payload, .. } => held.push((token, payload)),
                Event::Response { tag, response, .. } => {
                    assert_eq!(
                        response.payload,
                        pattern(if tag.is_multiple_of(3) { 20_000 } else { 100 }, tag)
                    );
                    answered.insert(tag, response);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // Answer a session's requests only once all 8 of it are held.
        let mut by_session: std::collections::HashMap<_, usize> = std::collections::HashMap::new();
        for (t, _) in &held {
            *by_session.entry(t.session()).or_default() += 1;
        }
        let full: Vec<_> = by_session
            .into_iter()
            .filter(|&(_, n)| n == 8)
            .map(|(s, _)| s)
            .collect();
        for s in full {
            let (mine, rest): (Vec<_>, Vec<_>) =
                held.drain(..).partition(|(t, _)| t.session() == s);
            held = rest;
            for (token, payload) in mine {
                server
                    .respond(token, tern_rpc::Response::ok(payload.into_owned()))
                    .unwrap();
            }
        }
        (answered.len() == 16).then_some(())
    });
    assert_eq!(client.outstanding(sessions[0]), 0);
}
