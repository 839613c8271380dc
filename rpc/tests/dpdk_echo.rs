//! Tern RPCs (Endpoint + Client, the whole protocol) over the DPDK
//! transport, between two processes: echo of 32 B, 64 KiB and 1 MiB
//! messages over `net_memif`, over the veth testbed with `net_af_xdp` and
//! `net_af_packet`, and mixed: a kernel-UDP Tern client calling a DPDK Tern
//! server in the other namespace (the server answers the kernel's ARP) and
//! the reverse. Needs root; roles run as child processes (see
//! `common::dpdk`).
#![cfg(feature = "dpdk")]

mod common;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::dpdk::{
    Layout, Role, child_role, child_var, layout_tests, memif_pair, parent_or_run_child, run_pair,
    wait_for_link,
};
use common::{ECHO, pattern};
use tern_rpc::transport::Transport;
use tern_rpc::transport::dpdk::{DpdkConfig, DpdkTransport};
use tern_rpc::transport::udp::UdpTransport;
use tern_rpc::{
    Client, Ctl, Endpoint, EndpointConfig, IdleMode, IncomingRequest, Response, Service, Status,
};

const PORT: u16 = 7100;
/// The client's last call: the server answers, drains a moment, and exits.
const QUIT: u16 = 9;
const LIMIT: Duration = Duration::from_secs(120);

fn dpdk_transport() -> DpdkTransport {
    dpdk_transports(1).pop().expect("one queue")
}

/// The port of the child's settings with `queues` queue pairs (queue `i`
/// on UDP port PORT + i), once its link is up.
fn dpdk_transports(queues: u16) -> Vec<DpdkTransport> {
    let ip: Ipv4Addr = child_var("IP").parse().expect("IP");
    let mut config = DpdkConfig::new(&child_var("EAL"), &child_var("PORT"), ip, PORT);
    config.queues = queues;
    let ts = DpdkTransport::open(&config).expect("open DPDK port");
    assert_eq!(ts.len(), queues as usize);
    eprintln!("{}: port open", child_role().unwrap_or_default());
    wait_for_link(&ts[0]);
    ts
}

fn kernel_transport(port: u16) -> UdpTransport {
    let ip: Ipv4Addr = child_var("IP").parse().expect("IP");
    UdpTransport::bind(SocketAddrV4::new(ip, port)).expect("bind kernel UDP")
}

/// Serves ECHO until a QUIT request, then keeps serving briefly so a lost
/// QUIT response can still be retransmitted.
fn serve<T: Transport>(transport: T) {
    let mut ep = Endpoint::new(transport, EndpointConfig::default());
    eprintln!("server: listening on {}", ep.local_addr());
    let stop = AtomicBool::new(false);
    let mut service = EchoUntilQuit {
        deadline: Instant::now() + LIMIT,
        quit_at: None,
        served: 0,
        stop: &stop,
    };
    tern_rpc::serve(&mut ep, IdleMode::Adaptive, &stop, &mut service);
    eprintln!("server: {} served, stats {:?}", service.served, ep.stats());
}

/// ECHO answers with the payload; QUIT starts a 300 ms countdown to `stop`.
struct EchoUntilQuit<'a> {
    deadline: Instant,
    quit_at: Option<Instant>,
    served: u64,
    stop: &'a AtomicBool,
}

impl Service for EchoUntilQuit<'_> {
    fn on_request(&mut self, ctl: &mut Ctl<'_>, request: IncomingRequest<'_>) {
        let response = match request.req_type {
            ECHO => Response::ok(request.payload.into_owned()),
            QUIT => {
                self.quit_at.get_or_insert(Instant::now());
                Response::ok(Vec::new())
            }
            _ => Response::error(Status::NoSuchFunction),
        };
        ctl.respond(request.token, response).expect("respond");
        self.served += 1;
    }

    fn poll(&mut self, _ctl: &mut Ctl<'_>) -> bool {
        let now = Instant::now();
        assert!(
            now < self.deadline,
            "server: no QUIT within {LIMIT:?} ({} served)",
            self.served
        );
        if self
            .quit_at
            .is_some_and(|t| now.duration_since(t) > Duration::from_millis(300))
        {
            self.stop.store(true, Ordering::Relaxed);
        }
        false
    }
}

