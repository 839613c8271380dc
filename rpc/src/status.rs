//! Response status codes (ARCHITECTURE.md §3), carried in the response preamble.

use std::fmt;
use std::str::FromStr;

/// The outcome of a request, as the server reports it.
///
/// Client-side failures (a timeout after the last retransmission, a session
/// reset) are not statuses: they arrive as
/// [`Event::RequestFailed`](crate::Event::RequestFailed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    /// The function ran and returned its output.
    Ok = 0,
    /// No function is registered for the request type.
    NoSuchFunction = 1,
    /// The function trapped (or exited non-zero, or ran out of memory).
    Trap = 2,
    /// The function ran past its deadline or execution-time limit.
    DeadlineExceeded = 3,
    /// Admission control or a full queue refused the request.
    RejectedOverload = 4,
    /// The request or response is larger than allowed.
    TooLarge = 5,
    /// The request is malformed for its function.
    BadRequest = 6,
    /// The server failed for a reason of its own.
    Internal = 7,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 8] = [
        Status::Ok,
        Status::NoSuchFunction,
        Status::Trap,
        Status::DeadlineExceeded,
        Status::RejectedOverload,
        Status::TooLarge,
        Status::BadRequest,
        Status::Internal,
    ];

    /// The kebab-case name (`"ok"`, `"no-such-function"`, ...), as used in
    /// CSV files and command lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NoSuchFunction => "no-such-function",
            Status::Trap => "trap",
            Status::DeadlineExceeded => "deadline-exceeded",
            Status::RejectedOverload => "rejected-overload",
            Status::TooLarge => "too-large",
            Status::BadRequest => "bad-request",
            Status::Internal => "internal",
        }
    }

    /// Whether this is [`Status::Ok`].
    pub fn is_ok(self) -> bool {
        self == Status::Ok
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A byte or name that is not a [`Status`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

impl TryFrom<u8> for Status {
    type Error = UnknownStatus;
    fn try_from(code: u8) -> Result<Self, Self::Error> {
        Status::ALL
            .get(code as usize)
            .copied()
            .ok_or_else(|| UnknownStatus(code.to_string()))
    }
}

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

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
