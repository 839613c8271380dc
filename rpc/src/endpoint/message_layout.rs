//! How a message is cut into packets.
//!
//! A message of `len` bytes travels in `max(1, ceil(len / chunk))` packets;
//! packet `i` carries bytes `i*chunk .. min(len, (i+1)*chunk)`. `chunk` is
//! the session's payload bytes per packet: the smaller of the two peers'
//! largest datagrams, minus the 16-byte Tern header. A response message is
//! the 20-byte preamble followed by the payload, so its packet 0 starts with
//! the preamble.

/// Largest number of packets a message may have (packet numbers are u16).
pub(crate) const MAX_PACKETS: usize = u16::MAX as usize;

/// Packets a message of `len` bytes needs with `chunk` bytes per packet.
#[inline]
pub(crate) fn packets_for(len: usize, chunk: usize) -> usize {
    len.div_ceil(chunk).max(1)
}

/// Byte range of packet `i` within a message of `len` bytes.
#[inline]
pub(crate) fn packet_range(len: usize, chunk: usize, i: usize) -> (usize, usize) {
    let start = (i * chunk).min(len);
    (start, (start + chunk).min(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        assert_eq!(packets_for(0, 100), 1);
        assert_eq!(packets_for(100, 100), 1);
        assert_eq!(packets_for(101, 100), 2);
        assert_eq!(packet_range(0, 100, 0), (0, 0));
        assert_eq!(packet_range(250, 100, 2), (200, 250));
        assert_eq!(packet_range(250, 100, 1), (100, 200));
    }
}
