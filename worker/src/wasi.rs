//! A minimal WASI preview1 host: the imports wasi-libc's `main()` programs
//! use, over per-request stdin/stdout buffers held in the [`Sandbox`].
//!
//! Why not `wasmtime-wasi`: it needs tokio and builds a `WasiCtx` per
//! request, which costs more than the whole invocation budget here (SLEdge
//! likewise implements its own WASI subset). There is no filesystem, no
//! network and no environment: stdin is the request body, stdout the response
//! (capped), stderr is kept (first 4 KiB) for error reports, there are no
//! preopened directories, and `random_get` reads the operating system's
//! random source (one `getrandom` system call per guest call). Anything not
//! listed in [`SUPPORTED`] is refused at registration, naming the import.
//!
//! Each import is a plain `fn` with WASI's signature, registered by name in
//! [`add_to_linker`].

use std::time::{SystemTime, UNIX_EPOCH};

use tern_sched::clock;
use wasmtime::{Caller, Extern, Linker, Memory};

use crate::sandbox::{Fault, GuestExit, HostStop, STDERR_CAP, Sandbox};

/// The import module wasi-libc uses.
pub(crate) const MODULE: &str = "wasi_snapshot_preview1";

/// Every import this host provides.
pub(crate) const SUPPORTED: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_close",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_read",
    "fd_seek",
    "fd_write",
    "proc_exit",
    "random_get",
    "sched_yield",
    "poll_oneoff",
];

// WASI errno values.
const SUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const EIO: i32 = 29;
const ENOSYS: i32 = 52;
const ESPIPE: i32 = 70;

// fdstat rights: fd_read, fd_write.
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_WRITE: u64 = 1 << 6;

/// A guest address range that is not inside its memory.
struct BadAddress;

fn memory(caller: &mut Caller<'_, Sandbox>) -> Option<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Some(m),
        _ => None,
    }
}

fn range(mem: &[u8], ptr: u32, len: u32) -> Result<std::ops::Range<usize>, BadAddress> {
    let start = ptr as usize;
    let end = start.checked_add(len as usize).ok_or(BadAddress)?;
    if end > mem.len() {
        return Err(BadAddress);
    }
    Ok(start..end)
}

fn read_u32(mem: &[u8], ptr: u32) -> Result<u32, BadAddress> {
    let r = range(mem, ptr, 4)?;
    Ok(u32::from_le_bytes(
        mem[r].try_into().map_err(|_| BadAddress)?,
    ))
}

fn write_bytes(mem: &mut [u8], ptr: u32, bytes: &[u8]) -> Result<(), BadAddress> {
    let r = range(mem, ptr, bytes.len() as u32)?;
    mem[r].copy_from_slice(bytes);
    Ok(())
}

/// The `i`-th `(buf, len)` of the iovec array at `iovs`.
fn iovec(mem: &[u8], iovs: u32, i: u32) -> Result<(u32, u32), BadAddress> {
    let at = iovs
        .checked_add(i.checked_mul(8).ok_or(BadAddress)?)
        .ok_or(BadAddress)?;
    Ok((read_u32(mem, at)?, read_u32(mem, at.wrapping_add(4))?))
}

/// Runs `f` over the guest's memory and the sandbox, turning a bad address
/// into `EFAULT` and a missing memory export into `EINVAL`.
fn with_memory(
    caller: &mut Caller<'_, Sandbox>,
    f: impl FnOnce(&mut [u8], &mut Sandbox) -> Result<i32, BadAddress>,
) -> i32 {
    let Some(mem) = memory(caller) else {
        return EINVAL;
    };
    let (bytes, sandbox) = mem.data_and_store_mut(caller);
    f(bytes, sandbox).unwrap_or(EFAULT)
}

/// `args_sizes_get` and `environ_sizes_get`: no arguments, no environment.
fn zero_sizes(mut caller: Caller<'_, Sandbox>, count_ptr: u32, size_ptr: u32) -> i32 {
    with_memory(&mut caller, |mem, _| {
        write_bytes(mem, count_ptr, &0u32.to_le_bytes())?;
        write_bytes(mem, size_ptr, &0u32.to_le_bytes())?;
        Ok(SUCCESS)
    })
}

