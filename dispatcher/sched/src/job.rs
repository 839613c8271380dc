//! What the dispatcher hands a worker ([`Job`]) and what comes back
//! ([`Completion`], [`Outcome`]), and the [`FunctionId`] a job names its
//! function by.

use std::fmt;

/// Handle of a registered function: its dense index (0, 1, 2... in
/// registration order). `tern_worker::Runtime::register` hands them out and
/// is the one that knows which function an index names; an id is valid for
/// the runtime that returned it. Tests and the simulator, which run no
/// function, build their own with [`FunctionId::new`]. Cheap to copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionId(u32);

impl FunctionId {
    /// The id of the function registered `index`-th (from 0). Costs nothing;
    /// never fails (whether a runtime holds that function is checked where
    /// the id is used: an unknown id ends its job with [`Outcome::Rejected`]).
    pub const fn new(index: u32) -> Self {
        FunctionId(index)
    }

    /// The dense index of this function (0, 1, 2... in registration order),
    /// for tables indexed by function.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One request for a worker. Times are [`clock::now_ns`](crate::clock::now_ns)
/// values.
#[derive(Debug)]
pub struct Job {
    /// Opaque to the worker; returned in the [`Completion`].
    pub id: u64,
    /// The registered function to run.
    pub function: FunctionId,
    /// The request body: stdin of a WASI function, the input buffer of a raw one.
    pub payload: Vec<u8>,
    /// When the request arrived at the dispatcher.
    pub arrival_ns: u64,
    /// Absolute deadline; the EDF local queue runs the earliest first, and a
    /// job still running past it is ended with [`Outcome::DeadlinePassed`]
    /// within a few epoch ticks (under every local queue order).
    pub deadline_ns: u64,
    /// Expected execution time, added to the worker's queued work while the
    /// job is queued or running; on a preemptible worker a job that runs
    /// four times longer is demoted behind every job that has not.
    pub expected_ns: u64,
}

/// A finished job, from a worker's completion queue.
#[derive(Debug)]
pub struct Completion {
    /// The [`Job::id`].
    pub id: u64,
    /// Index of the worker that ran it.
    pub worker: usize,
    /// How it ended.
    pub outcome: Outcome,
    /// The response body: stdout (WASI) or the returned buffer (raw) when the
    /// outcome is [`Outcome::Ok`]; what the function wrote to stderr (first
    /// 4 KiB) for [`Outcome::ExitCode`]; otherwise empty.
    pub output: Vec<u8>,
    /// Time from arrival to completion not spent executing: waiting in the
    /// queues before the first run plus any time spent preempted.
    pub queue_ns: u64,
    /// Time spent executing (instantiation, the call and teardown), summed
    /// over every slice the job ran.
    pub exec_ns: u64,
}

/// How an invocation ended. The dispatcher answers each with an RPC status
/// and a response body, mapped in one place:
/// `tern_dispatcher::outcome_status` (this crate does not depend on
/// tern-rpc). `Display` says what happened, in the words that body uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The function returned (raw ABI) or exited with code 0 (WASI).
    Ok,
    /// A Wasm trap other than stack overflow (unreachable, division by zero,
    /// out-of-bounds access...), a raw-ABI contract violation, or an internal
    /// error of the host; the message says which.
    Trap(String),
    /// The function ran longer than its route's execution-time limit
    /// (`max-exec-us`).
    Timeout,
    /// The request was still running past its absolute deadline (arrival +
    /// `relative-deadline-us`) after it had run at least one quantum: the
    /// worker ended it at that epoch tick, as SLEdge kills a sandbox at its
    /// deadline, so that an overdue request cannot hold the worker.
    DeadlinePassed,
    /// The function tried to grow its memory past its route's limit.
    OutOfMemory,
    /// The function overflowed the Wasm stack.
    StackOverflow,
    /// The function produced more output than its route allows.
    OutputTooLarge,
    /// A WASI function exited with a non-zero code.
    ExitCode(i32),
    /// The job was not run: its function id names no registered function,
    /// or every sandbox slot of the runtime's pooling allocator was in use
    /// (`max_instances`). (A full inbox is refused at submit, before any job
    /// exists; jobs pending at shutdown are dropped without a completion.)
    Rejected,
}

impl Outcome {
    /// Whether this is [`Outcome::Ok`].
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Trap(msg) => write!(f, "trap: {msg}"),
            Outcome::Timeout => f.write_str("execution time limit exceeded"),
            Outcome::DeadlinePassed => f.write_str("deadline passed while running"),
            Outcome::OutOfMemory => f.write_str("memory limit exceeded"),
            Outcome::StackOverflow => f.write_str("stack overflow"),
            Outcome::OutputTooLarge => f.write_str("output limit exceeded"),
            Outcome::ExitCode(code) => write!(f, "exited with code {code}"),
            Outcome::Rejected => f.write_str("rejected"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_id_is_its_index() {
        assert_eq!(FunctionId::new(0).index(), 0);
        assert_eq!(FunctionId::new(7).index(), 7);
        assert_eq!(FunctionId::new(u32::MAX).index(), u32::MAX as usize);
        assert!(FunctionId::new(1) < FunctionId::new(2));
    }

    #[test]
    fn outcome_says_how_it_ended() {
        assert!(Outcome::Ok.is_ok() && !Outcome::Rejected.is_ok());
        assert_eq!(Outcome::ExitCode(3).to_string(), "exited with code 3");
        assert_eq!(Outcome::Trap("x".into()).to_string(), "trap: x");
        assert_eq!(
            Outcome::DeadlinePassed.to_string(),
            "deadline passed while running"
        );
    }
}
