//! The DPDK Environment Abstraction Layer: initialised once per process.
//!
//! `rte_eal_init` may run only once in a process's life, so the first call
//! of [`init`] decides the EAL arguments; later calls return that first
//! outcome (and the arguments they pass are ignored). That is also why two
//! DPDK endpoints that talk to each other through `net_memif` must live in
//! two processes.

use std::ffi::{CStr, CString, c_char, c_int};
use std::io;
use std::sync::Mutex;

use dpdk_sys as sys;

/// The outcome of the one `rte_eal_init` of this process.
static EAL: Mutex<Option<Result<(), String>>> = Mutex::new(None);

/// The message for DPDK error number `errnum` (DPDK's own or a libc errno).
pub(crate) fn strerror(errnum: c_int) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local
    // NUL-terminated string for any input.
    unsafe { CStr::from_ptr(sys::rte_strerror(errnum.abs())) }
        .to_string_lossy()
        .into_owned()
}

/// The calling thread's `rte_errno` as a message.
pub(crate) fn last_error() -> String {
    // SAFETY: tern_errno reads the calling thread's rte_errno, always valid.
    strerror(unsafe { sys::tern_errno() })
}

/// Splits a `--dpdk-args` string into EAL arguments at whitespace; single or
/// double quotes group words (`--vdev "net_memif0,role=server"`). No escapes.
pub fn split_eal_args(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in args.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// Initialises the EAL with `args` (without the program name, which is
/// added) unless this process already did; returns the outcome of the first
/// initialisation. Costs what `rte_eal_init` costs: memory set-up, device
/// probing, loading PMD drivers (tens to hundreds of milliseconds).
///
/// The EAL pins the calling thread to its (first) lcore's CPU. With
/// `pin_thread` false that is undone — the thread keeps the CPU set it had,
/// and so do threads it spawns later (a dispatcher's workers must not all
/// inherit one core). With `pin_thread` true the pinning stays, as in a
/// plain DPDK application: right for a dedicated poll thread that spawns
/// nothing afterwards (no migrations between cores).
///
/// Errors name the arguments and DPDK's reason (e.g. no hugepages: add
/// `--no-huge -m 256`; a vdev's driver not found; not root).
pub fn init(args: &[String], pin_thread: bool) -> io::Result<()> {
    let mut eal = EAL.lock().unwrap_or_else(|e| e.into_inner());
    if eal.is_none() {
        *eal = Some(init_once(args, pin_thread));
    }
    eal.as_ref()
        .expect("set above")
        .clone()
        .map_err(io::Error::other)
}

fn init_once(args: &[String], pin_thread: bool) -> Result<(), String> {
    let mut owned = Vec::with_capacity(args.len() + 1);
    owned.push(CString::new("tern").expect("no NUL"));
    for a in args {
        owned.push(
            CString::new(a.as_str())
                .map_err(|_| format!("EAL argument {a:?} contains a NUL byte"))?,
        );
    }
    // rte_eal_init may permute argv and keeps pointers into it for the life of
    // the process (e.g. for `rte_eal_get_configuration`): leak both.
    let owned: &'static [CString] = Vec::leak(owned);
    let argv: &'static mut [*mut c_char] = Vec::leak(
        owned
            .iter()
            .map(|s| s.as_ptr() as *mut c_char)
            .collect::<Vec<_>>(),
    );
    // rte_eal_init pins the calling thread to its lcore's CPU, and every
    // thread it spawns later would inherit that: a dispatcher's workers would
    // all share one core. Keep the caller's CPU set instead (DPDK needs the
    // pinning for nothing it does here; the poll thread can be pinned by the
    // application, e.g. `dispatcher --dispatcher-core`).
    let mut cpus = std::mem::MaybeUninit::<libc::cpu_set_t>::zeroed();
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: cpus points at a writable cpu_set_t of `size` bytes; 0 = this thread.
    let saved = unsafe { libc::sched_getaffinity(0, size, cpus.as_mut_ptr()) } == 0;
    // SAFETY: argv holds argc valid NUL-terminated strings that live for the
    // rest of the process; this runs at most once per process (guarded by EAL).
    let rc = unsafe { sys::rte_eal_init(argv.len() as c_int, argv.as_mut_ptr()) };
    if saved && !pin_thread {
        // SAFETY: cpus was filled by sched_getaffinity above.
        unsafe { libc::sched_setaffinity(0, size, cpus.as_ptr()) };
    }
    if rc < 0 {
        return Err(format!(
            "rte_eal_init({}) failed: {}",
            args.join(" "),
            last_error()
        ));
    }
    Ok(())
}

/// Makes the calling thread known to DPDK (gives it an lcore id, and with it
/// a per-thread mempool cache) if it is not yet. Cheap after the first call
/// on a thread: one thread-local read.
pub(crate) fn register_thread() {
    // SAFETY: both calls only touch the calling thread's EAL state; the EAL
    // is initialised (only transports, built after init, call this).
    unsafe {
        if sys::tern_lcore_id() == u32::MAX {
            // Failure (all lcore ids taken) is harmless: the thread then works
            // without a mempool cache, only slower.
            let _ = sys::rte_thread_register();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_and_quotes() {
        assert_eq!(
            split_eal_args("  -l 0 --no-huge   --vdev='net_memif0,role=server' \"a b\"x "),
            [
                "-l",
                "0",
                "--no-huge",
                "--vdev=net_memif0,role=server",
                "a bx"
            ]
        );
        assert!(split_eal_args("   ").is_empty());
        assert_eq!(split_eal_args("''"), [""]);
    }
}
