//! Tern RPCs (Endpoint + Client, the whole protocol) over the DPDK
//! transport, between two processes: echo of 32 B, 64 KiB and 1 MiB
//! messages over `net_memif`, over the veth testbed with `net_af_xdp` and
//! `net_af_packet`, and mixed: a kernel-UDP Tern client calling a DPDK Tern
//! server in the other namespace (the server answers the kernel's ARP) and
//! the reverse. Needs root; roles run as child processes (see
//! `dpdk_support`).
#![cfg(feature = "dpdk")]

mod dpdk_support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dpdk_support::{
    Child, Testbed, child_role, child_var, eal_args, memif_socket, require_root, serial,
};
use tern_rpc::transport::Transport;
use tern_rpc::transport::dpdk::{DpdkConfig, DpdkTransport};
use tern_rpc::transport::udp::UdpTransport;
use tern_rpc::{
    Client, Ctl, Endpoint, EndpointConfig, IdleMode, IncomingRequest, Response, Service, Status,
};

const PORT: u16 = 7100;
const ECHO: u16 = 1;
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
    let t = &ts[0];
    let deadline = Instant::now() + Duration::from_secs(20);
    while !t.link_up() {
        assert!(
            Instant::now() < deadline,
            "link of {:?} never came up",
            t.port()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
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
        let IncomingRequest {
            token,
            req_type,
            payload,
        } = request;
        let response = match req_type {
            ECHO => Response::ok(payload.into_owned()),
            QUIT => {
                self.quit_at.get_or_insert(Instant::now());
                Response::ok(Vec::new())
            }
            _ => Response::error(Status::NoSuchFunction),
        };
        ctl.respond(token, response).expect("respond");
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

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
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
        let msg = pattern(len, i as u8);
        let r = client
            .call(ECHO, msg.clone(), Duration::from_secs(30))
            .expect("echo call");
        assert_eq!(r.status, Status::Ok);
        assert!(r.payload == msg, "echo of {len} B differs");
        eprintln!("client: echo of {len} B intact");
    }
    for i in 0..200u32 {
        let msg = pattern(32, i as u8);
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

/// Runs `server` then `client` (each `(role, netns, vars)`), waiting for the
/// server to be ready first, and checks both finish cleanly.
fn scenario(
    test: &str,
    server: (&str, Option<&str>, Vec<(&str, String)>),
    client: (&str, Option<&str>, Vec<(&str, String)>),
) {
    let mut s = Child::spawn(test, server.0, server.1, &server.2);
    s.wait_for_output(
        if server.0.starts_with("dpdk-server") {
            "port open"
        } else {
            "listening"
        },
        LIMIT,
    );
    let c = Child::spawn(test, client.0, client.1, &client.2);
    let out = c.wait(LIMIT);
    let threads = if client.0.ends_with("-2q") { 2 } else { 1 };
    assert_eq!(
        out.matches("echo of 1048576 B intact").count(),
        threads,
        "{out}"
    );
    assert_eq!(out.matches("all echoes intact").count(), threads, "{out}");
    let out = s.wait(LIMIT);
    assert!(out.contains("served"), "{out}");
}

#[test]
fn memif_rpc_echo() {
    if let Some(role) = child_role() {
        return run_child(&role);
    }
    require_root();
    let _one = serial();
    let sock = memif_socket("rpc");
    let vdev = |role: &str| format!("net_memif0,role={role},socket={sock}");
    scenario(
        "memif_rpc_echo",
        (
            "dpdk-server",
            None,
            vec![
                ("EAL", eal_args(0, &vdev("server"))),
                ("PORT", "net_memif0".into()),
                ("IP", "10.88.0.1".into()),
            ],
        ),
        (
            "dpdk-client",
            None,
            vec![
                ("EAL", eal_args(1, &vdev("client"))),
                ("PORT", "net_memif0".into()),
                ("IP", "10.88.0.2".into()),
                ("PEER", "10.88.0.1".into()),
            ],
        ),
    );
}

fn veth_rpc_echo(test: &str, pmd: &str) {
    require_root();
    let _one = serial();
    let tb = Testbed::up(&format!("r{}", &pmd[3..6]));
    let dev = format!("net_{pmd}0");
    scenario(
        test,
        (
            "dpdk-server",
            Some(&tb.ns_a),
            vec![
                ("EAL", eal_args(0, &format!("{dev},iface=veth-a"))),
                ("PORT", dev.clone()),
                ("IP", Testbed::DPDK_IP_A.into()),
            ],
        ),
        (
            "dpdk-client",
            Some(&tb.ns_b),
            vec![
                ("EAL", eal_args(1, &format!("{dev},iface=veth-b"))),
                ("PORT", dev.clone()),
                ("IP", Testbed::DPDK_IP_B.into()),
                ("PEER", Testbed::DPDK_IP_A.into()),
            ],
        ),
    );
}

#[test]
fn af_xdp_rpc_echo() {
    if let Some(role) = child_role() {
        return run_child(&role);
    }
    veth_rpc_echo("af_xdp_rpc_echo", "af_xdp");
}

#[test]
fn af_packet_rpc_echo() {
    if let Some(role) = child_role() {
        return run_child(&role);
    }
    veth_rpc_echo("af_packet_rpc_echo", "af_packet");
}

#[test]
fn kernel_client_calls_dpdk_server() {
    if let Some(role) = child_role() {
        return run_child(&role);
    }
    require_root();
    let _one = serial();
    let tb = Testbed::up("rkc");
    scenario(
        "kernel_client_calls_dpdk_server",
        (
            "dpdk-server",
            Some(&tb.ns_a),
            vec![
                ("EAL", eal_args(0, "net_af_xdp0,iface=veth-a")),
                ("PORT", "net_af_xdp0".into()),
                ("IP", Testbed::DPDK_IP_A.into()),
            ],
        ),
        (
            "kernel-client",
            Some(&tb.ns_b),
            vec![
                ("IP", Testbed::KERNEL_IP_B.into()),
                ("PEER", Testbed::DPDK_IP_A.into()),
            ],
        ),
    );
}

#[test]
fn dpdk_client_calls_kernel_server() {
    if let Some(role) = child_role() {
        return run_child(&role);
    }
    require_root();
    let _one = serial();
    let tb = Testbed::up("rks");
    scenario(
        "dpdk_client_calls_kernel_server",
        (
            "kernel-server",
            Some(&tb.ns_b),
            vec![("IP", Testbed::KERNEL_IP_B.into())],
        ),
        (
            "dpdk-client",
            Some(&tb.ns_a),
            vec![
                ("EAL", eal_args(0, "net_af_xdp0,iface=veth-a")),
                ("PORT", "net_af_xdp0".into()),
                ("IP", Testbed::DPDK_IP_A.into()),
                ("PEER", Testbed::KERNEL_IP_B.into()),
            ],
        ),
    );
}

#[test]
fn memif_two_queues_two_endpoint_threads() {
    if let Some(role) = child_role() {
        return run_child(&role);
    }
    require_root();
    let _one = serial();
    let sock = memif_socket("rpc2q");
    let vdev = |role: &str| format!("net_memif0,role={role},socket={sock}");
    scenario(
        "memif_two_queues_two_endpoint_threads",
        (
            "dpdk-server-2q",
            None,
            vec![
                ("EAL", eal_args(0, &vdev("server"))),
                ("PORT", "net_memif0".into()),
                ("IP", "10.88.0.1".into()),
            ],
        ),
        (
            "dpdk-client-2q",
            None,
            vec![
                ("EAL", eal_args(1, &vdev("client"))),
                ("PORT", "net_memif0".into()),
                ("IP", "10.88.0.2".into()),
                ("PEER", "10.88.0.1".into()),
            ],
        ),
    );
}
