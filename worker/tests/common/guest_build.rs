//! Test helper: finds the repository's guest functions and builds them on
//! first use, so that `cargo test`, the benchmarks and the examples work from
//! a fresh clone: runs `functions/build.sh` (which rebuilds only what
//! changed) once per process.
//!
//! Not part of tern-worker's API: worker/tests/common includes it, and the
//! worker's benches and examples and the dispatcher's tests include this
//! file by path (`#[path = ...] mod guest_build;`).

#![allow(dead_code)] // each includer uses a different part

use std::path::PathBuf;
use std::sync::OnceLock;

/// `<repo>/functions`, as seen when the including crate was compiled (every
/// crate of the workspace sits one level below the root).
pub fn functions_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions")
}

/// Runs `functions/build.sh` once per process and returns
/// `<repo>/functions/build`. The error carries the script's output (e.g.
/// "run scripts/setup.sh" when clang or wasi-libc is missing).
pub fn build_dir() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = functions_dir();
            let out = std::process::Command::new(dir.join("build.sh"))
                .output()
                .map_err(|e| format!("cannot run {}: {e}", dir.join("build.sh").display()))?;
            if !out.status.success() {
                return Err(format!(
                    "functions/build.sh failed ({}):\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(dir.join("build"))
        })
        .clone()
}

/// The built `.wasm` of guest function `name` (e.g. `"fibonacci"`), building
/// the functions first if needed. Panics with the build's output if the
/// build fails: for tests and examples.
pub fn wasm_path(name: &str) -> PathBuf {
    match build_dir() {
        Ok(dir) => dir.join(format!("{name}.wasm")),
        Err(e) => panic!("{e}"),
    }
}
