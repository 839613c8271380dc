//! Every hostile function ends with its own status, within a bound, and the
//! requests around it still succeed: on the calling thread and through a
//! worker pool.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_sched::{Completion, FunctionId, Job, Outcome, clock};
mod common;

use common::{uncached_runtime, wait_for_completions, wasm_path};
use tern_worker::{
    FunctionLimits, LocalQueue, Runtime, RuntimeConfig, WorkerPool, WorkerPoolConfig,
};

/// Generous: the box is 2 noisy cores shared with compilers.
const BOUND: Duration = Duration::from_secs(60);

struct Fixture {
    rt: Arc<Runtime>,
    good: FunctionId,
    hostile: Vec<(FunctionId, &'static str, Outcome)>,
}

fn fixture() -> Fixture {
    let rt = uncached_runtime();
    let limits = FunctionLimits {
        max_memory_bytes: 16 << 20,
        max_exec: Duration::from_millis(300),
        max_output: 64 << 10,
    };
    let good = rt
        .register("fibonacci", &wasm_path("fibonacci"), limits)
        .unwrap();
    let hostile = [
        ("loop", Outcome::Timeout),
        ("stackoverflow", Outcome::StackOverflow),
        (
            "trap_unreachable",
            Outcome::Trap("wasm trap: wasm `unreachable` instruction executed".into()),
        ),
        (
            "trap_divzero",
            Outcome::Trap("wasm trap: integer divide by zero".into()),
        ),
        ("oom", Outcome::OutOfMemory),
        ("bigoutput", Outcome::OutputTooLarge),
    ]
    .into_iter()
    .map(|(name, outcome)| {
        (
            rt.register(name, &wasm_path(name), limits).unwrap(),
            name,
            outcome,
        )
    })
    .collect();
    Fixture {
        rt: Arc::new(rt),
        good,
        hostile,
    }
}

#[test]
fn hostile_functions_get_their_status_and_the_next_request_succeeds() {
    let fx = fixture();
    for (f, name, want) in &fx.hostile {
        for preemptible in [false, true] {
            let started = Instant::now();
            let (outcome, out) = if preemptible {
                fx.rt.invoke_blocking_preemptible(*f, b"")
            } else {
                fx.rt.invoke_blocking(*f, b"")
            };
            assert_eq!(&outcome, want, "{name} (preemptible path: {preemptible})");
            assert!(out.is_empty(), "{name}: no output on failure");
            assert!(
                started.elapsed() < BOUND,
                "{name} took {:?}",
                started.elapsed()
            );
            assert_eq!(
                fx.rt.invoke_blocking(fx.good, b"20"),
                (Outcome::Ok, b"6765\n".to_vec()),
                "after {name}"
            );
        }
    }
}

fn collect(pool: &WorkerPool, n: usize) -> HashMap<u64, Completion> {
    let mut got = Vec::new();
    wait_for_completions(pool, &mut got, n, BOUND);
    got.into_iter().map(|c| (c.id, c)).collect()
}

fn hostile_through_pool(local_queue: LocalQueue, preemptible: bool, workers: usize) {
    let fx = fixture();
    let pool = WorkerPool::start(
        fx.rt.clone(),
        WorkerPoolConfig {
            workers,
            local_queue,
            preemptible,
            ..WorkerPoolConfig::default()
        },
    )
    .unwrap();
    // good, hostile, good, hostile, ... good, spread over the workers.
    let mut want = HashMap::new();
    let mut id = 0u64;
    let mut submit = |f: FunctionId, body: &[u8], outcome: Outcome, out: Vec<u8>| {
        let now = clock::now_ns();
        let job = Job {
            id,
            function: f,
            payload: body.to_vec(),
            arrival_ns: now,
            deadline_ns: now + 1_000_000_000,
            expected_ns: 1_000,
        };
        pool.submit(id as usize % workers, job).unwrap();
        want.insert(id, (outcome, out));
        id += 1;
    };
    for (f, _, outcome) in &fx.hostile {
        submit(fx.good, b"15", Outcome::Ok, b"610\n".to_vec());
        submit(*f, b"", outcome.clone(), Vec::new());
    }
    submit(fx.good, b"15", Outcome::Ok, b"610\n".to_vec());
    let got = collect(&pool, want.len());
    for (id, (outcome, out)) in &want {
        let c = &got[id];
        assert_eq!((&c.outcome, &c.output), (outcome, out), "job {id}");
        assert_eq!(c.worker, *id as usize % workers);
    }
    // Accounting drained back to zero.
    for w in 0..workers {
        let s = pool.state(w).snapshot();
        assert_eq!(
            (s.queue_len, s.queued_work_ns, s.running_deadline_ns),
            (0, 0, 0),
            "worker {w}"
        );
    }
    pool.shutdown();
}

#[test]
fn hostile_functions_through_a_fifo_worker() {
    hostile_through_pool(LocalQueue::Fifo, false, 1);
}

#[test]
fn hostile_functions_through_edf_workers() {
    hostile_through_pool(LocalQueue::Edf, true, 2);
}

#[test]
fn unknown_function_and_full_inbox_are_rejected_cleanly() {
    let fx = fixture();
    let pool = WorkerPool::start(
        fx.rt.clone(),
        WorkerPoolConfig {
            workers: 1,
            inbox_capacity: 2,
            ..WorkerPoolConfig::default()
        },
    )
    .unwrap();
    // An id no runtime handed out: completes with Rejected, worker goes on.
    let bogus = {
        let other = Runtime::new(RuntimeConfig {
            cache_dir: None,
            max_instances: 4,
            ..RuntimeConfig::default()
        })
        .unwrap();
        for i in 0..8 {
            other
                .register(
                    &format!("f{i}"),
                    &wasm_path("noop"),
                    FunctionLimits::default(),
                )
                .unwrap();
        }
        other.lookup("f7").unwrap()
    };
    let job = |id, function| Job {
        id,
        function,
        payload: Vec::new(),
        arrival_ns: 1,
        // Far away: these jobs are ended by their limits, not their deadline.
        deadline_ns: u64::MAX / 4,
        expected_ns: 5,
    };
    pool.submit(0, job(1, bogus)).unwrap();
    let got = collect(&pool, 1);
    assert_eq!(got[&1].outcome, Outcome::Rejected);
    // A worker index that does not exist: the job comes back.
    assert_eq!(pool.submit(7, job(2, fx.good)).unwrap_err().id, 2);
    // Hold 2 (the bound): a runaway loop running and one job queued; the
    // third is refused, comes back, and its accounting is undone.
    // (A loop with a long limit, so the inbox stays full while we look.)
    let looping = fx
        .rt
        .register(
            "loop_long",
            &wasm_path("loop"),
            FunctionLimits {
                max_exec: Duration::from_secs(3),
                ..FunctionLimits::default()
            },
        )
        .unwrap();
    pool.submit(0, job(3, looping)).unwrap();
    let busy = Instant::now() + BOUND;
    while pool.state(0).snapshot().running_deadline_ns == 0 {
        assert!(Instant::now() < busy, "worker never started the loop");
        std::thread::yield_now();
    }
    pool.submit(0, job(4, fx.good)).unwrap();
    let before = pool.state(0).snapshot();
    let refused = pool.submit(0, job(5, fx.good)).unwrap_err();
    assert_eq!(refused.id, 5);
    assert_eq!(pool.state(0).snapshot().queue_len, before.queue_len);
    assert_eq!(
        pool.state(0).snapshot().queued_work_ns,
        before.queued_work_ns
    );
    let got = collect(&pool, 2);
    assert_eq!(got[&3].outcome, Outcome::Timeout);
    assert_eq!(
        got[&4].outcome,
        Outcome::ExitCode(1),
        "fibonacci with an empty body"
    );
    pool.shutdown();
}

#[test]
fn exhausted_sandbox_pool_is_rejected_not_a_crash() {
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: None,
        max_instances: 2,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let f = rt
        .register("noop", &wasm_path("noop"), FunctionLimits::default())
        .unwrap();
    let held: Vec<_> = (0..2)
        .map(|_| rt.instantiate_resident(f).unwrap())
        .collect();
    assert_eq!(rt.invoke_blocking(f, b"").0, Outcome::Rejected);
    drop(held);
    assert_eq!(rt.invoke_blocking(f, b"").0, Outcome::Ok);
}
