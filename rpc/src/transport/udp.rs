//! Kernel UDP transport: one non-blocking socket, batched with
//! `recvmmsg` / `sendmmsg` (one system call per batch in each direction).
//!
//! Batching has a price when there is nothing to batch: `recvmmsg` costs
//! more than `recvfrom` on an empty socket or for one datagram, and
//! `sendmmsg` more than `sendto` for one. So a receive after an empty one
//! uses `recvfrom` (most polls of an idle or ping-pong loop), a receive after
//! one that found data uses `recvmmsg`, and a lone small datagram goes out
//! with `sendto`. Measured on loopback this puts the transport's round trip
//! level with plain sockets (the pingpong example's "raw udp xport" line).
//!
//! The default [`max_datagram`](Transport::max_datagram) is 1472 bytes: a
//! full 1500-byte Ethernet MTU minus the IPv4 and UDP headers, so no packet
//! is ever fragmented. On loopback (MTU 65536) a larger value cuts the
//! per-byte cost of big messages; [`UdpConfig::max_datagram`] allows up to
//! 65,507 bytes. Both ends of a session agree on the smaller of their two
//! values at connect time, so mixing settings is safe.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;

use super::{RxBatch, Transport, TxDatagram};

/// Most datagrams handed to one `sendmmsg` call.
const TX_BATCH: usize = 64;
/// Datagrams up to this size are sent alone with `sendto` from a copy.
const SMALL_DATAGRAM: usize = 512;
/// Largest UDP payload over IPv4.
pub const MAX_UDP_PAYLOAD: usize = 65_507;
/// Default largest datagram: MTU-safe for 1500-byte Ethernet.
pub const DEFAULT_MAX_DATAGRAM: usize = 1472;

/// Settings of a [`UdpTransport`].
#[derive(Debug, Clone, Copy)]
pub struct UdpConfig {
    /// Largest UDP payload sent or accepted (clamped to 64..=65,507).
    pub max_datagram: usize,
    /// Requested kernel receive and send buffer size in bytes (best effort:
    /// the kernel caps it at `net.core.rmem_max` / `wmem_max`, or ignores
    /// the cap when running as root).
    pub socket_buffer: usize,
}

impl Default for UdpConfig {
    fn default() -> Self {
        UdpConfig {
            max_datagram: DEFAULT_MAX_DATAGRAM,
            socket_buffer: 4 << 20,
        }
    }
}

/// A [`Transport`] over one kernel UDP socket.
pub struct UdpTransport {
    socket: UdpSocket,
    local: SocketAddrV4,
    max_datagram: usize,
    /// Datagrams dropped on receive because they exceeded `max_datagram`.
    truncated: u64,
    /// Datagrams the last receive returned (picks recvmsg or recvmmsg).
    last_rx: usize,
    // Scratch for the system calls, reused on every call. They hold raw
    // pointers only while a call runs.
    tx_msgs: Vec<libc::mmsghdr>,
    tx_small: [u8; SMALL_DATAGRAM],
    tx_iovs: Vec<libc::iovec>,
    tx_addrs: Vec<libc::sockaddr_in>,
    rx_msgs: Vec<libc::mmsghdr>,
    rx_iovs: Vec<libc::iovec>,
    rx_addrs: Vec<libc::sockaddr_in>,
}

// SAFETY: the raw pointers inside the scratch vectors (`mmsghdr`, `iovec`)
// are written at the start of every `send`/`recv` and only dereferenced by
// the kernel during that call; between calls they are dead values, so moving
// the transport to another thread cannot create shared access.
unsafe impl Send for UdpTransport {}

