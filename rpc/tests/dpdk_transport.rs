//! The DPDK transport on its own (datagrams, no Tern protocol), between two
//! real processes: over `net_memif`, over a veth pair with `net_af_xdp` and
//! `net_af_packet`, and against the Linux kernel's UDP stack in both
//! directions (the kernel resolves the DPDK side with ARP, and the DPDK side
//! resolves the kernel). Needs root; each scenario runs its roles as child
//! processes (see `common::dpdk`).
#![cfg(feature = "dpdk")]

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use common::dpdk::{
    Child, Layout, Role, Testbed, af_xdp_side_a, child_role, child_var, eal_args, kernel_role,
    layout_tests, on_layout, parent_or_run_child, require_root, run_pair, serial, wait_for_link,
    with_peer,
};
use common::pattern;
use tern_rpc::transport::dpdk::{DpdkConfig, DpdkTransport};
use tern_rpc::transport::{RxBatch, Transport, TxDatagram};

const PORT: u16 = 7000;
const QUIT: &[u8] = b"quit";
const LIMIT: Duration = Duration::from_secs(90);

/// Sends and receives single datagrams, so one client/server body serves
/// both the DPDK transport and a kernel socket.
trait DatagramPort {
    fn send_to(&mut self, peer: SocketAddrV4, bytes: &[u8]);
    /// The next datagram within `timeout`, if any.
    fn recv_within(&mut self, timeout: Duration) -> Option<(SocketAddrV4, Vec<u8>)>;
}

struct Dpdk {
    t: DpdkTransport,
    rx: RxBatch,
    queued: Vec<(SocketAddrV4, Vec<u8>)>,
}

impl DatagramPort for Dpdk {
    fn send_to(&mut self, peer: SocketAddrV4, bytes: &[u8]) {
        let d = TxDatagram {
            peer,
            header: &bytes[..bytes.len().min(16)],
            payload: &bytes[bytes.len().min(16)..],
        };
        // A full TX ring is retried; the datagram is taken (sent or held for ARP) once.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.t.send(&[d]).expect("DPDK send") == 0 {
            assert!(
                Instant::now() < deadline,
                "DPDK send stayed refused: {:?}",
                self.t.stats()
            );
        }
    }

    fn recv_within(&mut self, timeout: Duration) -> Option<(SocketAddrV4, Vec<u8>)> {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.queued.is_empty() {
                return Some(self.queued.remove(0));
            }
            self.t.recv(&mut self.rx).expect("DPDK recv");
            for i in 0..self.rx.len() {
                let (p, b) = self.rx.get(i);
                self.queued.push((p, b.to_vec()));
            }
            if self.queued.is_empty() && Instant::now() > deadline {
                return None;
            }
        }
    }
}

struct Kernel(UdpSocket);

impl DatagramPort for Kernel {
    fn send_to(&mut self, peer: SocketAddrV4, bytes: &[u8]) {
        self.0.send_to(bytes, peer).expect("kernel send");
    }

    fn recv_within(&mut self, timeout: Duration) -> Option<(SocketAddrV4, Vec<u8>)> {
        self.0.set_read_timeout(Some(timeout)).expect("timeout");
        let mut buf = vec![0; 65536];
        match self.0.recv_from(&mut buf) {
            Ok((n, std::net::SocketAddr::V4(p))) => Some((p, buf[..n].to_vec())),
            _ => None,
        }
    }
}

fn open_dpdk() -> Dpdk {
    let ip: Ipv4Addr = child_var("IP").parse().expect("IP");
    let config = DpdkConfig::new(&child_var("EAL"), &child_var("PORT"), ip, PORT);
    let t = DpdkTransport::open_single(&config).expect("open DPDK port");
    assert_eq!(t.local_addr(), SocketAddrV4::new(ip, PORT));
    assert_eq!(t.max_datagram(), 1472);
    // Readiness for the parent: a memif server listens from here on.
    eprintln!("{}: port open", child_role().unwrap_or_default());
    wait_for_link(&t);
    eprintln!(
        "{}: DPDK port {:?}, MAC {}, link up",
        child_role().unwrap_or_default(),
        t.port(),
        t.mac_addr()
    );
    Dpdk {
        t,
        rx: RxBatch::new(32, 2048),
        queued: Vec::new(),
    }
}

fn open_kernel() -> Kernel {
    Kernel(
        UdpSocket::bind(SocketAddrV4::new(
            child_var("IP").parse().expect("IP"),
            PORT,
        ))
        .expect("bind kernel socket"),
    )
}

/// Echoes every datagram until a QUIT datagram (or the time limit: failure).
fn echo_server(port: &mut dyn DatagramPort) {
    let deadline = Instant::now() + LIMIT;
    let mut echoed = 0u64;
    while Instant::now() < deadline {
        let Some((peer, bytes)) = port.recv_within(Duration::from_millis(100)) else {
            continue;
        };
        if bytes == QUIT {
            eprintln!("echo server: {echoed} echoed, quit");
            return;
        }
        port.send_to(peer, &bytes);
        echoed += 1;
    }
    panic!("echo server: no QUIT within {LIMIT:?} ({echoed} echoed)");
}

