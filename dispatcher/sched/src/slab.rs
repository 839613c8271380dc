//! A generation-checked slab: values stored under `u64` ids that a stale or
//! forged id can never reach.
//!
//! The dispatcher keeps its in-flight requests here (id → the caller's
//! token and route) and puts the id in the [`Job`](crate::Job), so a
//! completion finds its request with one index and one compare. A load
//! generator can keep its outstanding requests the same way. An id is the
//! slot index in its low 32 bits and the slot's generation in its high 32;
//! removing a value bumps the generation, so an id that was already removed,
//! or that names a slot reused since, finds nothing.

/// Values of type `T` under generation-checked ids. Insert and remove are
/// O(1) and allocate nothing once the slab has grown to its peak size.
#[derive(Debug)]
pub struct Slab<T> {
    /// (generation, value) per slot.
    slots: Vec<(u32, Option<T>)>,
    /// Indices of empty slots, reused last-in first-out.
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab::new()
    }
}

impl<T> Slab<T> {
    /// An empty slab; allocates nothing until the first insert.
    pub const fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// Stores `value` and returns its id. Reuses a free slot if there is
    /// one, else grows by one (amortised O(1)). Panics past 2³² slots held
    /// at once.
    #[inline]
    pub fn insert(&mut self, value: T) -> u64 {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.slots.len()).expect("a slab holds at most 2^32 values");
                self.slots.push((0, None));
                i
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.1 = Some(value);
        self.len += 1;
        ((slot.0 as u64) << 32) | index as u64
    }

    /// Takes the value stored under `id` out of the slab, or `None` if `id`
    /// was never handed out, was removed already, or names a slot that has
    /// been reused since. O(1).
    #[inline]
    pub fn remove(&mut self, id: u64) -> Option<T> {
        let index = id as u32;
        let generation = (id >> 32) as u32;
        let slot = self.slots.get_mut(index as usize)?;
        if slot.0 != generation {
            return None;
        }
        let value = slot.1.take()?;
        slot.0 = slot.0.wrapping_add(1);
        self.free.push(index);
        self.len -= 1;
        Some(value)
    }

    /// The value under `id`, with the same checks as [`remove`](Self::remove).
    #[inline]
    pub fn get(&self, id: u64) -> Option<&T> {
        let (generation, value) = self.slots.get(id as u32 as usize)?;
        if *generation != (id >> 32) as u32 {
            return None;
        }
        value.as_ref()
    }

    /// How many values the slab holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the slab holds no value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The values held, in slot order. O(slots at the peak size).
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(|(_, value)| value.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_the_live_ones() {
        let mut slab = Slab::new();
        let a = slab.insert('a');
        slab.insert('b');
        let c = slab.insert('c');
        slab.remove(a);
        assert_eq!(slab.values().collect::<String>(), "bc");
        slab.remove(c);
        slab.insert('d'); // reuses c's slot
        assert_eq!(slab.values().collect::<String>(), "bd");
    }

    #[test]
    fn insert_get_remove() {
        let mut s = Slab::new();
        assert!(s.is_empty());
        let a = s.insert("a");
        let b = s.insert("b");
        assert_ne!(a, b);
        assert_eq!((s.len(), s.get(a), s.get(b)), (2, Some(&"a"), Some(&"b")));
        assert_eq!(s.remove(a), Some("a"));
        assert_eq!((s.len(), s.get(a)), (1, None));
        assert_eq!(s.remove(b), Some("b"));
        assert!(s.is_empty());
    }

    #[test]
    fn stale_duplicate_and_forged_ids_find_nothing() {
        let mut s = Slab::new();
        let id = s.insert(1);
        assert_eq!(s.remove(id), Some(1));
        // The same id again, one never issued, and a wrong generation.
        for bogus in [id, id + 99, id | (7 << 32)] {
            assert_eq!(s.remove(bogus), None, "{bogus:#x}");
            assert_eq!(s.get(bogus), None);
        }
        assert!(s.is_empty());
        // The slot is reused with a new generation; the old id stays stale.
        let new_id = s.insert(2);
        assert_eq!(new_id as u32, id as u32);
        assert_ne!(new_id, id);
        assert_eq!(s.remove(id), None);
        assert_eq!(s.remove(new_id), Some(2));
    }

    #[test]
    fn grows_only_to_its_peak() {
        let mut s = Slab::new();
        for round in 0..100 {
            let ids: Vec<u64> = (0..8).map(|i| s.insert(round * 8 + i)).collect();
            for (i, id) in ids.into_iter().enumerate() {
                assert_eq!(s.remove(id), Some(round * 8 + i as u64));
            }
        }
        assert_eq!(s.slots.len(), 8);
        assert!(s.is_empty());
    }
}
