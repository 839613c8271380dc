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

use super::view::{header_view, repr_to_bytes};
use super::{Error, Result};
use crate::status::Status;

/// Length of the response preamble.
pub const PREAMBLE_LEN: usize = field::EXEC_NS.end;

header_view! {
    /// A view of a response preamble at the start of `buffer` (the
    /// message's payload may follow); the status code is checked by
    /// [`PreambleRepr::parse`].
    pub struct PreamblePacket;
    min_len: PREAMBLE_LEN;
    other: [];
    fields: [
        /// The status code, defined or not.
        STATUS = 0..1 => status_code, set_status_code: u8;
        /// The three reserved bytes (0 when sent by Tern; not checked on receipt).
        RESERVED = 1..4 => reserved, set_reserved: [u8; 3];
        /// Server-side queueing time in nanoseconds.
        QUEUE_NS = 4..12 => queue_ns, set_queue_ns: u64;
        /// Server-side execution time in nanoseconds.
        EXEC_NS = 12..20 => exec_ns, set_exec_ns: u64;
    ]
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
}

repr_to_bytes!(PreambleRepr, PreamblePacket, PREAMBLE_LEN);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::golden::golden_parse_emit_tests;
    use crate::wire::random_prefixes::each_random_prefix;

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

    golden_parse_emit_tests!(
        PreamblePacket,
        PreambleRepr,
        PACKET_BYTES,
        packet_repr(),
        PREAMBLE_LEN,
        to_bytes
    );

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
        each_random_prefix(
            0x9E37_79B9_7F4A_7C15,
            50_000,
            |_: &mut [u8; 28]| {},
            |b| {
                let _ = parse(b);
            },
        );
    }
}
