//! The `dispatcher` process: start-up (spec, policy, runtime, workers,
//! transport) and the dispatcher core's event loop (ARCHITECTURE.md §2).
//!
//! One thread owns the RPC [`Endpoint`] and the [`Dispatcher`], eRPC-style:
//! each round it polls the endpoint, places the requests that arrived,
//! drains the workers' completions into responses, and idles by the
//! configured strategy when a round found nothing. Workers wake it with
//! `unpark` when they push a completion, so an adaptive loop may park.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use tern_rpc::transport::{Role, Transport, TransportAddr};
use tern_rpc::{
    Ctl, Endpoint, EndpointConfig, Event, IdleMode, IncomingRequest, RequestToken, Response,
    Service, Status,
};
use tern_sched::{clock, policy};
use tern_worker::{
    FunctionLimits, LocalQueue, Runtime, RuntimeConfig, WorkerPool, WorkerPoolConfig,
};

use crate::cli::{Config, DEFAULT_PORT, available_cores};
use crate::dispatch::{DispatchConfig, Dispatcher};
use crate::route_table::{RouteCounters, RouteEntry};
use tern_sched::spec::{Route, Spec};

/// A dispatcher that has started (modules registered, workers running,
/// transport bound) and is ready to [`run`](Server::run).
pub struct Server {
    endpoint: Endpoint<Box<dyn Transport>>,
    dispatcher: Dispatcher<WorkerPool, RequestToken>,
    idle: IdleMode,
    core: Option<usize>,
    /// When set, the loop prints the counters so far to stdout and clears
    /// it (see [`Server::report_when`]).
    report_now: Option<Arc<AtomicBool>>,
}

/// What a stopped server reports: counters per route.
#[derive(Clone, Debug)]
pub struct Report {
    /// (route name, request type, counters), in spec order.
    pub routes: Vec<(String, u16, RouteCounters)>,
    /// Requests whose type no route serves.
    pub unknown_type: u64,
    /// Responses that could not be sent (the client's session was reset).
    pub unsent: u64,
}

/// The function limits of `route`: the spec's Tern keys where given, else
/// the runtime's defaults (`http-resp-size` caps the output when
/// `max-output-bytes` is absent).
fn limits_for(route: &Route) -> FunctionLimits {
    let mut l = FunctionLimits::default();
    // The spec reader refuses `max-exec-us: 0`; were one to get here, the
    // runtime's registration refuses a zero limit too.
    if let Some(us) = route.limits.max_exec_us {
        l.max_exec = Duration::from_micros(us);
    }
    if let Some(bytes) = route.limits.max_memory_bytes {
        l.max_memory_bytes = bytes;
    }
    if let Some(bytes) = route
        .limits
        .max_output_bytes
        .or(route.limits.http_resp_size)
    {
        l.max_output = usize::try_from(bytes).unwrap_or(usize::MAX);
    }
    l
}

