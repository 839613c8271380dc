//! A long request running on an EDF worker is preempted by a short
//! earlier-deadline one, which finishes first; the long one then resumes and
//! completes with the correct output. Asserts order and causality, never
//! durations.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_sched::{Completion, FunctionId, Job, Outcome};
mod common;

use common::{job_due_in, uncached_runtime, wait_for_completions, wasm_path};
use tern_worker::{FunctionLimits, LocalQueue, Runtime, WorkerPool, WorkerPoolConfig};

const BOUND: Duration = Duration::from_secs(120);

/// A runtime (no disk cache) with `hash` and `fibonacci` registered under a
/// 100 s time limit, so only the tests' own deadlines matter.
fn runtime_with_hash_and_fib() -> (Arc<Runtime>, FunctionId, FunctionId) {
    let rt = Arc::new(uncached_runtime());
    let limits = FunctionLimits {
        max_exec: Duration::from_secs(100),
        ..FunctionLimits::default()
    };
    let hash = rt.register("hash", &wasm_path("hash"), limits).unwrap();
    let fib = rt
        .register("fibonacci", &wasm_path("fibonacci"), limits)
        .unwrap();
    (rt, hash, fib)
}

/// `workers` preemptible EDF workers over `rt`.
fn edf_pool(rt: &Arc<Runtime>, workers: usize) -> WorkerPool {
    WorkerPool::start(
        rt.clone(),
        WorkerPoolConfig {
            workers,
            local_queue: LocalQueue::Edf,
            preemptible: true,
            ..WorkerPoolConfig::default()
        },
    )
    .unwrap()
}

/// A job due `deadline_in` from now, expected to take as long: no job here
/// overruns its expected time, so none is demoted (`runaway.rs` tests that).
fn job(id: u64, function: FunctionId, body: &str, deadline_in: Duration) -> Job {
    job_due_in(id, function, body, deadline_in, deadline_in)
}

fn next(pool: &WorkerPool, buf: &mut Vec<Completion>) -> Completion {
    wait_for_completions(pool, buf, 1, BOUND);
    buf.remove(0)
}

