//! Round-trip latency and goodput of Tern against raw UDP, measured in the
//! same run on loopback.
//!
//! ```text
//! cargo run --release -p tern-rpc --example pingpong -- --transport udp
//! ```
//!
//! One server thread and one client thread. The server serves whichever
//! mode the client selects (raw echo, raw stream sink, or a Tern endpoint),
//! so only two threads ever poll and both sides use the same idle strategy.
//! Latency: 32 B requests echoed, one at a time, by raw UDP (plain
//! `send_to`/`recv_from`), by raw UDP through Tern's `UdpTransport`, and by
//! Tern, alternating in rounds so that load changes on the machine hit all
//! alike. Goodput:
//! 1 MiB requests (empty responses, up to 8 outstanding) for Tern; for raw
//! UDP, a stream of datagrams of the same size sent with `sendmmsg` and
//! counted with `recvmmsg`. The last line is `udp_p50_ratio=X.XX` (Tern p50
//! / raw p50).

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use tern_rpc::transport::udp::{UdpConfig, UdpTransport};
use tern_rpc::transport::{Role, RxBatch, Transport, TransportAddr, TxDatagram};
use tern_rpc::{
    Client, Ctl, Endpoint, EndpointConfig, Event, IdleMode, IdleStrategy, IncomingRequest,
    Response, Service, serve,
};

// The `--transport dpdk` mode (two processes, raw DPDK echo baseline).
#[cfg(feature = "dpdk")]
#[path = "pingpong_dpdk/mod.rs"]
mod pingpong_dpdk;

/// The latency test's settings, shared by the kernel-UDP and DPDK modes.
#[derive(clap::Args, Clone, Copy, Debug)]
struct Latency {
    /// Idle strategy of both poll loops: spin or adaptive.
    #[arg(long, default_value = "adaptive")]
    idle: IdleMode,
    /// Request size of the latency test in bytes.
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Round trips measured per system (split over the rounds).
    #[arg(long, default_value_t = 20_000)]
    samples: usize,
    /// Alternating rounds of the latency test.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

impl Latency {
    /// The first line of the latency table.
    fn print_heading(&self, samples: usize) {
        println!(
            "round trip, {} B request, {samples} samples each ({} alternating rounds):",
            self.size, self.rounds
        );
    }
}

#[derive(Parser, Debug, Clone)]
#[command(about = "Tern vs raw UDP: small-message round trip and 1 MiB goodput")]
struct Args {
    /// Transport for the Tern endpoints: udp.
    #[arg(long, default_value = "udp")]
    transport: String,
    #[command(flatten)]
    lat: Latency,
    /// MiB moved per system in the goodput test.
    #[arg(long, default_value_t = 256)]
    mib: usize,
    /// Outstanding 1 MiB requests in the Tern goodput test (1..=8).
    #[arg(long, default_value_t = 8)]
    depth: usize,
    /// Pin the server thread to the first CPU and the client to the second
    /// (when there are two or more), so the two pollers never share a core.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pin: bool,
    /// Packet credits per Tern session (eRPC and the default: 32).
    #[arg(long, default_value_t = 32)]
    credits: u16,
    /// Largest UDP payload for Tern and the raw stream (1472 is MTU-safe;
    /// up to 65507 on loopback).
    #[arg(long, default_value_t = 1472)]
    max_datagram: usize,
}

/// Where the Tern server serves: `--transport udp` (the only one this
/// mode runs; `dpdk` has its own module) means a free loopback port.
fn tern_server_addr(args: &Args) -> Result<TransportAddr> {
    match args.transport.as_str() {
        "udp" => Ok(TransportAddr::Udp(SocketAddrV4::new(
            Ipv4Addr::LOCALHOST,
            0,
        ))),
        other => bail!("unknown transport {other:?} (this build has: udp)"),
    }
}

/// Opens the Tern transport at `at` for `role`, with `--max-datagram`.
fn open_transport(args: &Args, at: &TransportAddr, role: Role) -> Result<Box<dyn Transport>> {
    let config = UdpConfig {
        max_datagram: args.max_datagram,
        ..Default::default()
    };
    Ok(Box::new(at.open_udp(role, config)?))
}

fn endpoint_config(args: &Args) -> EndpointConfig {
    EndpointConfig {
        credits: args.credits,
        ..Default::default()
    }
}

/// What the server thread serves, chosen by the client between phases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Between phases: drain the Tern endpoint only.
    Idle,
    /// Echo datagrams on a plain `UdpSocket` (the latency baseline).
    RawEcho,
    /// Count bytes arriving on a `UdpTransport` (the goodput baseline).
    RawSink,
    /// Serve the Tern endpoint.
    Tern,
    /// Leave the thread.
    Stop,
    /// Echo through `UdpTransport`'s batched calls, without the protocol.
    MmsgEcho,
}

