//! One invocation: fresh store, instantiate through the `InstancePre`, call
//! by the function's ABI, map the result to an [`Outcome`], drop the store
//! (which hands the instance slot back to the pooling allocator).
//!
//! Written as one `async fn` so that the same code runs under the worker's
//! scheduler (which may suspend it at an epoch yield) and under
//! [`Runtime::invoke_blocking`](crate::Runtime::invoke_blocking).

use std::sync::Arc;

use tern_sched::Outcome;
use wasmtime::{Engine, Extern, PoolConcurrencyLimitError, ResourceLimiter, Store, Trap};

use crate::function::{Entry, Function, RawExports};
use crate::run_state::RunSlot;
use crate::sandbox::{Fault, GuestExit, Sandbox, on_epoch};

/// A request body, owned (from a [`Job`](tern_sched::Job)) or borrowed (from
/// `invoke_blocking`). WASI functions need it owned (it becomes stdin in the
/// store); raw ones only copy it into guest memory.
pub(crate) enum Payload<'a> {
    Owned(Vec<u8>),
    Borrowed(&'a [u8]),
}

impl Payload<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Payload::Owned(v) => v,
            Payload::Borrowed(s) => s,
        }
    }

    fn into_owned(self) -> Vec<u8> {
        match self {
            Payload::Owned(v) => v,
            Payload::Borrowed(s) => s.to_vec(),
        }
    }
}

/// Why a raw-ABI call broke the contract (reported as [`Outcome::Trap`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct AbiViolation(String);

fn violation(msg: String) -> wasmtime::Error {
    wasmtime::Error::new(AbiViolation(msg))
}

pub(crate) fn new_store(engine: &Engine, data: Sandbox) -> Store<Sandbox> {
    let mut store = Store::new(engine, data);
    store.limiter(|sb| sb as &mut dyn ResourceLimiter);
    store.epoch_deadline_callback(on_epoch);
    store.set_epoch_deadline(1);
    store
}

/// Runs `f` on `payload` in a fresh sandbox. The caller starts the slot's
/// slice ([`RunSlot::start_slice`]) before each poll, which sets the time
/// limit the epoch callback enforces.
///
/// With `preemptible`, the guest runs on a fiber (`call_async`) and an epoch
/// tick while the slot's reschedule flag is set suspends it (the future returns
/// `Pending`). Without, it runs with plain synchronous calls on the caller's
/// stack, which saves the fiber set-up and switches when nothing can preempt
/// it (FIFO workers, `invoke_blocking`): the future is then ready at its
/// first poll.
pub(crate) async fn invoke(
    engine: &Engine,
    f: &Function,
    payload: Payload<'_>,
    slot: Arc<RunSlot>,
    preemptible: bool,
) -> (Outcome, Vec<u8>) {
    let max_memory = usize::try_from(f.limits.max_memory_bytes).unwrap_or(usize::MAX);
    let max_output = f.limits.max_output;
    match &f.entry {
        Entry::Wasi { start } => {
            let stdin = payload.into_owned();
            let mut store = new_store(
                engine,
                Sandbox::new(stdin, max_output, max_memory, false, slot),
            );
            let result = async {
                let instance = instantiate(f, &mut store, preemptible)?;
                let start = match instance.get_module_export(&mut store, start) {
                    Some(Extern::Func(func)) => func.typed::<(), ()>(&store)?,
                    _ => return Err(violation("_start is not a function".into())),
                };
                if preemptible {
                    start.call_async(&mut store, ()).await
                } else {
                    start.call(&mut store, ())
                }
            }
            .await;
            let mut data = store.into_data();
            match result {
                Ok(()) => (Outcome::Ok, std::mem::take(&mut data.stdout)),
                Err(err) => match err.downcast_ref::<GuestExit>() {
                    Some(GuestExit(0)) if data.fault.is_none() => {
                        (Outcome::Ok, std::mem::take(&mut data.stdout))
                    }
                    Some(GuestExit(code)) if data.fault.is_none() => {
                        (Outcome::ExitCode(*code), std::mem::take(&mut data.stderr))
                    }
                    _ => (classify(&err, data.fault), Vec::new()),
                },
            }
        }
        Entry::Raw(exports) => {
            let input = payload.as_slice();
            let mut store = new_store(
                engine,
                Sandbox::new(Vec::new(), max_output, max_memory, false, slot),
            );
            let result = call_raw(&mut store, f, exports, input, max_output, preemptible).await;
            match result {
                Ok(out) => (Outcome::Ok, out),
                Err(err) => (classify(&err, store.data().fault), Vec::new()),
            }
        }
    }
}

