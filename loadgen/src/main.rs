//! The `loadgen` command line: `run`, `sweep`, `call`, `plot`, `echo-server`.
//! See `loadgen/README.md`.

use std::io::IsTerminal;
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use tern_loadgen::arrivals::ArrivalKind;
use tern_loadgen::call::{call, write_payload};
use tern_loadgen::csv::CsvWriter;
use tern_loadgen::echo_server::{echo, serve};
use tern_loadgen::engine::{RunConfig, run};
use tern_loadgen::fault::parse_fault;
use tern_loadgen::mix::{Mix, body_value, load_spec};
use tern_loadgen::plot::plot_files;
use tern_loadgen::rate_list::parse_rates;
use tern_loadgen::report::{RunReport, format_table};
use tern_loadgen::sweep::{SweepConfig, sweep};
use tern_rpc::transport::TransportAddr;
use tern_rpc::transport::fault::FaultConfig;
use tern_rpc::transport::udp::UdpTransport;
use tern_rpc::{Endpoint, EndpointConfig, IdleMode};

/// Open-loop load generator for Tern: tail latency measured from intended
/// send times, sweeps, CSV and plots.
#[derive(Parser, Debug)]
#[command(name = "loadgen", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// One open-loop run at one rate; prints a table per route.
    Run(RunArgs),
    /// One run per rate; prints a progress bar and a summary table, writes
    /// one CSV row per rate and route.
    Sweep(SweepArgs),
    /// One invocation: prints the output and the timings.
    Call(CallArgs),
    /// Plots p99/p50 and deadline-met % against offered load, one line per
    /// CSV file.
    Plot(PlotArgs),
    /// A tern-rpc server that answers every request at once (no workers):
    /// the reference for loadgen's own limit.
    EchoServer(EchoArgs),
}

/// A `--server` value: a transport address a client can talk to (a fixed
/// port, a specified IP).
fn server_addr(s: &str) -> Result<TransportAddr, String> {
    let addr: TransportAddr = s.parse().map_err(|e| format!("{e}"))?;
    addr.check_server_address().map_err(|e| e.to_string())?;
    Ok(addr)
}

/// Seconds as a non-negative finite number.
fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if (0.0..1e7).contains(&v) {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(format!("{s:?} must be a non-negative number of seconds"))
    }
}

#[derive(Args, Debug)]
struct LoadArgs {
    /// The server: udp://IP:PORT (or bare IP:PORT), or, in a build with
    /// `--features dpdk`, dpdk://IP:PORT?dev=DEV&ip=LOCAL_IP&eal=EAL+ARGS[&port=LOCAL_PORT].
    #[arg(long, value_parser = server_addr)]
    server: TransportAddr,
    /// Spec file (SLEdge JSON) mapping routes to request types and deadlines.
    /// Without it, routes must be bare request-type numbers.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Routes and weights: ROUTE=WEIGHT[,ROUTE=WEIGHT...] (e.g. /short=9,/long=1).
    #[arg(long)]
    mix: String,
    /// Request body of a route, repeatable: ROUTE=TEXT, ROUTE=bytes:N (N filler
    /// bytes) or ROUTE=@FILE. Default: empty.
    #[arg(long = "body", value_name = "ROUTE=BODY")]
    bodies: Vec<String>,
    /// Measured seconds per run.
    #[arg(long, value_parser = seconds)]
    duration: Duration,
    /// Seconds of load before each measured window (sent, not measured).
    #[arg(long, value_parser = seconds, default_value = "1")]
    warmup: Duration,
    /// Arrival process: poisson or constant.
    #[arg(long, default_value = "poisson")]
    arrivals: ArrivalKind,
    /// Seed of the arrival schedule and route draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Sessions to the server over all threads (8 outstanding requests each;
    /// beyond that, requests wait in loadgen with their latency counting).
    #[arg(long, default_value_t = 16)]
    sessions: usize,
    /// Engine threads, each with its own socket and endpoint.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Idle mode of the poll loops: adaptive (spin, yield, park; right where
    /// threads outnumber cores) or spin.
    #[arg(long, default_value = "adaptive")]
    idle: IdleMode,
    /// Seconds to wait for outstanding requests after the window; what is
    /// still unanswered then counts as a timeout.
    #[arg(long, value_parser = seconds, default_value = "2")]
    drain: Duration,
    /// RPC retransmission timeout in milliseconds. Every request waiting in
    /// the server's queue is probed once per timeout, so a short one floods
    /// a saturated server with probes.
    #[arg(long, default_value_t = 20.0)]
    retransmit_ms: f64,
    /// Client-side fault injection on loadgen's own datagrams, both
    /// directions: drop=P,dup=P,reorder=P[,window-us=N][,seed=N]
    /// (probabilities per datagram). Default: none.
    #[arg(long, value_parser = parse_fault)]
    fault: Option<FaultConfig>,
}