/// [`Mode`] in an atomic, for the two threads to share.
struct ModeCell(AtomicU8);

impl ModeCell {
    const ALL: [Mode; 6] = [
        Mode::Idle,
        Mode::RawEcho,
        Mode::RawSink,
        Mode::Tern,
        Mode::Stop,
        Mode::MmsgEcho,
    ];

    fn get(&self) -> Mode {
        Self::ALL[self.0.load(Ordering::Acquire) as usize]
    }

    fn set(&self, mode: Mode) {
        self.0.store(mode as u8, Ordering::Release);
    }
}

const ECHO: u16 = 1;
const SINK: u16 = 2;

/// What the server thread shares with the client thread.
struct Shared {
    mode: ModeCell,
    /// Raw stream: payload bytes received, and first/last arrival (ns since `origin`).
    sink_bytes: AtomicU64,
    sink_first_ns: AtomicU64,
    sink_last_ns: AtomicU64,
    origin: Instant,
    ready: AtomicBool,
}

struct ServerAddrs {
    tern: SocketAddrV4,
    raw_echo: SocketAddrV4,
    raw_sink: SocketAddrV4,
}

/// Pins the calling thread to CPU `index` (of those this process may use) if
/// `--pin` is on and there are two or more CPUs; best effort.
fn pin(args: &Args, index: usize) {
    if !args.pin {
        return;
    }
    if let Some(ids) = core_affinity::get_core_ids()
        && ids.len() >= 2
        && let Some(&id) = ids.get(index)
    {
        core_affinity::set_for_current(id);
    }
}

fn server_thread(
    args: Args,
    shared: Arc<Shared>,
    addrs_tx: std::sync::mpsc::Sender<Result<ServerAddrs>>,
) {
    pin(&args, 0);
    let setup = || -> Result<_> {
        let at = tern_server_addr(&args)?;
        let ep = Endpoint::new(
            open_transport(&args, &at, Role::Server)?,
            endpoint_config(&args),
        );
        let echo = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        echo.set_nonblocking(true)?;
        let sink = UdpTransport::bind_with(
            SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
            UdpConfig {
                max_datagram: args.max_datagram,
                ..Default::default()
            },
        )?;
        Ok((ep, echo, sink))
    };
    let (mut ep, echo, mut sink) = match setup() {
        Ok(x) => x,
        Err(e) => {
            let _ = addrs_tx.send(Err(e));
            return;
        }
    };
    let addrs = ServerAddrs {
        tern: ep.local_addr(),
        raw_echo: match echo.local_addr() {
            Ok(std::net::SocketAddr::V4(a)) => a,
            _ => unreachable!("bound to an IPv4 address"),
        },
        raw_sink: sink.local_addr(),
    };
    let _ = addrs_tx.send(Ok(addrs));
    let mut idle = IdleStrategy::new(args.lat.idle);
    let mut buf = vec![0u8; 65536];
    let mut rx = RxBatch::new(64, args.max_datagram);
    loop {
        let busy = match shared.mode.get() {
            Mode::Stop => return,
            Mode::RawEcho => match echo.recv_from(&mut buf) {
                Ok((n, peer)) => {
                    let _ = echo.send_to(&buf[..n], peer);
                    true
                }
                Err(_) => false,
            },
            Mode::MmsgEcho => {
                let n = sink.recv(&mut rx).unwrap_or(0);
                for i in 0..n {
                    let (peer, bytes) = rx.get(i);
                    let _ = sink.send(&[TxDatagram {
                        peer,
                        header: bytes,
                        payload: &[],
                    }]);
                }
                n > 0
            }
            Mode::RawSink => {
                let n = sink.recv(&mut rx).unwrap_or(0);
                if n > 0 {
                    let bytes: usize = (0..n).map(|i| rx.get(i).1.len()).sum();
                    let now = shared.origin.elapsed().as_nanos() as u64;
                    if shared.sink_bytes.fetch_add(bytes as u64, Ordering::Relaxed) == 0 {
                        shared.sink_first_ns.store(now, Ordering::Relaxed);
                    }
                    shared.sink_last_ns.store(now, Ordering::Relaxed);
                }
                n > 0
            }
            Mode::Tern => {
                // The Tern phases run under `tern_rpc::serve` like every
                // Tern server; the raw baselines keep this bare loop, so
                // they pay for no endpoint round.
                let leave = AtomicBool::new(false);
                let mut echo = EchoService {
                    shared: &shared,
                    leave: &leave,
                };
                serve(&mut ep, args.lat.idle, &leave, &mut echo);
                continue;
            }
            // Also drain the Tern endpoint so retransmissions and
            // stragglers between phases do not pile up.
            Mode::Idle => ep.run_once(|_, _| {}),
        };
        shared.ready.store(true, Ordering::Release);
        if busy {
            idle.reset();
        } else {
            idle.idle();
        }
    }
}