fn fd_read(
    mut caller: Caller<'_, Sandbox>,
    fd: i32,
    iovs: u32,
    iovs_len: u32,
    nread_ptr: u32,
) -> i32 {
    if fd != 0 {
        return EBADF;
    }
    with_memory(&mut caller, |mem, sb| {
        let mut total: u32 = 0;
        for i in 0..iovs_len {
            let (buf, len) = iovec(mem, iovs, i)?;
            let left = &sb.stdin[sb.stdin_pos..];
            let n = left.len().min(len as usize);
            if n == 0 {
                break;
            }
            let dst = range(mem, buf, n as u32)?;
            mem[dst].copy_from_slice(&left[..n]);
            sb.stdin_pos += n;
            total += n as u32;
        }
        write_bytes(mem, nread_ptr, &total.to_le_bytes())?;
        Ok(SUCCESS)
    })
}

fn fd_write(
    mut caller: Caller<'_, Sandbox>,
    fd: i32,
    iovs: u32,
    iovs_len: u32,
    nwritten_ptr: u32,
) -> wasmtime::Result<i32> {
    if fd != 1 && fd != 2 {
        return Ok(EBADF);
    }
    let mut over_limit = false;
    let errno = with_memory(&mut caller, |mem, sb| {
        let mut total: u32 = 0;
        for i in 0..iovs_len {
            let (buf, len) = iovec(mem, iovs, i)?;
            // The count written back is a u32: iovecs summing past it (they
            // may all point at the same bytes) are refused, as writev refuses
            // a sum past ssize_t, rather than reported wrapped.
            let Some(sum) = total.checked_add(len) else {
                return Ok(EINVAL);
            };
            let src = range(mem, buf, len)?;
            if fd == 1 {
                if sb.stdout.len() + src.len() > sb.max_output {
                    over_limit = true;
                    return Ok(SUCCESS);
                }
                sb.stdout.extend_from_slice(&mem[src]);
            } else {
                let keep = src.len().min(STDERR_CAP - sb.stderr.len().min(STDERR_CAP));
                sb.stderr
                    .extend_from_slice(&mem[src.start..src.start + keep]);
            }
            total = sum;
        }
        write_bytes(mem, nwritten_ptr, &total.to_le_bytes())?;
        Ok(SUCCESS)
    });
    if over_limit {
        caller.data_mut().fault = Some(Fault::OutputTooLarge);
        return Err(wasmtime::Error::new(HostStop(Fault::OutputTooLarge)));
    }
    Ok(errno)
}

fn fd_fdstat_get(mut caller: Caller<'_, Sandbox>, fd: i32, ptr: u32) -> i32 {
    let rights = match fd {
        0 => RIGHT_FD_READ,
        1 | 2 => RIGHT_FD_WRITE,
        _ => return EBADF,
    };
    // filetype 0 (unknown, like a pipe): not a tty, so wasi-libc fully
    // buffers stdout and writes it in few calls.
    let mut stat = [0u8; 24];
    stat[8..16].copy_from_slice(&rights.to_le_bytes());
    with_memory(&mut caller, |mem, _| {
        write_bytes(mem, ptr, &stat)?;
        Ok(SUCCESS)
    })
}

fn clock_time_get(mut caller: Caller<'_, Sandbox>, id: i32, _precision: u64, ptr: u32) -> i32 {
    let ns: u64 = match id {
        // realtime
        0 => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
        // monotonic, process and thread CPU time: the process clock.
        1..=3 => clock::now_ns(),
        _ => return EINVAL,
    };
    with_memory(&mut caller, |mem, _| {
        write_bytes(mem, ptr, &ns.to_le_bytes())?;
        Ok(SUCCESS)
    })
}

