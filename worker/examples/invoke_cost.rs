//! What one invocation costs: Tern's per-request path (fresh sandbox + call +
//! teardown of the raw-ABI no-op) against bare wasmtime doing the same with
//! the same engine settings (pooling allocator, `InstancePre`, sync call), in
//! the same run; plus the same no-op through the preemptible (fiber) path
//! an EDF worker uses, a WASI `fibonacci(10)`, a no-op through a worker
//! thread (submit -> completion), and the memory of an idle resident sandbox.
//!
//! Run: `cargo run --release -p tern-worker --example invoke_cost`
//! Last line: `invoke_ratio=X.XX` (Tern median / bare median).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_sched::{Job, clock};
#[path = "../tests/common/guest_build.rs"]
mod guest_build;

use guest_build::wasm_path;
use tern_worker::{
    FunctionLimits, LocalQueue, Runtime, RuntimeConfig, WorkerPool, WorkerPoolConfig,
};
use wasmtime::{Engine, Extern, Linker, Module, Store};

/// Rounds of each measurement, alternated so that noise hits both alike.
const ROUNDS: usize = 31;
/// Invocations per round.
const BATCH: usize = 2_000;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Mean ns per call of `f` over one batch.
fn batch_ns(mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..BATCH {
        f();
    }
    t.elapsed().as_nanos() as f64 / BATCH as f64
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() -> anyhow::Result<()> {
    let config = RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    };
    let noop_path = wasm_path("noop");
    let fib_path = wasm_path("fibonacci");

    // Tern.
    let rt = Arc::new(Runtime::new(config.clone())?);
    let noop = rt.register("noop", &noop_path, FunctionLimits::default())?;
    let fib = rt.register("fibonacci", &fib_path, FunctionLimits::default())?;
    assert!(rt.invoke_blocking(noop, b"").0.is_ok());
    let (outcome, out) = rt.invoke_blocking(fib, b"10");
    assert!(
        outcome.is_ok() && out == b"55\n",
        "fibonacci(10) gave {outcome}: {out:?}"
    );

    // Bare wasmtime: same engine settings, a linker with nothing in it,
    // InstancePre, exports resolved once, sync call.
    let engine = Engine::new(&config.wasmtime_config()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let module = Module::from_file(&engine, &noop_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pre = Linker::<()>::new(&engine)
        .instantiate_pre(&module)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let handle_export = module
        .get_export_index("tern_handle")
        .expect("noop exports tern_handle");
    let bare_call = || {
        let mut store = Store::new(&engine, ());
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = pre.instantiate(&mut store).expect("instantiate");
        let Some(Extern::Func(f)) = instance.get_module_export(&mut store, &handle_export) else {
            panic!()
        };
        let r = f
            .typed::<(u32, u32), u64>(&store)
            .expect("type")
            .call(&mut store, (0, 0))
            .expect("call");
        std::hint::black_box(r);
    };
    let tern_call = || {
        let (o, out) = rt.invoke_blocking(noop, b"");
        debug_assert!(o.is_ok());
        std::hint::black_box(out);
    };

    // Warm up both (pool slots, page faults, caches).
    for _ in 0..BATCH {
        bare_call();
        tern_call();
    }
    let (mut tern, mut bare, mut fibs, mut fiber) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        bare.push(batch_ns(bare_call));
        tern.push(batch_ns(tern_call));
        fiber.push(batch_ns(|| {
            std::hint::black_box(rt.invoke_blocking_preemptible(noop, b""));
        }));
        fibs.push(batch_ns(|| {
            std::hint::black_box(rt.invoke_blocking(fib, b"10"));
        }));
    }
    let (tern_ns, bare_ns, fib_ns) = (median(&mut tern), median(&mut bare), median(&mut fibs));
    let fiber_ns = median(&mut fiber);

    // Through a worker thread: submit -> completion, one at a time.
    let pool = WorkerPool::start(
        rt.clone(),
        WorkerPoolConfig {
            workers: 1,
            local_queue: LocalQueue::Fifo,
            preemptible: false,
            ..WorkerPoolConfig::default()
        },
    )?;
    let mut done = Vec::new();
    let mut round_trips = Vec::with_capacity(5_000);
    let limit = Instant::now() + Duration::from_secs(20);
    for id in 0..5_000u64 {
        if Instant::now() > limit {
            break;
        }
        let now = clock::now_ns();
        let job = Job {
            id,
            function: noop,
            payload: Vec::new(),
            arrival_ns: now,
            deadline_ns: now + 1_000_000,
            expected_ns: 2_000,
        };
        pool.submit(0, job)
            .map_err(|_| anyhow::anyhow!("inbox full"))?;
        while pool.poll_completions(&mut done) == 0 {
            std::hint::spin_loop();
        }
        round_trips.push((clock::now_ns() - now) as f64);
        done.clear();
    }
    pool.shutdown();
    let pool_ns = median(&mut round_trips);

    // Memory of idle resident sandboxes (instantiated fibonacci, not called).
    const RESIDENT: usize = 200;
    let before = rss_bytes();
    let resident: Vec<_> = (0..RESIDENT)
        .map(|_| rt.instantiate_resident(fib))
        .collect::<Result<_, _>>()?;
    let per_sandbox = rss_bytes().saturating_sub(before) / RESIDENT as u64;
    drop(resident);

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!(
        "machine: {cpu}, {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!("medians over {ROUNDS} rounds of {BATCH} calls:");
    println!(
        "  bare wasmtime no-op (pooling + InstancePre, sync) : {:8.0} ns",
        bare_ns
    );
    println!(
        "  tern no-op (raw ABI, FIFO worker's invoke path)   : {:8.0} ns",
        tern_ns
    );
    println!(
        "  tern no-op, preemptible path (fiber, call_async)  : {:8.0} ns",
        fiber_ns
    );
    println!(
        "  tern WASI fibonacci(10)                           : {:8.0} ns",
        fib_ns
    );
    println!(
        "  tern no-op through a worker thread (submit->done) : {:8.0} ns",
        pool_ns
    );
    println!(
        "  resident memory per idle sandbox (fibonacci)      : {:8} bytes",
        per_sandbox
    );
    println!("invoke_ratio={:.2}", tern_ns / bare_ns);
    Ok(())
}