/// The Tern side of the server thread: echoes `ECHO` requests, answers
/// others empty, and leaves `serve` when the benchmark switches mode.
struct EchoService<'a> {
    shared: &'a Shared,
    leave: &'a AtomicBool,
}

impl Service for EchoService<'_> {
    fn on_request(&mut self, ctl: &mut Ctl<'_>, request: IncomingRequest<'_>) {
        let resp = if request.req_type == ECHO {
            Response::ok(request.payload.into_owned())
        } else {
            Response::ok(Vec::new())
        };
        let _ = ctl.respond(request.token, resp);
    }

    fn poll(&mut self, _: &mut Ctl<'_>) -> bool {
        if self.shared.mode.get() == Mode::Tern {
            self.shared.ready.store(true, Ordering::Release);
        } else {
            self.leave.store(true, Ordering::Relaxed);
        }
        false
    }
}

/// Sorts `ns` and returns its median and 99th percentile in µs.
fn p50_p99(ns: &mut [u64]) -> (f64, f64) {
    ns.sort_unstable();
    (percentile(ns, 0.5), percentile(ns, 0.99))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn raw_latency(addr: SocketAddrV4, lat: &Latency, n: usize, out: &mut Vec<u64>) -> Result<()> {
    let (size, mode) = (lat.size, lat.idle);
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    sock.set_nonblocking(true)?;
    let msg = vec![0xabu8; size];
    let mut buf = vec![0u8; 65536];
    let mut idle = IdleStrategy::new(mode);
    for _ in 0..n {
        let t0 = Instant::now();
        sock.send_to(&msg, addr)?;
        let deadline = t0 + Duration::from_secs(1);
        loop {
            match sock.recv_from(&mut buf) {
                Ok((k, _)) if k == size => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        bail!("raw echo lost a datagram");
                    }
                    idle.idle();
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        idle.reset();
        out.push(t0.elapsed().as_nanos() as u64);
    }
    Ok(())
}

/// Like `raw_latency`, through the transport Tern itself uses
/// (`UdpTransport`), without the Tern protocol.
fn mmsg_latency(addr: SocketAddrV4, lat: &Latency, n: usize, out: &mut Vec<u64>) -> Result<()> {
    let (size, mode) = (lat.size, lat.idle);
    let mut t = UdpTransport::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))?;
    let msg = vec![0xabu8; size];
    let mut rx = RxBatch::new(32, t.max_datagram());
    let mut idle = IdleStrategy::new(mode);
    for _ in 0..n {
        let t0 = Instant::now();
        t.send(&[TxDatagram {
            peer: addr,
            header: &msg,
            payload: &[],
        }])?;
        let deadline = t0 + Duration::from_secs(1);
        while t.recv(&mut rx)? == 0 {
            if Instant::now() > deadline {
                bail!("mmsg echo lost a datagram");
            }
            idle.idle();
        }
        idle.reset();
        out.push(t0.elapsed().as_nanos() as u64);
    }
    Ok(())
}

