//! UDP header: a zero-copy view over a byte buffer, with the IPv4
//! pseudo-header checksum.
//!
//! Layout (big-endian, 8 bytes):
//!
//! | offset | size | field            |
//! |-------:|-----:|------------------|
//! | 0      | 2    | source port      |
//! | 2      | 2    | destination port |
//! | 4      | 2    | length (header + payload) |
//! | 6      | 2    | checksum (0 = none, IPv4 only) |

use std::net::Ipv4Addr;

use super::checksum;
use super::ipv4::protocol;
use super::view::header_view;
use super::{Error, Result};

/// Length of the header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// The one's-complement sum, not yet folded, of the IPv4 pseudo-header for
/// a UDP datagram of `udp_len` bytes from `src` to `dst`.
pub fn pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, udp_len: u16) -> u32 {
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&src.octets());
    pseudo[4..8].copy_from_slice(&dst.octets());
    pseudo[9] = protocol::UDP;
    pseudo[10..12].copy_from_slice(&udp_len.to_be_bytes());
    checksum::accumulate(0, &pseudo)
}

header_view! {
    /// A view of a UDP datagram in `buffer` (header, then payload).
    pub struct UdpPacket;
    other: [];
    fields: [
        /// Source port.
        SRC_PORT = 0..2 => src_port, set_src_port: u16;
        /// Destination port.
        DST_PORT = 2..4 => dst_port, set_dst_port: u16;
        /// Length field (header + payload).
        LENGTH = 4..6 => len, set_len: u16;
        /// Checksum field (0 means the sender did not compute one; see
        /// [`fill_checksum`](Self::fill_checksum)).
        CHECKSUM = 6..8 => checksum_field, set_checksum_field: u16;
    ]
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Checks that the header is whole ([`Error::Truncated`]) and that its
    /// length field is at least 8 ([`Error::Malformed`]) and at most the
    /// buffer length ([`Error::Truncated`]).
    pub fn check_len(&self) -> Result<()> {
        let buf_len = self.b().len();
        if buf_len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = self.len() as usize;
        if len < HEADER_LEN {
            return Err(Error::Malformed("UDP length below 8"));
        }
        if len > buf_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Whether the datagram has no payload.
    pub fn is_empty(&self) -> bool {
        self.len() as usize == HEADER_LEN
    }

    /// Whether the checksum is right for this datagram sent from `src` to
    /// `dst`; a zero checksum field (none computed) counts as right. Costs one
    /// pass over the datagram.
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.checksum_field() == 0 {
            return true;
        }
        let len = self.len();
        let sum = checksum::accumulate(pseudo_header_sum(src, dst, len), &self.b()[..len as usize]);
        checksum::finish(sum) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> UdpPacket<&'a T> {
    /// The payload: from byte 8 to the length field, borrowed for as long
    /// as the buffer.
    pub fn payload(&self) -> &'a [u8] {
        let end = self.len() as usize;
        let data = self.buffer;
        &data.as_ref()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Computes and writes the checksum over header and payload (as given by
    /// the length field). Costs one pass over the datagram.
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        let len = self.len();
        self.set_checksum_field(0);
        let sum = checksum::finish(checksum::accumulate(
            pseudo_header_sum(src, dst, len),
            &self.b()[..len as usize],
        ));
        // A computed 0 is sent as 0xffff (RFC 768): 0 means "no checksum".
        self.set_checksum_field(if sum == 0 { 0xffff } else { sum });
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = self.len() as usize;
        &mut self.b_mut()[HEADER_LEN..end]
    }
}

/// The parsed contents of a UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Bytes after the header.
    pub payload_len: usize,
}

