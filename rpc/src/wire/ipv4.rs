//! IPv4 header: a zero-copy view over a byte buffer.
//!
//! Layout (big-endian; 20 bytes without options, `ihl * 4` with):
//!
//! | offset | size | field                           |
//! |-------:|-----:|---------------------------------|
//! | 0      | 1    | version (4 bits) + IHL (4 bits) |
//! | 1      | 1    | DSCP + ECN                      |
//! | 2      | 2    | total length                    |
//! | 4      | 2    | identification                  |
//! | 6      | 2    | flags (3 bits) + fragment offset|
//! | 8      | 1    | TTL                             |
//! | 9      | 1    | protocol                        |
//! | 10     | 2    | header checksum                 |
//! | 12     | 4    | source address                  |
//! | 16     | 4    | destination address             |
//!
//! Tern never sends options or fragments; the view accepts options (skips
//! them) and reports fragments so the transport can drop them.

use std::net::Ipv4Addr;

use super::checksum;
use super::view::{FieldValue, header_view};
use super::{Error, Result};

/// IP protocol numbers Tern handles.
pub mod protocol {
    /// UDP.
    pub const UDP: u8 = 17;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// Flag bits in the flags + fragment-offset word.
const DONT_FRAG: u16 = 0x4000;
const MORE_FRAGS: u16 = 0x2000;
const FRAG_OFFSET: u16 = 0x1fff;

header_view! {
    /// A view of an IPv4 packet in `buffer` (header, then payload). The
    /// checksum is not checked by `new_checked`: see
    /// [`verify_checksum`](Ipv4Packet::verify_checksum).
    pub struct Ipv4Packet;
    other: [VER_IHL = 0..1, FLG_OFF = 6..8];
    fields: [
        /// The DSCP + ECN byte.
        DSCP_ECN = 1..2 => dscp_ecn, set_dscp_ecn: u8;
        /// Total length (header + payload) in bytes.
        LENGTH = 2..4 => total_len, set_total_len: u16;
        /// Identification field.
        IDENT = 4..6 => ident, set_ident: u16;
        /// Time to live.
        TTL = 8..9 => ttl, set_ttl: u8;
        /// Protocol of the payload (see [`protocol`]).
        PROTOCOL = 9..10 => protocol, set_protocol: u8;
        /// The header checksum field (see [`fill_checksum`](Self::fill_checksum)).
        CHECKSUM = 10..12 => checksum_field, set_checksum_field: u16;
        /// Source address.
        SRC_ADDR = 12..16 => src_addr, set_src_addr: Ipv4Addr;
        /// Destination address.
        DST_ADDR = 16..20 => dst_addr, set_dst_addr: Ipv4Addr;
    ]
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Checks what the accessors rely on: whole header present, version 4
    /// (the IHL nibble only means a header length in IPv4), IHL ≥ 5, and
    /// total length between the header length and the buffer length (a
    /// buffer longer than the total length — Ethernet padding — is fine;
    /// [`payload`](Self::payload) stops at the total length). Short is
    /// [`Error::Truncated`], the rest [`Error::Malformed`].
    pub fn check_len(&self) -> Result<()> {
        let len = self.b().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Error::Malformed("IP version is not 4"));
        }
        if self.header_len() < HEADER_LEN {
            return Err(Error::Malformed("IPv4 header length below 20"));
        }
        let total = self.total_len() as usize;
        if self.header_len() > len || total > len {
            return Err(Error::Truncated);
        }
        if total < self.header_len() {
            return Err(Error::Malformed("IPv4 total length below header length"));
        }
        Ok(())
    }

    /// IP version (4 on a checked view).
    pub fn version(&self) -> u8 {
        self.b()[field::VER_IHL.start] >> 4
    }

    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        ((self.b()[field::VER_IHL.start] & 0x0f) as usize) * 4
    }

    fn flags_word(&self) -> u16 {
        u16::read(&self.b()[field::FLG_OFF])
    }

    /// The don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.flags_word() & DONT_FRAG != 0
    }

    /// The more-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.flags_word() & MORE_FRAGS != 0
    }

    /// Fragment offset in units of 8 bytes.
    pub fn frag_offset(&self) -> u16 {
        self.flags_word() & FRAG_OFFSET
    }

    /// Whether "more fragments" is set or the fragment offset is non-zero,
    /// i.e. this packet is part of a fragmented datagram.
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    /// Whether the header checksum is right (sums the header, options
    /// included: one pass over 20-60 bytes).
    pub fn verify_checksum(&self) -> bool {
        checksum::compute(&self.b()[..self.header_len()]) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv4Packet<&'a T> {
    /// The payload: from the end of the header to the total length,
    /// borrowed for as long as the buffer.
    pub fn payload(&self) -> &'a [u8] {
        let range = self.header_len()..self.total_len() as usize;
        let data = self.buffer;
        &data.as_ref()[range]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn flags_and_offset(&mut self) -> &mut [u8] {
        &mut self.b_mut()[field::FLG_OFF]
    }

    fn set_flag(&mut self, bit: u16, on: bool) {
        let v = u16::read(self.flags_and_offset());
        (if on { v | bit } else { v & !bit }).write(self.flags_and_offset());
    }

    /// Sets the version nibble (the low 4 bits of `v`), keeping the IHL.
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.b_mut()[field::VER_IHL.start];
        *b = (v << 4) | (*b & 0x0f);
    }

    /// Sets the header length in bytes (a multiple of 4, 20..=60), keeping
    /// the version.
    pub fn set_header_len(&mut self, len: usize) {
        let b = &mut self.b_mut()[field::VER_IHL.start];
        *b = (*b & 0xf0) | ((len / 4) as u8 & 0x0f);
    }

    /// Clears the three flag bits (reserved, don't-fragment,
    /// more-fragments), keeping the fragment offset.
    pub fn clear_flags(&mut self) {
        let offset = self.frag_offset();
        offset.write(self.flags_and_offset())
    }

    /// Sets or clears the don't-fragment flag.
    pub fn set_dont_frag(&mut self, on: bool) {
        self.set_flag(DONT_FRAG, on)
    }

    /// Sets or clears the more-fragments flag.
    pub fn set_more_frags(&mut self, on: bool) {
        self.set_flag(MORE_FRAGS, on)
    }

    /// Sets the fragment offset (units of 8 bytes; the low 13 bits of `v`).
    pub fn set_frag_offset(&mut self, v: u16) {
        let flags = u16::read(self.flags_and_offset()) & !FRAG_OFFSET;
        (flags | (v & FRAG_OFFSET)).write(self.flags_and_offset())
    }

    /// Computes and writes the header checksum over the header (options
    /// included, per the IHL). One pass over 20-60 bytes.
    pub fn fill_checksum(&mut self) {
        self.set_checksum_field(0);
        let len = self.header_len();
        let sum = checksum::compute(&self.b()[..len]);
        self.set_checksum_field(sum);
    }

    /// The payload, writable (from the end of the header to the total length).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = (self.header_len(), self.total_len() as usize);
        &mut self.b_mut()[start..end]
    }
}