/// Times `n` Tern round trips of `lat.size`-byte echoes, one at a time, into
/// `out` (ns). Shared by the kernel-UDP and DPDK modes.
fn tern_latency<T: Transport>(
    ep: &mut Endpoint<T>,
    s: tern_rpc::SessionId,
    lat: &Latency,
    n: usize,
    out: &mut Vec<u64>,
) -> Result<()> {
    let (size, mode) = (lat.size, lat.idle);
    let mut idle = IdleStrategy::new(mode);
    let msg = vec![0xabu8; size];
    for i in 0..n {
        let t0 = Instant::now();
        ep.send_request(s, ECHO, msg.clone(), i as u64)?;
        let deadline = t0 + Duration::from_secs(5);
        loop {
            let mut answered = false;
            let mut unexpected = None;
            let busy = ep.run_once(|_, e| match e {
                Event::Response { response, .. } if response.payload.len() == size => {
                    answered = true
                }
                other => unexpected = Some(format!("{other:?}")),
            });
            if let Some(e) = unexpected {
                bail!("unexpected event {e}");
            }
            if answered {
                break;
            }
            if busy {
                idle.reset();
            } else {
                if Instant::now() > deadline {
                    bail!("tern round trip timed out");
                }
                idle.idle();
            }
        }
        out.push(t0.elapsed().as_nanos() as u64);
    }
    Ok(())
}

/// Sends `total` bytes to the sink as a stream of `dgram`-byte datagrams;
/// returns (received bytes, seconds between first and last arrival).
fn raw_stream(
    args: &Args,
    shared: &Shared,
    addr: SocketAddrV4,
    total: usize,
) -> Result<(u64, f64)> {
    let mut tx = UdpTransport::bind_with(
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
        UdpConfig {
            max_datagram: args.max_datagram,
            ..Default::default()
        },
    )?;
    let payload = vec![0x5au8; args.max_datagram];
    let batch: Vec<TxDatagram<'_>> = (0..64)
        .map(|_| TxDatagram {
            peer: addr,
            header: &[],
            payload: &payload,
        })
        .collect();
    let count = total.div_ceil(args.max_datagram);
    let mut sent = 0;
    let limit = Instant::now() + Duration::from_secs(60);
    while sent < count && Instant::now() < limit {
        let n = (count - sent).min(batch.len());
        let k = tx.send(&batch[..n])?;
        sent += k;
        if k == 0 {
            std::thread::yield_now();
        }
    }
    // Wait until the sink has everything or has been quiet for 200 ms.
    let expect = (count * args.max_datagram) as u64;
    let mut last = shared.sink_bytes.load(Ordering::Relaxed);
    let mut quiet_since = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(5));
        let now_bytes = shared.sink_bytes.load(Ordering::Relaxed);
        if now_bytes >= expect {
            break;
        }
        if now_bytes != last {
            last = now_bytes;
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() > Duration::from_millis(200) {
            break;
        }
    }
    let bytes = shared.sink_bytes.load(Ordering::Relaxed);
    let secs = (shared
        .sink_last_ns
        .load(Ordering::Relaxed)
        .saturating_sub(shared.sink_first_ns.load(Ordering::Relaxed))) as f64
        / 1e9;
    Ok((bytes, secs))
}

/// Sends `count` 1 MiB requests with up to `depth` outstanding; returns seconds.
fn tern_stream(
    ep: &mut Endpoint<Box<dyn Transport>>,
    s: tern_rpc::SessionId,
    count: usize,
    depth: usize,
    mode: IdleMode,
) -> Result<f64> {
    let mut idle = IdleStrategy::new(mode);
    let (mut issued, mut done) = (0, 0);
    let t0 = Instant::now();
    let limit = t0 + Duration::from_secs(120);
    while done < count {
        if Instant::now() > limit {
            bail!("tern goodput run exceeded its time limit ({done} of {count})");
        }
        while issued < count && issued - done < depth && ep.can_send(s) {
            ep.send_request(s, SINK, vec![0x5au8; 1 << 20], issued as u64)?;
            issued += 1;
        }
        let mut unexpected = None;
        ep.run_once_idle(&mut idle, |_, e| match e {
            Event::Response { .. } => done += 1,
            other => unexpected = Some(format!("{other:?}")),
        });
        if let Some(e) = unexpected {
            bail!("unexpected event {e}");
        }
    }
    Ok(t0.elapsed().as_secs_f64())
}

fn set_mode(shared: &Shared, mode: Mode) {
    shared.mode.set(mode);
    // Let the server notice before traffic of the new mode starts.
    shared.ready.store(false, Ordering::Release);
    let limit = Instant::now() + Duration::from_secs(5);
    while !shared.ready.load(Ordering::Acquire) && Instant::now() < limit {
        std::thread::yield_now();
    }
}

