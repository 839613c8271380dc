//! Fuzz target `wire`: every header parser of `tern_rpc::wire` on arbitrary
//! bytes.
//!
//! For each header (Tern, connect payload, response preamble, Ethernet,
//! IPv4, UDP, ARP) the input goes through `View::new_checked` and
//! `Repr::parse`. Neither may panic, and when both succeed:
//!
//! - every accessor the view offers (payload included) works without
//!   panicking, since `new_checked` promises they cannot index out of bounds;
//! - round trip: the repr emitted into a fresh buffer of `buffer_len()`
//!   bytes (plus the payload length, for IPv4 and UDP, whose length field
//!   counts it) parses back to the same repr;
//! - for headers whose `parse` reads every bit (Tern, Ethernet, ARP), emit
//!   over a copy of the input gives the input back; for connect and the
//!   preamble, all but their reserved bytes, which `parse` ignores on
//!   purpose;
//! - checksums: an emitted IPv4 header verifies, and a UDP datagram whose
//!   checksum was filled in verifies for the same addresses.
//!
//! The same bytes are then read as one Ethernet frame, layer by layer, the
//! way the DPDK transport's receive path does (Ethernet, then ARP or IPv4,
//! UDP, the Tern header, and the connect payload or response preamble behind
//! it), so that the fuzzer can reach the inner parsers through well-formed
//! outer headers as well.

#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use tern_rpc::wire::arp::{ArpPacket, ArpRepr};
use tern_rpc::wire::checksum;
use tern_rpc::wire::connect::{ConnectPacket, ConnectRepr};
use tern_rpc::wire::ethernet::{EthernetFrame, EthernetRepr, ethertype};
use tern_rpc::wire::ipv4::{Ipv4Packet, Ipv4Repr, protocol};
use tern_rpc::wire::response::{PreamblePacket, PreambleRepr};
use tern_rpc::wire::tern::{PacketKind, TernPacket, TernRepr};
use tern_rpc::wire::udp::{UdpPacket, UdpRepr};

/// Parses `data` as `$view`/`$repr`; if that succeeds, emits the repr into
/// a fresh buffer of `buffer_len() + $extra(&repr)` bytes and asserts that
/// it parses back to the same repr. Evaluates to the parsed repr, if any.
macro_rules! round_trip {
    ($data:expr, $view:ident, $repr:ident, $extra:expr) => {{
        let parsed = $view::new_checked($data).and_then(|v| $repr::parse(&v));
        if let Ok(repr) = parsed {
            let extra: fn(&$repr) -> usize = $extra;
            let mut buf = vec![0u8; repr.buffer_len() + extra(&repr)];
            repr.emit(&mut $view::new_unchecked(&mut buf[..]));
            let again = $view::new_checked(&buf[..]).and_then(|v| $repr::parse(&v));
            assert_eq!(again, Ok(repr), "{} round trip", stringify!($repr));
        }
        parsed
    }};
}

/// Asserts that emitting `repr` over a copy of `data` leaves it unchanged,
/// except for the byte range `ignored` (a field `parse` does not read).
macro_rules! emit_is_identity {
    ($data:expr, $view:ident, $repr:expr) => {
        emit_is_identity!($data, $view, $repr, ignored: 0..0)
    };
    ($data:expr, $view:ident, $repr:expr, ignored: $ignored:expr) => {{
        let mut copy = $data.to_vec();
        $repr.emit(&mut $view::new_unchecked(&mut copy[..]));
        let ignored: std::ops::Range<usize> = $ignored;
        copy[ignored.clone()].copy_from_slice(&$data[ignored]);
        assert_eq!(copy, $data, "{} emit over its own bytes", stringify!($view));
    }};
}

fn no_extra<R>(_: &R) -> usize {
    0
}

fn tern(data: &[u8]) -> Option<(TernRepr, &[u8])> {
    let repr = round_trip!(data, TernPacket, TernRepr, no_extra).ok()?;
    emit_is_identity!(data, TernPacket, repr);
    let view = TernPacket::new_checked(data).expect("checked once already");
    assert_eq!(view.kind(), Some(repr.kind));
    Some((repr, view.payload()))
}

fn connect(data: &[u8]) -> Option<ConnectRepr> {
    let repr = round_trip!(data, ConnectPacket, ConnectRepr, no_extra).ok()?;
    // Byte 15 is reserved: sent as 0, not checked on receipt.
    emit_is_identity!(data, ConnectPacket, repr, ignored: 15..16);
    Some(repr)
}

