//! The open-loop run engine.
//!
//! Each engine thread owns one [`Endpoint`] (eRPC style: nothing is shared
//! while the run is on) with many sessions to the server, and runs one loop:
//!
//! 1. move every arrival whose intended time has come from the seeded
//!    schedule into a local FIFO (the route is drawn from the mix);
//! 2. send from the FIFO while a session has a free request slot;
//! 3. poll the endpoint and account each response against its request's
//!    *intended* send time.
//!
//! When the server is slow and every slot is in flight, requests wait in the
//! FIFO and their latency keeps counting from when they were meant to go:
//! that is what an open-loop client sees, and what a closed-loop tool would
//! hide (coordinated omission). The run is bounded: arrivals stop at the end
//! of the measured window, the loop then drains outstanding requests for at
//! most the drain timeout, and whatever is still unanswered is counted as a
//! timeout (with its latency so far in the tail), never dropped.
//!
//! Threads split the rate evenly; independent Poisson streams add up to a
//! Poisson stream of the total rate, and constant streams are phase-shifted
//! so their union stays evenly spaced.

use std::collections::VecDeque;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tern_rpc::transport::fault::{FaultConfig, FaultInjector, FaultStatsHandle};
use tern_rpc::transport::{Role, Transport, TransportAddr};
use tern_rpc::{
    Ctl, Endpoint, EndpointConfig, Event, IdleMode, IdleStrategy, RpcError, SessionId, Status,
};
use tern_sched::slab::Slab;

use crate::arrivals::{ArrivalKind, Arrivals};
use crate::error::LoadgenError;
use crate::mix::Mix;
use crate::report::RunReport;
use crate::route_stats::{ERROR_OTHER, RouteStats};

/// When the next arrival is closer than this (ns), an idle loop spins
/// instead of possibly parking, so the send is not delayed by a park.
const NEAR_ARRIVAL_NS: u64 = 100_000;

/// Everything one run needs.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The server.
    pub server: TransportAddr,
    /// The routes, weights and bodies.
    pub mix: Mix,
    /// Offered rate over all routes, requests per second.
    pub rate: f64,
    /// Length of the measured window.
    pub duration: Duration,
    /// Load before the window that is sent but not measured.
    pub warmup: Duration,
    /// Poisson or constant gaps.
    pub arrivals: ArrivalKind,
    /// Seed of the schedule and the route draws.
    pub seed: u64,
    /// Sessions over all threads (each carries up to 8 requests at once).
    pub sessions: usize,
    /// Engine threads, each with its own endpoint and socket.
    pub threads: usize,
    /// How idle loops wait (adaptive where threads outnumber cores).
    pub idle: IdleMode,
    /// How long to wait for outstanding requests after the window.
    pub drain: Duration,
    /// How long connecting all sessions may take.
    pub connect_timeout: Duration,
    /// The RPC retransmission timeout (base of its backoff); see
    /// [`DEFAULT_RETRANSMIT_TIMEOUT`].
    pub retransmit_timeout: Duration,
    /// Client-side fault injection (`--fault`), none by default. Each
    /// thread's injector gets its own seed (the config's plus the thread
    /// index), so threads do not drop in lockstep.
    pub fault: Option<FaultConfig>,
}

/// loadgen's RPC retransmission timeout: 20 ms, not tern-rpc's 5 ms. A
/// request waiting in a long server queue is probed once per timeout (the
/// server's "still executing" answer restarts the timer), so at saturation
/// every outstanding request would cost the server a packet every 5 ms
/// (25,600 probes/s for 128 outstanding), stealing the CPU it needs to
/// drain the queue. On loopback packets are only lost when a socket buffer
/// overflows, and a loss then shows in the tail as about this much.
pub const DEFAULT_RETRANSMIT_TIMEOUT: Duration = Duration::from_millis(20);

impl RunConfig {
    /// A config with loadgen's defaults: 5 s measured after 1 s of warm-up,
    /// Poisson arrivals, seed 1, 16 sessions (128 requests in flight at
    /// most; more wait in loadgen, their latency counting), 1 thread,
    /// adaptive idling, 2 s drain, 5 s to connect, 20 ms retransmission
    /// timeout, no fault injection.
    pub fn new(server: TransportAddr, mix: Mix, rate: f64) -> Self {
        RunConfig {
            server,
            mix,
            rate,
            duration: Duration::from_secs(5),
            warmup: Duration::from_secs(1),
            arrivals: ArrivalKind::Poisson,
            seed: 1,
            sessions: 16,
            threads: 1,
            idle: IdleMode::Adaptive,
            drain: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
            retransmit_timeout: DEFAULT_RETRANSMIT_TIMEOUT,
            fault: None,
        }
    }

