//! The [`Runtime`]: one wasmtime engine, the registered functions, the
//! compiled-module cache, and the epoch ticker that drives preemption and
//! execution-time limits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, ExternType, InstanceAllocationStrategy, Linker, Module,
    PoolingAllocationConfig, Strategy,
};

use sha2::{Digest, Sha256};
use tern_sched::clock;
use tern_sched::{FunctionId, Outcome};

use crate::cache::ModuleCache;
use crate::executor::block_on;
use crate::function::{Abi, Function, FunctionLimits, RegisterError, detect_entry};
use crate::invoke::{Payload, invoke};
use crate::run_state::RunSlot;
use crate::sandbox::Sandbox;
use crate::wasi;

/// Settings of a [`Runtime`].
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Directory of the compiled-module cache; `None` compiles at every
    /// registration. Default: `$TERN_CACHE_DIR`, else `$HOME/.cache/tern`,
    /// else `<tmp>/tern-cache`.
    pub cache_dir: Option<PathBuf>,
    /// Sandboxes that may exist at once across all workers (running,
    /// suspended by preemption, or in `invoke_blocking`): the pooling
    /// allocator's slot count. Each slot reserves address space (not memory)
    /// for a linear memory and an async stack.
    pub max_instances: u32,
    /// Largest linear memory any function may have, bytes (the pool's slot
    /// size); each function's own limit must not exceed it.
    pub max_memory_bytes: u64,
    /// Epoch tick period: how often a running request checks its time
    /// limit and deadline and, in a preemptible worker, whether to yield.
    /// Limits are enforced within one quantum. Default 200 µs, so a 1 ms
    /// limit ends a request within 1.2 ms (plus the OS's timer slack, ~50 µs);
    /// it costs one wake-up of the ticker thread per quantum (5,000/s, a few
    /// µs of CPU each: under 2% of a core) and one callback per quantum in
    /// each running guest (~100 ns).
    pub quantum: Duration,
    /// Largest native stack Wasm code may use, bytes; deeper recursion ends
    /// with [`Outcome::StackOverflow`].
    pub max_wasm_stack: usize,
    /// How many functions may be registered.
    pub max_functions: usize,
    /// Bytes of each linear memory reset with `memset` rather than
    /// `madvise` when a sandbox is torn down (pooling allocator's
    /// `linear_memory_keep_resident`): saves syscalls for small functions.
    pub keep_resident_bytes: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        let cache_dir = std::env::var_os("TERN_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tern")))
            .unwrap_or_else(|| std::env::temp_dir().join("tern-cache"));
        RuntimeConfig {
            cache_dir: Some(cache_dir),
            max_instances: 256,
            max_memory_bytes: 256 << 20,
            quantum: Duration::from_micros(200),
            max_wasm_stack: 512 << 10,
            max_functions: 1024,
            keep_resident_bytes: 64 << 10,
        }
    }
}

impl RuntimeConfig {
    /// The wasmtime configuration a [`Runtime`] uses: cranelift, the pooling
    /// allocator sized by this config, epoch interruption. Public so that a
    /// benchmark's bare-wasmtime baseline can use the very same settings.
    pub fn wasmtime_config(&self) -> Config {
        let n = self.max_instances;
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(n)
            .total_memories(n)
            .total_tables(n)
            .total_stacks(n)
            .max_memories_per_module(1)
            .max_tables_per_module(1)
            .max_memory_size(usize::try_from(self.max_memory_bytes).unwrap_or(usize::MAX))
            .linear_memory_keep_resident(self.keep_resident_bytes)
            .table_keep_resident(self.keep_resident_bytes)
            // Linux >= 6.7: reset only the pages a request dirtied (found
            // with the PAGEMAP_SCAN ioctl) instead of memsetting the first
            // keep_resident bytes; falls back to memset + madvise elsewhere.
            .pagemap_scan(Enabled::Auto)
            // Fiber stacks are reset when a slot is freed: without it a
            // slot keeps every stack page a request ever dirtied resident
            // (a stack overflow dirties all 512 KiB), so RSS grew with the
            // hostile requests seen, up to 256 x 768 KiB (scripts/soak.sh:
            // +19.5% in 60 s; +1.9% with the reset). The hot top 16 KiB is
            // memset, the rest given back with one madvise.
            // Cost, measured (worker bench noop_raw_fiber, same run):
            // 5.9 -> 7.3 us per request on the fiber path; keeping 0 or
            // 32 KiB resident, or batching the decommits, was no cheaper.
            .async_stack_keep_resident(16 << 10);
        let mut config = Config::new();
        config
            .strategy(Strategy::Cranelift)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .epoch_interruption(true)
            .max_wasm_stack(self.max_wasm_stack)
            // Host functions run on the same fiber stack as the guest.
            .async_stack_size(self.max_wasm_stack + (256 << 10))
            .wasm_backtrace_max_frames(None)
            .async_stack_zeroing(true);
        config
    }
}

