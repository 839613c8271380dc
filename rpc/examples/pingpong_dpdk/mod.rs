//! `pingpong --transport dpdk`: small-RPC round trip of Tern over DPDK
//! against a raw DPDK echo (the same `DpdkTransport`, datagrams only, no
//! Tern protocol) in the same run, over `net_memif` and over `net_af_xdp` /
//! `net_af_packet` on a veth pair between two network namespaces.
//!
//! ```text
//! # local: both set-ups, two processes each (needs root)
//! cargo run --release -p tern-rpc --features dpdk --example pingpong -- --transport dpdk
//! cargo run --release -p tern-rpc --features dpdk --example pingpong -- --transport dpdk --pmd memif
//! # two machines (CloudLab, mlx5): one side each
//! pingpong --transport dpdk --role server --dpdk-args "-l 2 -a 0000:41:00.0" --dpdk-port 0000:41:00.0 --local-ip 10.10.1.1
//! pingpong --transport dpdk --role client --dpdk-args "-l 2 -a 0000:41:00.0" --dpdk-port 0000:41:00.0 --local-ip 10.10.1.2 --peer 10.10.1.1
//! ```
//!
//! DPDK's EAL runs once per process, so each side is its own process: with
//! no `--role` this program starts the server and the client as child
//! processes of itself (inside the namespaces of `scripts/testbed.sh` for
//! af_xdp/af_packet), prints the client's report, and ends with one line per
//! set-up, `dpdk_<pmd>_p50_ratio=X.XX` (Tern p50 / raw p50), memif last.
//!
//! The server process runs one endpoint whose transport also answers raw
//! echo datagrams (first byte 0, never a Tern magic byte) inline, so raw and
//! Tern requests meet the same queue, the same poll loop and the same idle
//! strategy; the client alternates raw and Tern rounds so machine noise hits
//! both alike.

use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{Latency, p50_p99, tern_latency};
use clap::Parser;
use tern_rpc::transport::address::DpdkAddr;
use tern_rpc::transport::dpdk::DpdkTransport;
use tern_rpc::transport::{Role, TransportAddr};
use tern_rpc::transport::{RxBatch, Transport, TxDatagram};
use tern_rpc::{
    Client, Ctl, Endpoint, EndpointConfig, Event, IdleStrategy, IncomingRequest, Response, Service,
};

/// First byte of a raw echo datagram.
const RAW: u8 = 0;
const QUIT: u16 = 9;

/// Whether the command line asks for `--transport dpdk`.
pub fn requested() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2)
        .any(|w| w[0] == "--transport" && w[1] == "dpdk")
        || args.iter().any(|a| a == "--transport=dpdk")
}

#[derive(Parser, Debug, Clone)]
#[command(about = "Tern over DPDK vs a raw DPDK echo: small-message round trip")]
struct Args {
    /// Must be dpdk here.
    #[arg(long)]
    transport: String,
    /// Local set-ups to run when no --role is given, in order: memif,
    /// af_xdp, af_packet (comma-separated).
    #[arg(long, default_value = "af_xdp,memif")]
    pmd: String,
    /// Run one side only (two machines, or by hand): server or client.
    #[arg(long)]
    role: Option<String>,
    /// EAL arguments of this side (with --role).
    #[arg(long, allow_hyphen_values = true)]
    dpdk_args: Option<String>,
    /// DPDK port of this side, by name or index (with --role).
    #[arg(long)]
    dpdk_port: Option<String>,
    /// IPv4 address of this side (with --role).
    #[arg(long)]
    local_ip: Option<Ipv4Addr>,
    /// The server's IPv4 address (client role).
    #[arg(long)]
    peer: Option<Ipv4Addr>,
    /// UDP port of the server (and of the client).
    #[arg(long, default_value_t = 7200)]
    udp_port: u16,
    #[command(flatten)]
    lat: Latency,
}

pub fn main() -> Result<()> {
    let args = Args::parse();
    if args.transport != "dpdk" {
        bail!("pingpong_dpdk runs only --transport dpdk");
    }
    match args.role.as_deref() {
        Some("server") => server(&args),
        Some("client") => client(&args),
        Some(other) => bail!("--role {other:?}: expected server or client"),
        None => orchestrate(&args),
    }
}

