//! Registration: the compiled-module cache survives a restart, and every
//! kind of bad module or limit is a clear error naming the file.

use std::time::Duration;

use tern_sched::{FunctionId, Outcome};
mod common;

use common::{uncached_runtime, wasm_path};
use tern_worker::{CacheStats, FunctionLimits, RegisterError, Runtime, RuntimeConfig};

fn runtime_with_cache(dir: &std::path::Path) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.to_path_buf()),
        ..RuntimeConfig::default()
    })
    .unwrap()
}

/// Registers module `module` (from functions/build) as `route` with the
/// default limits.
fn register(rt: &Runtime, route: &str, module: &str) -> FunctionId {
    rt.register(route, &wasm_path(module), FunctionLimits::default())
        .unwrap()
}

fn stats(hits: u64, compiled: u64, reused: u64) -> CacheStats {
    CacheStats {
        hits,
        compiled,
        reused,
    }
}

/// `f` (fibonacci) answers 144 to 12.
fn assert_fib_12(rt: &Runtime, f: FunctionId) {
    assert_eq!(
        rt.invoke_blocking(f, b"12"),
        (Outcome::Ok, b"144\n".to_vec())
    );
}

/// Registers fibonacci as `route`, then checks the cache counters after it,
/// whether it came from the disk (`why` says why that is expected), and
/// that it runs.
fn register_fib_and_check(
    rt: &Runtime,
    route: &str,
    after: CacheStats,
    from_disk: bool,
    why: &str,
) -> FunctionId {
    let f = register(rt, route, "fibonacci");
    assert_eq!(rt.cache_stats(), after, "{why}");
    assert_eq!(rt.loaded_from_cache(f), Some(from_disk), "{why}");
    assert_fib_12(rt, f);
    f
}

#[test]
fn a_restart_reuses_the_compiled_cache() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["fibonacci", "noop"];
    {
        let rt = runtime_with_cache(dir.path());
        for name in names {
            let f = register(&rt, name, name);
            assert_eq!(rt.loaded_from_cache(f), Some(false));
        }
        assert_eq!(rt.cache_stats(), stats(0, 2, 0));
        // A second route on bytes this process compiled shares the module
        // and did not come from the disk either.
        let twin = register(&rt, "fib-twin", "fibonacci");
        assert_eq!(rt.loaded_from_cache(twin), Some(false));
        assert_eq!(rt.cache_stats().reused, 1);
    }
    let artifacts: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(artifacts.len(), 2, "one artifact per module");

    // "Restart": a new runtime on the same directory compiles nothing.
    let rt = runtime_with_cache(dir.path());
    let noop = register(&rt, "noop", "noop");
    register_fib_and_check(
        &rt,
        "fibonacci",
        stats(2, 0, 0),
        true,
        "compiled by the last run",
    );
    assert_eq!(rt.invoke_blocking(noop, b""), (Outcome::Ok, Vec::new()));
    drop(rt);

    // A damaged artifact is detected and rebuilt, never loaded.
    for a in &artifacts {
        let mut bytes = std::fs::read(a.path()).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(a.path(), bytes).unwrap();
    }
    let rt = runtime_with_cache(dir.path());
    register_fib_and_check(
        &rt,
        "fibonacci",
        stats(0, 1, 0),
        false,
        "rebuilt, not loaded",
    );
    drop(rt);
    let rt = runtime_with_cache(dir.path());
    register(&rt, "fibonacci", "fibonacci");
    assert_eq!(
        rt.cache_stats(),
        stats(1, 0, 0),
        "the rebuilt entry is used"
    );
    // A second route on the same file shares the loaded module.
    register_fib_and_check(
        &rt,
        "fib-again",
        stats(1, 0, 1),
        true,
        "shares the module read from disk",
    );
}

