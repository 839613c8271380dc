//! IPv4 header: a zero-copy view over a byte buffer, and the Internet
//! checksum (RFC 1071) that IPv4 and UDP share.
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

pub use super::ethernet::FrameError;

/// IP protocol numbers Tern handles.
pub mod protocol {
    /// UDP.
    pub const UDP: u8 = 17;
}

/// Folds the one's-complement sum of `data` (as big-endian 16-bit words, an
/// odd last byte padded with zero) into `initial`, without the final
/// complement. Costs one pass over `data`, 8 bytes per step.
pub fn checksum_accumulate(initial: u32, data: &[u8]) -> u32 {
    let mut sum = initial as u64;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes(c.try_into().expect("8 bytes"));
        sum += (w >> 32) + (w & 0xffff_ffff);
    }
    let mut rest = chunks.remainder().chunks_exact(2);
    for c in &mut rest {
        sum += u16::from_be_bytes([c[0], c[1]]) as u64;
    }
    if let [last] = rest.remainder() {
        sum += (*last as u64) << 8;
    }
    while sum > 0xffff_ffff {
        sum = (sum & 0xffff_ffff) + (sum >> 32);
    }
    sum as u32
}

/// Finishes a sum from [`checksum_accumulate`]: folds to 16 bits and
/// complements.
pub fn checksum_finish(sum: u32) -> u16 {
    let mut s = sum;
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// The Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    checksum_finish(checksum_accumulate(0, data))
}

