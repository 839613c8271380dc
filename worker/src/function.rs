//! A registered function: its compiled module ready to instantiate, its ABI
//! (and how it is detected from the module's exports), and its route's
//! limits.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wasmtime::{ExternType, InstancePre, Module, ModuleExport, ValType};

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
    #[error("cannot read {path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error (not a `#[source]`: its text is already in this
        /// one's, and `{:#}` would print it twice).
        cause: std::io::Error,
    },
    /// The file is neither a binary Wasm module (which starts with the
    /// bytes `\0asm`) nor, by its first character, a text one (`(`).
    #[error(
        "{path} is not a Wasm module (a binary module starts with the bytes \\0asm, a text module with `(`)"
    )]
    NotWasm {
        /// The file.
        path: PathBuf,
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
    /// Whether the compiled code was read from the on-disk cache.
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

/// Finds the module's entry point: `tern_handle` (raw ABI, preferred) or
/// `_start` (WASI command), with the types each ABI requires.
pub(crate) fn detect_entry(path: &Path, module: &Module) -> Result<Entry, RegisterError> {
    let bad = |message: String| RegisterError::BadAbi {
        path: path.to_path_buf(),
        message,
    };
    let func_sig = |name: &str| match module.get_export(name) {
        Some(ExternType::Func(f)) => Some((
            f.params().collect::<Vec<_>>(),
            f.results().collect::<Vec<_>>(),
        )),
        _ => None,
    };
    let is = |v: &[ValType], want: &[ValType]| {
        v.len() == want.len() && v.iter().zip(want).all(|(a, b)| a.matches(b))
    };
    if let Some((params, results)) = func_sig("tern_handle") {
        if !is(&params, &[ValType::I32, ValType::I32]) || !is(&results, &[ValType::I64]) {
            return Err(bad(
                "raw ABI: tern_handle must have type (i32, i32) -> i64".into()
            ));
        }
        match func_sig("tern_alloc") {
            Some((p, r)) if is(&p, &[ValType::I32]) && is(&r, &[ValType::I32]) => {}
            Some(_) => return Err(bad("raw ABI: tern_alloc must have type (i32) -> i32".into())),
            None => return Err(bad("raw ABI: exports tern_handle but not tern_alloc".into())),
        }
        if !matches!(module.get_export("memory"), Some(ExternType::Memory(_))) {
            return Err(bad(
                "raw ABI: exports tern_handle but no memory named `memory`".into(),
            ));
        }
        let index = |name: &str| {
            module
                .get_export_index(name)
                .ok_or_else(|| bad(format!("no export {name}")))
        };
        return Ok(Entry::Raw(RawExports {
            memory: index("memory")?,
            alloc: index("tern_alloc")?,
            handle: index("tern_handle")?,
        }));
    }
    match func_sig("_start") {
        Some((p, r)) if p.is_empty() && r.is_empty() => Ok(Entry::Wasi {
            start: module.get_export_index("_start").ok_or_else(|| bad("no export _start".into()))?,
        }),
        Some(_) => Err(bad("WASI ABI: _start must have type () -> ()".into())),
        None => Err(bad(
            "exports neither _start (WASI command) nor tern_handle (raw ABI); build a C main() with wasi-libc, or see worker/README.md".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_of(wat: &str) -> Result<Abi, String> {
        let engine = wasmtime::Engine::default();
        let module = Module::new(&engine, wat).unwrap();
        match detect_entry(Path::new("t.wasm"), &module) {
            Ok(Entry::Wasi { .. }) => Ok(Abi::Wasi),
            Ok(Entry::Raw(_)) => Ok(Abi::Raw),
            Err(e) => Err(e.to_string()),
        }
    }

    const RAW: &str = r#"(module (memory (export "memory") 1)
        (func (export "tern_alloc") (param i32) (result i32) i32.const 0)
        (func (export "tern_handle") (param i32 i32) (result i64) i64.const 0)"#;

    #[test]
    fn detects_each_abi_and_prefers_raw() {
        assert_eq!(entry_of(&format!("{RAW})")), Ok(Abi::Raw));
        assert_eq!(
            entry_of(r#"(module (func (export "_start")))"#),
            Ok(Abi::Wasi)
        );
        assert_eq!(
            entry_of(&format!(r#"{RAW} (func (export "_start")))"#)),
            Ok(Abi::Raw)
        );
    }

    #[test]
    fn mistyped_or_missing_entries_are_errors_naming_the_file() {
        let err = entry_of(r#"(module (func (export "_start") (param i32)))"#).unwrap_err();
        assert_eq!(err, "t.wasm: WASI ABI: _start must have type () -> ()");
        let err = entry_of(
            r#"(module (memory (export "memory") 1)
                (func (export "tern_handle") (param i32 i32) (result i64) i64.const 0))"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            "t.wasm: raw ABI: exports tern_handle but not tern_alloc"
        );
        let err = entry_of("(module)").unwrap_err();
        assert!(
            err.starts_with("t.wasm: exports neither _start (WASI command) nor tern_handle"),
            "{err}"
        );
    }
}