impl UdpRepr {
    /// Reads a checked view. The checksum is left to
    /// [`UdpPacket::verify_checksum`] (it needs the IP addresses, and a NIC
    /// may have checked it already).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &UdpPacket<&T>) -> Result<UdpRepr> {
        packet.check_len()?;
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: packet.len() as usize - HEADER_LEN,
        })
    }

    /// Bytes [`emit`](Self::emit) writes: [`HEADER_LEN`].
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header, length `8 + payload_len`, with a zero (absent)
    /// checksum; call [`UdpPacket::fill_checksum`] after writing the payload
    /// to add one. Panics if the buffer is shorter than 8 bytes (a
    /// programming error); `payload_len` must fit the 16-bit length.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut UdpPacket<&mut T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len((HEADER_LEN + self.payload_len) as u16);
        packet.set_checksum_field(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    /// 10.77.0.1:4000 -> 10.77.0.2:31850, payload "hello"; checksum 0x1b5b
    /// computed by hand (pseudo-header + header + payload, RFC 768).
    static PACKET_BYTES: [u8; 13] = [
        0x0f, 0xa0, 0x7c, 0x6a, 0x00, 0x0d, 0x1b, 0x5b, b'h', b'e', b'l', b'l', b'o',
    ];

    fn packet_repr() -> UdpRepr {
        UdpRepr {
            src_port: 4000,
            dst_port: 31850,
            payload_len: 5,
        }
    }

    #[test]
    fn test_deconstruct() {
        let u = UdpPacket::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(
            (u.src_port(), u.dst_port(), u.len(), u.checksum_field()),
            (4000, 31850, 13, 0x1b5b)
        );
        assert!(!u.is_empty());
        assert!(u.verify_checksum(SRC, DST));
        assert_eq!(u.payload(), b"hello");
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; 13];
        let mut u = UdpPacket::new_unchecked(&mut bytes[..]);
        u.set_src_port(4000);
        u.set_dst_port(31850);
        u.set_len(13);
        u.payload_mut().copy_from_slice(b"hello");
        u.fill_checksum(SRC, DST);
        assert_eq!(bytes, PACKET_BYTES);
    }

    #[test]
    fn test_parse() {
        let u = UdpPacket::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(UdpRepr::parse(&u), Ok(packet_repr()));
    }

    #[test]
    fn test_emit() {
        let repr = packet_repr();
        let mut bytes = [0xa5u8; 13];
        let mut u = UdpPacket::new_unchecked(&mut bytes[..]);
        repr.emit(&mut u);
        assert_eq!(u.checksum_field(), 0, "emit leaves the checksum absent");
        u.payload_mut().copy_from_slice(b"hello");
        u.fill_checksum(SRC, DST);
        assert_eq!(repr.buffer_len(), 8);
        assert_eq!(bytes, PACKET_BYTES);
    }

    #[test]
    fn emit_checksum_parse() {
        let mut bytes = [0u8; 8 + 5];
        let mut u = UdpPacket::new_unchecked(&mut bytes[..]);
        packet_repr().emit(&mut u);
        u.payload_mut().copy_from_slice(b"hello");
        assert!(u.verify_checksum(SRC, DST), "zero checksum means none");
        u.fill_checksum(SRC, DST);
        let u = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert_ne!(u.checksum_field(), 0);
        assert!(u.verify_checksum(SRC, DST));
        assert!(
            !u.verify_checksum(SRC, Ipv4Addr::new(10, 77, 0, 3)),
            "pseudo-header covers the addresses"
        );
        assert_eq!(
            (u.src_port(), u.dst_port(), u.len(), u.payload()),
            (4000, 31850, 13, &b"hello"[..])
        );
        bytes[9] ^= 0x40;
        assert!(
            !UdpPacket::new_checked(&bytes[..])
                .unwrap()
                .verify_checksum(SRC, DST)
        );
    }

    #[test]
    fn known_checksum() {
        // 10.0.0.1:1234 -> 10.0.0.2:5678, payload "abc".
        let mut bytes = [0u8; 11];
        let mut u = UdpPacket::new_unchecked(&mut bytes[..]);
        UdpRepr {
            src_port: 1234,
            dst_port: 5678,
            payload_len: 3,
        }
        .emit(&mut u);
        u.payload_mut().copy_from_slice(b"abc");
        u.fill_checksum(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        // Independent computation by hand: pseudo header + header + payload words.
        let words: [u32; 12] = [
            0x0a00, 0x0001, 0x0a00, 0x0002, 0x0011, 11, 1234, 5678, 11, 0, 0x6162, 0x6300,
        ];
        let mut s: u32 = words.iter().sum();
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        assert_eq!(u.checksum_field(), !(s as u16));
    }

    #[test]
    fn bad_lengths_are_errors_and_random_bytes_never_panic() {
        assert_eq!(
            UdpPacket::new_checked(&[0u8; 7][..]).err(),
            Some(Error::Truncated)
        );
        let mut b = [0u8; 8];
        b[5] = 7;
        assert!(matches!(
            UdpPacket::new_checked(&b[..]),
            Err(Error::Malformed(_))
        ));
        b[5] = 9;
        assert_eq!(UdpPacket::new_checked(&b[..]).err(), Some(Error::Truncated));
        let mut rng = StdRng::seed_from_u64(17);
        let mut valid = 0;
        for _ in 0..200_000 {
            let len = rng.random_range(0..40);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if len >= 6 && rng.random_bool(0.5) {
                bytes[4] = 0;
                bytes[5] = rng.random_range(0..48);
            }
            if let Ok(u) = UdpPacket::new_checked(&bytes[..]) {
                valid += 1;
                let _ = (
                    u.src_port(),
                    u.dst_port(),
                    u.payload().len(),
                    u.verify_checksum(SRC, DST),
                    u.is_empty(),
                    UdpRepr::parse(&u),
                );
            }
        }
        assert!(valid > 0);
    }
}