/// Checks that every core in `cores` is one this process may run on.
fn check_cores(cores: &[usize]) -> anyhow::Result<()> {
    let Some(ids) = core_affinity::get_core_ids() else {
        return Ok(()); // cannot tell; pinning will warn per worker if it fails
    };
    let usable: Vec<usize> = ids.iter().map(|c| c.id).collect();
    if let Some(bad) = cores.iter().find(|c| !usable.contains(c)) {
        anyhow::bail!(
            "core {bad} is not available to this process (available: {})",
            usable
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    Ok(())
}

impl Server {
    /// Starts everything `config` describes. Errors name the problem: the
    /// spec file and key, the policy (with the valid ones), the module, or
    /// the address in use.
    pub fn start(config: &Config) -> anyhow::Result<Server> {
        let spec = Spec::load(&config.spec)?;
        if let Some(cores) = &config.pinning.workers {
            check_cores(cores).context("--cores")?;
        }
        if let Some(core) = config.pinning.dispatcher {
            check_cores(&[core]).context("--dispatcher-core")?;
        }
        let policy = policy::by_name(&config.policy)?;
        // The one place the policy decides how the workers schedule locally:
        // EDF policies get deadline-ordered, preemptible workers.
        let (local_queue, preemptible) = if policy.wants_local_edf() {
            (LocalQueue::Edf, true)
        } else {
            (LocalQueue::Fifo, false)
        };

        let mut runtime_config = RuntimeConfig {
            quantum: config.quantum,
            ..RuntimeConfig::default()
        };
        if config.cache_dir.is_some() {
            runtime_config.cache_dir = config.cache_dir.clone();
        }
        let largest_memory = spec
            .routes()
            .map(|r| limits_for(r).max_memory_bytes)
            .max()
            .unwrap_or(0);
        runtime_config.max_memory_bytes = runtime_config.max_memory_bytes.max(largest_memory);
        let runtime =
            Arc::new(Runtime::new(runtime_config).context("cannot start the Wasm runtime")?);
        let mut routes = Vec::new();
        for route in spec.routes() {
            let function = runtime
                .register(&route.route, &route.path, limits_for(route))
                .with_context(|| {
                    format!("spec {}: route \"{}\"", spec.file().display(), route.route)
                })?;
            tracing::info!(route = %route.route, request_type = route.request_type, module = %route.path.display(),
                expected_us = route.expected_execution_us, deadline_us = route.relative_deadline_us, "registered");
            if route.expected_execution_us > route.relative_deadline_us {
                // Not an error (SLEdge accepts it, and the estimate may be
                // pessimistic), but every request is expected to miss: with
                // --admission, each is refused.
                tracing::warn!(route = %route.route,
                    "expected-execution-us {} is above relative-deadline-us {}: requests are expected to miss their deadline",
                    route.expected_execution_us, route.relative_deadline_us);
            }
            routes.push(RouteEntry::new(route, function));
        }

        let listen = config.listen.clone().unwrap_or_else(|| {
            TransportAddr::Udp(SocketAddrV4::new(
                Ipv4Addr::LOCALHOST,
                spec.default_port().unwrap_or(DEFAULT_PORT),
            ))
        });
        let transport = listen.open(Role::Server)?;

        let spinning = 1 + config.workers;
        let cores = available_cores();
        if config.idle == IdleMode::Spin && spinning > cores {
            tracing::warn!(
                "{spinning} busy-polling threads (1 dispatcher + {} workers) on {cores} cores: \
                 they will steal each other's time and latency will suffer; use --idle adaptive \
                 or fewer workers",
                config.workers
            );
        }
        let pool = WorkerPool::start(
            runtime,
            WorkerPoolConfig {
                workers: config.workers,
                cores: config.pinning.workers.clone(),
                local_queue,
                preemptible,
                inbox_capacity: config.inbox,
                idle: config.idle,
            },
        )
        .context("cannot start the workers")?;
        tracing::info!(policy = policy.name(), workers = config.workers, idle = %config.idle,
            admission = config.admission, quantum_us = config.quantum.as_micros() as u64, "dispatcher ready");
        let dispatcher = Dispatcher::new(
            pool,
            policy,
            routes,
            DispatchConfig {
                admission: config.admission,
            },
        );
        let endpoint = Endpoint::new(transport, EndpointConfig::default());
        Ok(Server {
            endpoint,
            dispatcher,
            idle: config.idle,
            core: config.pinning.dispatcher,
            report_now: None,
        })
    }

    /// The address clients reach the server at.
    pub fn local_addr(&self) -> SocketAddrV4 {
        self.endpoint.local_addr()
    }

    /// Makes the running loop print the counters so far (the same table as
    /// at exit, headed `report (running)`) to stdout each time `flag` is
    /// set, and clear it: `dispatcher` sets it on SIGUSR1, so a soak can
    /// read the server's counts at phase boundaries, and just before a
    /// `kill -9` that would lose the exit table. Costs one atomic load per
    /// loop round.
    pub fn report_when(&mut self, flag: Arc<AtomicBool>) {
        self.report_now = Some(flag);
    }

    /// Serves until `stop` is set, then stops the workers and returns the
    /// counters. Must run on the thread that keeps calling it (the workers
    /// unpark this thread when they finish a request).
    pub fn run(mut self, stop: &AtomicBool) -> Report {
        if let Some(core) = self.core
            && !core_affinity::set_for_current(core_affinity::CoreId { id: core })
        {
            tracing::warn!(core, "cannot pin the dispatcher thread");
        }
        self.dispatcher
            .workers()
            .set_completion_waker(std::thread::current());
        let mut service = DispatchService {
            dispatcher: &mut self.dispatcher,
            unsent: 0,
            round_now: None,
            report_now: self.report_now.as_deref(),
        };
        tern_rpc::serve(&mut self.endpoint, self.idle, stop, &mut service);
        let unsent = service.unsent;
        let report = Report::of(&self.dispatcher, unsent);
        self.dispatcher.into_workers().shutdown();
        report
    }
}

/// The dispatcher core's stages in the server loop: each round, the
/// requests that arrived are placed (in the endpoint's receive stage), then
/// the workers' completions are drained into responses.
struct DispatchService<'a> {
    dispatcher: &'a mut Dispatcher<WorkerPool, RequestToken>,
    /// Responses that could not be sent (the client's session was reset).
    unsent: u64,
    /// The clock read at the round's first request: one read per round.
    round_now: Option<u64>,
    /// Set from outside: print the counters so far (see
    /// [`Server::report_when`]).
    report_now: Option<&'a AtomicBool>,
}

impl Service for DispatchService<'_> {
    fn on_request(&mut self, ctl: &mut Ctl<'_>, request: IncomingRequest<'_>) {
        let IncomingRequest {
            token,
            req_type,
            payload,
        } = request;
        let now = *self.round_now.get_or_insert_with(clock::now_ns);
        // The job outlives the round (a worker runs it): it owns its input.
        if let Some(response) =
            self.dispatcher
                .on_request(token, req_type, payload.into_owned(), now)
        {
            if response.status == Status::NoSuchFunction {
                tracing::debug!(req_type, "request for no route");
            }
            respond(ctl, &mut self.unsent, token, response);
        }
    }

    fn on_event(&mut self, _ctl: &mut Ctl<'_>, event: Event<'_>) {
        if let Event::SessionReset(session) = event {
            tracing::debug!(%session, "client session reset")
        }
    }

    fn poll(&mut self, ctl: &mut Ctl<'_>) -> bool {
        self.round_now = None;
        if let Some(flag) = self.report_now
            && flag.swap(false, Ordering::Relaxed)
        {
            print_running_report(&Report::of(self.dispatcher, self.unsent));
        }
        let unsent = &mut self.unsent;
        self.dispatcher
            .poll_completions(|token, response| respond(ctl, unsent, token, response))
            > 0
    }
}