/// A view of an IPv4 packet in `buffer` (header, then payload).
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Length of a header without options.
    pub const HEADER_LEN: usize = 20;

    /// Wraps `buffer` without checking it; accessors may panic on short
    /// buffers. Use [`new_checked`](Self::new_checked) for untrusted bytes.
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps `buffer` after checking: whole header present, version 4,
    /// IHL ≥ 5, and total length between the header length and the buffer
    /// length (a buffer longer than the total length — Ethernet padding — is
    /// fine; [`payload`](Self::payload) stops at the total length). The
    /// checksum is not checked here: see [`verify_checksum`](Self::verify_checksum).
    pub fn new_checked(buffer: T) -> Result<Self, FrameError> {
        let b = buffer.as_ref();
        if b.len() < Self::HEADER_LEN {
            return Err(FrameError::Truncated);
        }
        if b[0] >> 4 != 4 {
            return Err(FrameError::Malformed("IP version is not 4"));
        }
        let header_len = ((b[0] & 0x0f) as usize) * 4;
        if header_len < Self::HEADER_LEN {
            return Err(FrameError::Malformed("IPv4 header length below 20"));
        }
        let total = u16::from_be_bytes([b[2], b[3]]) as usize;
        if header_len > b.len() || total > b.len() {
            return Err(FrameError::Truncated);
        }
        if total < header_len {
            return Err(FrameError::Malformed(
                "IPv4 total length below header length",
            ));
        }
        Ok(Ipv4Packet { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// IP version (4 on a checked view).
    pub fn version(&self) -> u8 {
        self.b()[0] >> 4
    }

    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        ((self.b()[0] & 0x0f) as usize) * 4
    }

    /// Total length (header + payload) in bytes.
    pub fn total_len(&self) -> u16 {
        u16::from_be_bytes([self.b()[2], self.b()[3]])
    }

    /// Identification field.
    pub fn ident(&self) -> u16 {
        u16::from_be_bytes([self.b()[4], self.b()[5]])
    }

    /// Whether "more fragments" is set or the fragment offset is non-zero,
    /// i.e. this packet is part of a fragmented datagram.
    pub fn is_fragment(&self) -> bool {
        let v = u16::from_be_bytes([self.b()[6], self.b()[7]]);
        v & 0x3fff != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.b()[8]
    }

    /// Protocol of the payload (see [`protocol`]).
    pub fn protocol(&self) -> u8 {
        self.b()[9]
    }

    /// The header checksum field.
    pub fn checksum_field(&self) -> u16 {
        u16::from_be_bytes([self.b()[10], self.b()[11]])
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = self.b();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = self.b();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }

    /// Whether the header checksum is right (sums the header, options included).
    pub fn verify_checksum(&self) -> bool {
        checksum(&self.b()[..self.header_len()]) == 0
    }

    /// The payload: from the end of the header to the total length.
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..self.total_len() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Writes a 20-byte header without options: version 4, IHL 5, DSCP 0,
    /// don't-fragment set, the given fields, and the checksum. `payload_len`
    /// is the length of what follows the header. The buffer must hold at
    /// least 20 bytes (panics otherwise, as a programming error).
    pub fn emit(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: u8,
        ident: u16,
        ttl: u8,
        payload_len: u16,
    ) {
        let b = &mut self.buffer.as_mut()[..Self::HEADER_LEN];
        b[0] = 0x45;
        b[1] = 0;
        b[2..4].copy_from_slice(&(Self::HEADER_LEN as u16 + payload_len).to_be_bytes());
        b[4..6].copy_from_slice(&ident.to_be_bytes());
        b[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
        b[8] = ttl;
        b[9] = protocol;
        b[10..12].copy_from_slice(&[0, 0]);
        b[12..16].copy_from_slice(&src.octets());
        b[16..20].copy_from_slice(&dst.octets());
        let sum = checksum(b);
        b[10..12].copy_from_slice(&sum.to_be_bytes());
    }

    /// The payload, writable (from the end of the header to the total length).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = (self.header_len(), self.total_len() as usize);
        &mut self.buffer.as_mut()[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
        // Odd length: the last byte is padded with zero.
        assert_eq!(checksum(&[0x12]), !0x1200);
        // Split accumulation equals one pass when split at an even offset.
        let long: Vec<u8> = (0..=255u8).collect();
        let split = checksum_finish(checksum_accumulate(
            checksum_accumulate(0, &long[..100]),
            &long[100..],
        ));
        assert_eq!(split, checksum(&long));
    }

    #[test]
    fn emit_then_parse() {
        let mut bytes = [0u8; 64]; // longer than total length: Ethernet padding
        let (src, dst) = (Ipv4Addr::new(10, 77, 0, 1), Ipv4Addr::new(10, 77, 0, 2));
        let mut p = Ipv4Packet::new_unchecked(&mut bytes[..]);
        p.emit(src, dst, protocol::UDP, 7, 64, 10);
        p.payload_mut().copy_from_slice(&[5; 10]);
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!((p.version(), p.header_len(), p.total_len()), (4, 20, 30));
        assert_eq!(
            (p.src_addr(), p.dst_addr(), p.protocol(), p.ttl(), p.ident()),
            (src, dst, 17, 64, 7)
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
        Ipv4Packet::new_unchecked(&mut bytes[..]).emit(
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::LOCALHOST,
            17,
            0,
            1,
            20,
        );
        for len in 0..40 {
            assert!(Ipv4Packet::new_checked(&bytes[..len]).is_err(), "len {len}");
        }
        let mut v6 = bytes;
        v6[0] = 0x65;
        assert!(matches!(
            Ipv4Packet::new_checked(&v6[..]),
            Err(FrameError::Malformed(_))
        ));
        let mut short_ihl = bytes;
        short_ihl[0] = 0x44;
        assert!(matches!(
            Ipv4Packet::new_checked(&short_ihl[..]),
            Err(FrameError::Malformed(_))
        ));
        let mut long_ihl = bytes;
        long_ihl[0] = 0x4f; // 60-byte header in a 40-byte buffer
        assert_eq!(
            Ipv4Packet::new_checked(&long_ihl[..]).err(),
            Some(FrameError::Truncated)
        );
        let mut tiny_total = bytes;
        tiny_total[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert!(matches!(
            Ipv4Packet::new_checked(&tiny_total[..]),
            Err(FrameError::Malformed(_))
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
                );
            }
        }
        assert!(
            valid > 0,
            "the generator should also reach the accepting path"
        );
    }
}
