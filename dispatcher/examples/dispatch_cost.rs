//! The dispatcher's own cost per request, in-process: decision + hand-off +
//! completion, with no network and no-op workers.
//!
//! ```text
//! cargo run --release -p tern-dispatcher --example dispatch_cost [-- --requests N --runs R --workers W]
//! ```
//!
//! For each policy the real [`Dispatcher`] core (route lookup, policy
//! decision over the live worker state, in-flight table, job hand-off,
//! completion to response; the hand-off does what `WorkerPool::submit`
//! does: state accounting, inbox push, reschedule flag, unpark) drives
//! no-op worker threads that take each job
//! from a bounded crossbeam queue, publish running/finished in their
//! [`WorkerState`] like a real worker, and push a completion back. Beside
//! it, in the same run, a bare crossbeam hand-off: the same worker threads
//! and queues, the dispatcher side only pushing jobs and popping
//! completions.
//!
//! Reported per policy: wall-clock rate, and the rate per dispatcher core,
//! which counts only the time the dispatcher thread was not waiting
//! (rounds in which it could submit nothing and found no completion are
//! idle time: the no-op workers, not the dispatcher, were the limit then).
//! Medians over the runs. The last line is
//! `min_mdecisions_per_s=X.X`: the lowest per-core rate over rr, jsq, lld
//! and edf, in millions of requests per second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{JoinHandle, Thread};

use crossbeam::queue::ArrayQueue;
use crossbeam_utils::CachePadded;
use tern_dispatcher::dispatch::{DispatchConfig, Dispatcher, Workers};
use tern_dispatcher::route_table::RouteEntry;
use tern_sched::{Completion, FunctionId, Job, Outcome, WorkerState, clock, policy};

/// Requests the dispatcher keeps in flight at most (as many client sessions would).
const WINDOW: usize = 512;
/// Requests placed per round (one clock read each round, as the server does per poll).
const BATCH: usize = 32;

/// What one no-op worker shares with the dispatcher: the same shape as a
/// real worker's (state, bounded inbox, completion queue).
struct Shared {
    state: WorkerState,
    inbox: ArrayQueue<Job>,
    completions: ArrayQueue<Completion>,
    /// The pool's "run your scheduler" flag, set on every submit.
    reschedule: CachePadded<AtomicBool>,
}

/// Worker threads that complete every job at once.
struct NoopWorkers {
    shared: Vec<Arc<Shared>>,
    wake: Vec<Thread>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl NoopWorkers {
    /// `n` workers; with `threaded`, each on its own spinning thread,
    /// else completed on the caller's thread by [`step`](Self::step).
    fn start(n: usize, threaded: bool) -> NoopWorkers {
        let stop = Arc::new(AtomicBool::new(false));
        let mut shared = Vec::new();
        let mut threads = Vec::new();
        for index in 0..n {
            let s = Arc::new(Shared {
                state: WorkerState::new(),
                inbox: ArrayQueue::new(1024),
                completions: ArrayQueue::new(WINDOW * 2),
                reschedule: CachePadded::new(AtomicBool::new(false)),
            });
            if threaded {
                let (s2, stop2) = (s.clone(), stop.clone());
                threads.push(std::thread::spawn(move || noop_worker(index, &s2, &stop2)));
            }
            shared.push(s);
        }
        // Whom submit unparks, as WorkerPool::submit does: the worker
        // thread, or (inline) the dispatcher thread itself, which costs the
        // same atomic swap and never parks here.
        let wake = if threaded {
            threads.iter().map(|t| t.thread().clone()).collect()
        } else {
            vec![std::thread::current(); n]
        };
        NoopWorkers {
            shared,
            wake,
            stop,
            threads,
        }
    }

    /// Inline mode: completes every job waiting in the inboxes.
    fn step(&self) {
        if self.threads.is_empty() {
            for (index, s) in self.shared.iter().enumerate() {
                s.reschedule.store(false, Ordering::Relaxed);
                while let Some(job) = s.inbox.pop() {
                    complete(index, s, job);
                }
            }
        }
    }

    fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
    }
}

/// A worker thread: runs [`complete`] on each job as it arrives.
fn noop_worker(index: usize, s: &Shared, stop: &AtomicBool) {
    let mut spins = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let Some(job) = s.inbox.pop() else {
            spins += 1;
            if spins == 64 {
                s.state.on_idle_if_empty();
            }
            std::hint::spin_loop();
            continue;
        };
        spins = 0;
        s.reschedule.store(false, Ordering::Relaxed);
        complete(index, s, job);
    }
}