/// Sends `response` for `token`, counting it in `unsent` if it cannot go.
fn respond(ctl: &mut Ctl<'_>, unsent: &mut u64, token: RequestToken, response: Response) {
    if let Err(e) = ctl.respond(token, response) {
        *unsent += 1;
        tracing::debug!(error = %e, "response not sent");
    }
}

/// Prints `report` to stdout headed `report (running)`, flushed so that a
/// reader of a pipe or file sees it at once. A failed write (closed pipe)
/// is ignored: the report is a convenience and must not stop serving.
fn print_running_report(report: &Report) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "report (running)\n{}", report.table());
    let _ = out.flush();
}

impl Report {
    /// The counters of `dispatcher` so far, with `unsent` responses.
    fn of(dispatcher: &Dispatcher<WorkerPool, RequestToken>, unsent: u64) -> Report {
        Report {
            routes: dispatcher
                .routes()
                .iter()
                .zip(dispatcher.counters())
                .map(|(r, c)| (r.name.clone(), r.request_type, c.clone()))
                .collect(),
            unknown_type: dispatcher.unknown_type_count(),
            unsent,
        }
    }

    /// The counters as a table, one line per route.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<16} {:>5} {:>10} {:>10} {:>14} {:>14}  errors",
            "route", "type", "requests", "ok", "mean queue µs", "mean exec µs"
        );
        for (name, ty, c) in &self.routes {
            let mean = |sum: u64| {
                if c.completed == 0 {
                    0.0
                } else {
                    sum as f64 / c.completed as f64 / 1e3
                }
            };
            let errors: Vec<String> = Status::ALL
                .iter()
                .filter(|s| !s.is_ok() && c.count(**s) > 0)
                .map(|s| format!("{}={}", s, c.count(*s)))
                .collect();
            let _ = writeln!(
                out,
                "{:<16} {:>5} {:>10} {:>10} {:>14.1} {:>14.1}  {}",
                name,
                ty,
                c.requests,
                c.count(Status::Ok),
                mean(c.queue_ns),
                mean(c.exec_ns),
                if errors.is_empty() {
                    "-".to_string()
                } else {
                    errors.join(" ")
                }
            );
        }
        let _ = writeln!(
            out,
            "unknown request types: {}; responses not sent: {}",
            self.unknown_type, self.unsent
        );
        out
    }
}