/// The parts of an IPv4 header Tern reads and writes.
///
/// Emitted headers have no options, DSCP/ECN 0 and the don't-fragment flag
/// set (Tern datagrams fit one frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Payload protocol (see [`protocol`]).
    pub protocol: u8,
    /// Identification field.
    pub ident: u16,
    /// Time to live.
    pub ttl: u8,
    /// Bytes after the header.
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Reads a checked view. A fragment (more-fragments set or a non-zero
    /// offset) is [`Error::Malformed`]: Tern never sends one and does not
    /// reassemble. Options, DSCP/ECN and the don't-fragment flag are
    /// ignored; the checksum is left to
    /// [`Ipv4Packet::verify_checksum`], so that a caller whose NIC checked
    /// it already can skip the pass.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv4Packet<&T>) -> Result<Ipv4Repr> {
        packet.check_len()?;
        if packet.is_fragment() {
            return Err(Error::Malformed("IPv4 fragment"));
        }
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            ident: packet.ident(),
            ttl: packet.ttl(),
            payload_len: packet.total_len() as usize - packet.header_len(),
        })
    }

    /// Bytes [`emit`](Self::emit) writes: [`HEADER_LEN`] (no options).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes a 20-byte header without options: version 4, IHL 5, DSCP 0,
    /// don't-fragment set, this repr's fields, total length
    /// `20 + payload_len`, and the checksum (one pass over 20 bytes). The
    /// payload is left alone. Panics if the buffer is shorter than 20 bytes
    /// (a programming error); `payload_len` must fit the 16-bit total length.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Ipv4Packet<&mut T>) {
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN);
        packet.set_dscp_ecn(0);
        packet.set_total_len((HEADER_LEN + self.payload_len) as u16);
        packet.set_ident(self.ident);
        packet.clear_flags();
        packet.set_frag_offset(0);
        packet.set_dont_frag(true);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::golden::golden_parse_emit_tests;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    /// 10.77.0.1 -> 10.77.0.2, UDP, ident 7, TTL 64, don't-fragment, a
    /// 10-byte payload of 5s; checksum 0x262c computed by hand (RFC 1071).
    static PACKET_BYTES: [u8; 30] = [
        0x45, 0x00, 0x00, 0x1e, 0x00, 0x07, 0x40, 0x00, 0x40, 0x11, 0x26, 0x2c, 0x0a, 0x4d, 0x00,
        0x01, 0x0a, 0x4d, 0x00, 0x02, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    ];
    static PAYLOAD_BYTES: [u8; 10] = [5; 10];
    const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    fn packet_repr() -> Ipv4Repr {
        Ipv4Repr {
            src_addr: SRC,
            dst_addr: DST,
            protocol: protocol::UDP,
            ident: 7,
            ttl: 64,
            payload_len: 10,
        }
    }

    #[test]
    fn test_deconstruct() {
        let p = Ipv4Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!((p.version(), p.header_len(), p.total_len()), (4, 20, 30));
        assert_eq!(p.dscp_ecn(), 0);
        assert_eq!(p.ident(), 7);
        assert!(p.dont_frag());
        assert!(!p.more_frags());
        assert_eq!(p.frag_offset(), 0);
        assert!(!p.is_fragment());
        assert_eq!((p.ttl(), p.protocol()), (64, 17));
        assert_eq!(p.checksum_field(), 0x262c);
        assert!(p.verify_checksum());
        assert_eq!((p.src_addr(), p.dst_addr()), (SRC, DST));
        assert_eq!(p.payload(), &PAYLOAD_BYTES);
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; 30];
        let mut p = Ipv4Packet::new_unchecked(&mut bytes[..]);
        p.set_version(4);
        p.set_header_len(20);
        p.set_dscp_ecn(0);
        p.set_total_len(30);
        p.set_ident(7);
        p.clear_flags();
        p.set_dont_frag(true);
        p.set_more_frags(false);
        p.set_frag_offset(0);
        p.set_ttl(64);
        p.set_protocol(protocol::UDP);
        p.set_src_addr(SRC);
        p.set_dst_addr(DST);
        p.fill_checksum();
        p.payload_mut().copy_from_slice(&PAYLOAD_BYTES);
        assert_eq!(bytes, PACKET_BYTES);
    }

    golden_parse_emit_tests!(
        Ipv4Packet,
        Ipv4Repr,
        PACKET_BYTES,
        packet_repr(),
        HEADER_LEN
    );

    #[test]
    fn fragments_do_not_parse() {
        let mut bytes = PACKET_BYTES;
        let mut p = Ipv4Packet::new_unchecked(&mut bytes[..]);
        p.set_more_frags(true);
        assert!(p.is_fragment());
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p), Err(Error::Malformed("IPv4 fragment")));
        let mut bytes = PACKET_BYTES;
        Ipv4Packet::new_unchecked(&mut bytes[..]).set_frag_offset(3);
        assert_eq!(&bytes[6..8], &[0x40, 0x03], "offset keeps the flags");
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert!(Ipv4Repr::parse(&p).is_err());
    }

    #[test]
    fn emit_then_parse() {
        let mut bytes = [0u8; 64]; // longer than total length: Ethernet padding
        let mut p = Ipv4Packet::new_unchecked(&mut bytes[..]);
        packet_repr().emit(&mut p);
        p.payload_mut().copy_from_slice(&[5; 10]);
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!((p.version(), p.header_len(), p.total_len()), (4, 20, 30));
        assert_eq!(
            (p.src_addr(), p.dst_addr(), p.protocol(), p.ttl(), p.ident()),
            (SRC, DST, 17, 64, 7)
        );
        assert!(!p.is_fragment());
        assert_eq!(p.payload(), &[5; 10]);
        // A flipped bit breaks the checksum.
        bytes[15] ^= 1;
        assert!(
            !Ipv4Packet::new_checked(&bytes[..])
                .unwrap()
                .verify_checksum()
        );
    }

    #[test]
    fn bad_headers_are_errors() {
        let mut bytes = [0u8; 40];
        Ipv4Repr {
            src_addr: Ipv4Addr::LOCALHOST,
            dst_addr: Ipv4Addr::LOCALHOST,
            protocol: 17,
            ident: 0,
            ttl: 1,
            payload_len: 20,
        }
        .emit(&mut Ipv4Packet::new_unchecked(&mut bytes[..]));
        for len in 0..40 {
            assert!(Ipv4Packet::new_checked(&bytes[..len]).is_err(), "len {len}");
        }
        let mut v6 = bytes;
        v6[0] = 0x65;
        assert!(matches!(
            Ipv4Packet::new_checked(&v6[..]),
            Err(Error::Malformed(_))
        ));
        let mut short_ihl = bytes;
        short_ihl[0] = 0x44;
        assert!(matches!(
            Ipv4Packet::new_checked(&short_ihl[..]),
            Err(Error::Malformed(_))
        ));
        let mut long_ihl = bytes;
        long_ihl[0] = 0x4f; // 60-byte header in a 40-byte buffer
        assert_eq!(
            Ipv4Packet::new_checked(&long_ihl[..]).err(),
            Some(Error::Truncated)
        );
        let mut tiny_total = bytes;
        tiny_total[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert!(matches!(
            Ipv4Packet::new_checked(&tiny_total[..]),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = StdRng::seed_from_u64(4);
        let mut valid = 0;
        for _ in 0..200_000 {
            let len = rng.random_range(0..80);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if len > 0 && rng.random_bool(0.5) {
                bytes[0] = 0x40 | (bytes[0] & 0x0f); // version 4 half the time
            }
            if let Ok(p) = Ipv4Packet::new_checked(&bytes[..]) {
                valid += 1;
                let _ = (
                    p.header_len(),
                    p.total_len(),
                    p.is_fragment(),
                    p.src_addr(),
                    p.dst_addr(),
                );
                let _ = (
                    p.verify_checksum(),
                    p.payload().len(),
                    p.protocol(),
                    p.checksum_field(),
                    Ipv4Repr::parse(&p),
                );
            }
        }
        assert!(
            valid > 0,
            "the generator should also reach the accepting path"
        );
    }
}