/// This side's transport address, from the role flags: the server serves
/// on `--local-ip:--udp-port`; the client talks to `--peer:--udp-port`
/// from `--local-ip:--udp-port`.
fn address(args: &Args, role: Role) -> Result<TransportAddr> {
    let (Some(eal), Some(dev), Some(ip)) = (&args.dpdk_args, &args.dpdk_port, args.local_ip) else {
        bail!("--role needs --dpdk-args, --dpdk-port and --local-ip");
    };
    let (addr, local_ip, local_port) = match role {
        Role::Server => (SocketAddrV4::new(ip, args.udp_port), None, None),
        Role::Client => {
            let Some(peer) = args.peer else {
                bail!("--role client needs --peer (the server's IPv4 address)");
            };
            (
                SocketAddrV4::new(peer, args.udp_port),
                Some(ip),
                Some(args.udp_port),
            )
        }
    };
    Ok(TransportAddr::Dpdk(DpdkAddr {
        addr,
        dev: Some(dev.clone()),
        eal: Some(eal.clone()),
        local_ip,
        local_port,
    }))
}

/// Opens this side's port (the client waits for the link: a memif
/// server's link only comes up once the client connects).
fn open(args: &Args, role: Role) -> Result<DpdkTransport> {
    let addr = address(args, role)?;
    let mut config = addr.dpdk_config(role)?;
    // One poll thread per process, nothing spawned after: keep the EAL's
    // pinning of it to its lcore (as a raw DPDK application would).
    config.pin_thread = true;
    Ok(addr.open_dpdk_with(role, &config)?)
}

/// The server's transport: answers raw echo datagrams itself and hands the
/// rest (Tern packets) to the endpoint above.
/// The count of echoed datagrams is shared with the server's [`Service`]
/// stage, which counts a round that echoed as busy.
struct RawEchoTap(DpdkTransport, Arc<AtomicU64>);

impl Transport for RawEchoTap {
    fn max_datagram(&self) -> usize {
        self.0.max_datagram()
    }
    fn local_addr(&self) -> SocketAddrV4 {
        self.0.local_addr()
    }
    fn send(&mut self, batch: &[TxDatagram<'_>]) -> io::Result<usize> {
        self.0.send(batch)
    }
    fn recv(&mut self, out: &mut RxBatch) -> io::Result<usize> {
        let n = self.0.recv(out)?;
        if (0..n).all(|i| out.get(i).1.first() != Some(&RAW)) {
            return Ok(n);
        }
        // Echo the raw datagrams, then close the gaps they leave.
        for i in 0..n {
            let (peer, bytes) = out.get(i);
            if bytes.first() == Some(&RAW) {
                self.0.send(&[TxDatagram {
                    peer,
                    header: &[],
                    payload: bytes,
                }])?;
                self.1.fetch_add(1, Ordering::Relaxed);
            }
        }
        let (storage, slot, lens, peers) = out.raw_parts_mut();
        let mut kept = 0;
        for i in 0..n {
            if storage[i * slot] != RAW || lens[i] == 0 {
                if kept != i {
                    storage.copy_within(i * slot..i * slot + lens[i], kept * slot);
                    lens[kept] = lens[i];
                    peers[kept] = peers[i];
                }
                kept += 1;
            }
        }
        out.set_filled(kept);
        Ok(kept)
    }
}

fn server(args: &Args) -> Result<()> {
    let echoed = Arc::new(AtomicU64::new(0));
    let mut ep = Endpoint::new(
        RawEchoTap(open(args, Role::Server)?, echoed.clone()),
        EndpointConfig::default(),
    );
    println!("ready: server on {}", ep.local_addr());
    let stop = AtomicBool::new(false);
    let mut service = EchoUntilQuit {
        limit: Instant::now() + Duration::from_secs(600),
        quit_at: None,
        timed_out: false,
        echoed,
        echoed_seen: 0,
        stop: &stop,
    };
    tern_rpc::serve(&mut ep, args.lat.idle, &stop, &mut service);
    if service.timed_out {
        bail!("server: no QUIT within 600 s")
    }
    Ok(())
}

/// The server's Tern side: echoes every request; a QUIT ends the loop 300
/// ms later (so that a lost QUIT response can be retransmitted).
struct EchoUntilQuit<'a> {
    limit: Instant,
    quit_at: Option<Instant>,
    timed_out: bool,
    /// Raw datagrams the transport echoed, and the count last seen.
    echoed: Arc<AtomicU64>,
    echoed_seen: u64,
    stop: &'a AtomicBool,
}

impl Service for EchoUntilQuit<'_> {
    fn on_request(&mut self, ctl: &mut Ctl<'_>, request: IncomingRequest<'_>) {
        if request.req_type == QUIT {
            self.quit_at.get_or_insert_with(Instant::now);
        }
        let _ = ctl.respond(request.token, Response::ok(request.payload.into_owned()));
    }

    /// Busy when the transport echoed raw datagrams this round.
    fn poll(&mut self, _ctl: &mut Ctl<'_>) -> bool {
        let quit = self
            .quit_at
            .is_some_and(|t| t.elapsed() > Duration::from_millis(300));
        self.timed_out = Instant::now() >= self.limit;
        if quit || self.timed_out {
            self.stop.store(true, Ordering::Relaxed);
        }
        let echoed = self.echoed.load(Ordering::Relaxed);
        let busy = echoed != self.echoed_seen;
        self.echoed_seen = echoed;
        busy
    }
}

