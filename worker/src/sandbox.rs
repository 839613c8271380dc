//! The per-request host state that lives in each wasmtime `Store`: stdin and
//! stdout buffers, limits, and the hooks that enforce them (resource limiter,
//! epoch callback).

use std::sync::Arc;

use tern_sched::clock;
use wasmtime::{ResourceLimiter, StoreContextMut, UpdateDeadline};

use crate::run_state::{OVERDUE_TICKS, RunSlot};

/// How much of stderr a WASI function's failure report keeps.
pub(crate) const STDERR_CAP: usize = 4096;

/// Why the host stopped a request (as opposed to a Wasm trap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    OutOfMemory,
    OutputTooLarge,
    Timeout,
    DeadlinePassed,
}

/// The error a host hook raises to unwind the guest; the [`Fault`] it
/// records in the store says which outcome to report.
#[derive(Debug, thiserror::Error)]
#[error("request stopped by the host: {0:?}")]
pub(crate) struct HostStop(pub Fault);

/// `proc_exit(code)` unwinding the guest.
#[derive(Debug, thiserror::Error)]
#[error("guest exited with code {0}")]
pub(crate) struct GuestExit(pub i32);

/// The data of one request's `Store`.
pub(crate) struct Sandbox {
    /// Request body (WASI stdin) and how much the guest has read.
    pub stdin: Vec<u8>,
    pub stdin_pos: usize,
    /// Response body (WASI stdout).
    pub stdout: Vec<u8>,
    /// First [`STDERR_CAP`] bytes of stderr.
    pub stderr: Vec<u8>,
    pub max_output: usize,
    pub max_memory: usize,
    /// Set by a host hook that stopped the request.
    pub fault: Option<Fault>,
    /// Whether an epoch tick may suspend the request (a preemptible worker
    /// pool) or only checks its time limit.
    pub preemptible: bool,
    pub slot: Arc<RunSlot>,
    /// The ticker's count at this request's last epoch callback (0: none
    /// yet); the request ran through a whole tick interval when the next
    /// callback sees this plus one.
    pub last_tick: u64,
    /// Whole tick intervals this request ran through, and those of them
    /// past its deadline (over all its slices: the store lives as long as
    /// the request).
    pub steady_ticks: u32,
    pub overdue_ticks: u32,
}

impl Sandbox {
    pub fn new(
        stdin: Vec<u8>,
        max_output: usize,
        max_memory: usize,
        preemptible: bool,
        slot: Arc<RunSlot>,
    ) -> Self {
        Sandbox {
            stdin,
            stdin_pos: 0,
            stdout: Vec::new(),
            stderr: Vec::new(),
            max_output,
            max_memory,
            fault: None,
            preemptible,
            slot,
            last_tick: 0,
            steady_ticks: 0,
            overdue_ticks: 0,
        }
    }
}

impl ResourceLimiter for Sandbox {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            // A trap rather than a failed `memory.grow`: a C program whose
            // malloc returns NULL may go on misbehaving, and the caller wants
            // one clear status.
            self.fault = Some(Fault::OutOfMemory);
            return Err(wasmtime::Error::new(HostStop(Fault::OutOfMemory)));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Bounded by the pooling allocator's `table_elements`.
        Ok(true)
    }
}

/// The epoch-deadline callback: runs in the guest's context at each epoch
/// tick (and at each epoch bump of the dispatcher). Ends the request if it
/// has used up its execution time, or at the [`OVERDUE_TICKS`]-th whole
/// tick interval it runs through past its deadline; otherwise, on a
/// preemptible worker, yields to the worker's scheduler when it has
/// something new to look at, or when the request has overrun its expected
/// time and run through a whole tick interval (so the worker demotes it).
pub(crate) fn on_epoch(mut cx: StoreContextMut<'_, Sandbox>) -> wasmtime::Result<UpdateDeadline> {
    let data = cx.data_mut();
    let count = data.slot.tick_count();
    let steady = data.last_tick != 0 && count == data.last_tick + 1;
    if count != data.last_tick {
        data.last_tick = count;
    }
    if steady {
        data.steady_ticks = data.steady_ticks.saturating_add(1);
    }
    let tick = data.slot.tick(clock::now_ns());
    let stop = |data: &mut Sandbox, fault| {
        data.fault = Some(fault);
        Err(wasmtime::Error::new(HostStop(fault)))
    };
    if tick.exec_limit {
        return stop(data, Fault::Timeout);
    }
    if tick.overdue && steady {
        data.overdue_ticks += 1;
        if data.overdue_ticks >= OVERDUE_TICKS {
            return stop(data, Fault::DeadlinePassed);
        }
    }
    if data.preemptible {
        if tick.demote && data.steady_ticks >= 1 {
            data.slot.request_demotion();
            return Ok(UpdateDeadline::Yield(1));
        }
        if data.slot.reschedule_requested() {
            return Ok(UpdateDeadline::Yield(1));
        }
    }
    Ok(UpdateDeadline::Continue(1))
}