    fn validate(&self) -> Result<(), LoadgenError> {
        let bad = |s: &str| Err(LoadgenError::Usage(s.to_string()));
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return bad("--rate must be a positive number of requests per second");
        }
        if self.duration.is_zero() {
            return bad("--duration must be positive");
        }
        if self.threads == 0 || self.threads > 64 {
            return bad("--threads must be 1..=64");
        }
        if self.server.is_dpdk() && self.threads != 1 {
            return bad("dpdk:// opens one DPDK queue per process: use --threads 1");
        }
        if self.sessions < self.threads || self.sessions > 4096 {
            return bad("--sessions must be at least --threads and at most 4096");
        }
        let max = EndpointConfig::default().max_message;
        if let Some(e) = self.mix.entries().iter().find(|e| e.body.len() > max) {
            return Err(LoadgenError::Mix(format!(
                "body of {} is {} bytes; the limit is {max}",
                e.route,
                e.body.len()
            )));
        }
        Ok(())
    }
}

/// Maps a response status to an index of [`ERROR_KINDS`](crate::route_stats::ERROR_KINDS);
/// `None` for ok.
pub fn error_kind(status: Status) -> Option<usize> {
    match status {
        Status::Ok => None,
        Status::NoSuchFunction => Some(0),
        Status::Trap => Some(1),
        Status::DeadlineExceeded => Some(2),
        Status::RejectedOverload => Some(3),
        Status::TooLarge => Some(4),
        Status::BadRequest => Some(5),
        _ => Some(ERROR_OTHER),
    }
}

/// Runs one open-loop run and returns its report. Blocks for about
/// `warmup + duration` (plus the drain when the server lags). Errors when
/// the config is invalid, a socket cannot be opened, or no session connects.
pub fn run(cfg: &RunConfig) -> Result<RunReport, LoadgenError> {
    cfg.validate()?;
    let threads = cfg.threads;
    let barrier = Arc::new(Barrier::new(threads));
    let abort = Arc::new(AtomicBool::new(false));
    let start = Arc::new(OnceLock::new());
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let cfg = cfg.clone();
            let (barrier, abort, start) = (barrier.clone(), abort.clone(), start.clone());
            std::thread::Builder::new()
                .name(format!("loadgen-{i}"))
                .spawn(move || {
                    let prepared = EngineThread::prepare(&cfg, i);
                    if prepared.is_err() {
                        abort.store(true, Ordering::SeqCst);
                    }
                    // Every thread starts the clock together, after all connected.
                    barrier.wait();
                    let mut t = prepared?;
                    if abort.load(Ordering::SeqCst) {
                        return Err(LoadgenError::Usage(
                            "another engine thread failed to start".into(),
                        ));
                    }
                    let start: Instant = *start.get_or_init(Instant::now);
                    t.run(start)
                })
                .map_err(|e| LoadgenError::io("spawning an engine thread", e))
        })
        .collect();
    let mut per_route: Vec<RouteStats> = cfg
        .mix
        .entries()
        .iter()
        .map(|_| RouteStats::new())
        .collect();
    let mut first_err = None;
    let mut extra_warnings = Vec::new();
    for h in handles {
        let h = h?;
        match h.join() {
            Ok(Ok(out)) => {
                for (acc, s) in per_route.iter_mut().zip(&out.stats) {
                    acc.merge(s);
                }
                extra_warnings.extend(out.warnings);
            }
            Ok(Err(e)) => {
                // Report the root cause, not "another thread failed".
                if first_err.is_none() || matches!(first_err, Some(LoadgenError::Usage(_))) {
                    first_err = Some(e);
                }
            }
            Err(_) => first_err = Some(LoadgenError::Usage("an engine thread panicked".into())),
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let routes = cfg
        .mix
        .entries()
        .iter()
        .zip(per_route)
        .map(|(e, s)| (e.route.clone(), e.deadline_ns, s))
        .collect();
    let mut report = RunReport::new(cfg.rate, cfg.duration, routes);
    report.warnings.extend(extra_warnings);
    Ok(report)
}

/// A request scheduled but not yet sent.
#[derive(Clone, Copy, Debug)]
struct Pending {
    intended_ns: u64,
    route: u32,
    measured: bool,
}

/// A request on the wire; its [`Slab`] id is the RPC tag.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    intended_ns: u64,
    sent_ns: u64,
    route: u32,
    measured: bool,
    session: u32,
}

