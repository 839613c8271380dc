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

use super::WireError;

/// Length of the Tern header in bytes.
pub const HEADER_LEN: usize = 16;
/// First byte of every Tern packet.
pub const MAGIC: u8 = 0x54;
/// Protocol version carried in the high nibble of byte 1.
pub const VERSION: u8 = 1;

mod field {
    use std::ops::Range;
    pub const MAGIC: usize = 0;
    pub const VERSION_KIND: usize = 1;
    pub const REQ_TYPE: Range<usize> = 2..4;
    pub const SESSION: Range<usize> = 4..6;
    pub const PKT_NUM: Range<usize> = 6..8;
    pub const REQ_NUM: Range<usize> = 8..12;
    pub const MSG_LEN: Range<usize> = 12..16;
}

/// What a packet is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketKind {
    /// Client asks to open a session (payload: [`ConnectRepr`](super::connect::ConnectRepr)).
    Connect = 0,
    /// Server accepts or refuses a connect (payload: `ConnectRepr`).
    ConnectAck = 1,
    /// One packet of a request message.
    Request = 2,
    /// One packet of a response message.
    Response = 3,
    /// Server acknowledges request packets `packet number ..` (message
    /// length = how many), returning their credits.
    CreditReturn = 4,
    /// Client asks for response packets `packet number ..` (> 0; message
    /// length = how many).
    RequestForResponse = 5,
    /// The sender has no such session (or closed it): drop yours.
    Reset = 6,
}

impl PacketKind {
    /// The kind with wire code `code`, if any.
    pub fn from_code(code: u8) -> Option<PacketKind> {
        Some(match code {
            0 => PacketKind::Connect,
            1 => PacketKind::ConnectAck,
            2 => PacketKind::Request,
            3 => PacketKind::Response,
            4 => PacketKind::CreditReturn,
            5 => PacketKind::RequestForResponse,
            6 => PacketKind::Reset,
            _ => return None,
        })
    }
}

/// A view of a Tern packet (header, then payload) in `buffer`.
#[derive(Debug, Clone)]
pub struct TernPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TernPacket<T> {
    /// Wraps `buffer` without checks; accessors panic if it is shorter than
    /// [`HEADER_LEN`]. Use [`new_checked`](Self::new_checked) for untrusted bytes.
    pub fn new_unchecked(buffer: T) -> Self {
        TernPacket { buffer }
    }