/// A sandbox instantiated and kept idle, from
/// [`Runtime::instantiate_resident`]. Dropping it frees the slot.
pub struct ResidentSandbox {
    _store: wasmtime::Store<Sandbox>,
}

/// Registration and cache counters of a [`Runtime`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Registrations that loaded a compiled artifact from the cache.
    pub hits: u64,
    /// Registrations that compiled the module.
    pub compiled: u64,
    /// Registrations that reused a module this runtime had loaded already
    /// (another function with the same bytes).
    pub reused: u64,
}

/// One wasmtime engine and the functions registered on it. Shared by every
/// worker (`Arc<Runtime>`); all methods take `&self`.
pub struct Runtime {
    engine: Engine,
    linker: Linker<Sandbox>,
    config: RuntimeConfig,
    cache: Option<ModuleCache>,
    functions: Box<[OnceLock<Function>]>,
    names: Mutex<HashMap<String, FunctionId>>,
    /// Modules already loaded, by SHA-256 of their bytes, each with whether
    /// it was read from the on-disk cache: several routes on one file share
    /// one compiled module.
    modules: Mutex<HashMap<[u8; 32], (Module, bool)>>,
    reused: AtomicU64,
    hits: AtomicU64,
    compiled: AtomicU64,
    ticker: Option<Ticker>,
    ticks: TickCount,
}

struct Ticker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// The ticker's own count of its ticks (not of the dispatcher's epoch
/// bumps): a request that sees consecutive counts at two callbacks ran
/// through a whole tick interval, which is how overdue and overrunning
/// requests are told from late or descheduled ones. Shared by every run
/// slot of the runtime.
pub(crate) type TickCount = Arc<AtomicU64>;

thread_local! {
    /// The run slot of `invoke_blocking` calls on this thread.
    static BLOCKING_SLOT: Arc<RunSlot> = Arc::new(RunSlot::default());
}

impl Runtime {
    /// Builds the engine (cranelift, pooling allocator, epoch interruption),
    /// opens the cache directory, and starts the epoch ticker thread (one
    /// wake-up per quantum). Reserves address space for `max_instances`
    /// sandboxes up front.
    pub fn new(config: RuntimeConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(config.max_instances > 0, "max_instances must be positive");
        anyhow::ensure!(!config.quantum.is_zero(), "quantum must be positive");
        let engine = Engine::new(&config.wasmtime_config())
            .map_err(|e| anyhow::anyhow!("cannot create the wasmtime engine: {e:#}"))?;
        let mut linker = Linker::new(&engine);
        wasi::add_to_linker(&mut linker)
            .map_err(|e| anyhow::anyhow!("cannot define the WASI imports: {e:#}"))?;
        let cache = match &config.cache_dir {
            Some(dir) => Some(ModuleCache::open(dir, &engine).map_err(|e| {
                anyhow::anyhow!("cannot open the module cache {}: {e}", dir.display())
            })?),
            None => None,
        };
        let functions = (0..config.max_functions).map(|_| OnceLock::new()).collect();
        let ticks = TickCount::default();
        let ticker = Some(Ticker::start(
            engine.clone(),
            config.quantum,
            ticks.clone(),
        )?);
        Ok(Runtime {
            engine,
            linker,
            config,
            cache,
            functions,
            names: Mutex::new(HashMap::new()),
            modules: Mutex::new(HashMap::new()),
            reused: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            compiled: AtomicU64::new(0),
            ticker,
            ticks,
        })
    }

