//! Response status codes (ARCHITECTURE.md §3), carried in the response preamble.

use crate::code_enum::code_enum;

code_enum! {
    /// The outcome of a request, as the server reports it; the code is the
    /// preamble's status byte, the name the one CSV files and command lines
    /// use.
    ///
    /// Client-side failures (a timeout after the last retransmission, a session
    /// reset) are not statuses: they arrive as
    /// [`Event::RequestFailed`](crate::Event::RequestFailed).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Status: UnknownStatus {
        /// The function ran and returned its output.
        Ok = 0 => "ok",
        /// No function is registered for the request type.
        NoSuchFunction = 1 => "no-such-function",
        /// The function trapped (or exited non-zero, or ran out of memory).
        Trap = 2 => "trap",
        /// The function ran past its deadline or execution-time limit.
        DeadlineExceeded = 3 => "deadline-exceeded",
        /// Admission control or a full queue refused the request.
        RejectedOverload = 4 => "rejected-overload",
        /// The request or response is larger than allowed.
        TooLarge = 5 => "too-large",
        /// The request is malformed for its function.
        BadRequest = 6 => "bad-request",
        /// The server failed for a reason of its own.
        Internal = 7 => "internal",
    }
}

impl Status {
    /// Whether this is [`Status::Ok`].
    pub fn is_ok(self) -> bool {
        self == Status::Ok
    }
}

/// A byte or name that is not a [`Status`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_roundtrip() {
        for (i, s) in Status::ALL.into_iter().enumerate() {
            assert_eq!(s as u8 as usize, i);
            assert_eq!(Status::try_from(i as u8), Ok(s));
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert!(Status::try_from(8).is_err());
        assert!("nope".parse::<Status>().is_err());
    }
}