/// What a worker does with a job, minus running it: publishes it running,
/// then finished, and pushes its completion.
#[inline]
fn complete(index: usize, s: &Shared, job: Job) {
    s.state
        .on_running(job.deadline_ns, job.arrival_ns, job.expected_ns);
    s.state.on_finished(job.expected_ns);
    let mut c = Completion {
        id: job.id,
        worker: index,
        outcome: Outcome::Ok,
        output: job.payload,
        queue_ns: 0,
        exec_ns: 0,
    };
    while let Err(back) = s.completions.push(c) {
        c = back;
        std::hint::spin_loop();
    }
}

impl Workers for NoopWorkers {
    fn len(&self) -> usize {
        self.shared.len()
    }
    #[inline]
    fn state(&self, i: usize) -> &WorkerState {
        &self.shared[i].state
    }
    #[inline]
    fn submit(&self, i: usize, job: Job) -> Result<(), Job> {
        let w = &self.shared[i];
        let expected = job.expected_ns;
        w.state.on_assigned(expected);
        match w.inbox.push(job) {
            Ok(()) => {
                w.reschedule.store(true, Ordering::Relaxed);
                self.wake[i].unpark();
                Ok(())
            }
            Err(job) => {
                w.state.on_assign_undone(expected);
                Err(job)
            }
        }
    }
    fn preempt(&self, _i: usize) {}

    fn preemptible(&self) -> bool {
        false
    }
    #[inline]
    fn poll_completions(&self, out: &mut Vec<Completion>) -> usize {
        let before = out.len();
        for w in &self.shared {
            while let Some(c) = w.completions.pop() {
                out.push(c);
            }
        }
        out.len() - before
    }
}

/// One measured run, requests/s: over the wall clock, and per dispatcher
/// core (over the time the dispatcher spent placing requests and handling
/// completions).
struct Rates {
    wall: f64,
    core: f64,
}

/// The dispatcher side of one variant.
trait Variant {
    /// Places request `id`, arrived at `now`.
    fn submit(&mut self, id: u64, now: u64);
    /// Handles the completions that are back; returns how many.
    fn drain(&mut self) -> usize;
    /// The no-op workers.
    fn workers(&self) -> &NoopWorkers;
}

/// The real dispatcher core with a policy.
struct Core {
    d: Dispatcher<NoopWorkers, u64>,
    checksum: u64,
}

impl Variant for Core {
    #[inline]
    fn submit(&mut self, id: u64, now: u64) {
        if let Some(r) = self.d.on_request(id, 1, Vec::new(), now) {
            panic!("request rejected: {:?}", r.status);
        }
    }
    #[inline]
    fn drain(&mut self) -> usize {
        let checksum = &mut self.checksum;
        self.d.poll_completions(|token, response| {
            *checksum = checksum.wrapping_add(token ^ response.status as u64)
        })
    }
    fn workers(&self) -> &NoopWorkers {
        self.d.workers()
    }
}

/// The bare hand-off: jobs pushed round robin, completions popped.
struct Bare {
    w: NoopWorkers,
    function: FunctionId,
    next: usize,
    out: Vec<Completion>,
}

impl Variant for Bare {
    #[inline]
    fn submit(&mut self, id: u64, now: u64) {
        let mut job = Job {
            id,
            function: self.function,
            payload: Vec::new(),
            arrival_ns: now,
            deadline_ns: now + 100_000,
            expected_ns: 10_000,
        };
        while let Err(back) = self.w.shared[self.next].inbox.push(job) {
            job = back;
            std::hint::spin_loop();
        }
        self.next = if self.next + 1 == self.w.shared.len() {
            0
        } else {
            self.next + 1
        };
    }
    #[inline]
    fn drain(&mut self) -> usize {
        self.out.clear();
        let n = Workers::poll_completions(&self.w, &mut self.out);
        std::hint::black_box(&self.out);
        n
    }
    fn workers(&self) -> &NoopWorkers {
        &self.w
    }
}