fn raw_round(
    t: &mut dyn Transport,
    peer: SocketAddrV4,
    args: &Args,
    n: usize,
    rx: &mut RxBatch,
    out: &mut Vec<u64>,
) -> Result<()> {
    let mut msg = vec![0xabu8; args.lat.size.max(5)];
    msg[0] = RAW;
    let mut idle = IdleStrategy::new(args.lat.idle);
    let mut lost = 0;
    for seq in 0..n as u32 {
        msg[1..5].copy_from_slice(&seq.to_be_bytes());
        'retry: loop {
            let t0 = Instant::now();
            while t.send(&[TxDatagram {
                peer,
                header: &[],
                payload: &msg,
            }])? == 0
            {}
            let deadline = t0 + Duration::from_millis(200);
            loop {
                if t.recv(rx)? > 0 {
                    idle.reset();
                    let hit = (0..rx.len()).any(|i| rx.get(i).1 == &msg[..]);
                    if hit {
                        out.push(t0.elapsed().as_nanos() as u64);
                        break 'retry;
                    }
                } else if Instant::now() > deadline {
                    lost += 1;
                    if lost > 100 {
                        bail!("raw echo: more than 100 datagrams lost");
                    }
                    continue 'retry;
                } else {
                    idle.idle();
                }
            }
        }
    }
    Ok(())
}

