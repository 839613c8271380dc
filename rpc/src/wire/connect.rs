//! Payload of connect and connect-ack packets.
//!
//! Layout (18 bytes, big-endian):
//!
//! | offset | size | field | meaning |
//! |-------:|-----:|-------|---------|
//! | 0  | 4 | marker | ASCII `TRNC`; makes a stray packet that happens to pass the header checks fail here |
//! | 4  | 8 | nonce | random number chosen once per endpoint: a peer that restarts comes back with a new one |
//! | 12 | 2 | max datagram | largest UDP payload the sender accepts; both sides use the smaller |
//! | 14 | 1 | status | ack only: 0 = accepted, 1 = refused (too many sessions) |
//! | 15 | 1 | reserved | 0 |
//! | 16 | 2 | session | ack only: the server's session number for this session |

use super::view::{header_view, repr_to_bytes};
use super::{Error, Result};
use crate::code_enum::code_enum;

/// The marker a connect payload starts with.
pub const MARKER: [u8; 4] = *b"TRNC";

/// Length of the connect payload.
pub const CONNECT_LEN: usize = field::SESSION.end;

code_enum! {
    /// Whether a server accepted a connect; the code is the payload's
    /// status byte.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ConnectStatus {
        /// Session opened.
        Accepted = 0 => "accepted",
        /// The server has as many sessions as it allows.
        Refused = 1 => "refused",
    }
}

header_view! {
    /// A view of a connect / connect-ack payload in `buffer`; the marker
    /// and status are checked by [`ConnectRepr::parse`].
    pub struct ConnectPacket;
    other: [];
    fields: [
        /// The 4 marker bytes ([`MARKER`] in a valid payload).
        MARKER = 0..4 => marker, set_marker: [u8; 4];
        /// The sender's endpoint nonce.
        NONCE = 4..12 => nonce, set_nonce: u64;
        /// Largest UDP payload the sender accepts.
        MAX_DATAGRAM = 12..14 => max_datagram, set_max_datagram: u16;
        /// The status code (see [`ConnectStatus::code`]), defined or not.
        STATUS = 14..15 => status_code, set_status_code: u8;
        /// The reserved byte (0 when sent by Tern; not checked on receipt).
        RESERVED = 15..16 => reserved, set_reserved: u8;
        /// The server's session number (ack only).
        SESSION = 16..18 => server_session, set_server_session: u16;
    ]
}

impl<T: AsRef<[u8]>> ConnectPacket<T> {
    /// Errors unless the buffer is exactly [`CONNECT_LEN`] bytes: shorter is
    /// [`Error::Truncated`], longer (trailing bytes) is [`Error::Malformed`].
    pub fn check_len(&self) -> Result<()> {
        let len = self.b().len();
        if len < CONNECT_LEN {
            return Err(Error::Truncated);
        }
        if len > CONNECT_LEN {
            return Err(Error::Malformed("connect payload too long"));
        }
        Ok(())
    }
}

/// The parsed connect / connect-ack payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectRepr {
    /// The sender's endpoint nonce.
    pub nonce: u64,
    /// Largest UDP payload the sender accepts.
    pub max_datagram: u16,
    /// Ack only: accepted or refused (`Accepted` in a connect).
    pub status: ConnectStatus,
    /// Ack only: the server's session number (0 in a connect).
    pub server_session: u16,
}

impl ConnectRepr {
    /// Reads a checked view, rejecting a wrong marker or an undefined status
    /// ([`Error::Malformed`]). Never panics on a view from `new_checked`.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &ConnectPacket<&T>) -> Result<ConnectRepr> {
        if packet.marker() != MARKER {
            return Err(Error::Malformed("connect marker"));
        }
        let status = ConnectStatus::from_code(packet.status_code())
            .ok_or(Error::Malformed("connect status"))?;
        Ok(ConnectRepr {
            nonce: packet.nonce(),
            max_datagram: packet.max_datagram(),
            status,
            server_session: packet.server_session(),
        })
    }

    /// Bytes [`emit`](Self::emit) writes: [`CONNECT_LEN`].
    pub const fn buffer_len(&self) -> usize {
        CONNECT_LEN
    }

    /// Writes this payload (marker and a zero reserved byte included) into
    /// `packet`. Panics if the buffer is shorter than [`CONNECT_LEN`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut ConnectPacket<&mut T>) {
        packet.set_marker(MARKER);
        packet.set_nonce(self.nonce);
        packet.set_max_datagram(self.max_datagram);
        packet.set_status_code(self.status.code());
        packet.set_reserved(0);
        packet.set_server_session(self.server_session);
    }
}

repr_to_bytes!(ConnectRepr, ConnectPacket, CONNECT_LEN);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::golden::golden_parse_emit_tests;
    use crate::wire::random_prefixes::each_random_prefix;

    /// A refused connect-ack: nonce 0x0102030405060708, max datagram 1472,
    /// server session 999.
    static PACKET_BYTES: [u8; CONNECT_LEN] = [
        b'T', b'R', b'N', b'C', 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x05, 0xc0, 0x01,
        0x00, 0x03, 0xe7,
    ];

    fn packet_repr() -> ConnectRepr {
        ConnectRepr {
            nonce: 0x0102_0304_0506_0708,
            max_datagram: 1472,
            status: ConnectStatus::Refused,
            server_session: 999,
        }
    }

    fn parse(b: &[u8]) -> Result<ConnectRepr> {
        ConnectRepr::parse(&ConnectPacket::new_checked(b)?)
    }

    #[test]
    fn test_deconstruct() {
        let p = ConnectPacket::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(p.marker(), *b"TRNC");
        assert_eq!(p.nonce(), 0x0102_0304_0506_0708);
        assert_eq!(p.max_datagram(), 1472);
        assert_eq!(p.status_code(), 1);
        assert_eq!(p.reserved(), 0);
        assert_eq!(p.server_session(), 999);
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; CONNECT_LEN];
        let mut p = ConnectPacket::new_unchecked(&mut bytes[..]);
        p.set_marker(*b"TRNC");
        p.set_nonce(0x0102_0304_0506_0708);
        p.set_max_datagram(1472);
        p.set_status_code(1);
        p.set_reserved(0);
        p.set_server_session(999);
        assert_eq!(bytes, PACKET_BYTES);
    }

    golden_parse_emit_tests!(
        ConnectPacket,
        ConnectRepr,
        PACKET_BYTES,
        packet_repr(),
        CONNECT_LEN,
        to_bytes
    );

    #[test]
    fn roundtrip_and_errors() {
        let r = packet_repr();
        let b = r.to_bytes();
        assert_eq!(parse(&b), Ok(r));
        assert_eq!(parse(&b[..17]), Err(Error::Truncated));
        let mut bad = b;
        bad[0] = b'X';
        assert_eq!(parse(&bad), Err(Error::Malformed("connect marker")));
        let mut bad = b;
        bad[14] = 9;
        assert_eq!(parse(&bad), Err(Error::Malformed("connect status")));
        let mut long = b.to_vec();
        long.push(0);
        assert!(matches!(parse(&long), Err(Error::Malformed(_))));
    }

    #[test]
    fn random_bytes_never_panic() {
        each_random_prefix(
            0x2545_F491_4F6C_DD1D,
            50_000,
            |buf: &mut [u8; 24]| {
                buf[..4].copy_from_slice(&MARKER);
                buf[14] &= 1;
            },
            |b| {
                let _ = parse(b);
            },
        );
    }
}