/// Datagram `seq` of `len` bytes: [`pattern`] bytes, so corruption and
/// mix-ups show, led by `seq` (big-endian) when there is room, so a late
/// echo of an earlier datagram is recognised.
fn datagram(seq: u32, len: usize) -> Vec<u8> {
    let mut v = pattern(len, u64::from(seq));
    if len >= 4 {
        v[..4].copy_from_slice(&seq.to_be_bytes());
    }
    v
}

/// Sends datagrams of every interesting size and 2,000 small ones, each
/// retried until its echo comes back intact (af_packet/af_xdp may drop the
/// first frames while the link settles), then sends QUIT.
fn echo_client(port: &mut dyn DatagramPort, server: SocketAddrV4) {
    let sizes = [4usize, 5, 32, 100, 1000, 1471, 1472];
    let mut seq = 0u32;
    let mut retries = 0;
    let started = Instant::now();
    for len in sizes.iter().copied().chain(std::iter::repeat_n(32, 2000)) {
        seq += 1;
        let msg = datagram(seq, len);
        let mut attempts = 0;
        'attempt: loop {
            attempts += 1;
            assert!(
                attempts <= 50,
                "no echo for datagram {seq} ({len} B) after 50 tries"
            );
            port.send_to(server, &msg);
            let wait = Instant::now() + Duration::from_millis(200);
            while Instant::now() < wait {
                let Some((from, bytes)) = port.recv_within(Duration::from_millis(50)) else {
                    continue;
                };
                assert_eq!(from, server, "reply from the wrong address");
                if bytes.len() >= 4 && u32::from_be_bytes(bytes[..4].try_into().unwrap()) < seq {
                    continue; // a late echo of an earlier retry
                }
                assert_eq!(bytes, msg, "echo of datagram {seq} ({len} B) differs");
                break 'attempt;
            }
            retries += 1;
        }
    }
    for _ in 0..3 {
        port.send_to(server, QUIT);
    }
    eprintln!(
        "echo client: {seq} datagrams echoed intact in {:?}, {retries} retries",
        started.elapsed()
    );
}

fn dpdk_client_body() {
    let mut p = open_dpdk();
    let server = SocketAddrV4::new(child_var("PEER").parse().expect("PEER"), PORT);
    echo_client(&mut p, server);
    let mac = p.t.resolved(*server.ip());
    assert!(mac.is_some(), "the server's MAC was never resolved");
    let s = p.t.stats().clone();
    eprintln!("dpdk client stats: {s:?}");
    assert!(
        s.arp_requests_sent >= 1,
        "the client resolved the server with ARP"
    );
    assert_eq!(s.rx_malformed, 0);
}

fn dpdk_server_body() {
    let mut p = open_dpdk();
    echo_server(&mut p);
    let s = p.t.stats().clone();
    eprintln!("dpdk server stats: {s:?}");
    assert!(
        s.arp_replies_sent >= 1,
        "the server answered the client's ARP request"
    );
    if std::env::var("TERN_DPDK_EXPECT").is_ok_and(|v| v == "junk") {
        // The junk client's 4,000-byte datagram arrives as 3 IPv4 fragments
        // (dropped: Tern never fragments) and its stray datagram goes to
        // another port; both are counted, neither stops the echo.
        assert!(s.rx_malformed >= 3, "fragments counted as malformed: {s:?}");
        assert!(s.rx_not_for_us >= 1, "stray port counted: {s:?}");
    } else {
        assert_eq!(s.rx_malformed, 0);
    }
}

/// Runs the role named in the environment (child side).
fn run_child(role: &str) {
    match role {
        "dpdk-server" => dpdk_server_body(),
        "dpdk-client" => dpdk_client_body(),
        "kernel-server" => echo_server(&mut open_kernel()),
        "kernel-junk-client" => {
            let server = SocketAddrV4::new(child_var("PEER").parse().expect("PEER"), PORT);
            let sock = open_kernel();
            // Fragments (4,000 B over MTU 1500) and a datagram to a port
            // nobody serves, before and between real traffic.
            sock.0.send_to(&[7u8; 4000], server).expect("send big");
            sock.0
                .send_to(b"stray", SocketAddrV4::new(*server.ip(), PORT + 1))
                .expect("send stray");
            let mut sock = sock;
            echo_client(&mut sock, server);
        }
        "kernel-client" => {
            let server = SocketAddrV4::new(child_var("PEER").parse().expect("PEER"), PORT);
            echo_client(&mut open_kernel(), server);
        }
        other => panic!("unknown role {other}"),
    }
}

/// Runs `server`, then (once the server's output shows `ready`, when
/// given) `client`; checks the client's echoes came back intact and both
/// exited cleanly. Returns the server's output.
fn echo_scenario(test: &str, server: Role<'_>, ready: Option<&str>, client: Role<'_>) -> String {
    let (out, server_out) = run_pair(test, server, ready, client, LIMIT);
    assert!(out.contains("datagrams echoed intact"), "{out}");
    server_out
}