/// Waits until worker 0 runs the job due at `deadline_ns`.
fn wait_running(pool: &WorkerPool, deadline_ns: u64) {
    let limit = Instant::now() + BOUND;
    while pool.state(0).snapshot().running_deadline_ns != deadline_ns {
        assert!(Instant::now() < limit, "the long job never started");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Submits `job` to worker 0 and waits until it is the one running.
fn start(pool: &WorkerPool, job: Job) {
    let deadline_ns = job.deadline_ns;
    pool.submit(0, job).unwrap();
    wait_running(pool, deadline_ns);
}

#[test]
fn short_earlier_deadline_request_preempts_a_long_one() {
    let (rt, hash, fib) = runtime_with_hash_and_fib();
    // ~1.5 s of work by hash's calibration: long enough that the short job
    // arrives while it runs, even on a loaded box.
    let long_body = "1500000";
    let (o, want_long) = rt.invoke_blocking(hash, long_body.as_bytes());
    assert_eq!(o, Outcome::Ok);

    let pool = edf_pool(&rt, 1);
    start(&pool, job(1, hash, long_body, Duration::from_secs(1000)));

    let short = job(2, fib, "20", Duration::from_secs(10));
    pool.submit(0, short).unwrap();
    pool.preempt(0);

    let mut buf = Vec::new();
    let first = next(&pool, &mut buf);
    let second = next(&pool, &mut buf);
    // The short job was submitted after the long one had started running on
    // the only worker: finishing first proves the long one was suspended.
    assert_eq!(
        (first.id, &first.outcome, first.output.as_slice()),
        (2, &Outcome::Ok, b"6765\n".as_slice())
    );
    assert_eq!((second.id, &second.outcome), (1, &Outcome::Ok));
    assert_eq!(
        second.output, want_long,
        "the resumed request computed the same hash"
    );
    // The long job spent time off the CPU while the short one ran.
    assert!(
        second.queue_ns >= first.exec_ns,
        "long queue {} < short exec {}",
        second.queue_ns,
        first.exec_ns
    );
    pool.shutdown();
}

/// On a worker of `local_queue` that is not preemptible, a long request that
/// is running finishes before a short earlier-deadline one that arrives.
fn running_request_is_not_preempted(local_queue: LocalQueue) {
    let (rt, hash, fib) = runtime_with_hash_and_fib();
    let pool = WorkerPool::start(
        rt.clone(),
        WorkerPoolConfig {
            workers: 1,
            local_queue,
            preemptible: false,
            ..WorkerPoolConfig::default()
        },
    )
    .unwrap();
    start(&pool, job(1, hash, "200000", Duration::from_secs(1000)));
    pool.submit(0, job(2, fib, "10", Duration::from_secs(1)))
        .unwrap();
    pool.preempt(0);
    let mut buf = Vec::new();
    assert_eq!(next(&pool, &mut buf).id, 1);
    assert_eq!(next(&pool, &mut buf).id, 2);
    pool.shutdown();
}

#[test]
fn fifo_worker_does_not_preempt() {
    running_request_is_not_preempted(LocalQueue::Fifo);
}

#[test]
fn edf_worker_without_preemption_lets_the_running_request_finish() {
    running_request_is_not_preempted(LocalQueue::Edf);
}

#[test]
fn edf_worker_runs_queued_jobs_by_deadline() {
    let (rt, hash, fib) = runtime_with_hash_and_fib();
    let pool = edf_pool(&rt, 1);
    // Keep the worker busy with a job whose deadline is the earliest (so it
    // is not preempted), then queue three with deadlines in reverse order of
    // arrival: once it finishes they run by deadline, not arrival.
    start(&pool, job(0, hash, "1000000", Duration::from_secs(1)));
    for (id, secs) in [(1u64, 30u64), (2, 20), (3, 10)] {
        pool.submit(0, job(id, fib, "5", Duration::from_secs(secs)))
            .unwrap();
    }
    let mut buf = Vec::new();
    let order: Vec<u64> = (0..4).map(|_| next(&pool, &mut buf).id).collect();
    assert_eq!(order, [0, 3, 2, 1]);
    pool.shutdown();
}

#[test]
fn shutdown_with_suspended_and_queued_requests_returns() {
    let (rt, hash, _) = runtime_with_hash_and_fib();
    let pool = edf_pool(&rt, 1);
    // A runs, B (earlier deadline) preempts it, C waits behind both.
    start(&pool, job(1, hash, "3000000", Duration::from_secs(1000)));
    let b = job(2, hash, "3000000", Duration::from_secs(100));
    let b_deadline = b.deadline_ns;
    pool.submit(0, b).unwrap();
    pool.preempt(0);
    wait_running(&pool, b_deadline);
    pool.submit(0, job(3, hash, "10", Duration::from_secs(500)))
        .unwrap();
    // Dropping A's suspended fiber and B's running one must neither hang nor
    // crash, and the runtime keeps serving afterwards.
    pool.shutdown();
    let (o, _) = rt.invoke_blocking(hash, b"10");
    assert_eq!(o, Outcome::Ok);
}

#[test]
fn many_jobs_with_mixed_deadlines_all_complete_correctly() {
    let (rt, hash, fib) = runtime_with_hash_and_fib();
    let (_, hash_2000) = rt.invoke_blocking(hash, b"2000");
    let pool = edf_pool(&rt, 2);
    let fibs = [
        0u64, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181,
    ];
    let mut want = std::collections::HashMap::new();
    // Deadlines scrambled so that many arrivals preempt a running hash;
    // seconds away, so that none passes (an overdue job would be ended).
    for id in 0..300u64 {
        let deadline = Duration::from_millis(1_000 + (id * 7919) % 50_000);
        let (j, out) = if id % 5 == 0 {
            (job(id, hash, "2000", deadline), hash_2000.clone())
        } else {
            let n = id % 20;
            (
                job(id, fib, &n.to_string(), deadline),
                format!("{}\n", fibs[n as usize]).into_bytes(),
            )
        };
        let worker = (id % 2) as usize;
        let mut j = j;
        loop {
            match pool.submit(worker, j) {
                Ok(()) => break,
                Err(back) => {
                    j = back;
                    std::thread::yield_now();
                }
            }
        }
        if id % 3 == 0 {
            pool.preempt(worker);
        }
        want.insert(id, out);
    }
    let mut buf = Vec::new();
    for _ in 0..300 {
        let c = next(&pool, &mut buf);
        assert_eq!(c.outcome, Outcome::Ok, "job {}", c.id);
        assert_eq!(Some(&c.output), want.get(&c.id), "job {}", c.id);
        want.remove(&c.id);
    }
    assert!(want.is_empty());
    for w in 0..2 {
        let s = pool.state(w).snapshot();
        assert_eq!((s.queue_len, s.queued_work_ns), (0, 0), "worker {w}");
    }
    pool.shutdown();
}
