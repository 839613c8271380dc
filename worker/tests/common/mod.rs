//! Helpers shared by the worker's integration tests: the guest functions,
//! a runtime without a disk cache, and waiting for a pool's completions.

#![allow(dead_code)] // each test file uses a different part

pub mod guest_build;

use std::time::{Duration, Instant};

use tern_sched::{Completion, FunctionId, Job, clock};
use tern_worker::{Runtime, RuntimeConfig, WorkerPool};

#[allow(unused_imports)] // not every test file uses both
pub use guest_build::{functions_dir, wasm_path};

/// A runtime with the default settings and no disk cache, so that every
/// test compiles its own modules and no test sees another's artifacts.
pub fn uncached_runtime() -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    })
    .unwrap()
}

/// Polls `pool` until `out` holds at least `n` completions; panics after
/// `bound` saying how many came.
pub fn wait_for_completions(
    pool: &WorkerPool,
    out: &mut Vec<Completion>,
    n: usize,
    bound: Duration,
) {
    let deadline = Instant::now() + bound;
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} completions within {bound:?}",
            out.len()
        );
        if pool.poll_completions(out) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// A job of `function` with `body`, arriving now, due `deadline_in` from
/// now and expected to take `expected`.
pub fn job_due_in(
    id: u64,
    function: FunctionId,
    body: &str,
    deadline_in: Duration,
    expected: Duration,
) -> Job {
    let now = clock::now_ns();
    Job {
        id,
        function,
        payload: body.as_bytes().to_vec(),
        arrival_ns: now,
        deadline_ns: now + deadline_in.as_nanos() as u64,
        expected_ns: expected.as_nanos() as u64,
    }
}
