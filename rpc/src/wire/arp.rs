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
//! Only the Ethernet/IPv4 flavour parses; anything else is
//! [`Error::Malformed`].

use std::net::Ipv4Addr;

use super::ethernet::{MacAddr, ethertype};
use super::view::header_view;
use super::{Error, Result};

/// ARP operation codes.
pub mod operation {
    /// "Who has TPA? Tell SPA."
    pub const REQUEST: u16 = 1;
    /// "TPA... no: SPA is at SHA."
    pub const REPLY: u16 = 2;
}

/// Hardware type of Ethernet.
const HTYPE_ETHERNET: u16 = 1;

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = field::TPA.end;

header_view! {
    /// A view of an Ethernet/IPv4 ARP packet in `buffer`; the flavour
    /// (Ethernet/IPv4) is checked by [`ArpRepr::parse`].
    pub struct ArpPacket;
    min_len: PACKET_LEN;
    other: [];
    fields: [
        /// Hardware type (1 for Ethernet).
        HTYPE = 0..2 => hardware_type, set_hardware_type: u16;
        /// Protocol type (an EtherType; 0x0800 for IPv4).
        PTYPE = 2..4 => protocol_type, set_protocol_type: u16;
        /// Hardware address length (6 for Ethernet).
        HLEN = 4..5 => hardware_len, set_hardware_len: u8;
        /// Protocol address length (4 for IPv4).
        PLEN = 5..6 => protocol_len, set_protocol_len: u8;
        /// Operation ([`operation::REQUEST`], [`operation::REPLY`], or other).
        OPER = 6..8 => operation, set_operation: u16;
        /// Sender hardware address.
        SHA = 8..14 => sender_mac, set_sender_mac: MacAddr;
        /// Sender protocol address.
        SPA = 14..18 => sender_ip, set_sender_ip: Ipv4Addr;
        /// Target hardware address (zero in a request).
        THA = 18..24 => target_mac, set_target_mac: MacAddr;
        /// Target protocol address.
        TPA = 24..28 => target_ip, set_target_ip: Ipv4Addr;
    ]
}

/// The parsed contents of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    /// Operation ([`operation::REQUEST`], [`operation::REPLY`], or other:
    /// the caller decides what it answers).
    pub operation: u16,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address (zero in a request).
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// Reads a checked view, rejecting anything but the Ethernet/IPv4
    /// flavour (hardware type 1, protocol 0x0800, lengths 6 and 4) with
    /// [`Error::Malformed`]. A few comparisons and a 28-byte copy.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &ArpPacket<&T>) -> Result<ArpRepr> {
        packet.check_len()?;
        if packet.hardware_type() != HTYPE_ETHERNET || packet.protocol_type() != ethertype::IPV4 {
            return Err(Error::Malformed("ARP is not Ethernet/IPv4"));
        }
        if packet.hardware_len() != 6 || packet.protocol_len() != 4 {
            return Err(Error::Malformed("ARP address lengths are not 6/4"));
        }
        Ok(ArpRepr {
            operation: packet.operation(),
            sender_mac: packet.sender_mac(),
            sender_ip: packet.sender_ip(),
            target_mac: packet.target_mac(),
            target_ip: packet.target_ip(),
        })
    }

    /// Bytes [`emit`](Self::emit) writes: [`PACKET_LEN`].
    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Writes a whole Ethernet/IPv4 ARP packet. Panics if the buffer is
    /// shorter than [`PACKET_LEN`] (a programming error).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut ArpPacket<&mut T>) {
        packet.set_hardware_type(HTYPE_ETHERNET);
        packet.set_protocol_type(ethertype::IPV4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_sender_mac(self.sender_mac);
        packet.set_sender_ip(self.sender_ip);
        packet.set_target_mac(self.target_mac);
        packet.set_target_ip(self.target_ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::golden::golden_parse_emit_tests;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    /// "Who has 10.77.0.2? Tell 10.77.0.1 (02:00:00:00:00:01)." What Linux
    /// sends starts 00 01 08 00 06 04 00 01 too.
    static PACKET_BYTES: [u8; PACKET_LEN] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a,
        0x4d, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x4d, 0x00, 0x02,
    ];
    const ME: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

    fn packet_repr() -> ArpRepr {
        ArpRepr {
            operation: operation::REQUEST,
            sender_mac: ME,
            sender_ip: Ipv4Addr::new(10, 77, 0, 1),
            target_mac: MacAddr::ZERO,
            target_ip: Ipv4Addr::new(10, 77, 0, 2),
        }
    }

    fn parse(b: &[u8]) -> Result<ArpRepr> {
        ArpRepr::parse(&ArpPacket::new_checked(b)?)
    }

    #[test]
    fn test_deconstruct() {
        let a = ArpPacket::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!((a.hardware_type(), a.protocol_type()), (1, 0x0800));
        assert_eq!((a.hardware_len(), a.protocol_len()), (6, 4));
        assert_eq!(a.operation(), operation::REQUEST);
        assert_eq!(
            (a.sender_mac(), a.sender_ip()),
            (ME, Ipv4Addr::new(10, 77, 0, 1))
        );
        assert_eq!(
            (a.target_mac(), a.target_ip()),
            (MacAddr::ZERO, Ipv4Addr::new(10, 77, 0, 2))
        );
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; PACKET_LEN];
        let mut a = ArpPacket::new_unchecked(&mut bytes[..]);
        a.set_hardware_type(1);
        a.set_protocol_type(0x0800);
        a.set_hardware_len(6);
        a.set_protocol_len(4);
        a.set_operation(operation::REQUEST);
        a.set_sender_mac(ME);
        a.set_sender_ip(Ipv4Addr::new(10, 77, 0, 1));
        a.set_target_mac(MacAddr::ZERO);
        a.set_target_ip(Ipv4Addr::new(10, 77, 0, 2));
        assert_eq!(bytes, PACKET_BYTES);
    }

    golden_parse_emit_tests!(ArpPacket, ArpRepr, PACKET_BYTES, packet_repr(), PACKET_LEN);

    #[test]
    fn wrong_flavour_and_random_bytes_are_errors_not_panics() {
        let mut b = [0u8; 28];
        ArpRepr {
            operation: operation::REPLY,
            sender_mac: MacAddr::ZERO,
            sender_ip: Ipv4Addr::UNSPECIFIED,
            target_mac: MacAddr::ZERO,
            target_ip: Ipv4Addr::UNSPECIFIED,
        }
        .emit(&mut ArpPacket::new_unchecked(&mut b[..]));
        for len in 0..28 {
            assert_eq!(
                ArpPacket::new_checked(&b[..len]).err(),
                Some(Error::Truncated)
            );
        }
        let mut ipv6 = b;
        ipv6[2..4].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert!(matches!(parse(&ipv6), Err(Error::Malformed(_))));
        let mut lens = b;
        lens[4] = 8;
        assert!(matches!(parse(&lens), Err(Error::Malformed(_))));
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
                    parse(&bytes),
                );
            }
        }
    }
}
