//! Every guest function's output through `invoke_blocking`, checked against
//! an independent computation in Rust.

use std::time::Duration;

use tern_sched::{FunctionId, Outcome};
mod common;

use common::{functions_dir, uncached_runtime, wasm_path};
use tern_worker::{Abi, FunctionLimits, Runtime};

fn register(rt: &Runtime, name: &str) -> FunctionId {
    let limits = FunctionLimits {
        max_exec: Duration::from_secs(30),
        ..FunctionLimits::default()
    };
    rt.register(name, &wasm_path(name), limits).unwrap()
}

fn run(rt: &Runtime, f: FunctionId, input: &[u8]) -> String {
    let (outcome, out) = rt.invoke_blocking(f, input);
    assert_eq!(
        outcome,
        Outcome::Ok,
        "output: {}",
        String::from_utf8_lossy(&out)
    );
    String::from_utf8(out).unwrap()
}

/// Runs `f` on each decimal input and checks its output is `expected(n)`.
fn matches_rust(rt: &Runtime, f: FunctionId, inputs: &[u64], expected: impl Fn(u64) -> String) {
    for &n in inputs {
        assert_eq!(
            run(rt, f, n.to_string().as_bytes()),
            expected(n),
            "input {n}"
        );
    }
}

fn fib(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

#[test]
fn fibonacci_matches_rust() {
    let rt = uncached_runtime();
    let f = register(&rt, "fibonacci");
    assert_eq!(rt.describe(f).unwrap().1, Abi::Wasi);
    matches_rust(&rt, f, &[0, 1, 2, 10, 20, 25], |n| format!("{}\n", fib(n)));
}

#[test]
fn fibonacci_bad_body_is_exit_code_with_stderr() {
    let rt = uncached_runtime();
    let f = register(&rt, "fibonacci");
    let (outcome, out) = rt.invoke_blocking(f, b"not a number");
    assert_eq!(outcome, Outcome::ExitCode(1));
    assert!(String::from_utf8_lossy(&out).contains("body must be a decimal N"));
}

#[test]
fn isprime_matches_rust() {
    let rt = uncached_runtime();
    let f = register(&rt, "isprime");
    let is_prime = |n: u64| {
        n >= 2
            && (2..)
                .take_while(|d| d * d <= n)
                .all(|d| !n.is_multiple_of(d))
    };
    matches_rust(
        &rt,
        f,
        &[
            0,
            1,
            2,
            3,
            4,
            97,
            561,
            7919,
            1_000_003,
            1_000_000_007,
            999_999_999_989,
        ],
        |n| format!("{{\"IsPrime\": {}}}\n", is_prime(n)),
    );
}

#[test]
fn echo_returns_its_body_at_every_size() {
    let rt = uncached_runtime();
    let wasi = register(&rt, "echo");
    let raw = register(&rt, "echo_raw");
    assert_eq!(rt.describe(raw).unwrap().1, Abi::Raw);
    for size in [0usize, 1, 100, 4096, 65_537, 1 << 20, 8 << 20] {
        let body: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        for f in [wasi, raw] {
            let (outcome, out) = rt.invoke_blocking(f, &body);
            assert_eq!(outcome, Outcome::Ok, "size {size}");
            assert!(
                out == body,
                "size {size}: echo returned {} bytes",
                out.len()
            );
        }
    }
}

#[test]
fn noop_returns_nothing() {
    let rt = uncached_runtime();
    let f = register(&rt, "noop");
    assert_eq!(rt.describe(f).unwrap().1, Abi::Raw);
    assert_eq!(rt.invoke_blocking(f, b""), (Outcome::Ok, Vec::new()));
    assert_eq!(rt.invoke_blocking(f, b"ignored"), (Outcome::Ok, Vec::new()));
}

/// hash.c's ITERS_PER_US, read from the source so the test follows a
/// recalibration.
fn iters_per_us() -> u64 {
    let src = std::fs::read_to_string(functions_dir().join("hash.c")).unwrap();
    let line = src
        .lines()
        .find(|l| l.starts_with("#define ITERS_PER_US"))
        .unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn hash_matches_rust() {
    let rt = uncached_runtime();
    let f = register(&rt, "hash");
    for us in [0u64, 1, 10, 1000] {
        let mut h: u64 = 0xcbf29ce484222325;
        for i in 0..us * iters_per_us() {
            h ^= i;
            h = h.wrapping_mul(0x100000001b3);
        }
        assert_eq!(
            run(&rt, f, us.to_string().as_bytes()),
            format!("{h:016x}\n"),
            "us={us}"
        );
    }
}

/// The tour tsp.c must find, by exhaustive search in the same summation
/// order (so the floating-point length is bit-identical).
fn tsp_length(n: usize, seed: u64) -> f64 {
    let mut state = if seed == 0 { 1 } else { seed };
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut pts = Vec::new();
    for _ in 0..n {
        let x = (next() % 1000) as f64;
        let y = (next() % 1000) as f64;
        pts.push((x, y));
    }
    let d = |a: usize, b: usize| {
        let (dx, dy) = (pts[a].0 - pts[b].0, pts[a].1 - pts[b].1);
        (dx * dx + dy * dy).sqrt()
    };
    fn permute(rest: &mut Vec<usize>, k: usize, f: &mut dyn FnMut(&[usize])) {
        if k == rest.len() {
            f(rest);
            return;
        }
        for i in k..rest.len() {
            rest.swap(k, i);
            permute(rest, k + 1, f);
            rest.swap(k, i);
        }
    }
    let mut best = f64::INFINITY;
    let mut rest: Vec<usize> = (1..n).collect();
    permute(&mut rest, 0, &mut |p| {
        let mut len = 0.0;
        let mut prev = 0;
        for &c in p {
            len += d(prev, c);
            prev = c;
        }
        best = best.min(len + d(prev, 0));
    });
    best
}

#[test]
fn tsp_finds_the_shortest_tour() {
    let rt = uncached_runtime();
    let f = register(&rt, "tsp");
    for (n, seed) in [(4usize, 1u64), (7, 42), (9, 7)] {
        let out = run(&rt, f, format!("{n} {seed}").as_bytes());
        let want = format!("length={:.3} ", tsp_length(n, seed));
        assert!(
            out.starts_with(&want),
            "tsp {n} {seed}: got {out:?}, want prefix {want:?}"
        );
        // The tour visits every city once, starting at 0.
        let tour: Vec<usize> = out
            .trim_end()
            .split("tour=")
            .nth(1)
            .unwrap()
            .split(' ')
            .map(|c| c.parse().unwrap())
            .collect();
        let mut sorted = tour.clone();
        sorted.sort();
        assert_eq!(tour[0], 0);
        assert_eq!(sorted, (0..n).collect::<Vec<_>>());
    }
    let (outcome, _) = rt.invoke_blocking(f, b"99");
    assert_eq!(
        outcome,
        Outcome::ExitCode(1),
        "N above the maximum is refused"
    );
}

#[test]
fn no_state_leaks_between_requests() {
    let rt = uncached_runtime();
    let f = register(&rt, "statecheck");
    for secret in ["first secret", "second", "third"] {
        assert_eq!(run(&rt, f, secret.as_bytes()), "runs=1 previous=\n");
    }
    // Same through the preemptible path, interleaved with the other.
    for secret in ["a", "b"] {
        let (outcome, out) = rt.invoke_blocking_preemptible(f, secret.as_bytes());
        assert_eq!(outcome, Outcome::Ok);
        assert_eq!(out, b"runs=1 previous=\n");
    }
}
