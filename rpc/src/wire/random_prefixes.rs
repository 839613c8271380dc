//! The never-panic loop the Tern-layer headers share (tests only): parse
//! many random byte strings of random length and let nothing panic.
//!
//! A xorshift generator from a fixed seed, so a failure reproduces; the
//! lower headers' loops use `rand` and build their strings differently.

/// Runs `check` on `rounds` random prefixes of an `N`-byte buffer refilled
/// from xorshift64 each round. On half the rounds (the generator's low bit)
/// `shape` first fixes a few bytes (a valid magic, say) so that parsing
/// gets past its first check and reaches the later ones.
pub(crate) fn each_random_prefix<const N: usize>(
    mut seed: u64,
    rounds: usize,
    mut shape: impl FnMut(&mut [u8; N]),
    mut check: impl FnMut(&[u8]),
) {
    let mut buf = [0u8; N];
    for _ in 0..rounds {
        for b in buf.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = seed as u8;
        }
        if seed & 1 == 0 {
            shape(&mut buf);
        }
        let n = (seed >> 8) as usize % N;
        check(&buf[..n]);
    }
}
