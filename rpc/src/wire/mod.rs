//! Wire formats: zero-copy views that read and write packet headers.
//!
//! In the style of smoltcp's `wire` module: each header has a view type over
//! any byte buffer (`T: AsRef<[u8]>`, writable when `T: AsMut<[u8]>`) whose
//! `new_checked` validates lengths once, so its accessors cannot panic, and a
//! plain "repr" struct that parses from and emits to such a view. Parsing
//! returns an error on any byte string; it never panics.
//!
//! Everything after the UDP header is Tern's:
//!
//! ```text
//! UDP payload = Tern header (16 B, `tern`) ++ packet payload
//! ```
//!
//! All multi-byte fields are big-endian (network byte order).
//!
//! - [`tern`]: the 16-byte header every Tern packet starts with.
//! - [`connect`]: the payload of connect and connect-ack packets.
//! - [`response`]: the 20-byte preamble in front of every response message
//!   (status, server-side queueing and execution time).
//! - `ethernet`, `ipv4`, `udp`, `arp`: the lower headers the DPDK transport
//!   writes itself.

pub mod connect;
pub mod response;
pub mod tern;

pub mod arp;
pub mod ethernet;
pub mod ipv4;
pub mod udp;

use std::fmt;

/// Why a byte string is not a valid Tern packet (or part of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Fewer bytes than the header or payload needs.
    Truncated,
    /// The first byte is not [`tern::MAGIC`].
    BadMagic(u8),
    /// A protocol version this build does not speak.
    BadVersion(u8),
    /// A packet-kind code that is not defined.
    BadKind(u8),
    /// A field holds a value that is not allowed (named).
    BadField(&'static str),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated => f.write_str("packet truncated"),
            WireError::BadMagic(b) => write!(f, "bad magic byte {b:#04x}"),
            WireError::BadVersion(v) => write!(f, "unsupported protocol version {v}"),
            WireError::BadKind(k) => write!(f, "unknown packet kind {k}"),
            WireError::BadField(what) => write!(f, "bad field: {what}"),
        }
    }
}

impl std::error::Error for WireError {}
