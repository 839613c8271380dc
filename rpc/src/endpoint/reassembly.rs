//! A server's reassembly buffer for one multi-packet request, sized by the
//! bytes that actually arrived, never by the length a packet claims.
//!
//! Packets that continue the received prefix are appended to one buffer,
//! which grows by doubling up to the claimed length (so a complete message
//! is one contiguous `Vec`, handed over without a copy). A packet from
//! further on is kept on its own until the gap before it fills, instead of
//! zero-filling the gap: a peer that sends only the last packet of an 8 MiB
//! message costs one packet's bytes. [`held`](Reassembly::held) is what the
//! endpoint counts against its reassembly budget.

use std::collections::BTreeMap;

/// Smallest capacity the prefix buffer grows to (avoids many tiny
/// reallocations at the start of a message).
const MIN_GROWTH: usize = 16 << 10;

/// The bytes of one message received so far.
#[derive(Debug, Default)]
pub(crate) struct Reassembly {
    /// Bytes `0..prefix.len()` of the message, contiguous.
    prefix: Vec<u8>,
    /// Packets past a gap, by message offset.
    parts: BTreeMap<usize, Vec<u8>>,
    /// Sum of the lengths of `parts`.
    parts_bytes: usize,
}

impl Reassembly {
    /// Heap bytes held: the prefix buffer's capacity plus the parts.
    pub fn held(&self) -> usize {
        self.prefix.capacity() + self.parts_bytes
    }

    /// How much [`held`](Self::held) would grow if `len` bytes at offset
    /// `start` of a message of `total` bytes were placed now.
    pub fn cost(&self, start: usize, len: usize, total: usize) -> usize {
        if start == self.prefix.len() {
            let need = start + len;
            if need <= self.prefix.capacity() {
                0
            } else {
                grown_capacity(self.prefix.capacity(), need, total) - self.prefix.capacity()
            }
        } else {
            len
        }
    }

    /// Places `bytes` at offset `start` of a message of `total` bytes. Each
    /// offset is placed at most once (the caller's packet set filters
    /// duplicates). Costs a copy of `bytes`, plus a move of every kept part
    /// the prefix now reaches.
    pub fn place(&mut self, start: usize, bytes: &[u8], total: usize) {
        if start != self.prefix.len() {
            self.parts_bytes += bytes.len();
            self.parts.insert(start, bytes.to_vec());
            return;
        }
        self.append(bytes, total);
        while let Some(part) = self.parts.remove(&self.prefix.len()) {
            self.parts_bytes -= part.len();
            self.append(&part, total);
        }
    }

    fn append(&mut self, bytes: &[u8], total: usize) {
        let need = self.prefix.len() + bytes.len();
        if need > self.prefix.capacity() {
            let cap = grown_capacity(self.prefix.capacity(), need, total);
            self.prefix.reserve_exact(cap - self.prefix.len());
        }
        self.prefix.extend_from_slice(bytes);
    }

    /// The complete message (all packets placed), leaving this empty.
    pub fn take(&mut self) -> Vec<u8> {
        debug_assert!(self.parts.is_empty());
        self.parts_bytes = 0;
        std::mem::take(&mut self.prefix)
    }

    /// Frees everything; returns how many bytes were held.
    pub fn clear(&mut self) -> usize {
        let held = self.held();
        *self = Reassembly::default();
        held
    }
}

/// The capacity the prefix grows to when it must hold `need` bytes of a
/// `total`-byte message: double, at least [`MIN_GROWTH`], at most `total`.
fn grown_capacity(cap: usize, need: usize, total: usize) -> usize {
    (cap * 2).max(MIN_GROWTH).max(need).min(total.max(need))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_and_out_of_order() {
        let mut r = Reassembly::default();
        r.place(6, b"ghij", 10);
        assert_eq!(r.held(), 4);
        r.place(0, b"abc", 10);
        r.place(3, b"def", 10);
        assert_eq!(r.take(), b"abcdefghij");
        assert_eq!(r.held(), 0);
    }

    #[test]
    fn a_far_packet_costs_its_own_bytes() {
        let mut r = Reassembly::default();
        let total = 8 << 20;
        assert_eq!(r.cost(total - 100, 100, total), 100);
        r.place(total - 100, &[1; 100], total);
        assert_eq!(r.held(), 100);
        assert_eq!(r.clear(), 100);
    }

    #[test]
    fn prefix_grows_with_what_arrived() {
        let mut r = Reassembly::default();
        let total = 1 << 20;
        let chunk = [7u8; 1000];
        for i in 0..100 {
            let c = r.cost(i * 1000, 1000, total);
            let before = r.held();
            r.place(i * 1000, &chunk, total);
            assert_eq!(r.held() - before, c);
        }
        assert!(
            r.held() <= 2 * 100_000 && r.held() >= 100_000,
            "{}",
            r.held()
        );
    }
}