impl LoadArgs {
    fn config(&self, rate: f64) -> Result<RunConfig> {
        let spec = self.spec.as_deref().map(load_spec).transpose()?;
        let mix = Mix::from_args(spec.as_ref(), &self.mix, &self.bodies)?;
        let mut cfg = RunConfig::new(self.server.clone(), mix, rate);
        cfg.duration = self.duration;
        cfg.warmup = self.warmup;
        cfg.arrivals = self.arrivals;
        cfg.seed = self.seed;
        cfg.sessions = self.sessions;
        cfg.threads = self.threads;
        cfg.idle = self.idle;
        cfg.drain = self.drain;
        if !(self.retransmit_ms.is_finite() && self.retransmit_ms >= 0.05) {
            bail!("--retransmit-ms must be at least 0.05");
        }
        cfg.retransmit_timeout = Duration::from_secs_f64(self.retransmit_ms / 1e3);
        cfg.fault = self.fault;
        Ok(cfg)
    }
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Offered rate over all routes, requests per second.
    #[arg(long)]
    rate: f64,
    /// Write the rows to this CSV file.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct SweepArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Rates: R1,R2,... or FROM:TO:STEPS (inclusive, evenly spaced).
    #[arg(long)]
    rates: String,
    /// Write one row per rate and route to this CSV file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also draw the sweep into this plot (.svg or .png).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Seconds of quiet between runs.
    #[arg(long, value_parser = seconds, default_value = "1")]
    pause: Duration,
    /// Stop after the first run that saturates the server (achieved < 90%
    /// of offered, or timeouts): higher rates would only measure a growing
    /// queue, and its backlog would leak into later runs.
    #[arg(long)]
    stop_when_saturated: bool,
}

#[derive(Args, Debug)]
struct CallArgs {
    /// The server: udp://IP:PORT (or bare IP:PORT), or, in a build with
    /// `--features dpdk`, dpdk://IP:PORT?dev=DEV&ip=LOCAL_IP&eal=EAL+ARGS[&port=LOCAL_PORT].
    #[arg(long, value_parser = server_addr)]
    server: TransportAddr,
    /// Spec file, to call a route by name and show its deadline.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Route name from the spec (e.g. /fib) or a request-type number.
    #[arg(long)]
    route: String,
    /// Request body: TEXT, bytes:N or @FILE. Default: empty.
    body: Option<String>,
    /// Seconds to wait for the connect and for the answer.
    #[arg(long, value_parser = seconds, default_value = "5")]
    timeout: Duration,
}

#[derive(Args, Debug)]
struct PlotArgs {
    /// CSV files written by run or sweep; each is one line, labelled by its
    /// file name without extension.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output image: .svg or .png.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// Title of the figure.
    #[arg(long)]
    title: Option<String>,
}

#[derive(Args, Debug)]
struct EchoArgs {
    /// Address to listen on (port 0 picks one; the actual address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddrV4,
    /// Idle mode of the poll loop: adaptive or spin.
    #[arg(long, default_value = "adaptive")]
    idle: IdleMode,
    /// Stop after this many seconds (default: run until SIGINT/SIGTERM).
    #[arg(long, value_parser = seconds)]
    duration: Option<Duration>,
}

