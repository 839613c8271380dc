//! Shared test scaffolding: an echo server endpoint on its own thread over
//! a real loopback UDP socket, endpoints stepped by hand, deterministic
//! payloads, and (in [`dpdk`]) the child-process harness of the DPDK tests.
#![allow(dead_code)] // each test binary uses its own subset

#[cfg(feature = "dpdk")]
pub mod dpdk;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tern_rpc::transport::Transport;
use tern_rpc::transport::udp::UdpTransport;
use tern_rpc::{
    Ctl, Endpoint, EndpointConfig, EndpointStats, Event, IdleMode, IdleStrategy, IncomingRequest,
    Response, Service, Status,
};

pub fn loopback() -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)
}

/// An endpoint with `config` on a fresh loopback UDP socket (panics if the
/// bind fails).
pub fn udp_endpoint(config: EndpointConfig) -> Endpoint<UdpTransport> {
    Endpoint::new(UdpTransport::bind(loopback()).expect("bind"), config)
}

/// Request type the echo server answers by echoing the payload.
pub const ECHO: u16 = 1;
/// Request type whose payload starts with a u64 id: the server counts
/// executions per id and answers with the payload reversed.
pub const COUNTED: u16 = 2;

/// What the server thread reports when stopped.
pub struct ServerReport {
    pub stats: EndpointStats,
    /// Executions per id of COUNTED requests.
    pub executions: HashMap<u64, u32>,
    pub resets: u64,
}

/// The test server's request handling: ECHO echoes, COUNTED counts
/// executions per id and answers with the payload reversed.
struct EchoService {
    executions: HashMap<u64, u32>,
    resets: u64,
    /// Packets received so far, published once per round.
    packets_rx: Arc<AtomicU64>,
}

impl Service for EchoService {
    fn on_request(&mut self, ctl: &mut Ctl<'_>, request: IncomingRequest<'_>) {
        let resp = match request.req_type {
            ECHO => Response::ok(request.payload.into_owned()),
            COUNTED if request.payload.len() >= 8 => {
                let id = u64::from_le_bytes(request.payload[..8].try_into().unwrap());
                *self.executions.entry(id).or_default() += 1;
                let mut p = request.payload.into_owned();
                p.reverse();
                Response {
                    status: Status::Ok,
                    queue_ns: 1,
                    exec_ns: 2,
                    payload: p,
                }
            }
            _ => Response::error(Status::NoSuchFunction),
        };
        ctl.respond(request.token, resp).expect("respond");
    }

    fn on_event(&mut self, _ctl: &mut Ctl<'_>, event: Event<'_>) {
        if let Event::SessionReset(_) = event {
            self.resets += 1;
        }
    }

    fn poll(&mut self, ctl: &mut Ctl<'_>) -> bool {
        self.packets_rx
            .store(ctl.stats().packets_rx, Ordering::Relaxed);
        false
    }
}

/// An echo server running on its own thread until dropped or stopped.
pub struct EchoServer {
    pub addr: SocketAddrV4,
    stop: Arc<AtomicBool>,
    /// Packets the server endpoint received so far (for pacing senders).
    pub packets_rx: Arc<AtomicU64>,
    handle: Option<JoinHandle<ServerReport>>,
}

impl EchoServer {
    pub fn start(config: EndpointConfig) -> Self {
        Self::start_on(UdpTransport::bind(loopback()).expect("bind server"), config)
    }

    pub fn start_on<T: Transport + 'static>(transport: T, config: EndpointConfig) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let packets_rx = Arc::new(AtomicU64::new(0));
        let mut ep = Endpoint::new(transport, config);
        let addr = ep.local_addr();
        let (stop2, rx2) = (stop.clone(), packets_rx.clone());
        let handle = std::thread::spawn(move || {
            let mut service = EchoService {
                executions: HashMap::new(),
                resets: 0,
                packets_rx: rx2,
            };
            tern_rpc::serve(&mut ep, IdleMode::Adaptive, &stop2, &mut service);
            ServerReport {
                stats: ep.stats().clone(),
                executions: service.executions,
                resets: service.resets,
            }
        });
        EchoServer {
            addr,
            stop,
            packets_rx,
            handle: Some(handle),
        }
    }

    pub fn stop(mut self) -> ServerReport {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .unwrap()
            .join()
            .expect("server thread panicked")
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A generous per-call timeout for a loaded 2-core machine.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Calls ECHO with `msg` through `client` and checks the answer: status ok,
/// the same bytes back. Panics otherwise or after `CALL_TIMEOUT`.
pub fn echo<T: Transport>(client: &mut tern_rpc::Client<T>, msg: &[u8]) {
    let resp = client
        .call(ECHO, msg.to_vec(), CALL_TIMEOUT)
        .unwrap_or_else(|e| panic!("echo of {} B: {e}", msg.len()));
    assert_eq!(resp.status, Status::Ok);
    assert!(resp.payload == msg, "echo of {} B differs", msg.len());
}

/// Deterministic test bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

use std::time::Instant;
use tern_rpc::SessionId;

/// Opens `n` sessions from `ep` to `server` and polls until all are
/// connected (panics on a failure or after `CALL_TIMEOUT`).
pub fn connect_all<T: Transport>(
    ep: &mut Endpoint<T>,
    server: SocketAddrV4,
    n: usize,
) -> Vec<SessionId> {
    let ids: Vec<SessionId> = (0..n)
        .map(|_| ep.connect(server).expect("connect"))
        .collect();
    let mut pending: std::collections::HashSet<SessionId> = ids.iter().copied().collect();
    let mut idle = IdleStrategy::new(IdleMode::Adaptive);
    let deadline = Instant::now() + CALL_TIMEOUT;
    while !pending.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} sessions still connecting",
            pending.len()
        );
        ep.run_once_idle(&mut idle, |_, e| match e {
            Event::Connected(s) => assert!(pending.remove(&s)),
            other => panic!("unexpected event while connecting: {other:?}"),
        });
    }
    ids
}

