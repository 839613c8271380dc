//! How a worker's [`Outcome`] reaches the client: the RPC [`Status`] and the
//! response body. Written once here; tern-sched's `Outcome` docs point to
//! it (tern-sched does not depend on tern-rpc).

use tern_rpc::Status;
use tern_sched::Outcome;

/// The RPC status a request that ended with `outcome` is answered with:
/// `Ok` → `ok`; a trap, stack overflow, memory limit or non-zero exit →
/// `trap`; the execution-time limit or the deadline → `deadline-exceeded`; the output limit
/// → `too-large`; a job the worker did not run → `rejected-overload`.
/// Costs a match.
pub fn status_of(outcome: &Outcome) -> Status {
    match outcome {
        Outcome::Ok => Status::Ok,
        Outcome::Trap(_) | Outcome::StackOverflow | Outcome::OutOfMemory | Outcome::ExitCode(_) => {
            Status::Trap
        }
        Outcome::Timeout | Outcome::DeadlinePassed => Status::DeadlineExceeded,
        Outcome::OutputTooLarge => Status::TooLarge,
        Outcome::Rejected => Status::RejectedOverload,
    }
}

/// The response body for `outcome`: the function's `output` for `Ok`;
/// otherwise what happened, as [`Outcome`]'s `Display` says it (traps
/// prefixed `trap: `), followed for a non-zero exit by the stderr the
/// function wrote. Allocates the message (not for `Ok`).
pub fn response_body(outcome: &Outcome, output: Vec<u8>) -> Vec<u8> {
    match outcome {
        Outcome::Ok => output,
        Outcome::StackOverflow | Outcome::OutOfMemory => format!("trap: {outcome}").into_bytes(),
        Outcome::ExitCode(_) => {
            let mut msg = outcome.to_string().into_bytes();
            if !output.is_empty() {
                msg.extend_from_slice(b": ");
                msg.extend_from_slice(&output);
            }
            msg
        }
        Outcome::Rejected => b"rejected by the worker".to_vec(),
        Outcome::Trap(_) | Outcome::Timeout | Outcome::DeadlinePassed | Outcome::OutputTooLarge => {
            outcome.to_string().into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_statuses() {
        let cases = [
            (Outcome::Ok, Status::Ok, "out"),
            (Outcome::Trap("x".into()), Status::Trap, "trap: x"),
            (Outcome::StackOverflow, Status::Trap, "trap: stack overflow"),
            (
                Outcome::OutOfMemory,
                Status::Trap,
                "trap: memory limit exceeded",
            ),
            (
                Outcome::ExitCode(3),
                Status::Trap,
                "exited with code 3: out",
            ),
            (
                Outcome::Timeout,
                Status::DeadlineExceeded,
                "execution time limit exceeded",
            ),
            (
                Outcome::DeadlinePassed,
                Status::DeadlineExceeded,
                "deadline passed while running",
            ),
            (
                Outcome::OutputTooLarge,
                Status::TooLarge,
                "output limit exceeded",
            ),
            (
                Outcome::Rejected,
                Status::RejectedOverload,
                "rejected by the worker",
            ),
        ];
        for (outcome, status, body) in cases {
            let s = status_of(&outcome);
            let p = response_body(&outcome, b"out".to_vec());
            assert_eq!(
                (s, String::from_utf8(p).unwrap().as_str()),
                (status, body),
                "{outcome}"
            );
        }
        // A non-zero exit with nothing on stderr says only the code.
        assert_eq!(
            response_body(&Outcome::ExitCode(1), Vec::new()),
            b"exited with code 1"
        );
    }
}
