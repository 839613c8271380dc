//! Peer restarts: a restarted server resets its clients' sessions; the
//! session of a restarted client (same address, new nonce) expires on the
//! server, which drops it and its request tokens. (A connect with a new
//! nonce alone resets nothing: see `adversarial.rs`.)

mod common;

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use common::*;
use tern_rpc::transport::udp::UdpTransport;
use tern_rpc::{Client, Endpoint, EndpointConfig, Event, Response, RpcError, Status};

#[test]
fn server_restart_resets_the_client_session() {
    let first = EchoServer::start(EndpointConfig::default());
    let addr = first.addr;
    let mut client = Client::connect_udp(addr, CALL_TIMEOUT).unwrap();
    echo(&mut client, b"before");
    drop(first.stop());

    // Same address, new process state.
    let second = EchoServer::start_on(
        UdpTransport::bind(addr).expect("rebind server port"),
        EndpointConfig::default(),
    );
    let err = client
        .call(ECHO, b"during".to_vec(), CALL_TIMEOUT)
        .unwrap_err();
    assert!(matches!(err, RpcError::SessionReset), "got {err}");
    assert!(!client.endpoint().is_connected(client.session()));
    assert_eq!(client.endpoint().stats().sessions_reset, 1);

    let mut again = Client::connect_udp(addr, CALL_TIMEOUT).unwrap();
    echo(&mut again, b"after");
    let report = second.stop();
    assert!(report.stats.unknown_session_dropped >= 1);
    assert_eq!(
        report.stats.requests_received, 1,
        "the request to the old session must not run"
    );
}

#[test]
fn client_restart_resets_the_server_session_and_its_tokens() {
    // The old session is reclaimed by idle expiry: the new endpoint names
    // another client session number, so its connect proves nothing about
    // the old one.
    let idle = Duration::from_millis(500);
    let mut server = udp_endpoint(EndpointConfig {
        session_idle_timeout: idle,
        ..Default::default()
    });
    let server_addr = server.local_addr();

    let mut c1 = udp_endpoint(EndpointConfig::default());
    let client_addr: SocketAddrV4 = c1.local_addr();
    let s1 = c1.connect(server_addr).unwrap();
    let mut sent = false;
    let token = step_pair_until(&mut c1, &mut server, |c1, _, events| {
        let mut token = None;
        for e in events {
            match e {
                Event::Connected(_) => {
                    c1.send_request(s1, ECHO, b"lost".to_vec(), 7).unwrap();
                    sent = true;
                }
                Event::Request { token: t, .. } => token = Some(t),
                other => panic!("unexpected {other:?}"),
            }
        }
        token
    });
    assert!(sent);
    let old_session = token.session();
    // The client process "restarts": same address, fresh endpoint, after
    // the old session's idle timeout.
    drop(c1);
    std::thread::sleep(idle + Duration::from_millis(200));
    let mut c2 = Endpoint::new(
        UdpTransport::bind(client_addr).expect("rebind client port"),
        EndpointConfig::default(),
    );
    let s2 = c2.connect(server_addr).unwrap();
    let (mut reset_seen, mut connected) = (false, false);
    step_pair_until(&mut c2, &mut server, |_, _, events| {
        for e in events {
            match e {
                Event::SessionReset(s) => {
                    assert_eq!(s, old_session);
                    reset_seen = true;
                }
                Event::Connected(s) => {
                    assert_eq!(s, s2);
                    connected = true;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        (reset_seen && connected).then_some(())
    });
    assert_eq!(server.stats().sessions_expired, 1);
    assert_eq!(server.stats().sessions_reset, 0);
    // The old request's token is stale now: an error, not a panic.
    let err = server
        .respond(token, Response::ok(b"late".to_vec()))
        .unwrap_err();
    assert!(
        matches!(err, RpcError::NoSuchSession | RpcError::StaleToken),
        "{err}"
    );

    // The new session works, and a token answered twice is stale.
    c2.send_request(s2, ECHO, b"fresh".to_vec(), 1).unwrap();
    step_pair_until(&mut c2, &mut server, |_, server, events| {
        let mut done = false;
        for e in events {
            match e {
                Event::Request { token, payload, .. } => {
                    server
                        .respond(token, Response::ok(payload.into_owned()))
                        .unwrap();
                    assert!(matches!(
                        server.respond(token, Response::error(Status::Trap)),
                        Err(RpcError::StaleToken)
                    ));
                }
                Event::Response { tag, response, .. } => {
                    assert_eq!(tag, 1);
                    assert_eq!(&*response.payload, b"fresh");
                    done = true;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        done.then_some(())
    });
}

#[test]
fn close_tells_the_server() {
    let mut server = udp_endpoint(EndpointConfig::default());
    let mut client = udp_endpoint(EndpointConfig::default());
    let s = connect_pair(&mut client, &mut server);
    assert_eq!(server.session_count(), 1);
    client.close(s);
    assert!(matches!(
        client.send_request(s, ECHO, vec![], 0),
        Err(RpcError::NoSuchSession)
    ));
    let mut events = Vec::new();
    step_pair_until(&mut client, &mut server, |_, server, round_events| {
        events.extend(round_events);
        (server.session_count() == 0).then_some(())
    });
    assert!(
        matches!(events.as_slice(), [Event::SessionReset(_)]),
        "{events:?}"
    );
}

#[test]
fn connect_to_a_silent_port_fails_with_an_event() {
    // A bound socket nobody polls: connects go unanswered.
    let silent = UdpTransport::bind(loopback()).unwrap();
    let config = EndpointConfig {
        retransmit_timeout: std::time::Duration::from_millis(1),
        max_retransmits: 3,
        ..Default::default()
    };
    let mut client = udp_endpoint(config);
    let s = client
        .connect(tern_rpc::transport::Transport::local_addr(&silent))
        .unwrap();
    let mut events = Vec::new();
    let deadline = Instant::now() + CALL_TIMEOUT;
    loop {
        assert!(Instant::now() < deadline);
        round(&mut client, &mut events);
        if let Some(Event::ConnectFailed { session, .. }) = events.first() {
            assert_eq!(*session, s);
            break;
        }
    }
    assert_eq!(client.session_count(), 0);
}
