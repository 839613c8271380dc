//! Wire formats: zero-copy views that read and write packet headers.
//!
//! In the style of smoltcp's `wire` module, every header has three parts:
//!
//! - a private `field` module naming the byte range of each field;
//! - a view over any byte buffer (`T: AsRef<[u8]>`, writable when
//!   `T: AsMut<[u8]>`): `new_unchecked` wraps without looking,
//!   `new_checked` runs `check_len` once so that no getter or setter can
//!   index out of bounds afterwards;
//! - a plain "repr" struct of the header's meaning, with
//!   `parse(&view) -> Result<Repr>` (which also checks the field values),
//!   `emit(&self, &mut view)` and `buffer_len()` (the bytes `emit` writes).
//!
//! The constructors and the accessors of plain big-endian fields are
//! written once, in `view.rs` (`header_view!`), as is the `to_bytes` of the
//! fixed-length Tern-layer reprs (`repr_to_bytes!`); what a header adds by
//! hand is its `check_len` when it is not a plain minimum length, and its
//! fields with a meaning of their own (nibbles, flags, checksums,
//! payloads).
//!
//! Parsing returns an [`Error`] on any byte string; it never panics.
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
//! - [`ethernet`], [`ipv4`], [`udp`], [`arp`]: the lower headers the DPDK
//!   transport writes itself, and [`checksum`], the Internet checksum IPv4
//!   and UDP share.

pub mod connect;
pub mod response;
pub mod tern;

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod ipv4;
pub mod udp;

mod view;

#[cfg(test)]
mod golden;

#[cfg(test)]
mod loopback_capture;

#[cfg(test)]
mod random_prefixes;

use std::fmt;

/// Why a byte string is not a valid packet (or part of one), for every
/// header in this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Fewer bytes than the header needs, or than a length field claims.
    Truncated,
    /// The first byte of a Tern header is not [`tern::MAGIC`].
    BadMagic(u8),
    /// A Tern protocol version this build does not speak.
    BadVersion(u8),
    /// A Tern packet-kind code that is not defined.
    BadKind(u8),
    /// A field holds a value that is not allowed (named).
    Malformed(&'static str),
}

/// The result of parsing a header.
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("packet truncated"),
            Error::BadMagic(b) => write!(f, "bad magic byte {b:#04x}"),
            Error::BadVersion(v) => write!(f, "unsupported protocol version {v}"),
            Error::BadKind(k) => write!(f, "unknown packet kind {k}"),
            Error::Malformed(what) => write!(f, "malformed packet: {what}"),
        }
    }
}

impl std::error::Error for Error {}