    /// The ticker's tick count, for the run slots of worker pools.
    pub(crate) fn tick_count(&self) -> &TickCount {
        &self.ticks
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The configuration this runtime was built with.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Registers the module at `wasm_path` under `name` with `limits`: loads
    /// its compiled artifact from the cache, or compiles it with cranelift
    /// (milliseconds to seconds) and caches it; checks its imports against
    /// the WASI subset; detects its [`Abi`]; prepares an `InstancePre`.
    /// Errors name the file and say what is wrong.
    pub fn register(
        &self,
        name: &str,
        wasm_path: &Path,
        limits: FunctionLimits,
    ) -> Result<FunctionId, RegisterError> {
        let path = wasm_path.to_path_buf();
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if names.contains_key(name) {
            return Err(RegisterError::Duplicate { name: name.into() });
        }
        let index = names.len();
        if index >= self.functions.len() {
            return Err(RegisterError::TooMany {
                name: name.into(),
                max: self.functions.len(),
            });
        }
        self.check_limits(name, &limits)?;
        let wasm = std::fs::read(&path).map_err(|cause| RegisterError::Io {
            path: path.clone(),
            cause,
        })?;
        if !looks_like_wasm(&wasm) {
            return Err(RegisterError::NotWasm { path });
        }
        let (module, from_cache) = self.load_or_compile(&path, &wasm)?;
        for import in module.imports() {
            if import.module() != wasi::MODULE || !wasi::SUPPORTED.contains(&import.name()) {
                return Err(RegisterError::UnsupportedImport {
                    path,
                    module: import.module().into(),
                    name: import.name().into(),
                });
            }
        }
        for export in module.exports() {
            if let ExternType::Memory(mem) = export.ty() {
                let min_bytes = mem.minimum().saturating_mul(mem.page_size());
                if min_bytes > limits.max_memory_bytes {
                    return Err(RegisterError::BadLimits {
                        name: name.into(),
                        message: format!(
                            "{} needs {min_bytes} bytes of memory at start, above its limit of {}",
                            path.display(),
                            limits.max_memory_bytes
                        ),
                    });
                }
            }
        }
        let entry = detect_entry(&path, &module)?;
        let pre = self
            .linker
            .instantiate_pre(&module)
            .map_err(|e| RegisterError::Compile {
                path: path.clone(),
                message: format!("{e:#}"),
            })?;
        let function = Function {
            name: name.into(),
            pre,
            entry,
            limits,
            from_cache,
        };
        if self.functions[index].set(function).is_err() {
            unreachable!("function slots are filled in order under the names lock");
        }
        let id = FunctionId::new(index as u32);
        names.insert(name.into(), id);
        Ok(id)
    }

    fn check_limits(&self, name: &str, limits: &FunctionLimits) -> Result<(), RegisterError> {
        let bad = |message: String| {
            Err(RegisterError::BadLimits {
                name: name.into(),
                message,
            })
        };
        if limits.max_memory_bytes > self.config.max_memory_bytes {
            return bad(format!(
                "max_memory_bytes {} exceeds the runtime's max_memory_bytes {}",
                limits.max_memory_bytes, self.config.max_memory_bytes
            ));
        }
        if limits.max_exec.is_zero() {
            return bad("max_exec must be positive".into());
        }
        Ok(())
    }

    fn load_or_compile(&self, path: &Path, wasm: &[u8]) -> Result<(Module, bool), RegisterError> {
        let digest: [u8; 32] = Sha256::digest(wasm).into();
        let mut modules = self.modules.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((module, from_disk)) = modules.get(&digest) {
            self.reused.fetch_add(1, Ordering::Relaxed);
            return Ok((module.clone(), *from_disk));
        }
        let (module, from_disk) = self.load_or_compile_uncached(path, wasm)?;
        modules.insert(digest, (module.clone(), from_disk));
        Ok((module, from_disk))
    }

    fn load_or_compile_uncached(
        &self,
        path: &Path,
        wasm: &[u8],
    ) -> Result<(Module, bool), RegisterError> {
        if let Some(cache) = &self.cache
            && let Some(module) = cache.load(&self.engine, wasm)
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((module, true));
        }
        let module = Module::new(&self.engine, wasm).map_err(|e| RegisterError::Compile {
            path: path.to_path_buf(),
            message: format!("{e:#}"),
        })?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        if let Some(cache) = &self.cache {
            cache.store(wasm, &module);
        }
        Ok((module, false))
    }

    /// The id of the function registered as `name`.
    pub fn lookup(&self, name: &str) -> Option<FunctionId> {
        self.names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .copied()
    }

    /// The name, ABI and limits of a registered function.
    pub fn describe(&self, f: FunctionId) -> Option<(&str, Abi, FunctionLimits)> {
        self.function(f)
            .map(|func| (func.name.as_str(), func.abi(), func.limits))
    }