fn clock_res_get(mut caller: Caller<'_, Sandbox>, _id: i32, ptr: u32) -> i32 {
    with_memory(&mut caller, |mem, _| {
        write_bytes(mem, ptr, &1u64.to_le_bytes())?;
        Ok(SUCCESS)
    })
}

/// Fills the guest's buffer from the operating system's random source
/// (`getrandom(2)`), as wasmtime-wasi does: guests use it for hash seeds
/// and keys, which a clock-seeded generator would make guessable.
fn random_get(mut caller: Caller<'_, Sandbox>, buf: u32, len: u32) -> i32 {
    with_memory(&mut caller, |mem, _| {
        let dst = range(mem, buf, len)?;
        Ok(match getrandom::fill(&mut mem[dst]) {
            Ok(()) => SUCCESS,
            Err(_) => EIO,
        })
    })
}

/// The descriptor-only imports: fds 0-2 exist (and are not seekable or
/// settable), no other fd does, and there are no preopened directories.
fn fd_close(_: Caller<'_, Sandbox>, fd: i32) -> i32 {
    std_fd_or_ebadf(fd, SUCCESS)
}

fn fd_fdstat_set_flags(_: Caller<'_, Sandbox>, fd: i32, _flags: i32) -> i32 {
    std_fd_or_ebadf(fd, ENOSYS)
}

fn fd_seek(_: Caller<'_, Sandbox>, fd: i32, _off: i64, _whence: i32, _out: u32) -> i32 {
    std_fd_or_ebadf(fd, ESPIPE)
}

fn std_fd_or_ebadf(fd: i32, errno: i32) -> i32 {
    if (0..=2).contains(&fd) { errno } else { EBADF }
}

fn fd_prestat_get(_: Caller<'_, Sandbox>, _fd: i32, _ptr: u32) -> i32 {
    EBADF
}

fn fd_prestat_dir_name(_: Caller<'_, Sandbox>, _fd: i32, _ptr: u32, _len: u32) -> i32 {
    EBADF
}

/// `args_get`, `environ_get`: nothing to copy.
fn no_strings(_: Caller<'_, Sandbox>, _: u32, _: u32) -> i32 {
    SUCCESS
}

fn proc_exit(_: Caller<'_, Sandbox>, code: i32) -> wasmtime::Result<()> {
    Err(wasmtime::Error::new(GuestExit(code)))
}

fn sched_yield(_: Caller<'_, Sandbox>) -> i32 {
    SUCCESS
}

fn poll_oneoff(_: Caller<'_, Sandbox>, _: u32, _: u32, _: u32, _: u32) -> i32 {
    ENOSYS
}

/// Adds every import of [`SUPPORTED`] to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    let m = MODULE;
    linker.func_wrap(m, "args_get", no_strings)?;
    linker.func_wrap(m, "args_sizes_get", zero_sizes)?;
    linker.func_wrap(m, "environ_get", no_strings)?;
    linker.func_wrap(m, "environ_sizes_get", zero_sizes)?;
    linker.func_wrap(m, "clock_res_get", clock_res_get)?;
    linker.func_wrap(m, "clock_time_get", clock_time_get)?;
    linker.func_wrap(m, "fd_close", fd_close)?;
    linker.func_wrap(m, "fd_fdstat_get", fd_fdstat_get)?;
    linker.func_wrap(m, "fd_fdstat_set_flags", fd_fdstat_set_flags)?;
    linker.func_wrap(m, "fd_prestat_get", fd_prestat_get)?;
    linker.func_wrap(m, "fd_prestat_dir_name", fd_prestat_dir_name)?;
    linker.func_wrap(m, "fd_read", fd_read)?;
    linker.func_wrap(m, "fd_seek", fd_seek)?;
    linker.func_wrap(m, "fd_write", fd_write)?;
    linker.func_wrap(m, "proc_exit", proc_exit)?;
    linker.func_wrap(m, "random_get", random_get)?;
    linker.func_wrap(m, "sched_yield", sched_yield)?;
    linker.func_wrap(m, "poll_oneoff", poll_oneoff)?;
    Ok(())
}
