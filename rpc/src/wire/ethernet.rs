//! Ethernet II frame header: a zero-copy view over a byte buffer.
//!
//! Used by the DPDK transport, which writes and parses link-layer headers
//! itself. Layout (all fields big-endian, 14 bytes, no 802.1Q tag):
//!
//! | offset | size | field       |
//! |-------:|-----:|-------------|
//! | 0      | 6    | destination |
//! | 6      | 6    | source      |
//! | 12     | 2    | EtherType   |

use std::fmt;

use super::Result;
use super::view::{FieldValue, array, header_view};

/// A 48-bit Ethernet (MAC) address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff, the broadcast address ARP requests go to.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// 00:00:00:00:00:00, the "unknown" target address of an ARP request.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// Whether this is a multicast (or broadcast) address: low bit of the
    /// first octet set.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
}

/// Read and written by the views' generated accessors (`view.rs`).
impl FieldValue for MacAddr {
    fn read(bytes: &[u8]) -> Self {
        MacAddr(array(bytes))
    }
    fn write(&self, bytes: &mut [u8]) {
        bytes.copy_from_slice(&self.0)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// EtherType values Tern handles.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
}

/// Length of the header in bytes.
pub const HEADER_LEN: usize = field::ETHERTYPE.end;

header_view! {
    /// A view of an Ethernet II frame in `buffer` (header and payload).
    ///
    /// Reading costs a bounds-checked load per field; nothing is copied.
    pub struct EthernetFrame;
    min_len: HEADER_LEN;
    other: [];
    fields: [
        /// Destination address.
        DESTINATION = 0..6 => dst_addr, set_dst_addr: MacAddr;
        /// Source address.
        SOURCE = 6..12 => src_addr, set_src_addr: MacAddr;
        /// EtherType (see [`ethertype`]).
        ETHERTYPE = 12..14 => ethertype, set_ethertype: u16;
    ]
}

impl<'a, T: AsRef<[u8]> + ?Sized> EthernetFrame<&'a T> {
    /// Everything after the header (may include padding to 60 bytes),
    /// borrowed for as long as the buffer.
    pub fn payload(&self) -> &'a [u8] {
        let data = self.buffer;
        &data.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Everything after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.b_mut()[HEADER_LEN..]
    }
}

/// The parsed contents of an Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Source address.
    pub src_addr: MacAddr,
    /// Destination address.
    pub dst_addr: MacAddr,
    /// EtherType of the payload (see [`ethertype`]).
    pub ethertype: u16,
}

impl EthernetRepr {
    /// Reads the header of a checked view. Every value is accepted (the
    /// caller decides which EtherTypes and destinations it takes), so this
    /// cannot fail on a view from `new_checked`; it returns `Result` like
    /// every other `parse`.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(frame: &EthernetFrame<&T>) -> Result<EthernetRepr> {
        frame.check_len()?;
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Bytes [`emit`](Self::emit) writes: [`HEADER_LEN`].
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes this header into the first [`HEADER_LEN`] bytes of `frame`;
    /// the payload is left alone. Panics if the buffer is shorter.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, frame: &mut EthernetFrame<&mut T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Error;
    use crate::wire::golden::golden_parse_emit_tests;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    /// A broadcast ARP frame from 02:00:00:00:00:01, payload cut to 4 bytes.
    static FRAME_BYTES: [u8; 18] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0xaa,
        0xbb, 0xcc, 0xdd,
    ];
    static PAYLOAD_BYTES: [u8; 4] = [0xaa, 0xbb, 0xcc, 0xdd];

    fn frame_repr() -> EthernetRepr {
        EthernetRepr {
            src_addr: MacAddr([2, 0, 0, 0, 0, 1]),
            dst_addr: MacAddr::BROADCAST,
            ethertype: ethertype::ARP,
        }
    }

    #[test]
    fn test_deconstruct() {
        let f = EthernetFrame::new_checked(&FRAME_BYTES[..]).unwrap();
        assert_eq!(f.dst_addr(), MacAddr::BROADCAST);
        assert!(f.dst_addr().is_multicast());
        assert_eq!(f.src_addr().to_string(), "02:00:00:00:00:01");
        assert!(!f.src_addr().is_multicast());
        assert_eq!(f.ethertype(), 0x0806);
        assert_eq!(f.payload(), &PAYLOAD_BYTES);
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; 18];
        let mut f = EthernetFrame::new_unchecked(&mut bytes[..]);
        f.set_dst_addr(MacAddr::BROADCAST);
        f.set_src_addr(MacAddr([2, 0, 0, 0, 0, 1]));
        f.set_ethertype(ethertype::ARP);
        f.payload_mut().copy_from_slice(&PAYLOAD_BYTES);
        assert_eq!(bytes, FRAME_BYTES);
    }

    golden_parse_emit_tests!(
        EthernetFrame,
        EthernetRepr,
        FRAME_BYTES,
        frame_repr(),
        HEADER_LEN
    );

    #[test]
    fn short_buffers_are_errors_not_panics() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                EthernetFrame::new_checked(&[0u8; 14][..len]).err(),
                Some(Error::Truncated)
            );
        }
        let mut rng = StdRng::seed_from_u64(6);
        for _ in 0..100_000 {
            let len = rng.random_range(0..64);
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if let Ok(f) = EthernetFrame::new_checked(&bytes[..]) {
                let _ = (f.dst_addr(), f.src_addr(), f.ethertype(), f.payload().len());
                assert!(EthernetRepr::parse(&f).is_ok());
            }
        }
    }
}
