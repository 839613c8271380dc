//! The response preamble: the first 20 bytes of every response message,
//! before the application's payload.
//!
//! Layout (big-endian):
//!
//! | offset | size | field | meaning |
//! |-------:|-----:|-------|---------|
//! | 0  | 1 | status | [`Status`] code |
//! | 1  | 3 | reserved | 0 |
//! | 4  | 8 | queue ns | time the request waited on the server before it ran |
//! | 12 | 8 | exec ns | time the request ran on the server |
//!
//! The preamble is part of the message: the header's message length counts
//! it, and it sits at the start of response packet 0.

use super::WireError;
use crate::status::Status;

/// Length of the response preamble.
pub const PREAMBLE_LEN: usize = 20;

/// The parsed response preamble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreambleRepr {
    /// Outcome of the request.
    pub status: Status,
    /// Server-side queueing time in nanoseconds.
    pub queue_ns: u64,
    /// Server-side execution time in nanoseconds.
    pub exec_ns: u64,
}

impl PreambleRepr {
    /// Parses the preamble at the start of `b`. Never panics.
    pub fn parse(b: &[u8]) -> Result<PreambleRepr, WireError> {
        if b.len() < PREAMBLE_LEN {
            return Err(WireError::Truncated);
        }
        let status = Status::try_from(b[0]).map_err(|_| WireError::BadField("response status"))?;
        let mut q = [0u8; 8];
        q.copy_from_slice(&b[4..12]);
        let mut e = [0u8; 8];
        e.copy_from_slice(&b[12..20]);
        Ok(PreambleRepr {
            status,
            queue_ns: u64::from_be_bytes(q),
            exec_ns: u64::from_be_bytes(e),
        })
    }

    /// This preamble as bytes.
    pub fn to_bytes(&self) -> [u8; PREAMBLE_LEN] {
        let mut b = [0u8; PREAMBLE_LEN];
        b[0] = self.status as u8;
        b[4..12].copy_from_slice(&self.queue_ns.to_be_bytes());
        b[12..20].copy_from_slice(&self.exec_ns.to_be_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let r = PreambleRepr {
            status: Status::Trap,
            queue_ns: 12345,
            exec_ns: u64::MAX,
        };
        assert_eq!(PreambleRepr::parse(&r.to_bytes()), Ok(r));
        assert_eq!(PreambleRepr::parse(&[0; 19]), Err(WireError::Truncated));
        let mut b = r.to_bytes();
        b[0] = 200;
        assert!(PreambleRepr::parse(&b).is_err());
    }
}
