//! An owned DPDK packet buffer (`rte_mbuf`): freed on drop unless handed to
//! the NIC with [`Mbuf::into_raw`].

use std::ptr::NonNull;

use dpdk_sys as sys;

/// One packet buffer from a mempool, owned by this value.
pub(crate) struct Mbuf(NonNull<sys::rte_mbuf>);

// SAFETY: an mbuf is plain memory owned by exactly one Mbuf value; mempools
// are thread-safe, so it may be freed from any thread.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Takes a buffer from `pool`; None when the pool is empty.
    pub(crate) fn alloc(pool: NonNull<sys::rte_mempool>) -> Option<Mbuf> {
        // SAFETY: pool is a live mempool created by rte_pktmbuf_pool_create.
        NonNull::new(unsafe { sys::tern_pktmbuf_alloc(pool.as_ptr()) }).map(Mbuf)
    }

    /// Takes ownership of a buffer the NIC returned.
    ///
    /// # Safety
    /// `raw` must be a valid mbuf that nothing else owns or frees.
    pub(crate) unsafe fn from_raw(raw: NonNull<sys::rte_mbuf>) -> Mbuf {
        Mbuf(raw)
    }

    /// Gives up ownership (to `rte_eth_tx_burst`, which frees it once sent).
    pub(crate) fn into_raw(self) -> *mut sys::rte_mbuf {
        let raw = self.0.as_ptr();
        std::mem::forget(self);
        raw
    }

    /// Extends the packet by `len` bytes and returns them (uninitialised
    /// contents, zeroed here to keep them defined); None if the buffer has no
    /// room left.
    pub(crate) fn append(&mut self, len: usize) -> Option<&mut [u8]> {
        let len16 = u16::try_from(len).ok()?;
        // SAFETY: self.0 is a valid, exclusively owned single-segment mbuf.
        let p = unsafe { sys::tern_pktmbuf_append(self.0.as_ptr(), len16) };
        if p.is_null() {
            return None;
        }
        // SAFETY: rte_pktmbuf_append returned `len` bytes inside this mbuf's
        // data room, which we own exclusively for the borrow's lifetime.
        let bytes = unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) };
        Some(bytes)
    }

    /// The first segment's bytes, writable (all of a frame this side built).
    pub(crate) fn first_segment_mut(&mut self) -> &mut [u8] {
        let m = self.0.as_ptr();
        // SAFETY: m is a valid mbuf we own exclusively; its first segment holds
        // data_len initialised bytes at mtod.
        unsafe {
            std::slice::from_raw_parts_mut(
                sys::tern_pktmbuf_mtod(m),
                sys::tern_pktmbuf_data_len(m) as usize,
            )
        }
    }

    /// Bytes in the whole packet (all segments).
    pub(crate) fn pkt_len(&self) -> usize {
        // SAFETY: self.0 is a valid mbuf.
        unsafe { sys::tern_pktmbuf_pkt_len(self.0.as_ptr()) as usize }
    }

    /// Offload flags the PMD set on receive (checksum verdicts).
    pub(crate) fn ol_flags(&self) -> u64 {
        // SAFETY: self.0 is a valid mbuf.
        unsafe { sys::tern_pktmbuf_ol_flags(self.0.as_ptr()) }
    }

    /// The packet's bytes: borrowed in place when the first segment holds
    /// them all (the usual case), else copied into `scratch`, which must be
    /// at least [`pkt_len`](Self::pkt_len) long (None otherwise).
    pub(crate) fn bytes<'a>(&'a self, scratch: &'a mut [u8]) -> Option<&'a [u8]> {
        let m = self.0.as_ptr();
        // SAFETY: m is a valid mbuf owned by self.
        let (data_len, pkt_len) =
            unsafe { (sys::tern_pktmbuf_data_len(m) as usize, self.pkt_len()) };
        if data_len == pkt_len {
            // SAFETY: the first segment holds data_len initialised bytes at mtod,
            // alive and unaliased while self is borrowed.
            return Some(unsafe {
                std::slice::from_raw_parts(sys::tern_pktmbuf_mtod(m), data_len)
            });
        }
        if scratch.len() < pkt_len {
            return None;
        }
        // SAFETY: rte_pktmbuf_read copies pkt_len bytes of the chain into
        // scratch (which holds at least that many) or returns NULL.
        let p =
            unsafe { sys::tern_pktmbuf_read(m, 0, pkt_len as u32, scratch.as_mut_ptr().cast()) };
        if p.is_null() {
            return None;
        }
        // SAFETY: p points at pkt_len readable bytes: either inside the mbuf
        // (contiguous after all) or inside scratch; both borrowed for 'a.
        Some(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), pkt_len) })
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf (chain) and nothing uses it after drop.
        unsafe { sys::tern_pktmbuf_free(self.0.as_ptr()) }
    }
}