/// Issues `total` requests (tags 0..total) over `sessions`, keeping each
/// session as full as `can_send` allows, until every one has a response;
/// `make(tag)` builds a request and `check(tag, response)` verifies one.
/// Panics on a failed request, on a tag answered twice, or when `limit`
/// passes; on return every tag was answered exactly once.
pub fn run_closed_loop<T: Transport>(
    ep: &mut Endpoint<T>,
    sessions: &[SessionId],
    total: u64,
    limit: Duration,
    mut make: impl FnMut(u64) -> (u16, Vec<u8>),
    mut check: impl FnMut(u64, Response),
) {
    let mut issued = 0u64;
    let mut done = 0u64;
    let mut answered = vec![false; total as usize];
    let mut idle = IdleStrategy::new(IdleMode::Adaptive);
    let deadline = Instant::now() + limit;
    while done < total {
        assert!(
            Instant::now() < deadline,
            "only {done} of {total} requests completed in {limit:?}; stats {:?}",
            ep.stats()
        );
        for &s in sessions {
            while issued < total && ep.can_send(s) {
                let (t, p) = make(issued);
                ep.send_request(s, t, p, issued).expect("send_request");
                issued += 1;
            }
        }
        ep.run_once_idle(&mut idle, |_, e| match e {
            Event::Response { tag, response, .. } => {
                assert!(
                    !std::mem::replace(&mut answered[tag as usize], true),
                    "tag {tag} answered twice"
                );
                check(tag, response.into());
                done += 1;
            }
            other => panic!("unexpected event: {other:?}"),
        });
    }
}

/// Connects `client` to `server`, stepping both by hand on this thread
/// until the session is up (panics after `CALL_TIMEOUT`). Events of the
/// handshake are dropped.
pub fn connect_pair<T: Transport>(client: &mut Endpoint<T>, server: &mut Endpoint<T>) -> SessionId {
    let s = client.connect(server.local_addr()).expect("connect");
    step_pair_until(client, server, |client, _, _| {
        client.is_connected(s).then_some(())
    });
    s
}

/// Steps `client` and then `server` by hand on this thread, one round
/// each, and hands `step` both endpoints and the events of those two rounds
/// (in order, copied out of the receive batches), until `step` returns
/// `Some`. Panics after `CALL_TIMEOUT`. For tests that need to see or
/// answer every packet's effect between rounds.
pub fn step_pair_until<T: Transport, R>(
    client: &mut Endpoint<T>,
    server: &mut Endpoint<T>,
    mut step: impl FnMut(&mut Endpoint<T>, &mut Endpoint<T>, Vec<Event<'static>>) -> Option<R>,
) -> R {
    let mut events = Vec::new();
    let deadline = Instant::now() + CALL_TIMEOUT;
    loop {
        assert!(
            Instant::now() < deadline,
            "not done after {CALL_TIMEOUT:?} of stepping"
        );
        round(client, &mut events);
        round(server, &mut events);
        if let Some(done) = step(client, server, std::mem::take(&mut events)) {
            return done;
        }
    }
}

/// One round of `ep`, keeping its events for the caller (copied out of the
/// receive batch) for tests that step two endpoints by hand. Returns
/// whether the round was busy.
pub fn round<T: Transport>(ep: &mut Endpoint<T>, events: &mut Vec<Event<'static>>) -> bool {
    ep.run_once(|_, e| events.push(e.into_owned()))
}
