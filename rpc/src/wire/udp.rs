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

pub use super::ethernet::FrameError;
use super::ipv4::{checksum_accumulate, checksum_finish, protocol};

/// A view of a UDP datagram in `buffer` (header, then payload).
#[derive(Debug, Clone)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

/// The one's-complement sum of the IPv4 pseudo-header for a UDP datagram of
/// `udp_len` bytes.
fn pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, udp_len: u16) -> u32 {
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&src.octets());
    pseudo[4..8].copy_from_slice(&dst.octets());
    pseudo[9] = protocol::UDP;
    pseudo[10..12].copy_from_slice(&udp_len.to_be_bytes());
    checksum_accumulate(0, &pseudo)
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Length of the header.
    pub const HEADER_LEN: usize = 8;

    /// Wraps `buffer` without checking; accessors may panic on short
    /// buffers. Use [`new_checked`](Self::new_checked) for untrusted bytes.
    pub fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// Wraps `buffer` after checking that the header is whole and its length
    /// field lies between 8 and the buffer length.
    pub fn new_checked(buffer: T) -> Result<Self, FrameError> {
        let b = buffer.as_ref();
        if b.len() < Self::HEADER_LEN {
            return Err(FrameError::Truncated);
        }
        let len = u16::from_be_bytes([b[4], b[5]]) as usize;
        if len < Self::HEADER_LEN {
            return Err(FrameError::Malformed("UDP length below 8"));
        }
        if len > b.len() {
            return Err(FrameError::Truncated);
        }
        Ok(UdpPacket { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        u16::from_be_bytes([self.b()[0], self.b()[1]])
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        u16::from_be_bytes([self.b()[2], self.b()[3]])
    }

    /// Length field (header + payload).
    pub fn len(&self) -> u16 {
        u16::from_be_bytes([self.b()[4], self.b()[5]])
    }

    /// Whether the datagram has no payload.
    pub fn is_empty(&self) -> bool {
        self.len() as usize == Self::HEADER_LEN
    }

    /// Checksum field (0 means the sender did not compute one).
    pub fn checksum_field(&self) -> u16 {
        u16::from_be_bytes([self.b()[6], self.b()[7]])
    }

    /// Whether the checksum is right for this datagram sent from `src` to
    /// `dst`; a zero checksum field (none computed) counts as right. Costs one
    /// pass over the datagram.
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.checksum_field() == 0 {
            return true;
        }
        let len = self.len();
        let sum = checksum_accumulate(pseudo_header_sum(src, dst, len), &self.b()[..len as usize]);
        checksum_finish(sum) == 0
    }

    /// The payload: from byte 8 to the length field.
    pub fn payload(&self) -> &[u8] {
        &self.b()[Self::HEADER_LEN..self.len() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Writes the header for a payload of `payload_len` bytes with a zero
    /// (absent) checksum; call [`fill_checksum`](Self::fill_checksum) after
    /// writing the payload to add one. Panics if the buffer is shorter than 8
    /// bytes (a programming error).
    pub fn emit(&mut self, src_port: u16, dst_port: u16, payload_len: u16) {
        let b = &mut self.buffer.as_mut()[..Self::HEADER_LEN];
        b[0..2].copy_from_slice(&src_port.to_be_bytes());
        b[2..4].copy_from_slice(&dst_port.to_be_bytes());
        b[4..6].copy_from_slice(&(Self::HEADER_LEN as u16 + payload_len).to_be_bytes());
        b[6..8].copy_from_slice(&[0, 0]);
    }

    /// Computes and writes the checksum over header and payload (as given by
    /// the length field). Costs one pass over the datagram.
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        let len = self.len();
        let b = self.buffer.as_mut();
        b[6..8].copy_from_slice(&[0, 0]);
        let sum = checksum_finish(checksum_accumulate(
            pseudo_header_sum(src, dst, len),
            &b[..len as usize],
        ));
        // A computed 0 is sent as 0xffff (RFC 768): 0 means "no checksum".
        let sum = if sum == 0 { 0xffff } else { sum };
        b[6..8].copy_from_slice(&sum.to_be_bytes());
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = self.len() as usize;
        &mut self.buffer.as_mut()[Self::HEADER_LEN..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    #[test]
    fn emit_checksum_parse() {
        let mut bytes = [0u8; 8 + 5];
        let mut u = UdpPacket::new_unchecked(&mut bytes[..]);
        u.emit(4000, 31850, 5);
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
        // A datagram captured from Linux: 10.0.0.1:1234 -> 10.0.0.2:5678, payload "abc".
        let mut bytes = [0u8; 11];
        let mut u = UdpPacket::new_unchecked(&mut bytes[..]);
        u.emit(1234, 5678, 3);
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
            Some(FrameError::Truncated)
        );
        let mut b = [0u8; 8];
        b[5] = 7;
        assert!(matches!(
            UdpPacket::new_checked(&b[..]),
            Err(FrameError::Malformed(_))
        ));
        b[5] = 9;
        assert_eq!(
            UdpPacket::new_checked(&b[..]).err(),
            Some(FrameError::Truncated)
        );
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
                );
            }
        }
        assert!(valid > 0);
    }
}