fn to_sockaddr(a: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: a.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*a.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

fn from_sockaddr(s: &libc::sockaddr_in) -> SocketAddrV4 {
    SocketAddrV4::new(
        Ipv4Addr::from(u32::from_be(s.sin_addr.s_addr)),
        u16::from_be(s.sin_port),
    )
}

fn zeroed_mmsghdr() -> libc::mmsghdr {
    // SAFETY: mmsghdr is a plain C struct of integers and pointers, for
    // which all-zero bytes are a valid (empty) value.
    unsafe { mem::zeroed() }
}

/// The length the socket calls take for a `sockaddr_in`.
const SOCKADDR_IN_LEN: libc::socklen_t = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;

/// Points `h` at the address buffer `addr` and the iovecs `iovs`, with no
/// control data and no flags: every message this transport sends or
/// receives has that shape. The pointers stay valid while the borrowed
/// buffers do, which outlive the system call that reads them.
fn point_msghdr(h: &mut libc::msghdr, addr: &mut libc::sockaddr_in, iovs: &mut [libc::iovec]) {
    h.msg_name = (addr as *mut libc::sockaddr_in).cast();
    h.msg_namelen = SOCKADDR_IN_LEN;
    h.msg_iov = iovs.as_mut_ptr();
    h.msg_iovlen = iovs.len();
    h.msg_control = std::ptr::null_mut();
    h.msg_controllen = 0;
    h.msg_flags = 0;
}

fn empty_iovec() -> libc::iovec {
    libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }
}

impl UdpTransport {
    /// Binds a socket at `addr` (port 0 picks an ephemeral port; see
    /// [`local_addr`](Transport::local_addr)) with the default settings.
    pub fn bind(addr: SocketAddrV4) -> io::Result<Self> {
        Self::bind_with(addr, UdpConfig::default())
    }

    /// Binds a socket at `addr` with `config`. Costs a few system calls.
    pub fn bind_with(addr: SocketAddrV4, config: UdpConfig) -> io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        socket.set_nonblocking(true)?;
        let fd = socket.as_raw_fd();
        let size = config.socket_buffer.min(i32::MAX as usize) as libc::c_int;
        for (force, plain) in [
            (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
            (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
        ] {
            // SAFETY: `size` is a live c_int and we pass its exact length;
            // failure (e.g. not root for the FORCE variant) is harmless.
            let forced = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    force,
                    (&size as *const libc::c_int).cast(),
                    mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if forced != 0 {
                // SAFETY: as above.
                unsafe {
                    libc::setsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        plain,
                        (&size as *const libc::c_int).cast(),
                        mem::size_of::<libc::c_int>() as libc::socklen_t,
                    );
                }
            }
        }
        let local = match socket.local_addr()? {
            std::net::SocketAddr::V4(a) => a,
            std::net::SocketAddr::V6(_) => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "IPv4 only"));
            }
        };
        Ok(UdpTransport {
            socket,
            local,
            max_datagram: config.max_datagram.clamp(64, MAX_UDP_PAYLOAD),
            truncated: 0,
            last_rx: 0,
            tx_small: [0; SMALL_DATAGRAM],
            tx_msgs: (0..TX_BATCH).map(|_| zeroed_mmsghdr()).collect(),
            tx_iovs: (0..2 * TX_BATCH).map(|_| empty_iovec()).collect(),
            tx_addrs: vec![to_sockaddr(local); TX_BATCH],
            rx_msgs: Vec::new(),
            rx_iovs: Vec::new(),
            rx_addrs: Vec::new(),
        })
    }

    /// Datagrams dropped on receive because they were larger than
    /// `max_datagram`.
    pub fn truncated_dropped(&self) -> u64 {
        self.truncated
    }

    /// The underlying socket (e.g. to read its options).
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }
}

/// Errors after which the datagram at hand is lost but the socket is fine.
fn is_per_datagram_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EMSGSIZE
                | libc::ENETUNREACH
                | libc::EHOSTUNREACH
                | libc::ECONNREFUSED
                | libc::EPERM
                | libc::EACCES
                | libc::EINVAL
                | libc::EADDRNOTAVAIL
        )
    )
}

impl Transport for UdpTransport {
    fn max_datagram(&self) -> usize {
        self.max_datagram
    }

    fn local_addr(&self) -> SocketAddrV4 {
        self.local
    }

