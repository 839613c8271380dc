//! The 16-byte Tern header that starts every Tern packet (right after the
//! UDP header).
//!
//! Layout (all fields big-endian):
//!
//! | offset | size | field | meaning |
//! |-------:|-----:|-------|---------|
//! | 0  | 1 | magic | always [`MAGIC`] (`0x54`, ASCII `T`) |
//! | 1  | 1 | version / kind | high nibble: protocol [`VERSION`]; low nibble: [`PacketKind`] |
//! | 2  | 2 | request type | application request type (full 16 bits) |
//! | 4  | 2 | session | session number; see below |
//! | 6  | 2 | packet number | index of this packet within its message (or of the packet it answers) |
//! | 8  | 4 | request number | per-session request number; slot = request number % 8 |
//! | 12 | 4 | message length | total length in bytes of the message this packet belongs to; in a credit-return or request-for-response: the number of consecutive packets, from `packet number` on, it covers |
//!
//! The session field names the *receiver's* session for connect-ack,
//! request, response, credit-return and request-for-response packets. In a
//! connect packet it is the sender's (client's) session number, and in a
//! reset packet it is the session number the offending packet addressed at
//! the sender of the reset, which the receiver knows as its session's remote
//! number.

use super::view::{header_view, repr_to_bytes};
use super::{Error, Result};
use crate::code_enum::code_enum;

/// First byte of every Tern packet.
pub const MAGIC: u8 = 0x54;
/// Protocol version carried in the high nibble of byte 1.
pub const VERSION: u8 = 1;

/// Length of the Tern header in bytes.
pub const HEADER_LEN: usize = field::MSG_LEN.end;

code_enum! {
    /// What a packet is for: the low nibble of byte 1 is its code.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PacketKind {
        /// Client asks to open a session (payload: [`ConnectRepr`](super::connect::ConnectRepr)).
        Connect = 0 => "connect",
        /// Server accepts or refuses a connect (payload: `ConnectRepr`).
        ConnectAck = 1 => "connect-ack",
        /// One packet of a request message.
        Request = 2 => "request",
        /// One packet of a response message.
        Response = 3 => "response",
        /// Server acknowledges request packets `packet number ..` (message
        /// length = how many), returning their credits.
        CreditReturn = 4 => "credit-return",
        /// Client asks for response packets `packet number ..` (> 0; message
        /// length = how many).
        RequestForResponse = 5 => "request-for-response",
        /// The sender has no such session (or closed it): drop yours.
        Reset = 6 => "reset",
    }
}

impl PacketKind {
    /// Whether packets of this kind carry a payload after the header:
    /// connect and connect-ack (a [`ConnectRepr`](super::connect::ConnectRepr)),
    /// request and response (message bytes). Credit-return,
    /// request-for-response and reset are the header alone; a payload on
    /// one of them makes the packet malformed.
    pub const fn has_payload(self) -> bool {
        !matches!(
            self,
            PacketKind::CreditReturn | PacketKind::RequestForResponse | PacketKind::Reset
        )
    }
}

header_view! {
    /// A view of a Tern packet (header, then payload) in `buffer`. The
    /// field values (magic, version, kind) are checked by
    /// [`TernRepr::parse`].
    ///
    /// Reading or writing a field costs one bounds-checked load or store;
    /// nothing is copied.
    pub struct TernPacket;
    min_len: HEADER_LEN;
    other: [VERSION_KIND = 1..2];
    fields: [
        /// The magic byte ([`MAGIC`] in a Tern packet).
        MAGIC = 0..1 => magic, set_magic: u8;
        /// Request type.
        REQ_TYPE = 2..4 => req_type, set_req_type: u16;
        /// Session number (whose: see the module docs).
        SESSION = 4..6 => session, set_session: u16;
        /// Packet number within the message.
        PKT_NUM = 6..8 => pkt_num, set_pkt_num: u16;
        /// Request number.
        REQ_NUM = 8..12 => req_num, set_req_num: u32;
        /// Total message length in bytes (credit-return and
        /// request-for-response: packets covered; rewritten in place when a
        /// credit-return's count changes).
        MSG_LEN = 12..16 => msg_len, set_msg_len: u32;
    ]
}

impl<T: AsRef<[u8]>> TernPacket<T> {
    /// The protocol version (high nibble of byte 1).
    pub fn version(&self) -> u8 {
        self.b()[field::VERSION_KIND.start] >> 4
    }

    /// The packet-kind code (low nibble of byte 1), defined or not.
    pub fn kind_code(&self) -> u8 {
        self.b()[field::VERSION_KIND.start] & 0x0f
    }

    /// The packet kind; `None` when the code is not defined.
    pub fn kind(&self) -> Option<PacketKind> {
        PacketKind::from_code(self.kind_code())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> TernPacket<&'a T> {
    /// The bytes after the header, borrowed for as long as the buffer.
    pub fn payload(&self) -> &'a [u8] {
        let data = self.buffer;
        &data.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TernPacket<T> {
    /// Writes the version nibble (the low 4 bits of `v`), keeping the kind.
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.b_mut()[field::VERSION_KIND.start];
        *b = (v << 4) | (*b & 0x0f);
    }

    /// Writes the kind nibble, keeping the version.
    pub fn set_kind(&mut self, kind: PacketKind) {
        let b = &mut self.b_mut()[field::VERSION_KIND.start];
        *b = (*b & 0xf0) | kind.code();
    }

    /// The bytes after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.b_mut()[HEADER_LEN..]
    }
}