async fn call_raw(
    store: &mut Store<Sandbox>,
    f: &Function,
    exports: &RawExports,
    input: &[u8],
    max_output: usize,
    preemptible: bool,
) -> wasmtime::Result<Vec<u8>> {
    let instance = instantiate(f, &mut *store, preemptible)?;
    let Some(Extern::Memory(memory)) = instance.get_module_export(&mut *store, &exports.memory)
    else {
        return Err(violation("raw ABI: `memory` export is not a memory".into()));
    };
    let Some(Extern::Func(handle)) = instance.get_module_export(&mut *store, &exports.handle)
    else {
        return Err(violation(
            "raw ABI: `tern_handle` export is not a function".into(),
        ));
    };
    let handle = handle.typed::<(u32, u32), u64>(&*store)?;
    let (ptr, len) = if input.is_empty() {
        (0, 0)
    } else {
        let len = u32::try_from(input.len())
            .map_err(|_| violation(format!("input of {} bytes exceeds 4 GiB", input.len())))?;
        let Some(Extern::Func(alloc)) = instance.get_module_export(&mut *store, &exports.alloc)
        else {
            return Err(violation(
                "raw ABI: `tern_alloc` export is not a function".into(),
            ));
        };
        let alloc = alloc.typed::<u32, u32>(&*store)?;
        let ptr = if preemptible {
            alloc.call_async(&mut *store, len).await?
        } else {
            alloc.call(&mut *store, len)?
        };
        if ptr == 0 {
            return Err(violation(format!(
                "raw ABI: tern_alloc({len}) returned null"
            )));
        }
        memory
            .write(&mut *store, ptr as usize, input)
            .map_err(|_| {
                violation(format!(
                    "raw ABI: tern_alloc({len}) returned {ptr:#x}, outside memory"
                ))
            })?;
        (ptr, len)
    };
    let packed = if preemptible {
        handle.call_async(&mut *store, (ptr, len)).await?
    } else {
        handle.call(&mut *store, (ptr, len))?
    };
    let (out_ptr, out_len) = ((packed >> 32) as usize, (packed as u32) as usize);
    if out_len > max_output {
        store.data_mut().fault = Some(Fault::OutputTooLarge);
        return Err(violation("output too large".into()));
    }
    let data = memory.data(&*store);
    match data.get(out_ptr..out_ptr + out_len) {
        Some(out) => Ok(out.to_vec()),
        None => Err(violation(format!(
            "raw ABI: tern_handle returned {out_len} bytes at {out_ptr:#x}, outside memory"
        ))),
    }
}

/// Instantiates synchronously even on the preemptible path: instantiation
/// of these modules runs no guest code (no start section in wasi-libc or raw
/// modules; WASI's `_start` is called separately), so a fiber for it would
/// cost a stack switch for nothing. Preemption is switched on for the store
/// only afterwards, so an epoch tick during instantiation never asks a
/// synchronous call to yield.
fn instantiate(
    f: &Function,
    store: &mut Store<Sandbox>,
    preemptible: bool,
) -> wasmtime::Result<wasmtime::Instance> {
    let instance = f.pre.instantiate(&mut *store)?;
    store.data_mut().preemptible = preemptible;
    Ok(instance)
}

/// Maps a failed invocation to its outcome. A fault recorded by a host hook
/// wins over the error it raised (which only unwound the guest).
fn classify(err: &wasmtime::Error, fault: Option<Fault>) -> Outcome {
    match fault {
        Some(Fault::OutOfMemory) => return Outcome::OutOfMemory,
        Some(Fault::OutputTooLarge) => return Outcome::OutputTooLarge,
        Some(Fault::Timeout) => return Outcome::Timeout,
        Some(Fault::DeadlinePassed) => return Outcome::DeadlinePassed,
        None => {}
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::StackOverflow => Outcome::StackOverflow,
            Trap::Interrupt => Outcome::Timeout,
            other => Outcome::Trap(other.to_string()),
        };
    }
    if let Some(v) = err.downcast_ref::<AbiViolation>() {
        return Outcome::Trap(v.0.clone());
    }
    if err.downcast_ref::<PoolConcurrencyLimitError>().is_some() {
        return Outcome::Rejected;
    }
    Outcome::Trap(format!("{err:#}"))
}