    /// Wraps `buffer` after checking it holds a whole header with the right
    /// magic, version and a known kind. Costs a few comparisons.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if b[field::MAGIC] != MAGIC {
            return Err(WireError::BadMagic(b[field::MAGIC]));
        }
        let vk = b[field::VERSION_KIND];
        if vk >> 4 != VERSION {
            return Err(WireError::BadVersion(vk >> 4));
        }
        if PacketKind::from_code(vk & 0x0f).is_none() {
            return Err(WireError::BadKind(vk & 0x0f));
        }
        Ok(TernPacket { buffer })
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, r: std::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn u32_at(&self, r: std::ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[r];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The packet kind; `None` only on a view made by `new_unchecked` over
    /// an undefined code (impossible after `new_checked`).
    pub fn kind(&self) -> Option<PacketKind> {
        PacketKind::from_code(self.buffer.as_ref()[field::VERSION_KIND] & 0x0f)
    }

    /// Request type.
    pub fn req_type(&self) -> u16 {
        self.u16_at(field::REQ_TYPE)
    }

    /// Session number (whose: see the module docs).
    pub fn session(&self) -> u16 {
        self.u16_at(field::SESSION)
    }

    /// Packet number within the message.
    pub fn pkt_num(&self) -> u16 {
        self.u16_at(field::PKT_NUM)
    }

    /// Request number.
    pub fn req_num(&self) -> u32 {
        self.u32_at(field::REQ_NUM)
    }

    /// Total message length in bytes.
    pub fn msg_len(&self) -> u32 {
        self.u32_at(field::MSG_LEN)
    }

    /// The bytes after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TernPacket<T> {
    fn put_u16(&mut self, r: std::ops::Range<usize>, v: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }

    fn put_u32(&mut self, r: std::ops::Range<usize>, v: u32) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }

    /// Writes magic, version and `kind`.
    pub fn set_kind(&mut self, kind: PacketKind) {
        let b = self.buffer.as_mut();
        b[field::MAGIC] = MAGIC;
        b[field::VERSION_KIND] = (VERSION << 4) | kind as u8;
    }

    /// Writes the request type.
    pub fn set_req_type(&mut self, v: u16) {
        self.put_u16(field::REQ_TYPE, v)
    }

    /// Writes the session number.
    pub fn set_session(&mut self, v: u16) {
        self.put_u16(field::SESSION, v)
    }

    /// Writes the packet number.
    pub fn set_pkt_num(&mut self, v: u16) {
        self.put_u16(field::PKT_NUM, v)
    }

    /// Writes the request number.
    pub fn set_req_num(&mut self, v: u32) {
        self.put_u32(field::REQ_NUM, v)
    }

    /// Writes the message length.
    pub fn set_msg_len(&mut self, v: u32) {
        self.put_u32(field::MSG_LEN, v)
    }

    /// The bytes after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
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
    /// Parses the header at the start of `bytes` and returns it with the
    /// payload that follows. Never panics; errors on any invalid input.
    pub fn parse(bytes: &[u8]) -> Result<(TernRepr, &[u8]), WireError> {
        let p = TernPacket::new_checked(bytes)?;
        let kind = p
            .kind()
            .ok_or(WireError::BadKind(bytes[field::VERSION_KIND] & 0x0f))?;
        Ok((
            TernRepr {
                kind,
                req_type: p.req_type(),
                session: p.session(),
                pkt_num: p.pkt_num(),
                req_num: p.req_num(),
                msg_len: p.msg_len(),
            },
            &bytes[HEADER_LEN..],
        ))
    }

    /// Writes this header into the first [`HEADER_LEN`] bytes of `buf`.
    pub fn emit(&self, buf: &mut [u8; HEADER_LEN]) {
        let mut p = TernPacket::new_unchecked(&mut buf[..]);
        p.set_kind(self.kind);
        p.set_req_type(self.req_type);
        p.set_session(self.session);
        p.set_pkt_num(self.pkt_num);
        p.set_req_num(self.req_num);
        p.set_msg_len(self.msg_len);
    }

    /// This header as bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        self.emit(&mut b);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TernRepr {
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
    fn roundtrip_and_byte_order() {
        let r = sample();
        let mut buf = r.to_bytes().to_vec();
        assert_eq!(buf[0], MAGIC);
        assert_eq!(buf[1], 0x12);
        assert_eq!(&buf[2..4], &[0xBE, 0xEF]);
        assert_eq!(&buf[4..6], &[0x02, 0x01]);
        assert_eq!(&buf[8..12], &[1, 2, 3, 4]);
        buf.extend_from_slice(b"xyz");
        let (parsed, payload) = TernRepr::parse(&buf).unwrap();
        assert_eq!(parsed, r);
        assert_eq!(payload, b"xyz");
    }

    #[test]
    fn rejects_bad_input() {
        let good = sample().to_bytes();
        assert_eq!(TernRepr::parse(&good[..15]), Err(WireError::Truncated));
        assert_eq!(TernRepr::parse(&[]), Err(WireError::Truncated));
        let mut b = good;
        b[0] = 0;
        assert_eq!(TernRepr::parse(&b), Err(WireError::BadMagic(0)));
        let mut b = good;
        b[1] = 0x22;
        assert_eq!(TernRepr::parse(&b), Err(WireError::BadVersion(2)));
        let mut b = good;
        b[1] = 0x1f;
        assert_eq!(TernRepr::parse(&b), Err(WireError::BadKind(15)));
    }

    #[test]
    fn never_panics_on_any_prefix_or_garbage() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut buf = [0u8; 40];
        for _ in 0..100_000 {
            for b in buf.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            if seed & 1 == 0 {
                buf[0] = MAGIC;
                buf[1] = 0x10 | (buf[1] & 0x07);
            }
            let n = (seed >> 8) as usize % buf.len();
            let _ = TernRepr::parse(&buf[..n]);
        }
    }
}
