//! The WASI host's edge cases, through small text-format guests: what a
//! hostile or careless guest can make `random_get` and `fd_write` do.

use tern_sched::{FunctionId, Outcome};
mod common;

use common::uncached_runtime;
use tern_worker::{FunctionLimits, Runtime};

/// A fresh runtime with the text module `wat` registered (default limits).
fn runtime_with(wat: &str) -> (Runtime, FunctionId) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("guest.wat");
    std::fs::write(&path, wat).unwrap();
    let rt = uncached_runtime();
    let f = rt
        .register("guest", &path, FunctionLimits::default())
        .unwrap();
    (rt, f)
}

/// The guest's stdout for an empty request, which must end ok.
fn output(rt: &Runtime, f: FunctionId) -> Vec<u8> {
    let (outcome, out) = rt.invoke_blocking(f, b"");
    assert_eq!(outcome, Outcome::Ok, "{}", String::from_utf8_lossy(&out));
    out
}

/// A WASI guest whose `_start` runs `body`, with `$random` and `$write`
/// imported, `memory` pages of memory, and `$print(ptr, len)`, which writes
/// those bytes to stdout through an iovec at address 0.
fn guest(pages: u32, locals: &str, body: &str) -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") {pages})
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start") {locals}
{body}))"#
    )
}

/// Writes 64 bytes of `random_get` to stdout.
fn random_64() -> String {
    guest(
        1,
        "",
        "(drop (call $random (i32.const 64) (i32.const 64)))
    (call $print (i32.const 64) (i32.const 64))",
    )
}

#[test]
fn random_get_gives_fresh_bytes_each_request() {
    let (rt, f) = runtime_with(&random_64());
    let outputs: Vec<Vec<u8>> = (0..4).map(|_| output(&rt, f)).collect();
    for (i, a) in outputs.iter().enumerate() {
        assert_eq!(a.len(), 64);
        // 64 bytes from the OS: the chance of 16 or more zero bytes is nil.
        assert!(a.iter().filter(|&&b| b == 0).count() < 16, "{a:?}");
        for b in &outputs[i + 1..] {
            assert_ne!(a, b, "two requests drew the same bytes");
        }
    }
}

/// 32,768 iovecs, each the whole 256 KiB memory, to stderr: they sum to
/// 8 GiB, past the u32 that `nwritten` holds. The errno of that call is
/// then written to stdout as one byte.
fn wrapping_write() -> String {
    guest(
        4,
        "(local $i i32)",
        "(loop $fill
      (i32.store (i32.mul (local.get $i) (i32.const 8)) (i32.const 0))
      (i32.store (i32.add (i32.mul (local.get $i) (i32.const 8)) (i32.const 4)) (i32.const 262144))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 32768))))
    (i32.store8 (i32.const 16)
      (call $write (i32.const 2) (i32.const 0) (i32.const 32768) (i32.const 8)))
    (call $print (i32.const 16) (i32.const 1))",
    )
}

#[test]
fn fd_write_refuses_a_count_past_u32() {
    let (rt, f) = runtime_with(&wrapping_write());
    const EINVAL: u8 = 28;
    assert_eq!(
        output(&rt, f),
        [EINVAL],
        "the 8 GiB write is refused, not counted modulo 2^32"
    );
}
