//! ARP for IPv4 over Ethernet (RFC 826): a zero-copy view over a byte buffer.
//!
//! Layout (big-endian, 28 bytes):
//!
//! | offset | size | field                          |
//! |-------:|-----:|--------------------------------|
//! | 0      | 2    | hardware type (1 = Ethernet)   |
//! | 2      | 2    | protocol type (0x0800 = IPv4)  |
//! | 4      | 1    | hardware address length (6)    |
//! | 5      | 1    | protocol address length (4)    |
//! | 6      | 2    | operation (1 request, 2 reply) |
//! | 8      | 6    | sender hardware address        |
//! | 14     | 4    | sender protocol address        |
//! | 18     | 6    | target hardware address        |
//! | 24     | 4    | target protocol address        |
//!
//! Only the Ethernet/IPv4 flavour is accepted; anything else is
//! [`FrameError::Malformed`].

use std::net::Ipv4Addr;

pub use super::ethernet::FrameError;
use super::ethernet::{MacAddr, ethertype};

/// ARP operation codes.
pub mod operation {
    /// "Who has TPA? Tell SPA."
    pub const REQUEST: u16 = 1;
    /// "TPA... no: SPA is at SHA."
    pub const REPLY: u16 = 2;
}

/// A view of an Ethernet/IPv4 ARP packet in `buffer`.
#[derive(Debug, Clone)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Length of an Ethernet/IPv4 ARP packet.
    pub const LEN: usize = 28;

    /// Wraps `buffer` without checking; accessors may panic on short buffers.
    pub fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// Wraps `buffer` after checking its length and that it is the
    /// Ethernet/IPv4 flavour of ARP.
    pub fn new_checked(buffer: T) -> Result<Self, FrameError> {
        let b = buffer.as_ref();
        if b.len() < Self::LEN {
            return Err(FrameError::Truncated);
        }
        if u16::from_be_bytes([b[0], b[1]]) != 1
            || u16::from_be_bytes([b[2], b[3]]) != ethertype::IPV4
        {
            return Err(FrameError::Malformed("ARP is not Ethernet/IPv4"));
        }
        if b[4] != 6 || b[5] != 4 {
            return Err(FrameError::Malformed("ARP address lengths are not 6/4"));
        }
        Ok(ArpPacket { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Operation ([`operation::REQUEST`], [`operation::REPLY`], or other).
    pub fn operation(&self) -> u16 {
        u16::from_be_bytes([self.b()[6], self.b()[7]])
    }

    /// Sender hardware address.
    pub fn sender_mac(&self) -> MacAddr {
        MacAddr(self.b()[8..14].try_into().expect("6 bytes"))
    }

    /// Sender protocol address.
    pub fn sender_ip(&self) -> Ipv4Addr {
        let b = self.b();
        Ipv4Addr::new(b[14], b[15], b[16], b[17])
    }

    /// Target hardware address (zero in a request).
    pub fn target_mac(&self) -> MacAddr {
        MacAddr(self.b()[18..24].try_into().expect("6 bytes"))
    }

    /// Target protocol address.
    pub fn target_ip(&self) -> Ipv4Addr {
        let b = self.b();
        Ipv4Addr::new(b[24], b[25], b[26], b[27])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Writes a whole Ethernet/IPv4 ARP packet. Panics if the buffer is
    /// shorter than 28 bytes (a programming error).
    pub fn emit(
        &mut self,
        op: u16,
        sender_mac: MacAddr,
        sender_ip: Ipv4Addr,
        target_mac: MacAddr,
        target_ip: Ipv4Addr,
    ) {
        let b = &mut self.buffer.as_mut()[..Self::LEN];
        b[0..2].copy_from_slice(&1u16.to_be_bytes());
        b[2..4].copy_from_slice(&ethertype::IPV4.to_be_bytes());
        b[4] = 6;
        b[5] = 4;
        b[6..8].copy_from_slice(&op.to_be_bytes());
        b[8..14].copy_from_slice(&sender_mac.0);
        b[14..18].copy_from_slice(&sender_ip.octets());
        b[18..24].copy_from_slice(&target_mac.0);
        b[24..28].copy_from_slice(&target_ip.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    #[test]
    fn emit_then_parse() {
        let mut b = [0u8; 28];
        let me = MacAddr([2, 0, 0, 0, 0, 1]);
        ArpPacket::new_unchecked(&mut b[..]).emit(
            operation::REQUEST,
            me,
            Ipv4Addr::new(10, 77, 0, 1),
            MacAddr::ZERO,
            Ipv4Addr::new(10, 77, 0, 2),
        );
        let a = ArpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(a.operation(), operation::REQUEST);
        assert_eq!(
            (a.sender_mac(), a.sender_ip()),
            (me, Ipv4Addr::new(10, 77, 0, 1))
        );
        assert_eq!(
            (a.target_mac(), a.target_ip()),
            (MacAddr::ZERO, Ipv4Addr::new(10, 77, 0, 2))
        );
        // What Linux sends starts 00 01 08 00 06 04 00 01.
        assert_eq!(&b[..8], &[0, 1, 8, 0, 6, 4, 0, 1]);
    }

    #[test]
    fn wrong_flavour_and_random_bytes_are_errors_not_panics() {
        let mut b = [0u8; 28];
        ArpPacket::new_unchecked(&mut b[..]).emit(
            operation::REPLY,
            MacAddr::ZERO,
            Ipv4Addr::UNSPECIFIED,
            MacAddr::ZERO,
            Ipv4Addr::UNSPECIFIED,
        );
        for len in 0..28 {
            assert_eq!(
                ArpPacket::new_checked(&b[..len]).err(),
                Some(FrameError::Truncated)
            );
        }
        let mut ipv6 = b;
        ipv6[2..4].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert!(matches!(
            ArpPacket::new_checked(&ipv6[..]),
            Err(FrameError::Malformed(_))
        ));
        let mut lens = b;
        lens[4] = 8;
        assert!(matches!(
            ArpPacket::new_checked(&lens[..]),
            Err(FrameError::Malformed(_))
        ));
        let mut rng = StdRng::seed_from_u64(826);
        for _ in 0..100_000 {
            let len = rng.random_range(0..40);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if len >= 6 && rng.random_bool(0.5) {
                bytes[..6].copy_from_slice(&[0, 1, 8, 0, 6, 4]);
            }
            if let Ok(a) = ArpPacket::new_checked(&bytes[..]) {
                let _ = (
                    a.operation(),
                    a.sender_mac(),
                    a.sender_ip(),
                    a.target_mac(),
                    a.target_ip(),
                );
            }
        }
    }
}
