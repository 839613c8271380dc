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
//!
//! [`FrameError`], defined here, is the parse error shared by the Ethernet,
//! IPv4, UDP and ARP views: every constructor named `new_checked` validates
//! lengths first, so accessors on a checked view never index out of bounds.

use std::fmt;

/// Why a byte string is not a well-formed Ethernet / IPv4 / UDP / ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Shorter than the header, or than the length the header claims.
    Truncated,
    /// A header field has a value this view does not accept (named).
    Malformed(&'static str),
    /// The header checksum does not match the bytes.
    BadChecksum,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Truncated => f.write_str("packet truncated"),
            FrameError::Malformed(what) => write!(f, "malformed packet: {what}"),
            FrameError::BadChecksum => f.write_str("bad checksum"),
        }
    }
}

impl std::error::Error for FrameError {}

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

/// A view of an Ethernet II frame in `buffer` (header and payload).
///
/// Reading costs a bounds-checked load per field; nothing is copied.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Length of the header in bytes.
    pub const HEADER_LEN: usize = 14;

    /// Wraps `buffer` without checking it. Accessors on a buffer shorter than
    /// [`HEADER_LEN`](Self::HEADER_LEN) panic; use [`new_checked`](Self::new_checked)
    /// for untrusted bytes.
    pub fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps `buffer` after checking it holds a whole header.
    pub fn new_checked(buffer: T) -> Result<Self, FrameError> {
        if buffer.as_ref().len() < Self::HEADER_LEN {
            return Err(FrameError::Truncated);
        }
        Ok(EthernetFrame { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination address.
    pub fn dst_addr(&self) -> MacAddr {
        MacAddr(self.buffer.as_ref()[0..6].try_into().expect("6 bytes"))
    }

    /// Source address.
    pub fn src_addr(&self) -> MacAddr {
        MacAddr(self.buffer.as_ref()[6..12].try_into().expect("6 bytes"))
    }

    /// EtherType (see [`ethertype`]).
    pub fn ethertype(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[12], b[13]])
    }

    /// Everything after the header (may include padding to 60 bytes).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[0..6].copy_from_slice(&addr.0);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[6..12].copy_from_slice(&addr.0);
    }

    /// Sets the EtherType.
    pub fn set_ethertype(&mut self, ethertype: u16) {
        self.buffer.as_mut()[12..14].copy_from_slice(&ethertype.to_be_bytes());
    }

    /// Everything after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[Self::HEADER_LEN..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    #[test]
    fn round_trip() {
        let mut bytes = [0u8; 20];
        let mut f = EthernetFrame::new_checked(&mut bytes[..]).unwrap();
        f.set_dst_addr(MacAddr::BROADCAST);
        f.set_src_addr(MacAddr([2, 0, 0, 0, 0, 1]));
        f.set_ethertype(ethertype::ARP);
        f.payload_mut().copy_from_slice(&[9; 6]);
        let f = EthernetFrame::new_checked(&bytes[..]).unwrap();
        assert_eq!(f.dst_addr(), MacAddr::BROADCAST);
        assert!(f.dst_addr().is_multicast());
        assert_eq!(f.src_addr().to_string(), "02:00:00:00:00:01");
        assert!(!f.src_addr().is_multicast());
        assert_eq!(f.ethertype(), 0x0806);
        assert_eq!(f.payload(), &[9; 6]);
    }

    #[test]
    fn short_buffers_are_errors_not_panics() {
        for len in 0..EthernetFrame::<&[u8]>::HEADER_LEN {
            assert_eq!(
                EthernetFrame::new_checked(&[0u8; 14][..len]).err(),
                Some(FrameError::Truncated)
            );
        }
        let mut rng = StdRng::seed_from_u64(6);
        for _ in 0..100_000 {
            let len = rng.random_range(0..64);
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if let Ok(f) = EthernetFrame::new_checked(&bytes[..]) {
                let _ = (f.dst_addr(), f.src_addr(), f.ethertype(), f.payload().len());
            }
        }
    }
}