fn write(dir: &std::path::Path, name: &str, contents: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

#[test]
fn bad_modules_are_clear_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let rt = uncached_runtime();
    let lim = FunctionLimits::default();

    let missing = dir.path().join("missing.wasm");
    let e = rt.register("a", &missing, lim).unwrap_err();
    assert!(
        matches!(e, RegisterError::Io { .. }) && e.to_string().contains("missing.wasm"),
        "{e}"
    );

    // Each bad module, the limits it is registered under, and what its
    // error must be; every message also names the file.
    let small = FunctionLimits {
        max_memory_bytes: 1 << 20,
        ..lim
    };
    type Check = fn(&RegisterError) -> bool;
    let cases: [(&str, &[u8], FunctionLimits, Check); 8] = [
        ("garbage.wasm", b"\0asm\x01\0\0\0garbage", lim, |e| {
            matches!(e, RegisterError::Compile { .. })
        }),
        // A text file or random bytes given as a module: named as not Wasm,
        // not answered by the WAT parser's "expected `(`".
        ("notes.wasm", b"hello, world\n", lim, |e| {
            matches!(e, RegisterError::NotWasm { .. }) && e.to_string().contains("is not a Wasm module")
        }),
        ("random.wasm", &[0x9f, 0x12, 0xee, 0x00, 0x41, 0x7a, 0x03, 0xc4], lim, |e| {
            matches!(e, RegisterError::NotWasm { .. })
        }),
        (
            "import.wat",
            br#"(module (import "env" "launch_missiles" (func)) (func (export "_start")))"#,
            lim,
            |e| e.to_string().contains("env::launch_missiles"),
        ),
        (
            "sock.wat",
            br#"(module (import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32))) (func (export "_start")))"#,
            lim,
            |e| matches!(e, RegisterError::UnsupportedImport { name, .. } if name == "sock_accept"),
        ),
        ("noentry.wat", br#"(module (func (export "main")))"#, lim, |e| {
            matches!(e, RegisterError::BadAbi { .. })
        }),
        (
            "badraw.wat",
            br#"(module (memory (export "memory") 1) (func (export "tern_handle") (param i32) (result i32) i32.const 0))"#,
            lim,
            |e| e.to_string().contains("tern_handle must have type"),
        ),
        (
            "big.wat",
            br#"(module (memory (export "memory") 2000) (func (export "_start")))"#,
            small,
            |e| matches!(e, RegisterError::BadLimits { .. }),
        ),
    ];
    for (file, contents, limits, check) in cases {
        let path = write(dir.path(), file, contents);
        let e = rt.register(file, &path, limits).unwrap_err();
        assert!(check(&e) && e.to_string().contains(file), "{file}: {e}");
    }

    let too_big = FunctionLimits {
        max_memory_bytes: 1 << 40,
        ..lim
    };
    let e = rt.register("h", &wasm_path("noop"), too_big).unwrap_err();
    assert!(matches!(e, RegisterError::BadLimits { .. }), "{e}");
    let zero_time = FunctionLimits {
        max_exec: Duration::ZERO,
        ..lim
    };
    assert!(matches!(
        rt.register("i", &wasm_path("noop"), zero_time),
        Err(RegisterError::BadLimits { .. })
    ));

    // A handwritten raw-ABI module works, and a duplicate name is refused.
    let raw = write(
        dir.path(),
        "raw.wat",
        br#"(module (memory (export "memory") 1) (data (i32.const 16) "pong")
              (func (export "tern_alloc") (param i32) (result i32) i32.const 1024)
              (func (export "tern_handle") (param i32 i32) (result i64) i64.const 68719476740))"#,
    );
    let f = rt.register("raw", &raw, lim).unwrap();
    assert_eq!(
        rt.invoke_blocking(f, b"ping"),
        (Outcome::Ok, b"pong".to_vec())
    );
    assert!(matches!(
        rt.register("raw", &raw, lim),
        Err(RegisterError::Duplicate { .. })
    ));
    assert_eq!(rt.lookup("raw"), Some(f));

    // The failures left the runtime serving.
    let fib = rt
        .register("fibonacci", &wasm_path("fibonacci"), lim)
        .unwrap();
    assert_fib_12(&rt, fib);
}

#[test]
fn raw_abi_contract_violations_are_traps_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let rt = uncached_runtime();
    let lim = FunctionLimits {
        max_output: 100,
        ..FunctionLimits::default()
    };
    let module = |name: &str, alloc: &str, handle: &str| {
        let wat = format!(
            r#"(module (memory (export "memory") 1)
                 (func (export "tern_alloc") (param i32) (result i32) {alloc})
                 (func (export "tern_handle") (param i32 i32) (result i64) {handle}))"#
        );
        rt.register(
            name,
            &write(dir.path(), &format!("{name}.wat"), wat.as_bytes()),
            lim,
        )
        .unwrap()
    };
    // tern_alloc returns null; an address past the end; output out of bounds;
    // output above max_output.
    let null = module("null", "i32.const 0", "i64.const 0");
    let outside = module("outside", "i32.const 70000", "i64.const 0");
    let out_oob = module("out_oob", "i32.const 0", "i64.const 0x0001000000000010");
    let too_much = module("too_much", "i32.const 0", "i64.const 1000");
    assert!(matches!(rt.invoke_blocking(null, b"x").0, Outcome::Trap(m) if m.contains("null")));
    assert!(
        matches!(rt.invoke_blocking(outside, b"x").0, Outcome::Trap(m) if m.contains("outside memory"))
    );
    assert!(
        matches!(rt.invoke_blocking(out_oob, b"").0, Outcome::Trap(m) if m.contains("outside memory"))
    );
    assert_eq!(rt.invoke_blocking(too_much, b"").0, Outcome::OutputTooLarge);
}