/// One engine session: its current RPC id and a generation that changes
/// when it is re-opened, so slot tokens of the old incarnation are dropped.
#[derive(Clone, Copy, Debug)]
struct SessionSlot {
    id: SessionId,
    generation: u32,
    connected: bool,
}

/// A free request slot on a session.
#[derive(Clone, Copy, Debug)]
struct SlotToken {
    session: u32,
    generation: u32,
}

/// What one thread hands back.
struct ThreadOutput {
    stats: Vec<RouteStats>,
    warnings: Vec<String>,
}

struct EngineThread {
    index: usize,
    cfg: RunConfig,
    endpoint: Endpoint<Box<dyn Transport>>,
    sessions: Vec<SessionSlot>,
    /// The fault injector's counters, when `--fault` is on.
    faults: Option<FaultStatsHandle>,
}

impl EngineThread {
    /// Opens the socket and connects this thread's share of the sessions.
    fn prepare(cfg: &RunConfig, index: usize) -> Result<EngineThread, LoadgenError> {
        let mut transport = cfg.server.open(Role::Client)?;
        let mut faults = None;
        if let Some(mut f) = cfg.fault {
            f.seed = f.seed.wrapping_add(index as u64);
            let injector = FaultInjector::new(transport, f);
            faults = Some(injector.stats_handle());
            transport = Box::new(injector);
        }
        let rpc_config = EndpointConfig {
            retransmit_timeout: cfg.retransmit_timeout,
            ..EndpointConfig::default()
        };
        let mut endpoint = Endpoint::new(transport, rpc_config);
        let n = cfg.sessions / cfg.threads + usize::from(index < cfg.sessions % cfg.threads);
        let server_err = |why: String| LoadgenError::Server {
            server: cfg.server.to_string(),
            why,
        };
        let mut sessions = Vec::with_capacity(n);
        for _ in 0..n {
            let id = endpoint
                .connect(cfg.server.addr())
                .map_err(|e| server_err(format!("connect: {e}")))?;
            sessions.push(SessionSlot {
                id,
                generation: 0,
                connected: false,
            });
        }
        let deadline = Instant::now() + cfg.connect_timeout;
        let mut idle = IdleStrategy::new(cfg.idle);
        let mut connected = 0;
        while connected < n {
            if Instant::now() > deadline {
                return Err(server_err(format!(
                    "{connected} of {n} sessions connected within {:?}; is the server running?",
                    cfg.connect_timeout
                )));
            }
            let mut failed = None;
            endpoint.run_once_idle(&mut idle, |_, ev| match ev {
                Event::Connected(id) => {
                    if let Some(s) = sessions.iter_mut().find(|s| s.id == id && !s.connected) {
                        s.connected = true;
                        connected += 1;
                    }
                }
                Event::ConnectFailed { reason, .. } => failed = Some(reason),
                _ => {}
            });
            if let Some(reason) = failed {
                return Err(server_err(format!("connect failed: {reason}")));
            }
        }
        Ok(EngineThread {
            index,
            cfg: cfg.clone(),
            endpoint,
            sessions,
            faults,
        })
    }