    fn send(&mut self, batch: &[TxDatagram<'_>]) -> io::Result<usize> {
        let fd = self.socket.as_raw_fd();
        let mut done = 0;
        while done < batch.len() {
            let n = (batch.len() - done).min(TX_BATCH);
            for (i, d) in batch[done..done + n].iter().enumerate() {
                self.tx_addrs[i] = to_sockaddr(d.peer);
                self.tx_iovs[2 * i] = libc::iovec {
                    iov_base: d.header.as_ptr() as *mut libc::c_void,
                    iov_len: d.header.len(),
                };
                self.tx_iovs[2 * i + 1] = libc::iovec {
                    iov_base: d.payload.as_ptr() as *mut libc::c_void,
                    iov_len: d.payload.len(),
                };
                point_msghdr(
                    &mut self.tx_msgs[i].msg_hdr,
                    &mut self.tx_addrs[i],
                    &mut self.tx_iovs[2 * i..2 * i + 2],
                );
            }
            let sent = if n == 1 && batch[done].len() <= SMALL_DATAGRAM {
                // One small datagram: plain `sendto` from a contiguous copy
                // is the cheapest call.
                let d = &batch[done];
                self.tx_small[..d.header.len()].copy_from_slice(d.header);
                self.tx_small[d.header.len()..d.len()].copy_from_slice(d.payload);
                // SAFETY: `tx_small` holds `d.len()` initialised bytes and
                // `tx_addrs[0]` is a live sockaddr_in; the kernel only reads them.
                let r = unsafe {
                    libc::sendto(
                        fd,
                        self.tx_small.as_ptr().cast(),
                        d.len(),
                        libc::MSG_DONTWAIT,
                        (&self.tx_addrs[0] as *const libc::sockaddr_in).cast(),
                        SOCKADDR_IN_LEN,
                    )
                };
                if r >= 0 { 1 } else { -1 }
            } else if n == 1 {
                // SAFETY: mmsghdr 0 points at a live sockaddr_in and two
                // iovecs of this transport, and those at the borrowed slices
                // of `batch[done]`; the kernel only reads them.
                let r = unsafe { libc::sendmsg(fd, &self.tx_msgs[0].msg_hdr, libc::MSG_DONTWAIT) };
                if r >= 0 { 1 } else { -1 }
            } else {
                // SAFETY: the first `n` mmsghdrs point at live sockaddr_in and
                // iovec entries of this transport, and those iovecs at the
                // borrowed header/payload slices of `batch`, all of which
                // outlive the call; the kernel only reads them.
                unsafe {
                    libc::sendmmsg(
                        fd,
                        self.tx_msgs.as_mut_ptr(),
                        n as libc::c_uint,
                        libc::MSG_DONTWAIT,
                    )
                }
            };
            if sent < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => return Ok(done),
                    io::ErrorKind::Interrupted => continue,
                    _ if is_per_datagram_error(&e) => {
                        // The first datagram is undeliverable: count it as
                        // sent (the network lost it) and go on.
                        done += 1;
                        continue;
                    }
                    _ if e.raw_os_error() == Some(libc::ENOBUFS) => return Ok(done),
                    _ => return Err(e),
                }
            }
            done += sent as usize;
            if (sent as usize) < n {
                return Ok(done);
            }
        }
        Ok(done)
    }

    fn recv(&mut self, out: &mut RxBatch) -> io::Result<usize> {
        out.clear();
        let cap = out.capacity();
        if self.rx_msgs.len() < cap {
            self.rx_msgs.resize_with(cap, zeroed_mmsghdr);
            self.rx_iovs.resize_with(cap, empty_iovec);
            self.rx_addrs.resize(cap, to_sockaddr(self.local));
        }
        let fd = self.socket.as_raw_fd();
        let (storage, slot, lens, peers) = out.raw_parts_mut();
        let base = storage.as_mut_ptr();
        // After an empty round, expect at most one datagram: `recvmsg`
        // costs less than `recvmmsg` both when nothing is waiting and for a
        // single datagram. After a round that found data, batch.
        let want = if self.last_rx == 0 { 1 } else { cap };
        for i in 0..want {
            // SAFETY: slot i spans storage[i*slot .. (i+1)*slot], inside
            // the `cap * slot` bytes RxBatch allocated.
            let p = unsafe { base.add(i * slot) };
            self.rx_iovs[i] = libc::iovec {
                iov_base: p.cast(),
                iov_len: slot,
            };
            point_msghdr(
                &mut self.rx_msgs[i].msg_hdr,
                &mut self.rx_addrs[i],
                std::slice::from_mut(&mut self.rx_iovs[i]),
            );
        }
        let got = loop {
            let r = if want == 1 {
                let mut namelen = SOCKADDR_IN_LEN;
                // SAFETY: `base` points at slot 0 of `storage` (`slot` bytes,
                // exclusively borrowed), and the address buffer is a live
                // sockaddr_in of this transport with its exact length.
                // MSG_TRUNC makes the call return the full datagram length,
                // so an oversized datagram is detected below.
                let n = unsafe {
                    libc::recvfrom(
                        fd,
                        base.cast(),
                        slot,
                        libc::MSG_DONTWAIT | libc::MSG_TRUNC,
                        (&mut self.rx_addrs[0] as *mut libc::sockaddr_in).cast(),
                        &mut namelen,
                    )
                };
                if n >= 0 {
                    self.rx_msgs[0].msg_len = n as libc::c_uint;
                    self.rx_msgs[0].msg_hdr.msg_flags = if n as usize > slot {
                        libc::MSG_TRUNC
                    } else {
                        0
                    };
                    1
                } else {
                    -1
                }
            } else {
                // SAFETY: the first `want` mmsghdrs point at live sockaddr_in
                // and iovec entries of this transport, each iovec at a
                // distinct `slot`-byte region of `storage`, exclusively
                // borrowed for the duration of the call; a null timeout is
                // allowed with DONTWAIT.
                unsafe {
                    libc::recvmmsg(
                        fd,
                        self.rx_msgs.as_mut_ptr(),
                        want as libc::c_uint,
                        libc::MSG_DONTWAIT,
                        std::ptr::null_mut(),
                    )
                }
            };
            if r >= 0 {
                break r as usize;
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => {
                    self.last_rx = 0;
                    return Ok(0);
                }
                io::ErrorKind::Interrupted => continue,
                // A late ICMP error for an earlier send: not ours to report.
                io::ErrorKind::ConnectionRefused => continue,
                _ => return Err(e),
            }
        };
        let mut kept = 0;
        for i in 0..got {
            let m = &self.rx_msgs[i];
            if m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 || m.msg_len as usize > slot {
                self.truncated += 1;
                continue;
            }
            if kept != i {
                storage.copy_within(i * slot..i * slot + m.msg_len as usize, kept * slot);
            }
            lens[kept] = m.msg_len as usize;
            peers[kept] = from_sockaddr(&self.rx_addrs[i]);
            kept += 1;
        }
        self.last_rx = got;
        out.set_filled(kept);
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lo() -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)
    }

    #[test]
    fn batched_send_and_receive_over_loopback() {
        let mut a = UdpTransport::bind(lo()).unwrap();
        let mut b = UdpTransport::bind(lo()).unwrap();
        let to = b.local_addr();
        let payloads: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; i as usize * 10]).collect();
        let batch: Vec<TxDatagram<'_>> = payloads
            .iter()
            .map(|p| TxDatagram {
                peer: to,
                header: b"hd",
                payload: p,
            })
            .collect();
        let mut sent = 0;
        while sent < batch.len() {
            sent += a.send(&batch[sent..]).unwrap();
        }
        let mut rx = RxBatch::new(16, b.max_datagram());
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while got.len() < 100 && std::time::Instant::now() < deadline {
            let n = b.recv(&mut rx).unwrap();
            for i in 0..n {
                let (peer, bytes) = rx.get(i);
                assert_eq!(peer, a.local_addr());
                got.push(bytes.to_vec());
            }
        }
        assert_eq!(got.len(), 100);
        for (i, g) in got.iter().enumerate() {
            assert_eq!(&g[..2], b"hd");
            assert_eq!(&g[2..], &payloads[i][..]);
        }
    }

    #[test]
    fn oversized_datagrams_are_dropped_not_truncated() {
        let mut a = UdpTransport::bind_with(
            lo(),
            UdpConfig {
                max_datagram: 9000,
                ..Default::default()
            },
        )
        .unwrap();
        let mut b = UdpTransport::bind(lo()).unwrap();
        let big = vec![7u8; 4000];
        let to = b.local_addr();
        let batch = [
            TxDatagram {
                peer: to,
                header: &[],
                payload: &big,
            },
            TxDatagram {
                peer: to,
                header: b"ok",
                payload: &[],
            },
        ];
        assert_eq!(a.send(&batch).unwrap(), 2);
        let mut rx = RxBatch::new(4, b.max_datagram());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let n = b.recv(&mut rx).unwrap();
            if n > 0 {
                assert_eq!(n, 1);
                assert_eq!(rx.get(0).1, b"ok");
                break;
            }
            assert!(std::time::Instant::now() < deadline);
        }
        assert_eq!(b.truncated_dropped(), 1);
    }
}
