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

/// Bytes counted per kept part beyond its payload (its `Vec` and map
/// entry), so that a peer that negotiated tiny packets pays for them too.
const PART_OVERHEAD: usize = 64;

/// The bytes of one message received so far.
#[derive(Debug, Default)]
pub(crate) struct Reassembly {
    /// Bytes `0..prefix.len()` of the message, contiguous.
    prefix: Vec<u8>,
    /// Packets past a gap, by message offset.
    parts: BTreeMap<usize, Vec<u8>>,
    /// What `parts` costs: their lengths plus [`PART_OVERHEAD`] each.
    parts_bytes: usize,
}

impl Reassembly {
    /// Heap bytes held: the prefix buffer's capacity plus the parts.
    pub fn held(&self) -> usize {
        self.prefix.capacity() + self.parts_bytes
    }

    /// What [`held`](Self::held) would be after placing `len` bytes at
    /// offset `start` of a message of `total` bytes. Exact: [`place`](Self::place)
    /// grows the buffer to this in one step.
    pub fn held_after(&self, start: usize, len: usize, total: usize) -> usize {
        if start != self.prefix.len() {
            return self.held() + len + PART_OVERHEAD;
        }
        let (end, merged) = self.run_end(start + len);
        grown_capacity(self.prefix.capacity(), end, total) + self.parts_bytes - merged
    }

    /// Places `bytes` at offset `start` of a message of `total` bytes. Each
    /// offset is placed at most once (the caller's packet set filters
    /// duplicates). Costs a copy of `bytes`, plus a copy of every kept part
    /// the prefix now reaches.
    pub fn place(&mut self, start: usize, bytes: &[u8], total: usize) {
        if start != self.prefix.len() {
            self.parts_bytes += bytes.len() + PART_OVERHEAD;
            self.parts.insert(start, bytes.to_vec());
            return;
        }
        let (end, _) = self.run_end(start + bytes.len());
        let cap = grown_capacity(self.prefix.capacity(), end, total);
        self.prefix.reserve_exact(cap - self.prefix.len());
        self.prefix.extend_from_slice(bytes);
        while let Some(part) = self.parts.remove(&self.prefix.len()) {
            self.parts_bytes -= part.len() + PART_OVERHEAD;
            self.prefix.extend_from_slice(&part);
        }
    }

    /// Where the prefix would end if it reached `end`, with the kept parts
    /// that then follow on, and what those parts cost.
    fn run_end(&self, mut end: usize) -> (usize, usize) {
        let mut merged = 0;
        for (&off, part) in self.parts.range(end..) {
            if off != end {
                break;
            }
            end += part.len();
            merged += part.len() + PART_OVERHEAD;
        }
        (end, merged)
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

/// The capacity the prefix needs to hold `need` bytes of a `total`-byte
/// message: `cap` if that suffices, else double, at least [`MIN_GROWTH`],
/// at most `total`.
fn grown_capacity(cap: usize, need: usize, total: usize) -> usize {
    if need <= cap {
        cap
    } else {
        (cap * 2).max(MIN_GROWTH).max(need).min(total.max(need))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_and_out_of_order() {
        let mut r = Reassembly::default();
        r.place(6, b"ghij", 10);
        assert_eq!(r.held(), 4 + PART_OVERHEAD);
        r.place(0, b"abc", 10);
        // The next packet reaches the kept one: both merge, within the
        // capacity predicted.
        let after = r.held_after(3, 3, 10);
        r.place(3, b"def", 10);
        assert_eq!(r.held(), after);
        assert_eq!(r.take(), b"abcdefghij");
        assert_eq!(r.held(), 0);
    }

    #[test]
    fn a_far_packet_costs_its_own_bytes() {
        let mut r = Reassembly::default();
        let total = 8 << 20;
        assert_eq!(r.held_after(total - 100, 100, total), 100 + PART_OVERHEAD);
        r.place(total - 100, &[1; 100], total);
        assert_eq!(r.held(), 100 + PART_OVERHEAD);
        assert_eq!(r.clear(), 100 + PART_OVERHEAD);
    }

    #[test]
    fn prefix_grows_with_what_arrived() {
        let mut r = Reassembly::default();
        let total = 1 << 20;
        let chunk = [7u8; 1000];
        // Every other packet first, then the gaps: kept parts merge as
        // the prefix reaches them.
        for i in (0..100)
            .filter(|i| i % 2 == 1)
            .chain((0..100).filter(|i| i % 2 == 0))
        {
            let after = r.held_after(i * 1000, 1000, total);
            r.place(i * 1000, &chunk, total);
            assert_eq!(r.held(), after, "packet {i}");
        }
        assert!(
            r.held() <= 2 * 100_000 && r.held() >= 100_000,
            "{}",
            r.held()
        );
    }
}