    fn run(&mut self, start: Instant) -> Result<ThreadOutput, LoadgenError> {
        // A copy, so the loop can borrow the mix while re-opening sessions.
        let cfg = self.cfg.clone();
        let threads = cfg.threads as f64;
        let rate = cfg.rate / threads;
        // Constant streams of the threads interleave; Poisson ones are just
        // independent.
        let offset_ns = match cfg.arrivals {
            ArrivalKind::Constant => self.index as f64 * 1e9 / cfg.rate,
            ArrivalKind::Poisson => 0.0,
        };
        let seed = cfg
            .seed
            .wrapping_add((self.index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut arrivals =
            Arrivals::new(cfg.arrivals, rate, seed, offset_ns).map_err(LoadgenError::Usage)?;
        let mut route_rng = StdRng::seed_from_u64(seed ^ 0x5851_F42D_4C95_7F2D);

        let window_start = cfg.warmup.as_nanos() as u64;
        let window_end = window_start + cfg.duration.as_nanos() as u64;
        let hard_end = window_end + cfg.drain.as_nanos() as u64;
        let entries = cfg.mix.entries();
        let mut stats: Vec<RouteStats> = entries.iter().map(|_| RouteStats::new()).collect();

        let max_out = EndpointConfig::default().max_outstanding;
        // Interleaved so that consecutive sends use different sessions.
        let mut free: VecDeque<SlotToken> = (0..max_out)
            .flat_map(|_| {
                (0..self.sessions.len() as u32).map(|s| SlotToken {
                    session: s,
                    generation: 0,
                })
            })
            .collect();
        let mut queue: VecDeque<Pending> = VecDeque::new();
        let mut slab: Slab<InFlight> = Slab::new();
        let mut outstanding = 0usize;
        let mut idle = IdleStrategy::new(cfg.idle);
        let mut resets = 0u64;
        let mut io_errors = 0u64;
        let mut generation_done = false;

        loop {
            let now = start.elapsed().as_nanos() as u64;
            let mut work = false;

            // 1. Arrivals that are due join the FIFO.
            while !generation_done {
                let t = arrivals.peek_ns();
                if t >= window_end {
                    generation_done = true;
                    break;
                }
                if t > now {
                    break;
                }
                arrivals.next_ns();
                let route = cfg.mix.pick(route_rng.random::<f64>());
                let measured = t >= window_start;
                if measured {
                    stats[route].scheduled += 1;
                }
                queue.push_back(Pending {
                    intended_ns: t,
                    route: route as u32,
                    measured,
                });
                work = true;
            }

            // 2. Send while slots are free.
            while let Some(&p) = queue.front() {
                let Some(tok) = free.pop_front() else { break };
                let s = self.sessions[tok.session as usize];
                if tok.generation != s.generation || !s.connected {
                    continue; // a slot of a reset session: drop it
                }
                // The tag is the in-flight entry's slab id: a response or a
                // failure finds its request with one index and one compare.
                let tag = slab.insert(InFlight {
                    intended_ns: p.intended_ns,
                    sent_ns: now,
                    route: p.route,
                    measured: p.measured,
                    session: tok.session,
                });
                let e = &entries[p.route as usize];
                match self
                    .endpoint
                    .send_request(s.id, e.request_type, e.body.clone(), tag)
                {
                    Ok(()) => {
                        queue.pop_front();
                        outstanding += 1;
                        if p.measured {
                            stats[p.route as usize].sent += 1;
                            stats[p.route as usize]
                                .send_lag
                                .saturating_record(now.saturating_sub(p.intended_ns).max(1));
                        }
                        work = true;
                    }
                    Err(RpcError::SessionBusy) => {
                        // Our slot count and the endpoint's disagree: let the
                        // endpoint's view win and try the slot later.
                        slab.remove(tag);
                        free.push_back(tok);
                        break;
                    }
                    Err(RpcError::Io(_)) => {
                        io_errors += 1;
                        slab.remove(tag);
                        free.push_back(tok);
                        break;
                    }
                    Err(_) => {
                        // The session is gone (reset or closed): re-open it.
                        slab.remove(tag);
                        self.reopen(tok.session as usize);
                    }
                }
            }

            // 3. Run an endpoint round and account its events. The clock is
            // read once per round, at the first event (or after the round).
            let mut round_now: Option<u64> = None;
            let sessions = &mut self.sessions;
            let server = cfg.server.addr();
            let busy = self.endpoint.run_once(|ctl, ev| {
                let now = *round_now.get_or_insert_with(|| start.elapsed().as_nanos() as u64);
                let in_window = now >= window_start && now < window_end;
                match ev {
                    Event::Response { tag, response, .. } => {
                        let Some(f) = slab.remove(tag) else {
                            return;
                        };
                        outstanding -= 1;
                        free.push_back(SlotToken {
                            session: f.session,
                            generation: sessions[f.session as usize].generation,
                        });
                        let st = &mut stats[f.route as usize];
                        if in_window {
                            st.window_responses += 1;
                        }
                        if f.measured {
                            st.record_response(
                                now.saturating_sub(f.intended_ns),
                                now.saturating_sub(f.sent_ns),
                                error_kind(response.status),
                                entries[f.route as usize].deadline_ns,
                                response.queue_ns,
                                response.exec_ns,
                            );
                        }
                    }
                    Event::RequestFailed { tag, session, .. } => {
                        let Some(f) = slab.remove(tag) else {
                            return;
                        };
                        outstanding -= 1;
                        if f.measured {
                            stats[f.route as usize]
                                .record_failure(now.saturating_sub(f.intended_ns));
                        }
                        let s = sessions[f.session as usize];
                        if s.id == session && s.connected {
                            free.push_back(SlotToken {
                                session: f.session,
                                generation: s.generation,
                            });
                        }
                    }
                    Event::SessionReset(id) => {
                        if let Some(i) = sessions.iter().position(|s| s.id == id) {
                            resets += 1;
                            reopen(ctl, &mut sessions[i], server);
                        }
                    }
                    Event::Connected(id) => {
                        if let Some(i) = sessions.iter().position(|s| s.id == id && !s.connected) {
                            sessions[i].connected = true;
                            let generation = sessions[i].generation;
                            free.extend((0..max_out).map(|_| SlotToken {
                                session: i as u32,
                                generation,
                            }));
                        }
                    }
                    Event::ConnectFailed { session, .. } => {
                        // Try again later; its requests wait in the FIFO.
                        if let Some(i) = sessions.iter().position(|s| s.id == session) {
                            reopen(ctl, &mut sessions[i], server);
                        }
                    }
                    Event::Request { .. } => {}
                }
            });
            work |= busy;
            let now = round_now.unwrap_or_else(|| start.elapsed().as_nanos() as u64);

            // 4. Done?
            if generation_done && queue.is_empty() && outstanding == 0 {
                break;
            }
            if now >= hard_end {
                for p in queue.iter().filter(|p| p.measured) {
                    stats[p.route as usize].record_timeout(now.saturating_sub(p.intended_ns));
                }
                for f in slab.values().filter(|f| f.measured) {
                    stats[f.route as usize].record_timeout(now.saturating_sub(f.intended_ns));
                }
                break;
            }

            // 5. Idle without sleeping through the next arrival.
            if work {
                idle.reset();
            } else if !generation_done && arrivals.peek_ns().saturating_sub(now) < NEAR_ARRIVAL_NS {
                // Not yield: on a busy machine a yield can cost a whole
                // time slice of another thread (milliseconds) of send lag.
                std::hint::spin_loop();
            } else {
                idle.idle();
            }
        }

        for s in &self.sessions {
            self.endpoint.close(s.id);
        }
        let mut warnings = Vec::new();
        let rpc = self.endpoint.stats();
        if rpc.retransmits > 0 {
            warnings.push(format!(
                "thread {}: {} packets were retransmitted (lost or late answers; expect tail latency of the \
                 retransmission timeout)",
                self.index, rpc.retransmits
            ));
        }
        if let Some(f) = self.faults.as_ref().map(FaultStatsHandle::get) {
            warnings.push(format!(
                "thread {}: fault injection dropped {}, duplicated {} and reordered {} datagrams",
                self.index, f.dropped, f.duplicated, f.reordered
            ));
        }
        if resets > 0 {
            warnings.push(format!(
                "thread {}: {resets} sessions were reset by the server and re-opened",
                self.index
            ));
        }
        if io_errors > 0 {
            warnings.push(format!(
                "thread {}: {io_errors} sends hit socket errors and were retried",
                self.index
            ));
        }
        Ok(ThreadOutput { stats, warnings })
    }

    /// Re-opens session `i` under a new generation (its old slot tokens die).
    fn reopen(&mut self, i: usize) {
        reopen(
            &mut self.endpoint.ctl(),
            &mut self.sessions[i],
            self.cfg.server.addr(),
        );
    }
}

/// Re-opens the session in `s` to `server` under a new generation: closes
/// the old one and connects anew (its old slot tokens die). Callable from
/// inside an endpoint round.
fn reopen(ctl: &mut Ctl<'_>, s: &mut SessionSlot, server: SocketAddrV4) {
    s.generation = s.generation.wrapping_add(1);
    s.connected = false;
    ctl.close(s.id);
    if let Ok(id) = ctl.connect(server) {
        s.id = id;
    }
}