fn preamble(data: &[u8]) -> Option<PreambleRepr> {
    let repr = round_trip!(data, PreamblePacket, PreambleRepr, no_extra).ok()?;
    // Bytes 1..4 are reserved: sent as 0, not checked on receipt.
    emit_is_identity!(data, PreamblePacket, repr, ignored: 1..4);
    Some(repr)
}

fn ethernet(data: &[u8]) -> Option<(EthernetRepr, &[u8])> {
    let repr = round_trip!(data, EthernetFrame, EthernetRepr, no_extra).ok()?;
    emit_is_identity!(data, EthernetFrame, repr);
    let view = EthernetFrame::new_checked(data).expect("checked once already");
    let _ = view.dst_addr().is_multicast();
    Some((repr, view.payload()))
}

fn arp(data: &[u8]) -> Option<ArpRepr> {
    let repr = round_trip!(data, ArpPacket, ArpRepr, no_extra).ok()?;
    emit_is_identity!(data, ArpPacket, repr);
    Some(repr)
}

fn ipv4(data: &[u8]) -> Option<(Ipv4Repr, &[u8])> {
    let parsed = round_trip!(data, Ipv4Packet, Ipv4Repr, |r| r.payload_len);
    if let Ok(view) = Ipv4Packet::new_checked(data) {
        // Every accessor is in bounds after new_checked, fragment or not.
        let _ = (view.verify_checksum(), view.dont_frag(), view.dscp_ecn());
        let _ = (view.payload().len(), view.checksum_field());
        assert!(view.header_len() <= view.total_len() as usize);
        assert!(view.total_len() as usize <= data.len());
    }
    let repr = parsed.ok()?;
    let view = Ipv4Packet::new_checked(data).expect("parsed once already");
    assert!(!view.is_fragment(), "parse accepts no fragment");
    assert_eq!(view.payload().len(), repr.payload_len);
    let mut emitted = vec![0u8; repr.buffer_len() + repr.payload_len];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut emitted[..]));
    let emitted = Ipv4Packet::new_checked(&emitted[..]).expect("emitted header checks");
    assert!(emitted.verify_checksum(), "emitted IPv4 header verifies");
    Some((repr, view.payload()))
}

fn udp(data: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Option<(UdpRepr, &[u8])> {
    let repr = round_trip!(data, UdpPacket, UdpRepr, |r| r.payload_len).ok()?;
    let view = UdpPacket::new_checked(data).expect("parsed once already");
    let _ = (view.verify_checksum(src, dst), view.is_empty());
    assert_eq!(view.payload().len(), repr.payload_len);
    let mut filled = data.to_vec();
    let mut filled_view = UdpPacket::new_unchecked(&mut filled[..]);
    filled_view.fill_checksum(src, dst);
    assert_ne!(filled_view.checksum_field(), 0, "0 means no checksum");
    assert!(
        filled_view.verify_checksum(src, dst),
        "a filled-in UDP checksum verifies"
    );
    Some((repr, view.payload()))
}

/// What the Tern header says follows it, parsed.
fn tern_payload(hdr: &TernRepr, payload: &[u8]) {
    match hdr.kind {
        PacketKind::Connect | PacketKind::ConnectAck => {
            let _ = connect(payload);
        }
        PacketKind::Response if hdr.pkt_num == 0 => {
            let _ = preamble(payload);
        }
        _ => {}
    }
}

/// `data` as one Ethernet frame, layer by layer.
fn frame(data: &[u8]) {
    let Some((eth, payload)) = ethernet(data) else {
        return;
    };
    match eth.ethertype {
        ethertype::ARP => {
            let _ = arp(payload);
        }
        ethertype::IPV4 => {
            let Some((ip, payload)) = ipv4(payload) else {
                return;
            };
            if ip.protocol != protocol::UDP {
                return;
            }
            let Some((_, payload)) = udp(payload, ip.src_addr, ip.dst_addr) else {
                return;
            };
            if let Some((hdr, payload)) = tern(payload) {
                tern_payload(&hdr, payload);
            }
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    // Each parser on the whole input.
    if let Some((hdr, payload)) = tern(data) {
        tern_payload(&hdr, payload);
    }
    let _ = connect(data);
    let _ = preamble(data);
    let _ = arp(data);
    let _ = ipv4(data);
    let _ = udp(
        data,
        Ipv4Addr::new(10, 77, 0, 1),
        Ipv4Addr::new(10, 77, 0, 2),
    );
    // The layered read of a whole frame.
    frame(data);
    // The Internet checksum is total on any length, odd ones included.
    let _ = checksum::compute(data);
});
