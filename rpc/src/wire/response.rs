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

use super::{Error, Result};
use crate::status::Status;

mod field {
    use std::ops::Range;
    pub(crate) const STATUS: usize = 0;
    pub(crate) const RESERVED: Range<usize> = 1..4;
    pub(crate) const QUEUE_NS: Range<usize> = 4..12;
    pub(crate) const EXEC_NS: Range<usize> = 12..20;
}

/// Length of the response preamble.
pub const PREAMBLE_LEN: usize = field::EXEC_NS.end;

/// A view of a response preamble at the start of `buffer` (the message's
/// payload may follow).
#[derive(Debug, Clone)]
pub struct PreamblePacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> PreamblePacket<T> {
    /// Wraps `buffer` without checks; accessors panic if it is shorter than
    /// [`PREAMBLE_LEN`]. Use [`new_checked`](Self::new_checked) for untrusted bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        PreamblePacket { buffer }
    }

    /// Wraps `buffer` after [`check_len`](Self::check_len); the status code
    /// is checked by [`PreambleRepr::parse`].
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Errors with [`Error::Truncated`] unless the buffer holds a whole
    /// preamble.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < PREAMBLE_LEN {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u64_at(&self, r: std::ops::Range<usize>) -> u64 {
        let b = &self.buffer.as_ref()[r];
        u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    /// The status code, defined or not.
    pub fn status_code(&self) -> u8 {
        self.buffer.as_ref()[field::STATUS]
    }

    /// The three reserved bytes (0 when sent by Tern; not checked on receipt).
    pub fn reserved(&self) -> [u8; 3] {
        let b = &self.buffer.as_ref()[field::RESERVED];
        [b[0], b[1], b[2]]
    }

    /// Server-side queueing time in nanoseconds.
    pub fn queue_ns(&self) -> u64 {
        self.u64_at(field::QUEUE_NS)
    }

    /// Server-side execution time in nanoseconds.
    pub fn exec_ns(&self) -> u64 {
        self.u64_at(field::EXEC_NS)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> PreamblePacket<T> {
    /// Writes the status code.
    pub fn set_status_code(&mut self, v: u8) {
        self.buffer.as_mut()[field::STATUS] = v;
    }

    /// Writes the reserved bytes.
    pub fn set_reserved(&mut self, v: [u8; 3]) {
        self.buffer.as_mut()[field::RESERVED].copy_from_slice(&v);
    }

    /// Writes the queueing time.
    pub fn set_queue_ns(&mut self, v: u64) {
        self.buffer.as_mut()[field::QUEUE_NS].copy_from_slice(&v.to_be_bytes());
    }

    /// Writes the execution time.
    pub fn set_exec_ns(&mut self, v: u64) {
        self.buffer.as_mut()[field::EXEC_NS].copy_from_slice(&v.to_be_bytes());
    }
}

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
    /// Reads a checked view, rejecting an undefined status code
    /// ([`Error::Malformed`]). Never panics on a view from `new_checked`.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &PreamblePacket<&T>) -> Result<PreambleRepr> {
        let status = Status::try_from(packet.status_code())
            .map_err(|_| Error::Malformed("response status"))?;
        Ok(PreambleRepr {
            status,
            queue_ns: packet.queue_ns(),
            exec_ns: packet.exec_ns(),
        })
    }

    /// Bytes [`emit`](Self::emit) writes: [`PREAMBLE_LEN`].
    pub const fn buffer_len(&self) -> usize {
        PREAMBLE_LEN
    }

    /// Writes this preamble (zero reserved bytes included) into the first
    /// [`PREAMBLE_LEN`] bytes of `packet`. Panics if the buffer is shorter.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut PreamblePacket<&mut T>) {
        packet.set_status_code(self.status as u8);
        packet.set_reserved([0; 3]);
        packet.set_queue_ns(self.queue_ns);
        packet.set_exec_ns(self.exec_ns);
    }

    /// This preamble as bytes: [`emit`](Self::emit) into a fresh array.
    pub fn to_bytes(&self) -> [u8; PREAMBLE_LEN] {
        let mut b = [0u8; PREAMBLE_LEN];
        self.emit(&mut PreamblePacket::new_unchecked(&mut b[..]));
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Trap` preamble: queued 12,345 ns, ran u64::MAX ns.
    static PACKET_BYTES: [u8; PREAMBLE_LEN] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x39, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff,
    ];

    fn packet_repr() -> PreambleRepr {
        PreambleRepr {
            status: Status::Trap,
            queue_ns: 12345,
            exec_ns: u64::MAX,
        }
    }

    fn parse(b: &[u8]) -> Result<PreambleRepr> {
        PreambleRepr::parse(&PreamblePacket::new_checked(b)?)
    }

    #[test]
    fn test_deconstruct() {
        let p = PreamblePacket::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(p.status_code(), Status::Trap as u8);
        assert_eq!(p.reserved(), [0; 3]);
        assert_eq!(p.queue_ns(), 12345);
        assert_eq!(p.exec_ns(), u64::MAX);
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; PREAMBLE_LEN];
        let mut p = PreamblePacket::new_unchecked(&mut bytes[..]);
        p.set_status_code(Status::Trap as u8);
        p.set_reserved([0; 3]);
        p.set_queue_ns(12345);
        p.set_exec_ns(u64::MAX);
        assert_eq!(bytes, PACKET_BYTES);
    }

    #[test]
    fn test_parse() {
        assert_eq!(parse(&PACKET_BYTES), Ok(packet_repr()));
    }

    #[test]
    fn test_emit() {
        let repr = packet_repr();
        let mut bytes = [0xa5u8; PREAMBLE_LEN];
        repr.emit(&mut PreamblePacket::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, PACKET_BYTES);
        assert_eq!(repr.to_bytes(), PACKET_BYTES);
        assert_eq!(repr.buffer_len(), PREAMBLE_LEN);
    }

    #[test]
    fn roundtrip() {
        let r = packet_repr();
        assert_eq!(parse(&r.to_bytes()), Ok(r));
        assert_eq!(parse(&[0; 19]), Err(Error::Truncated));
        let mut b = r.to_bytes();
        b[0] = 200;
        assert!(parse(&b).is_err());
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut buf = [0u8; 28];
        for _ in 0..50_000 {
            for b in buf.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            let n = (seed >> 8) as usize % buf.len();
            let _ = parse(&buf[..n]);
        }
    }
}