/// [`echo_scenario`] where the server must be listening before the client
/// starts: a memif server (no namespace) creates the socket the client
/// connects to.
fn layout_echo(test: &str, server: Role<'_>, client: Role<'_>) {
    let ready = server.netns.is_none().then_some("port open");
    echo_scenario(test, server, ready, client);
}

layout_tests! { run_child, layout_echo;
    memif_datagram_echo: Layout::Memif, "dgram";
    af_xdp_datagram_echo: Layout::Veth("af_xdp"), "xdp";
    af_packet_datagram_echo: Layout::Veth("af_packet"), "pac";
    dpdk_af_xdp_client_to_kernel_udp_server: Layout::KernelServer, "ks";
}

#[test]
fn kernel_udp_client_to_dpdk_af_xdp_server() {
    let Some(_one) = parent_or_run_child(run_child) else {
        return;
    };
    let out = on_layout(Layout::KernelClient, "kc", |server, client| {
        echo_scenario(
            "kernel_udp_client_to_dpdk_af_xdp_server",
            server,
            None,
            client,
        )
    });
    assert!(out.contains("echo server:"), "{out}");
}

/// A test whose whole body runs in one child process, with no testbed:
/// the parent (as root, one scenario at a time) runs `test` again as
/// `role` and checks that the child's output holds `done`, which `body`
/// prints when all its checks passed.
fn in_one_child(test: &str, role: &str, done: &str, body: impl FnOnce()) {
    if let Some(r) = child_role() {
        assert_eq!(r, role);
        body();
        return;
    }
    require_root();
    let _one = serial();
    let out = Child::spawn(test, role, None, &[]).wait(LIMIT);
    assert!(out.contains(done), "{out}");
}

/// A config for port `port` of an EAL whose one vdev is `net_null0` (a
/// real PMD whose TX takes and frees every frame), at 10.88.0.1.
fn null_vdev_config(port: &str) -> DpdkConfig {
    DpdkConfig::new(
        &eal_args(0, "net_null0"),
        port,
        Ipv4Addr::new(10, 88, 0, 1),
        PORT,
    )
}

#[test]
fn unknown_port_is_a_clear_error() {
    let test = "unknown_port_is_a_clear_error";
    in_one_child(test, "open-missing", "error as expected", || {
        let err = DpdkTransport::open_single(&null_vdev_config("net_memif7"))
            .err()
            .expect("no such port");
        let msg = err.to_string();
        assert!(
            msg.contains("net_memif7") && msg.contains("net_null0"),
            "{msg}"
        );
        eprintln!("error as expected: {msg}");
    });
}

#[test]
fn dpdk_server_drops_fragments_and_strays_and_keeps_serving() {
    let Some(_one) = parent_or_run_child(run_child) else {
        return;
    };
    let tb = Testbed::up("junk");
    let mut server = af_xdp_side_a();
    server.push(("EXPECT", "junk".into()));
    let client = with_peer(kernel_role(Testbed::KERNEL_IP_B), Testbed::DPDK_IP_A);
    let out = echo_scenario(
        "dpdk_server_drops_fragments_and_strays_and_keeps_serving",
        Role::new("dpdk-server", Some(&tb.ns_a), server),
        Some("port open"),
        Role::new("kernel-junk-client", Some(&tb.ns_b), client),
    );
    let malformed: u64 = out
        .split("rx_malformed: ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no stats in the server output:\n{out}"));
    assert!(malformed >= 3, "{out}");
}

#[test]
fn send_rejects_oversized_datagrams_and_holds_unresolved_ones() {
    let test = "send_rejects_oversized_datagrams_and_holds_unresolved_ones";
    in_one_child(test, "null-port", "checked:", || {
        let mut t =
            DpdkTransport::open_single(&null_vdev_config("net_null0")).expect("open net_null0");
        let peer = SocketAddrV4::new(Ipv4Addr::new(10, 88, 0, 2), PORT);
        let big = vec![0u8; t.max_datagram() + 1];
        let ok = vec![0u8; t.max_datagram()];
        fn d(peer: SocketAddrV4, payload: &[u8]) -> TxDatagram<'_> {
            TxDatagram {
                peer,
                header: &[],
                payload,
            }
        }
        let (big, ok) = (d(peer, &big), d(peer, &ok));
        let err = t.send(&[big]).expect_err("oversized datagram");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        // The datagram before an oversized one is taken; the rest is not.
        assert_eq!(t.send(&[ok, big, ok]).expect("send"), 1);
        let s = t.stats().clone();
        // The peer is unresolved: its frame is held, one ARP request went out.
        assert_eq!((s.arp_held, s.arp_requests_sent), (1, 1), "{s:?}");
        assert_eq!(t.resolved(*peer.ip()), None);
        eprintln!("checked: {s:?}");
    });
}
