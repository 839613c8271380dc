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

/// Writes `bytes` at offset `start` of a message being reassembled in
/// `buf` (allocated with the message's capacity, grown as packets arrive).
/// In-order packets are appended without first zero-filling the buffer; a
/// packet from further on zero-fills the gap, which earlier packets then
/// overwrite.
#[inline]
pub(crate) fn place(buf: &mut Vec<u8>, start: usize, bytes: &[u8]) {
    let end = start + bytes.len();
    if buf.len() == start {
        buf.extend_from_slice(bytes);
    } else {
        if buf.len() < end {
            buf.resize(end, 0);
        }
        buf[start..end].copy_from_slice(bytes);
    }
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

    #[test]
    fn place_in_and_out_of_order() {
        let mut b = Vec::with_capacity(10);
        place(&mut b, 0, b"abc");
        place(&mut b, 6, b"ghij");
        place(&mut b, 3, b"def");
        assert_eq!(b, b"abcdefghij");
    }
}