fn main() -> Result<()> {
    #[cfg(feature = "dpdk")]
    if pingpong_dpdk::requested() {
        return pingpong_dpdk::main();
    }
    let args = Args::parse();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let shared = Arc::new(Shared {
        mode: ModeCell(AtomicU8::new(Mode::Idle as u8)),
        sink_bytes: AtomicU64::new(0),
        sink_first_ns: AtomicU64::new(0),
        sink_last_ns: AtomicU64::new(0),
        origin: Instant::now(),
        ready: AtomicBool::new(false),
    });
    let (addrs_tx, addrs_rx) = std::sync::mpsc::channel();
    let server = {
        let (args, shared) = (args.clone(), shared.clone());
        std::thread::spawn(move || server_thread(args, shared, addrs_tx))
    };
    let addrs = addrs_rx.recv().context("server thread died")??;
    pin(&args, 1);

    let server_at = TransportAddr::Udp(addrs.tern);
    let client = open_transport(&args, &server_at, Role::Client)?;
    set_mode(&shared, Mode::Tern);
    let (mut ep, s) = Client::connect_with(
        client,
        addrs.tern,
        endpoint_config(&args),
        Duration::from_secs(10),
    )?
    .into_parts();

    println!(
        "tern-rpc pingpong: transport {}, idle {}, pinned {}, max datagram {} B, {} CPUs",
        args.transport, args.lat.idle, args.pin, args.max_datagram, cpus
    );
    // Latency, alternating rounds.
    let per_round = args.lat.samples.div_ceil(args.lat.rounds.max(1));
    let (mut raw_ns, mut mmsg_ns, mut tern_ns) = (Vec::new(), Vec::new(), Vec::new());
    let warm = 500.min(per_round);
    for round in 0..args.lat.rounds.max(1) {
        set_mode(&shared, Mode::RawEcho);
        let mut scratch = Vec::new();
        raw_latency(addrs.raw_echo, &args.lat, warm, &mut scratch)?;
        raw_latency(addrs.raw_echo, &args.lat, per_round, &mut raw_ns)?;
        set_mode(&shared, Mode::MmsgEcho);
        mmsg_latency(addrs.raw_sink, &args.lat, warm, &mut scratch)?;
        mmsg_latency(addrs.raw_sink, &args.lat, per_round, &mut mmsg_ns)?;
        set_mode(&shared, Mode::Tern);
        tern_latency(&mut ep, s, &args.lat, warm, &mut scratch)?;
        tern_latency(&mut ep, s, &args.lat, per_round, &mut tern_ns)?;
        let _ = round;
    }
    let (raw50, raw99) = p50_p99(&mut raw_ns);
    let (mmsg50, mmsg99) = p50_p99(&mut mmsg_ns);
    let (t50, t99) = p50_p99(&mut tern_ns);
    args.lat.print_heading(raw_ns.len());
    println!("  raw udp echo : p50 {raw50:8.2} us   p99 {raw99:8.2} us");
    println!(
        "  raw udp xport: p50 {mmsg50:8.2} us   p99 {mmsg99:8.2} us   (through UdpTransport, without the Tern protocol)"
    );
    println!("  tern         : p50 {t50:8.2} us   p99 {t99:8.2} us");

    // Goodput.
    let total = args.mib << 20;
    set_mode(&shared, Mode::RawSink);
    let (raw_bytes, raw_secs) = raw_stream(&args, &shared, addrs.raw_sink, total)?;
    let raw_mibs = raw_bytes as f64 / (1 << 20) as f64 / raw_secs.max(1e-9);
    let sent_bytes = (total.div_ceil(args.max_datagram) * args.max_datagram) as f64;
    set_mode(&shared, Mode::Tern);
    let tern_secs = tern_stream(&mut ep, s, args.mib, args.depth.clamp(1, 8), args.lat.idle)?;
    let tern_mibs = args.mib as f64 / tern_secs;
    println!("goodput, 1 MiB messages, {} MiB each:", args.mib);
    println!(
        "  raw udp stream: {raw_mibs:9.1} MiB/s  ({:.1}% of datagrams lost)",
        100.0 * (1.0 - raw_bytes as f64 / sent_bytes)
    );
    println!(
        "  tern          : {tern_mibs:9.1} MiB/s  (depth {}, retransmits {})",
        args.depth.clamp(1, 8),
        ep.stats().retransmits
    );
    println!("goodput_ratio={:.2}", tern_mibs / raw_mibs);
    eprintln!("client stats {:?}", ep.stats());

    shared.mode.set(Mode::Stop);
    server
        .join()
        .map_err(|_| anyhow::anyhow!("server thread panicked"))?;
    println!("{}_p50_ratio={:.2}", args.transport, t50 / raw50);
    Ok(())
}
