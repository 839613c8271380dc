//! A registered function: its compiled module ready to instantiate, its ABI,
//! and its route's limits.

use std::path::PathBuf;
use std::time::Duration;

use wasmtime::{InstancePre, ModuleExport};

use crate::sandbox::Sandbox;

/// Per-route limits. Enforced on every invocation of the function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionLimits {
    /// Largest linear memory the function may grow to, bytes. Must not exceed
    /// [`RuntimeConfig::max_memory_bytes`](crate::RuntimeConfig::max_memory_bytes).
    /// Growing past it ends the request with
    /// [`Outcome::OutOfMemory`](tern_sched::Outcome::OutOfMemory).
    pub max_memory_bytes: u64,
    /// Longest execution time (summed over the slices a preempted request
    /// runs). Checked at each epoch tick, so enforced within one quantum.
    /// Exceeding it ends the request with [`Outcome::Timeout`](tern_sched::Outcome::Timeout).
    pub max_exec: Duration,
    /// Largest response body, bytes. Exceeding it ends the request with
    /// [`Outcome::OutputTooLarge`](tern_sched::Outcome::OutputTooLarge).
    pub max_output: usize,
}

impl Default for FunctionLimits {
    /// 64 MiB of memory, 5 s of execution, 8 MiB of output (the largest RPC
    /// message).
    fn default() -> Self {
        FunctionLimits {
            max_memory_bytes: 64 << 20,
            max_exec: Duration::from_secs(5),
            max_output: 8 << 20,
        }
    }
}

/// How the host talks to a function, detected from its exports at
/// registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    /// A WASI command exporting `_start` (any C `main()` built with
    /// wasi-libc): the request body is stdin, the response is stdout, a
    /// non-zero exit code is an error.
    Wasi,
    /// Exports `memory`, `tern_alloc(len: i32) -> i32` and
    /// `tern_handle(ptr: i32, len: i32) -> i64` returning
    /// `(out_ptr << 32) | out_len`. No WASI set-up: the fast path.
    Raw,
}

/// Why a function could not be registered. Every variant names the file or
/// the function.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The `.wasm` file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// wasmtime rejected the module (not Wasm, invalid, or a feature this
    /// engine does not enable).
    #[error("cannot compile {path}: {message}")]
    Compile {
        /// The file.
        path: PathBuf,
        /// wasmtime's explanation.
        message: String,
    },
    /// The module imports something the host does not provide.
    #[error(
        "{path} imports {module}::{name}, which Tern does not provide (supported: the WASI preview1 subset listed in worker/README.md)"
    )]
    UnsupportedImport {
        /// The file.
        path: PathBuf,
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
    },
    /// The module exports neither `_start` (WASI) nor `tern_handle` (raw), or
    /// exports them with the wrong types.
    #[error("{path}: {message}")]
    BadAbi {
        /// The file.
        path: PathBuf,
        /// What is missing or mistyped.
        message: String,
    },
    /// The limits cannot be honoured by this runtime.
    #[error("function {name}: {message}")]
    BadLimits {
        /// The function.
        name: String,
        /// Which limit and why.
        message: String,
    },
    /// A function of this name is registered already.
    #[error("function {name} is registered already")]
    Duplicate {
        /// The function.
        name: String,
    },
    /// The runtime holds [`RuntimeConfig::max_functions`](crate::RuntimeConfig::max_functions) functions already.
    #[error("cannot register {name}: the runtime holds its maximum of {max} functions")]
    TooMany {
        /// The function.
        name: String,
        /// The maximum.
        max: usize,
    },
}

/// Exports of a raw-ABI module, resolved once at registration so that a
/// request does no string lookups.
pub(crate) struct RawExports {
    pub memory: ModuleExport,
    pub alloc: ModuleExport,
    pub handle: ModuleExport,
}

/// The entry point of a module, per ABI.
pub(crate) enum Entry {
    Wasi { start: ModuleExport },
    Raw(RawExports),
}

/// A registered function: everything a request needs, prepared once.
pub(crate) struct Function {
    pub name: String,
    pub pre: InstancePre<Sandbox>,
    pub entry: Entry,
    pub limits: FunctionLimits,
    pub from_cache: bool,
}

impl Function {
    pub fn abi(&self) -> Abi {
        match self.entry {
            Entry::Wasi { .. } => Abi::Wasi,
            Entry::Raw(_) => Abi::Raw,
        }
    }
}