/// The parsed contents of a Tern header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TernRepr {
    /// What the packet is for.
    pub kind: PacketKind,
    /// Application request type.
    pub req_type: u16,
    /// Session number (whose: see the module docs).
    pub session: u16,
    /// Packet number within the message.
    pub pkt_num: u16,
    /// Request number.
    pub req_num: u32,
    /// Total message length in bytes.
    pub msg_len: u32,
}

impl TernRepr {
    /// Reads the header of a checked view, rejecting a wrong magic byte
    /// ([`Error::BadMagic`]), another version ([`Error::BadVersion`]) and an
    /// undefined kind ([`Error::BadKind`]). A few comparisons; never panics
    /// on a view from `new_checked`.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &TernPacket<&T>) -> Result<TernRepr> {
        if packet.magic() != MAGIC {
            return Err(Error::BadMagic(packet.magic()));
        }
        if packet.version() != VERSION {
            return Err(Error::BadVersion(packet.version()));
        }
        let kind = packet.kind().ok_or(Error::BadKind(packet.kind_code()))?;
        Ok(TernRepr {
            kind,
            req_type: packet.req_type(),
            session: packet.session(),
            pkt_num: packet.pkt_num(),
            req_num: packet.req_num(),
            msg_len: packet.msg_len(),
        })
    }

    /// Bytes [`emit`](Self::emit) writes: [`HEADER_LEN`].
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes this header (magic and version included) into the first
    /// [`HEADER_LEN`] bytes of `packet`; the payload is left alone. Panics
    /// if the buffer is shorter (a programming error).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut TernPacket<&mut T>) {
        packet.set_magic(MAGIC);
        packet.set_version(VERSION);
        packet.set_kind(self.kind);
        packet.set_req_type(self.req_type);
        packet.set_session(self.session);
        packet.set_pkt_num(self.pkt_num);
        packet.set_req_num(self.req_num);
        packet.set_msg_len(self.msg_len);
    }
}

repr_to_bytes!(TernRepr, TernPacket, HEADER_LEN);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::golden::golden_parse_emit_tests;
    use crate::wire::random_prefixes::each_random_prefix;

    /// A request header (request type 0xbeef, session 513, packet 7,
    /// request 0x01020304, message 8 MiB) followed by payload "xyz".
    static PACKET_BYTES: [u8; 19] = [
        0x54, 0x12, 0xbe, 0xef, 0x02, 0x01, 0x00, 0x07, 0x01, 0x02, 0x03, 0x04, 0x00, 0x80, 0x00,
        0x00, b'x', b'y', b'z',
    ];

    fn packet_repr() -> TernRepr {
        TernRepr {
            kind: PacketKind::Request,
            req_type: 0xBEEF,
            session: 513,
            pkt_num: 7,
            req_num: 0x0102_0304,
            msg_len: 8 << 20,
        }
    }

    #[test]
    fn test_deconstruct() {
        let p = TernPacket::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(p.magic(), MAGIC);
        assert_eq!(p.version(), 1);
        assert_eq!(p.kind(), Some(PacketKind::Request));
        assert_eq!(p.req_type(), 0xbeef);
        assert_eq!(p.session(), 513);
        assert_eq!(p.pkt_num(), 7);
        assert_eq!(p.req_num(), 0x0102_0304);
        assert_eq!(p.msg_len(), 8 << 20);
        assert_eq!(p.payload(), b"xyz");
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; 19];
        let mut p = TernPacket::new_unchecked(&mut bytes[..]);
        p.set_magic(MAGIC);
        p.set_version(1);
        p.set_kind(PacketKind::Request);
        p.set_req_type(0xbeef);
        p.set_session(513);
        p.set_pkt_num(7);
        p.set_req_num(0x0102_0304);
        p.set_msg_len(8 << 20);
        p.payload_mut().copy_from_slice(b"xyz");
        assert_eq!(bytes, PACKET_BYTES);
    }

    golden_parse_emit_tests!(
        TernPacket,
        TernRepr,
        PACKET_BYTES,
        packet_repr(),
        HEADER_LEN,
        to_bytes
    );

    #[test]
    fn the_credit_return_count_is_rewritten_in_place() {
        let mut bytes = packet_repr().to_bytes();
        TernPacket::new_unchecked(&mut bytes[..]).set_msg_len(3);
        assert_eq!(&bytes[12..16], &[0, 0, 0, 3]);
        assert_eq!(&bytes[..12], &PACKET_BYTES[..12]);
    }

    fn parse(bytes: &[u8]) -> Result<TernRepr> {
        TernRepr::parse(&TernPacket::new_checked(bytes)?)
    }

    #[test]
    fn rejects_bad_input() {
        let good = packet_repr().to_bytes();
        assert_eq!(parse(&good[..15]), Err(Error::Truncated));
        assert_eq!(parse(&[]), Err(Error::Truncated));
        let mut b = good;
        b[0] = 0;
        assert_eq!(parse(&b), Err(Error::BadMagic(0)));
        let mut b = good;
        b[1] = 0x22;
        assert_eq!(parse(&b), Err(Error::BadVersion(2)));
        let mut b = good;
        b[1] = 0x1f;
        assert_eq!(parse(&b), Err(Error::BadKind(15)));
    }

    #[test]
    fn never_panics_on_any_prefix_or_garbage() {
        each_random_prefix(
            0x9E37_79B9_7F4A_7C15,
            100_000,
            |buf: &mut [u8; 40]| {
                buf[0] = MAGIC;
                buf[1] = 0x10 | (buf[1] & 0x07);
            },
            |b| {
                if let Ok(p) = TernPacket::new_checked(b) {
                    let _ = (TernRepr::parse(&p), p.payload().len());
                }
            },
        );
    }
}
