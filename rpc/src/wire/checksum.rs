//! The Internet checksum (RFC 1071) that the IPv4 header and UDP share.
//!
//! A sum is built in two steps so that a header and a payload in different
//! buffers, or a pseudo-header that is never written anywhere, can be
//! summed without copying: [`accumulate`] adds bytes to a running sum,
//! [`finish`] folds and complements it.

/// Folds the one's-complement sum of `data` (as big-endian 16-bit words, an
/// odd last byte padded with zero) into `initial`, without the final
/// complement. Costs one pass over `data`, 8 bytes per step.
pub fn accumulate(initial: u32, data: &[u8]) -> u32 {
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

/// Folds a sum from [`accumulate`] to 16 bits, without complementing it
/// (the form a checksum-offloading NIC expects in the checksum field).
pub fn fold(sum: u32) -> u16 {
    let mut s = sum;
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Finishes a sum from [`accumulate`]: folds to 16 bits and complements.
pub fn finish(sum: u32) -> u16 {
    !fold(sum)
}

/// The Internet checksum of `data`: one pass.
pub fn compute(data: &[u8]) -> u16 {
    finish(accumulate(0, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(accumulate(0, &data)), 0xddf2);
        assert_eq!(compute(&data), !0xddf2);
        // Odd length: the last byte is padded with zero.
        assert_eq!(compute(&[0x12]), !0x1200);
        // Split accumulation equals one pass when split at an even offset.
        let long: Vec<u8> = (0..=255u8).collect();
        let split = finish(accumulate(accumulate(0, &long[..100]), &long[100..]));
        assert_eq!(split, compute(&long));
    }
}
