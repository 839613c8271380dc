//! The DPDK transport (feature `dpdk`): Tern's wire protocol over a
//! kernel-bypass NIC queue.
//!
//! [`DpdkTransport`] implements [`Transport`](crate::transport::Transport)
//! over one RX/TX queue pair of a DPDK Ethernet port. It writes and checks
//! the Ethernet, IPv4 and UDP headers itself, so a DPDK endpoint and a
//! kernel-UDP endpoint talk to each other, and it answers and sends ARP.
//!
//! ```no_run
//! use std::net::Ipv4Addr;
//! use tern_rpc::transport::dpdk::{DpdkConfig, DpdkTransport};
//!
//! // Locally: a memif port, no hugepages, no PCI scan.
//! let config = DpdkConfig::new(
//!     "-l 0 --no-huge --no-pci -m 256 --in-memory --vdev=net_memif0,role=server",
//!     "net_memif0",
//!     Ipv4Addr::new(10, 77, 0, 1),
//!     31850,
//! );
//! let transport = DpdkTransport::open_single(&config)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! On CloudLab's Mellanox NICs: `DpdkConfig::new("-l 2 -a 0000:41:00.0",
//! "0000:41:00.0", ip, port)` (mlx5 PMD, hugepages), see `rpc/DPDK.md`.

mod arp_table;
mod eal;
mod mbuf;
mod port;
mod queue;

use std::net::Ipv4Addr;

pub use eal::{init as init_eal, split_eal_args};
pub use queue::DpdkTransport;

/// How to open a DPDK port for Tern.
#[derive(Clone, Debug)]
pub struct DpdkConfig {
    /// EAL arguments (without the program name), e.g. from `--dpdk-args`
    /// through [`split_eal_args`]. Only the first port opened in a process
    /// initialises the EAL; later ones reuse it.
    pub eal_args: Vec<String>,
    /// The port: an index ("0") or a device name ("net_memif0",
    /// "net_af_xdp0", "0000:41:00.0"). Never guessed.
    pub port: String,
    /// This host's IPv4 address on the port's network (answered in ARP,
    /// checked as destination).
    pub local_ip: Ipv4Addr,
    /// UDP port of queue 0; queue `i` uses `udp_port + i`.
    pub udp_port: u16,
    /// RX/TX queue pairs, one per endpoint thread (default 1).
    pub queues: u16,
    /// RX ring size per queue (the PMD may adjust it). Default 1024.
    pub rx_descriptors: u16,
    /// TX ring size per queue (the PMD may adjust it). Default 1024.
    pub tx_descriptors: u16,
    /// Mbufs in each queue's pool; 0 (default) sizes it from the rings:
    /// enough for full RX and TX rings, the ARP hold queue, and the 2048
    /// buffers `net_af_xdp` keeps in its fill ring.
    pub mbufs: u32,
    /// IP MTU of the link (default 1500); a datagram carries up to
    /// `mtu - 28` bytes of UDP payload.
    pub mtu: u16,
    /// Compute UDP checksums on send (default true). Received checksums are
    /// always checked when the sender set one.
    pub udp_checksum: bool,
    /// Leave the calling thread pinned to the EAL's lcore (default false:
    /// its CPU set is restored, so threads it spawns later are not all
    /// pinned to one core). Set it for a dedicated poll thread that starts
    /// no threads afterwards; see [`init_eal`]. Only the open that
    /// initialises the EAL applies it.
    pub pin_thread: bool,
}

impl DpdkConfig {
    /// A one-queue configuration with defaults for everything else;
    /// `eal_args` is split with [`split_eal_args`].
    pub fn new(eal_args: &str, port: &str, local_ip: Ipv4Addr, udp_port: u16) -> Self {
        DpdkConfig {
            eal_args: split_eal_args(eal_args),
            port: port.to_owned(),
            local_ip,
            udp_port,
            queues: 1,
            rx_descriptors: 1024,
            tx_descriptors: 1024,
            mbufs: 0,
            mtu: 1500,
            udp_checksum: true,
            pin_thread: false,
        }
    }

    /// Mbufs per queue pool: [`mbufs`](Self::mbufs), or the size derived
    /// from the rings when it is 0 (a power of two minus one, which DPDK's
    /// ring-backed pools use best).
    pub fn mbufs_per_queue(&self) -> u32 {
        if self.mbufs != 0 {
            return self.mbufs;
        }
        let need = self.rx_descriptors as u32 + self.tx_descriptors as u32 + 2048 + 512 + 256;
        need.next_power_of_two().max(4096) * 2 - 1
    }
}

/// Counters of one [`DpdkTransport`] queue.
#[derive(Clone, Debug, Default)]
pub struct DpdkStats {
    /// Frames taken from the RX ring.
    pub rx_frames: u64,
    /// UDP datagrams delivered to the caller.
    pub rx_datagrams: u64,
    /// Frames dropped as malformed (bad length, checksum, fragment...).
    pub rx_malformed: u64,
    /// Frames for another MAC, IP, protocol or UDP port.
    pub rx_not_for_us: u64,
    /// Datagrams larger than the caller's receive slot.
    pub rx_too_large: u64,
    /// ARP packets received.
    pub rx_arp: u64,
    /// Frames the NIC accepted for sending.
    pub tx_frames: u64,
    /// Frames given up because the TX ring stayed full.
    pub tx_ring_full: u64,
    /// Sends that found the mempool empty.
    pub tx_no_mbuf: u64,
    /// Datagrams held waiting for ARP resolution.
    pub arp_held: u64,
    /// Held datagrams dropped (hold queue full or no ARP reply in time).
    pub arp_held_dropped: u64,
    /// ARP requests sent.
    pub arp_requests_sent: u64,
    /// ARP replies sent (to requests for our address).
    pub arp_replies_sent: u64,
}