fn print_warnings(r: &RunReport) {
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
}

fn cmd_run(a: RunArgs) -> Result<()> {
    let cfg = a.load.config(a.rate)?;
    let report = run(&cfg)?;
    print!("{}", format_table(std::slice::from_ref(&report)));
    print_warnings(&report);
    if let Some(out) = &a.out {
        CsvWriter::create(out)?.write_report(&report)?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

fn cmd_sweep(a: SweepArgs) -> Result<()> {
    let rates = parse_rates(&a.rates)?;
    let cfg = SweepConfig {
        base: a.load.config(rates[0])?,
        rates,
        out: a.out.clone(),
        pause: a.pause,
        progress: true,
        stop_when_saturated: a.stop_when_saturated,
    };
    let reports = sweep(&cfg, |_| {})?;
    print!("{}", format_table(&reports));
    for r in &reports {
        print_warnings(r);
    }
    if let Some(out) = &a.out {
        eprintln!("wrote {}", out.display());
        if let Some(plot) = &a.plot {
            plot_files(std::slice::from_ref(out), plot, None)?;
            eprintln!("wrote {}", plot.display());
        }
    } else if a.plot.is_some() {
        bail!("--plot needs --out (the plot is drawn from the CSV)");
    }
    Ok(())
}

fn cmd_call(a: CallArgs) -> Result<()> {
    let spec = a.spec.as_deref().map(load_spec).transpose()?;
    let route = spec.as_ref().and_then(|s| s.route_by_name(&a.route));
    let request_type = match route {
        Some(r) => r.request_type,
        None => a.route.parse::<u16>().with_context(|| {
            format!(
                "route {:?} is not in the spec and not a request-type number",
                a.route
            )
        })?,
    };
    let body = a
        .body
        .as_deref()
        .map(body_value)
        .transpose()?
        .unwrap_or_default();
    let out = call(&a.server, request_type, body, a.timeout)?;
    let r = &out.response;
    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    write_payload(&mut stdout.lock(), &r.payload, terminal).context("writing the response")?;
    let rtt_us = out.round_trip.as_secs_f64() * 1e6;
    eprintln!(
        "status {}  round trip {rtt_us:.1} us  server queue {:.1} us  exec {:.1} us  connect {:.1} us  ({} bytes)",
        r.status,
        r.queue_ns as f64 / 1e3,
        r.exec_ns as f64 / 1e3,
        out.connect.as_secs_f64() * 1e6,
        r.payload.len()
    );
    if let Some(d) = route.map(|r| r.relative_deadline_us).filter(|&d| d > 0) {
        let verdict = if rtt_us <= d as f64 { "met" } else { "missed" };
        eprintln!("deadline {d} us: {verdict}");
    }
    if !r.status.is_ok() {
        bail!("the server answered {}", r.status);
    }
    Ok(())
}

fn cmd_plot(a: PlotArgs) -> Result<()> {
    plot_files(&a.inputs, &a.output, a.title.as_deref())?;
    eprintln!("wrote {}", a.output.display());
    Ok(())
}

fn cmd_echo(a: EchoArgs) -> Result<()> {
    let transport =
        UdpTransport::bind(a.listen).with_context(|| format!("binding {}", a.listen))?;
    let mut endpoint = Endpoint::new(transport, EndpointConfig::default());
    println!("listening on udp://{}", endpoint.local_addr());
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing a signal handler")?;
    }
    if let Some(d) = a.duration {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(d);
            stop.store(true, Ordering::Relaxed);
        });
    }
    let served = AtomicU64::new(0);
    let t0 = Instant::now();
    serve(&mut endpoint, a.idle, &stop, &served, echo);
    eprintln!(
        "served {} requests in {:.1} s",
        served.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => cmd_run(a),
        Command::Sweep(a) => cmd_sweep(a),
        Command::Call(a) => cmd_call(a),
        Command::Plot(a) => cmd_plot(a),
        Command::EchoServer(a) => cmd_echo(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
