//! A set of packet numbers of one message, as a bitmap.

/// Which packets of a message of `len` packets have been seen. Reusable:
/// [`reset`](Self::reset) keeps the allocation.
#[derive(Debug, Clone, Default)]
pub(crate) struct PacketSet {
    words: Vec<u64>,
    len: usize,
    count: usize,
}

impl PacketSet {
    /// Empties the set and sizes it for `len` packets. Allocates only when it
    /// grows past its largest size so far.
    pub fn reset(&mut self, len: usize) {
        let words = len.div_ceil(64);
        self.words.clear();
        self.words.resize(words, 0);
        self.len = len;
        self.count = 0;
    }

    /// Adds packet `i`; returns whether it was new. Out-of-range `i` is
    /// never new (and not added).
    #[inline]
    pub fn insert(&mut self, i: usize) -> bool {
        if i >= self.len {
            return false;
        }
        let (w, b) = (i / 64, 1u64 << (i % 64));
        if self.words[w] & b != 0 {
            return false;
        }
        self.words[w] |= b;
        self.count += 1;
        true
    }

    /// Whether packet `i` is in the set.
    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        i < self.len && self.words[i / 64] & (1u64 << (i % 64)) != 0
    }

    /// Number of packets in the set.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Whether all `len` packets are in the set.
    pub fn is_full(&self) -> bool {
        self.count == self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_full() {
        let mut s = PacketSet::default();
        s.reset(130);
        assert!(s.insert(0) && s.insert(129) && s.insert(64));
        assert!(!s.insert(64) && !s.insert(130));
        assert!(s.contains(129) && !s.contains(1) && !s.contains(500));
        assert_eq!(s.count(), 3);
        s.reset(1);
        assert!(!s.is_full());
        assert!(s.insert(0));
        assert!(s.is_full());
    }
}