/// Pushes `n` requests through `v`, at most [`WINDOW`] in flight, placed
/// [`BATCH`] per round with one clock reading (as the server reads the clock
/// once per poll). Busy time is the time of rounds that placed or completed
/// something, without the inline workers' step.
fn drive(v: &mut impl Variant, n: usize) -> Rates {
    let (mut sent, mut done) = (0usize, 0usize);
    let mut busy_ns = 0u64;
    let start = clock::now_ns();
    while done < n {
        let t0 = clock::now_ns();
        let room = (WINDOW - (sent - done)).min(BATCH).min(n - sent);
        for _ in 0..room {
            v.submit(sent as u64, t0);
            sent += 1;
        }
        let t1 = clock::now_ns();
        v.workers().step();
        let t2 = if v.workers().threads.is_empty() {
            clock::now_ns()
        } else {
            t1
        };
        let got = v.drain();
        done += got;
        let t3 = clock::now_ns();
        if room > 0 || got > 0 {
            busy_ns += (t1 - t0) + (t3 - t2);
        }
    }
    let elapsed = clock::now_ns() - start;
    Rates {
        wall: n as f64 / (elapsed as f64 / 1e9),
        core: n as f64 / (busy_ns.max(1) as f64 / 1e9),
    }
}

/// One run of policy `name` (or the bare hand-off for `None`).
fn run(
    name: Option<&str>,
    function: FunctionId,
    workers: usize,
    threaded: bool,
    n: usize,
) -> Rates {
    let w = NoopWorkers::start(workers, threaded);
    let (rates, w) = match name {
        None => {
            let mut v = Bare {
                w,
                function,
                next: 0,
                out: Vec::with_capacity(WINDOW),
            };
            (drive(&mut v, n), v.w)
        }
        Some(name) => {
            let route = RouteEntry {
                name: "/noop".into(),
                request_type: 1,
                function,
                expected_ns: 10_000,
                relative_deadline_ns: 100_000,
                max_request: None,
            };
            let policy = policy::by_name(name).unwrap();
            let d = Dispatcher::new(w, policy, vec![route], DispatchConfig::default());
            let mut v = Core { d, checksum: 0 };
            let r = drive(&mut v, n);
            std::hint::black_box(v.checksum);
            (r, v.d.into_workers())
        }
    };
    w.shutdown();
    rates
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn arg(args: &[String], flag: &str, default: usize) -> usize {
    match args.iter().position(|a| a == flag) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{flag} needs a positive integer")),
        None => default,
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n = arg(&args, "--requests", 1_000_000);
    let runs = arg(&args, "--runs", 5).max(1);
    let workers = arg(&args, "--workers", 1).max(1);

    // The no-op workers never run the function, so no runtime is needed to
    // name one.
    let function = FunctionId::new(0);

    let policies = policy::policy_names();
    let variants: Vec<Option<&str>> = std::iter::once(None)
        .chain(policies.iter().copied().map(Some))
        .collect();
    let label =
        |v: &Option<&'static str>| -> &'static str { v.unwrap_or("bare crossbeam hand-off") };
    let cores = std::thread::available_parallelism()
        .map(|c| c.get())
        .unwrap_or(1);
    println!(
        "dispatch_cost: {n} requests per run, {runs} runs (medians), {workers} no-op worker(s), \
         window {WINDOW}, batch {BATCH}, {cores} cores"
    );
    let mut min_policy = f64::INFINITY;
    for threaded in [false, true] {
        println!();
        if threaded {
            println!("threaded: no-op workers on their own spinning threads (cross-core hand-off)");
        } else {
            println!("inline: no-op workers stepped on the dispatcher thread, their time excluded");
        }
        // (wall, per-core) samples per variant.
        let mut samples: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); variants.len()];
        for v in &variants {
            run(*v, function, workers, threaded, n / 10); // warm-up
        }
        for _ in 0..runs {
            // Interleaved so that every variant sees the same background noise.
            for (i, v) in variants.iter().enumerate() {
                let r = run(*v, function, workers, threaded, n);
                samples[i].0.push(r.wall);
                samples[i].1.push(r.core);
            }
        }
        let bare_core = median(samples[0].1.clone());
        println!(
            "{:<24} {:>12} {:>16} {:>12} {:>9}",
            "variant", "wall Mreq/s", "per-core Mreq/s", "ns/request", "vs bare"
        );
        for (i, v) in variants.iter().enumerate() {
            let wall = median(samples[i].0.clone()) / 1e6;
            let core = median(samples[i].1.clone()) / 1e6;
            if v.is_some() && !threaded {
                min_policy = min_policy.min(core);
            }
            println!(
                "{:<24} {:>12.2} {:>16.2} {:>12.1} {:>8.2}x",
                label(v),
                wall,
                core,
                1e3 / core,
                core * 1e6 / bare_core
            );
        }
    }
    println!();
    println!("min_mdecisions_per_s={min_policy:.1}");
    Ok(())
}
