//! Transports: how datagrams leave and enter an [`Endpoint`](crate::Endpoint).
//!
//! A transport moves whole UDP payloads ("datagrams") between this host and
//! IPv4 peers, in batches, without blocking. Everything above it (sessions,
//! credits, retransmission) is transport-independent, so kernel UDP, DPDK and
//! RDMA verbs speak the same protocol and interoperate on the wire.
//!
//! A transport is owned by exactly one thread (the endpoint's); it is `Send`
//! so it can be built on one thread and moved to its poll thread, but never
//! shared.

use std::io;
use std::net::SocketAddrV4;

pub mod address;
pub mod fault;
pub mod udp;

pub use address::{AddrError, Role, TransportAddr};

#[cfg(feature = "dpdk")]
pub mod dpdk;

/// One datagram to send: the UDP payload is `header` followed by `payload`.
///
/// The split lets the endpoint send a message's bytes straight from the
/// caller's buffer after a 16-byte Tern header, without first copying them
/// into a contiguous packet (kernel UDP sends both as one `iovec` pair; DPDK
/// copies both into one mbuf).
#[derive(Clone, Copy, Debug)]
pub struct TxDatagram<'a> {
    /// Destination address.
    pub peer: SocketAddrV4,
    /// First part of the UDP payload (usually the Tern header).
    pub header: &'a [u8],
    /// Second part of the UDP payload (usually a slice of the message).
    pub payload: &'a [u8],
}

impl TxDatagram<'_> {
    /// Total UDP payload length of this datagram.
    pub fn len(&self) -> usize {
        self.header.len() + self.payload.len()
    }

    /// Whether the datagram carries no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A reusable batch of received datagrams.
///
/// Holds `capacity` fixed-size slots of `slot_size` bytes each, allocated
/// once; [`Transport::recv`] fills slots `0..len()` and the caller reads them
/// with [`RxBatch::get`] before the next receive overwrites them. Receiving
/// into a batch allocates nothing.
pub struct RxBatch {
    storage: Vec<u8>,
    slot_size: usize,
    lens: Vec<usize>,
    peers: Vec<SocketAddrV4>,
    filled: usize,
}

impl RxBatch {
    /// A batch of `capacity` slots that each hold a datagram of up to
    /// `slot_size` bytes. Costs one allocation of `capacity * slot_size`.
    pub fn new(capacity: usize, slot_size: usize) -> Self {
        assert!(
            capacity > 0 && slot_size > 0,
            "RxBatch needs capacity and slot size"
        );
        RxBatch {
            storage: vec![0; capacity * slot_size],
            slot_size,
            lens: vec![0; capacity],
            peers: vec![SocketAddrV4::new([0, 0, 0, 0].into(), 0); capacity],
            filled: 0,
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.lens.len()
    }

    /// Largest datagram one slot holds.
    pub fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// Number of datagrams received by the last [`Transport::recv`].
    pub fn len(&self) -> usize {
        self.filled
    }

    /// Whether the last receive returned nothing.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// Datagram `i` of the last receive: its sender and its bytes.
    /// Panics if `i >= len()`.
    pub fn get(&self, i: usize) -> (SocketAddrV4, &[u8]) {
        assert!(i < self.filled, "RxBatch::get({i}) past {}", self.filled);
        let start = i * self.slot_size;
        (self.peers[i], &self.storage[start..start + self.lens[i]])
    }

    /// Forgets the datagrams of the last receive.
    pub fn clear(&mut self) {
        self.filled = 0;
    }

    /// For transports: the writable slot `i` (all `slot_size` bytes).
    pub fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        let start = i * self.slot_size;
        &mut self.storage[start..start + self.slot_size]
    }

    /// For transports: records that slot `i` holds `len` bytes from `peer`.
    /// Slots must be committed in order `0, 1, 2, ...`.
    pub fn commit(&mut self, i: usize, peer: SocketAddrV4, len: usize) {
        debug_assert_eq!(i, self.filled, "RxBatch slots are committed in order");
        debug_assert!(len <= self.slot_size);
        self.lens[i] = len;
        self.peers[i] = peer;
        self.filled = i + 1;
    }

    /// For transports that receive into their own buffers (DPDK mbufs):
    /// copies `bytes` into the next free slot. Returns false when the batch
    /// is full or `bytes` is larger than a slot.
    pub fn push(&mut self, peer: SocketAddrV4, bytes: &[u8]) -> bool {
        let i = self.filled;
        if i >= self.capacity() || bytes.len() > self.slot_size {
            return false;
        }
        self.slot_mut(i)[..bytes.len()].copy_from_slice(bytes);
        self.commit(i, peer, bytes.len());
        true
    }

    /// Raw parts for transports that fill slots with one system call
    /// (recvmmsg): the storage, the slot size, and the per-slot lengths and
    /// peers to be written.
    pub fn raw_parts_mut(&mut self) -> (&mut [u8], usize, &mut [usize], &mut [SocketAddrV4]) {
        (
            &mut self.storage,
            self.slot_size,
            &mut self.lens,
            &mut self.peers,
        )
    }

    /// For transports using [`raw_parts_mut`](Self::raw_parts_mut): marks
    /// slots `0..n` as filled.
    pub fn set_filled(&mut self, n: usize) {
        assert!(n <= self.capacity());
        self.filled = n;
    }
}

/// A poll-mode datagram transport, owned by one thread.
///
/// Neither method blocks: each does at most one batch of work and returns.
/// Callers drive it from a poll loop with an [`IdleStrategy`](crate::idle::IdleStrategy).
pub trait Transport: Send {
    /// Largest UDP payload (Tern header included) one datagram may carry.
    /// The endpoint splits messages so that no datagram exceeds it.
    fn max_datagram(&self) -> usize;

    /// The address peers reach this transport at.
    fn local_addr(&self) -> SocketAddrV4;

    /// Sends as many of `batch` as the transport accepts now, in order, and
    /// returns how many it took (the rest may be retried later). Errors are
    /// for the transport as a whole; a datagram the network loses is not an
    /// error (the protocol retransmits).
    fn send(&mut self, batch: &[TxDatagram<'_>]) -> io::Result<usize>;

    /// Receives up to `out.capacity()` datagrams into `out` (clearing what it
    /// held) and returns how many arrived; 0 when none are waiting.
    fn recv(&mut self, out: &mut RxBatch) -> io::Result<usize>;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn max_datagram(&self) -> usize {
        (**self).max_datagram()
    }
    fn local_addr(&self) -> SocketAddrV4 {
        (**self).local_addr()
    }
    fn send(&mut self, batch: &[TxDatagram<'_>]) -> io::Result<usize> {
        (**self).send(batch)
    }
    fn recv(&mut self, out: &mut RxBatch) -> io::Result<usize> {
        (**self).recv(out)
    }
}