    /// Whether `f`'s compiled code was read from the on-disk cache (by its
    /// own registration, or by an earlier one on the same bytes whose module
    /// it shares); `false` when this process compiled it. `None` for an
    /// unknown id. One lookup.
    pub fn loaded_from_cache(&self, f: FunctionId) -> Option<bool> {
        self.function(f).map(|func| func.from_cache)
    }

    /// How many registrations hit the cache and how many compiled.
    pub fn cache_stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            compiled: self.compiled.load(Ordering::Relaxed),
            reused: self.reused.load(Ordering::Relaxed),
        }
    }

    /// The function behind `f`: one bounds check and one atomic load.
    #[inline]
    pub(crate) fn function(&self, f: FunctionId) -> Option<&Function> {
        self.functions.get(f.index()).and_then(OnceLock::get)
    }

    /// Runs `f` on `input` on the calling thread, with `f`'s limits, and
    /// returns its outcome and output (see [`Completion::output`](tern_sched::Completion::output)).
    /// The same code path as a worker's, without preemption: fresh store,
    /// instantiate, call, teardown. For tests, benchmarks and one-off calls.
    pub fn invoke_blocking(&self, f: FunctionId, input: &[u8]) -> (Outcome, Vec<u8>) {
        self.invoke_on_this_thread(f, input, false)
    }

    /// Like [`invoke_blocking`](Self::invoke_blocking) but through the
    /// path a preemptible worker uses (guest on a wasmtime fiber,
    /// `call_async`, polled by the worker's executor); nothing preempts it
    /// here. For measuring what preemptibility costs.
    pub fn invoke_blocking_preemptible(&self, f: FunctionId, input: &[u8]) -> (Outcome, Vec<u8>) {
        self.invoke_on_this_thread(f, input, true)
    }

    fn invoke_on_this_thread(
        &self,
        f: FunctionId,
        input: &[u8],
        fiber: bool,
    ) -> (Outcome, Vec<u8>) {
        let Some(func) = self.function(f) else {
            return (Outcome::Rejected, Vec::new());
        };
        let slot = BLOCKING_SLOT.with(Arc::clone);
        slot.start_slice(clock::now_ns(), func.limits.max_exec, 0);
        block_on(invoke(
            &self.engine,
            func,
            Payload::Borrowed(input),
            slot,
            fiber,
        ))
    }

    /// Instantiates `f` in a fresh sandbox, as a request would, without
    /// calling it, and keeps it: what a queued-and-started or preempted
    /// request holds. For measuring the resident memory of a sandbox
    /// (benchmarks); holds one pooling-allocator slot until dropped.
    pub fn instantiate_resident(&self, f: FunctionId) -> anyhow::Result<ResidentSandbox> {
        let func = self
            .function(f)
            .ok_or_else(|| anyhow::anyhow!("no function with id {}", f.index()))?;
        let slot = BLOCKING_SLOT.with(Arc::clone);
        slot.no_exec_limit();
        let mut store = crate::invoke::new_store(
            &self.engine,
            Sandbox::new(
                Vec::new(),
                func.limits.max_output,
                func.limits.max_memory_bytes as usize,
                false,
                slot,
            ),
        );
        func.pre
            .instantiate(&mut store)
            .map_err(|e| anyhow::anyhow!("cannot instantiate {}: {e:#}", func.name))?;
        Ok(ResidentSandbox { _store: store })
    }

    /// Bumps the engine epoch now, so that every running request reaches its
    /// epoch callback at its next check (function entry or loop back-edge)
    /// instead of at the next tick. Costs one atomic increment.
    #[inline]
    pub fn bump_epoch(&self) {
        self.engine.increment_epoch();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.stop.store(true, Ordering::Relaxed);
            t.thread.thread().unpark();
            let _ = t.thread.join();
        }
    }
}

impl Ticker {
    fn start(engine: Engine, quantum: Duration, ticks: TickCount) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("tern-epoch".into())
            .spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    std::thread::park_timeout(quantum);
                    // The count first: a callback that sees the new epoch
                    // sees the new count too (or the old one, counting the
                    // tick as missed: never a tick that did not happen).
                    ticks.fetch_add(1, Ordering::Relaxed);
                    engine.increment_epoch();
                }
            })?;
        Ok(Ticker { stop, thread })
    }
}

/// Whether `bytes` can be a module: binary Wasm (the `\0asm` magic) or, by
/// its first non-blank character, the text format. Checked before wasmtime
/// sees the bytes, whose WAT parser would answer any other file with a
/// parse error ("expected `(`") that does not say the file is not Wasm.
fn looks_like_wasm(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm")
        || bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'(' || b == b';')
}
