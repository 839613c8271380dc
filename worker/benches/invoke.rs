//! Criterion micro-benchmarks of one invocation: raw no-op on the FIFO
//! (sync) and EDF (fiber) paths, WASI fibonacci(10), raw echo of 1 KiB.
//! `cargo bench -p tern-worker --bench invoke`. The headline comparison with
//! bare wasmtime is the `invoke_cost` example.

use criterion::{Criterion, criterion_group, criterion_main};
#[path = "../tests/common/guest_build.rs"]
mod guest_build;

use guest_build::wasm_path;
use tern_worker::{FunctionLimits, Runtime, RuntimeConfig};

fn invoke(c: &mut Criterion) {
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let lim = FunctionLimits::default();
    let noop = rt.register("noop", &wasm_path("noop"), lim).unwrap();
    let fib = rt
        .register("fibonacci", &wasm_path("fibonacci"), lim)
        .unwrap();
    let echo = rt
        .register("echo_raw", &wasm_path("echo_raw"), lim)
        .unwrap();
    let kib = vec![7u8; 1024];
    c.bench_function("noop_raw_sync", |b| {
        b.iter(|| rt.invoke_blocking(noop, b""))
    });
    c.bench_function("noop_raw_fiber", |b| {
        b.iter(|| rt.invoke_blocking_preemptible(noop, b""))
    });
    c.bench_function("fibonacci_10_wasi", |b| {
        b.iter(|| rt.invoke_blocking(fib, b"10"))
    });
    c.bench_function("echo_raw_1k", |b| b.iter(|| rt.invoke_blocking(echo, &kib)));
}

criterion_group!(benches, invoke);
criterion_main!(benches);
