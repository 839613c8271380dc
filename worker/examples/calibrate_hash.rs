//! Calibrates `functions/hash.c` so that body "N" takes about N µs of
//! execution on this machine: times hash("2000") (2 ms by the current
//! constant) 101 times (short runs are rarely hit by other processes), takes the median, and prints the
//! `ITERS_PER_US` that would make it exact, plus how close the current one is
//! for a few sizes.
//!
//! Run: `cargo run --release -p tern-worker --example calibrate_hash`
//! then put the printed constant in functions/hash.c.

use std::time::{Duration, Instant};

#[path = "../tests/common/guest_build.rs"]
mod guest_build;

use guest_build::{functions_dir, wasm_path};
use tern_worker::{FunctionLimits, Runtime, RuntimeConfig};

fn main() -> anyhow::Result<()> {
    let src = std::fs::read_to_string(functions_dir().join("hash.c"))?;
    let current: f64 = src
        .lines()
        .find(|l| l.starts_with("#define ITERS_PER_US"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no #define ITERS_PER_US in functions/hash.c"))?;
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    })?;
    let limits = FunctionLimits {
        max_exec: Duration::from_secs(60),
        ..FunctionLimits::default()
    };
    let hash = rt.register("hash", &wasm_path("hash"), limits)?;
    let noop = rt.register("fibonacci", &wasm_path("fibonacci"), limits)?;
    let time = |body: &str| {
        let t = Instant::now();
        let (o, _) = rt.invoke_blocking(hash, body.as_bytes());
        assert!(o.is_ok(), "hash({body}) failed: {o}");
        t.elapsed().as_secs_f64() * 1e6
    };
    // The fixed cost of a WASI invocation (fibonacci(1)), subtracted.
    let mut fixed: Vec<f64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            rt.invoke_blocking(noop, b"1");
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    fixed.sort_by(f64::total_cmp);
    let fixed = fixed[fixed.len() / 2];
    const PARAM: f64 = 2_000.0;
    let mut runs: Vec<f64> = (0..101).map(|_| time("2000") - fixed).collect();
    runs.sort_by(f64::total_cmp);
    let median = runs[runs.len() / 2];
    let suggested = (current * PARAM / median).round();
    println!("fixed cost of a WASI call: {fixed:.1} us");
    println!(
        "hash(2000) with ITERS_PER_US={current}: median {median:.0} us over {} runs",
        runs.len()
    );
    for us in [10u32, 100, 1000] {
        let mut v: Vec<f64> = (0..51).map(|_| time(&us.to_string()) - fixed).collect();
        v.sort_by(f64::total_cmp);
        println!("  hash({us}) median {:.1} us (target {us})", v[v.len() / 2]);
    }
    println!("suggested: #define ITERS_PER_US {suggested}");
    Ok(())
}
