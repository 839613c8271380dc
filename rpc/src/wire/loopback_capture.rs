//! A real Tern request as Linux put it on the loopback interface, read and
//! rebuilt through every view and repr from the Ethernet header down to the
//! payload.
//!
//! Captured (2026, Linux 6.x, `tcpdump` 4.99) with:
//!
//! ```text
//! tcpdump -U -i lo -w tern.pcap -c 4 udp port 31850 &
//! target/release/loadgen echo-server --listen 127.0.0.1:31850 --duration 4 &
//! target/release/loadgen call --server udp://127.0.0.1:31850 --route 7 hello
//! tcpdump -r tern.pcap -nn -vv -XX      # the 3rd packet, 63 bytes
//! ```
//!
//! Packets 1 and 2 are the connect and its ack, 3 the request, 4 the
//! response. On `lo` the link layer is a 14-byte Ethernet header with zero
//! addresses. The client's port (51709), the IP identification (0x65b3) and
//! the server's session number (0x6865, from the ack) differ from run to
//! run; everything else is fixed by the command.
//!
//! The UDP checksum field is not a finished checksum: loopback "offloads" it
//! (CHECKSUM_PARTIAL), so the kernel leaves the folded, uncomplemented
//! pseudo-header sum there, as a NIC with checksum offload expects, and
//! tcpdump reports `bad udp cksum 0xfe30 -> 0xbaf3!`. The test pins both.

use std::net::Ipv4Addr;

use super::checksum;
use super::ethernet::{self, EthernetFrame, EthernetRepr, MacAddr, ethertype};
use super::ipv4::{self, Ipv4Packet, Ipv4Repr, protocol};
use super::tern::{self, PacketKind, TernPacket, TernRepr};
use super::udp::{self, UdpPacket, UdpRepr, pseudo_header_sum};

static FRAME_BYTES: [u8; 63] = [
    // Ethernet: zero destination and source, EtherType IPv4.
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00,
    // IPv4: 45 00, total 49, ident 0x65b3, DF, TTL 64, UDP, checksum 0xd706,
    // 127.0.0.1 -> 127.0.0.1.
    0x45, 0x00, 0x00, 0x31, 0x65, 0xb3, 0x40, 0x00, 0x40, 0x11, 0xd7, 0x06, 0x7f, 0x00, 0x00, 0x01,
    0x7f, 0x00, 0x00, 0x01,
    // UDP: 51709 -> 31850, length 29, checksum field 0xfe30 (partial).
    0xc9, 0xfd, 0x7c, 0x6a, 0x00, 0x1d, 0xfe, 0x30,
    // Tern: request, type 7, session 0x6865, packet 0, request 0, length 5.
    0x54, 0x12, 0x00, 0x07, 0x68, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x05, // payload
    b'h', b'e', b'l', b'l', b'o',
];

/// What tcpdump computed as the right UDP checksum for these bytes.
const TCPDUMP_UDP_CHECKSUM: u16 = 0xbaf3;

fn ethernet_repr() -> EthernetRepr {
    EthernetRepr {
        src_addr: MacAddr::ZERO,
        dst_addr: MacAddr::ZERO,
        ethertype: ethertype::IPV4,
    }
}

fn ipv4_repr() -> Ipv4Repr {
    Ipv4Repr {
        src_addr: Ipv4Addr::LOCALHOST,
        dst_addr: Ipv4Addr::LOCALHOST,
        protocol: protocol::UDP,
        ident: 0x65b3,
        ttl: 64,
        payload_len: 29,
    }
}

fn udp_repr() -> UdpRepr {
    UdpRepr {
        src_port: 51709,
        dst_port: 31850,
        payload_len: 21,
    }
}

fn tern_repr() -> TernRepr {
    TernRepr {
        kind: PacketKind::Request,
        req_type: 7,
        session: 0x6865,
        pkt_num: 0,
        req_num: 0,
        msg_len: 5,
    }
}

#[test]
fn test_parse_kernel_datagram() {
    let eth = EthernetFrame::new_checked(&FRAME_BYTES[..]).unwrap();
    assert_eq!(EthernetRepr::parse(&eth), Ok(ethernet_repr()));
    let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
    assert!(ip.verify_checksum(), "the kernel's IPv4 checksum");
    assert_eq!(ip.checksum_field(), 0xd706);
    assert!(ip.dont_frag());
    assert_eq!(Ipv4Repr::parse(&ip), Ok(ipv4_repr()));
    let udp = UdpPacket::new_checked(ip.payload()).unwrap();
    assert_eq!(UdpRepr::parse(&udp), Ok(udp_repr()));
    let localhost = Ipv4Addr::LOCALHOST;
    assert_eq!(
        udp.checksum_field(),
        checksum::fold(pseudo_header_sum(localhost, localhost, 29)),
        "loopback leaves the pseudo-header sum for an offload engine"
    );
    assert!(!udp.verify_checksum(localhost, localhost));
    let tern = TernPacket::new_checked(udp.payload()).unwrap();
    assert_eq!(TernRepr::parse(&tern), Ok(tern_repr()));
    assert_eq!(tern.payload(), b"hello");
}

#[test]
fn test_fill_checksum_matches_tcpdump() {
    let mut bytes = FRAME_BYTES;
    let start = ethernet::HEADER_LEN + ipv4::HEADER_LEN;
    let mut udp = UdpPacket::new_unchecked(&mut bytes[start..]);
    udp.fill_checksum(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST);
    assert_eq!(udp.checksum_field(), TCPDUMP_UDP_CHECKSUM);
    assert!(udp.verify_checksum(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST));
}

#[test]
fn test_emit_kernel_datagram() {
    let mut bytes = [0xa5u8; 63];
    let mut eth = EthernetFrame::new_unchecked(&mut bytes[..]);
    ethernet_repr().emit(&mut eth);
    let mut ip = Ipv4Packet::new_unchecked(eth.payload_mut());
    ipv4_repr().emit(&mut ip);
    let mut udp = UdpPacket::new_unchecked(ip.payload_mut());
    udp_repr().emit(&mut udp);
    let mut t = TernPacket::new_unchecked(udp.payload_mut());
    tern_repr().emit(&mut t);
    t.payload_mut().copy_from_slice(b"hello");
    // Put what the kernel left in the UDP checksum field (see the module docs).
    let partial = checksum::fold(pseudo_header_sum(
        Ipv4Addr::LOCALHOST,
        Ipv4Addr::LOCALHOST,
        (udp::HEADER_LEN + 21) as u16,
    ));
    udp.set_checksum_field(partial);
    assert_eq!(
        ethernet_repr().buffer_len() + ipv4_repr().buffer_len() + udp_repr().buffer_len(),
        42
    );
    assert_eq!(tern_repr().buffer_len(), tern::HEADER_LEN);
    assert_eq!(bytes, FRAME_BYTES);
}