/// Echoes 32 B, 64 KiB and 1 MiB, then 200 small calls, checking every
/// byte, then sends QUIT.
fn call<T: Transport>(transport: T, server_port: u16) {
    let server = SocketAddrV4::new(child_var("PEER").parse().expect("PEER"), server_port);
    let mut client = Client::connect_with(
        transport,
        server,
        EndpointConfig::default(),
        Duration::from_secs(20),
    )
    .expect("connect");
    let started = Instant::now();
    for (i, len) in [32usize, 64 << 10, 1 << 20].into_iter().enumerate() {
        let msg = pattern(len, i as u64);
        let r = client
            .call(ECHO, msg.clone(), Duration::from_secs(30))
            .expect("echo call");
        assert_eq!(r.status, Status::Ok);
        assert!(r.payload == msg, "echo of {len} B differs");
        eprintln!("client: echo of {len} B intact");
    }
    for i in 0..200u32 {
        let msg = pattern(32, u64::from(i));
        let r = client
            .call(ECHO, msg.clone(), Duration::from_secs(10))
            .expect("small call");
        assert_eq!(r.payload, msg);
    }
    let r = client
        .call(QUIT, Vec::new(), Duration::from_secs(10))
        .expect("quit call");
    assert_eq!(r.status, Status::Ok);
    eprintln!(
        "client: all echoes intact in {:?}, stats {:?}",
        started.elapsed(),
        client.endpoint().stats()
    );
}

/// Runs `body(queue, transport)` on one thread per transport and waits for
/// all (a panic on any thread fails the child).
fn on_threads(ts: Vec<DpdkTransport>, body: fn(usize, DpdkTransport)) {
    let threads: Vec<_> = ts
        .into_iter()
        .enumerate()
        .map(|(q, t)| std::thread::spawn(move || body(q, t)))
        .collect();
    for t in threads {
        t.join().expect("endpoint thread panicked");
    }
}

fn run_child(role: &str) {
    match role {
        "dpdk-server" => serve(dpdk_transport()),
        "kernel-server" => serve(kernel_transport(PORT)),
        "dpdk-client" => call(dpdk_transport(), PORT),
        "kernel-client" => call(kernel_transport(0), PORT),
        // One endpoint thread per queue pair, each on its own UDP port.
        "dpdk-server-2q" => on_threads(dpdk_transports(2), |_, t| serve(t)),
        "dpdk-client-2q" => on_threads(dpdk_transports(2), |q, t| call(t, PORT + q as u16)),
        other => panic!("unknown role {other}"),
    }
}

/// Runs `server` then `client`, waiting for the server to be ready first,
/// and checks both finish cleanly with every echo intact.
fn scenario(test: &str, server: Role<'_>, client: Role<'_>) {
    let ready = if server.name.starts_with("dpdk-server") {
        "port open"
    } else {
        "listening"
    };
    let threads = if client.name.ends_with("-2q") { 2 } else { 1 };
    let (out, server_out) = run_pair(test, server, Some(ready), client, LIMIT);
    assert_eq!(
        out.matches("echo of 1048576 B intact").count(),
        threads,
        "{out}"
    );
    assert_eq!(out.matches("all echoes intact").count(), threads, "{out}");
    assert!(server_out.contains("served"), "{server_out}");
}

layout_tests! { run_child, scenario;
    memif_rpc_echo: Layout::Memif, "rpc";
    af_xdp_rpc_echo: Layout::Veth("af_xdp"), "rxdp";
    af_packet_rpc_echo: Layout::Veth("af_packet"), "rpac";
    kernel_client_calls_dpdk_server: Layout::KernelClient, "rkc";
    dpdk_client_calls_kernel_server: Layout::KernelServer, "rks";
}

#[test]
fn memif_two_queues_two_endpoint_threads() {
    let Some(_one) = parent_or_run_child(run_child) else {
        return;
    };
    let (server, client) = memif_pair("rpc2q");
    scenario(
        "memif_two_queues_two_endpoint_threads",
        Role::new("dpdk-server-2q", None, server),
        Role::new("dpdk-client-2q", None, client),
    );
}