fn client(args: &Args) -> Result<()> {
    let Some(peer_ip) = args.peer else {
        bail!("--role client needs --peer")
    };
    let server = SocketAddrV4::new(peer_ip, args.udp_port);
    let (mut ep, s) = Client::connect_with(
        open(args, Role::Client)?,
        server,
        EndpointConfig::default(),
        Duration::from_secs(20),
    )?
    .into_parts();
    let (port_id, port_name) = ep.transport().port();
    println!(
        "tern-rpc pingpong: transport dpdk, port {port_id} ({port_name}), idle {}, server and client processes on one lcore each",
        args.lat.idle,
    );
    let mut rx = RxBatch::new(32, ep.transport().max_datagram());
    let per_round = args.lat.samples.div_ceil(args.lat.rounds.max(1));
    let warm = 500.min(per_round);
    let (mut raw_ns, mut tern_ns, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.lat.rounds.max(1) {
        raw_round(
            ep.transport_mut(),
            server,
            args,
            warm,
            &mut rx,
            &mut scratch,
        )?;
        raw_round(
            ep.transport_mut(),
            server,
            args,
            per_round,
            &mut rx,
            &mut raw_ns,
        )?;
        tern_latency(&mut ep, s, &args.lat, warm, &mut scratch)?;
        tern_latency(&mut ep, s, &args.lat, per_round, &mut tern_ns)?;
    }
    let (r50, r99) = p50_p99(&mut raw_ns);
    let (t50, t99) = p50_p99(&mut tern_ns);
    args.lat.print_heading(raw_ns.len());
    println!("  raw dpdk echo: p50 {r50:8.2} us   p99 {r99:8.2} us");
    println!("  tern         : p50 {t50:8.2} us   p99 {t99:8.2} us");
    println!("  transport stats: {:?}", ep.transport().stats());
    println!("p50_ratio={:.2}", t50 / r50);
    // Stop the server; its answer may be lost, so do not insist.
    let _ = ep.send_request(s, QUIT, Vec::new(), u64::MAX);
    let stop = Instant::now() + Duration::from_millis(500);
    while Instant::now() < stop {
        let mut answered = false;
        ep.run_once(|_, e| answered |= matches!(e, Event::Response { .. }));
        if answered {
            break;
        }
    }
    Ok(())
}

/// A child process of this program running one role; killed on drop.
struct Side {
    child: std::process::Child,
    log: PathBuf,
    name: String,
}

impl Side {
    fn spawn(netns: Option<&str>, name: &str, role_args: &[String]) -> Result<Side> {
        let exe = std::env::current_exe()?;
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(role_args);
        let log =
            std::env::temp_dir().join(format!("tern-pingpong-{}-{name}.log", std::process::id()));
        let file = fs::File::create(&log)?;
        cmd.stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file));
        let child = cmd
            .spawn()
            .with_context(|| format!("start the {name} process"))?;
        Ok(Side {
            child,
            log,
            name: name.into(),
        })
    }

    fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for(&mut self, needle: &str, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        while !self.output().contains(needle) {
            if let Some(st) = self.child.try_wait()? {
                bail!("{} exited ({st}):\n{}", self.name, self.output());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} not ready within {limit:?}:\n{}",
                    self.name,
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn finish(mut self, limit: Duration) -> Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait()? {
                let out = self.output();
                if !st.success() {
                    bail!("{} failed ({st}):\n{out}", self.name);
                }
                return Ok(out);
            }
            if Instant::now() > deadline {
                bail!("{} ran past {limit:?}:\n{}", self.name, self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = fs::remove_file(&self.log);
    }
}

/// `scripts/testbed.sh` namespaces for one run, removed on drop.
struct Testbed(Vec<(String, String)>);

impl Testbed {
    fn up() -> Result<Testbed> {
        let pid = std::process::id();
        let tb = Testbed(vec![
            ("TERN_NS_A".into(), format!("ternpp{pid}a")),
            ("TERN_NS_B".into(), format!("ternpp{pid}b")),
        ]);
        let out = tb.script("up")?;
        if !out.status.success() {
            bail!(
                "scripts/testbed.sh up failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(tb)
    }

    fn script(&self, verb: &str) -> io::Result<std::process::Output> {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/testbed.sh");
        Command::new(script)
            .arg(verb)
            .envs(self.0.iter().cloned())
            .output()
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let _ = self.script("down");
    }
}

fn orchestrate(args: &Args) -> Result<()> {
    let mut ratios = Vec::new();
    let pmds: Vec<&str> = args
        .pmd
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    for pmd in pmds {
        let pid = std::process::id();
        let eal = |core: u32, side: &str, vdev: &str| {
            format!(
                "-l {core} --no-huge --no-pci --no-shconf -m 512 --file-prefix=ternpp{pid}{side} --vdev={vdev}"
            )
        };
        let (testbed, ns, vdevs, dev, ips) = match pmd {
            "memif" => {
                let sock = format!("/tmp/tern-pingpong-{pid}.sock");
                (
                    None,
                    [None, None],
                    [
                        format!("net_memif0,role=server,socket={sock}"),
                        format!("net_memif0,role=client,socket={sock}"),
                    ],
                    "net_memif0".to_string(),
                    ["10.88.0.1", "10.88.0.2"],
                )
            }
            "af_xdp" | "af_packet" => {
                let tb = Testbed::up()?;
                let ns = [Some(tb.0[0].1.clone()), Some(tb.0[1].1.clone())];
                (
                    Some(tb),
                    ns,
                    [
                        format!("net_{pmd}0,iface=veth-a"),
                        format!("net_{pmd}0,iface=veth-b"),
                    ],
                    format!("net_{pmd}0"),
                    ["10.77.0.11", "10.77.0.12"],
                )
            }
            other => bail!("--pmd {other:?}: expected memif, af_xdp or af_packet"),
        };
        let common = |role: &str, core: u32, vdev: &str, ip: &str| -> Vec<String> {
            let mut v: Vec<String> = [
                "--transport",
                "dpdk",
                "--role",
                role,
                "--dpdk-port",
                &dev,
                "--local-ip",
                ip,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            v.push(format!("--dpdk-args={}", eal(core, role, vdev)));
            v.extend([
                format!("--udp-port={}", args.udp_port),
                format!("--idle={}", args.lat.idle),
                format!("--size={}", args.lat.size),
                format!("--samples={}", args.lat.samples),
                format!("--rounds={}", args.lat.rounds),
            ]);
            v
        };
        let mut server = Side::spawn(
            ns[0].as_deref(),
            "server",
            &common("server", 0, &vdevs[0], ips[0]),
        )?;
        server.wait_for("ready", Duration::from_secs(60))?;
        let mut client_args = common("client", 1, &vdevs[1], ips[1]);
        client_args.push(format!("--peer={}", ips[0]));
        let client = Side::spawn(ns[1].as_deref(), "client", &client_args)?;
        let out = client.finish(Duration::from_secs(300))?;
        let _ = server.finish(Duration::from_secs(10));
        println!("== {pmd} ==");
        let mut ratio = None;
        for line in out.lines() {
            if let Some(r) = line.strip_prefix("p50_ratio=") {
                ratio = Some(r.to_string());
            } else if !line.starts_with("EAL:")
                && !line.starts_with("TELEMETRY:")
                && !line.starts_with("libxdp:")
            {
                println!("{line}");
            }
        }
        for side in ["server", "client"] {
            // Empty with --no-shconf, but still a directory per process.
            let _ = fs::remove_dir_all(format!("/var/run/dpdk/ternpp{pid}{side}"));
        }
        ratios.push((
            pmd.to_string(),
            ratio.context("the client printed no ratio")?,
        ));
        drop(testbed);
    }
    ratios.sort_by_key(|(p, _)| p == "memif");
    for (pmd, r) in ratios {
        println!("dpdk_{pmd}_p50_ratio={r}");
    }
    Ok(())
}
