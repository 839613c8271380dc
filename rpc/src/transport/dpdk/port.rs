//! Opening an Ethernet port: find it by name or index, configure one RX/TX
//! queue pair per endpoint thread with a mempool each, start it.
//!
//! A port is opened once per process and stays open (and its mempools
//! allocated) until the process exits: its queues are handed to transports
//! that may live on different threads, and DPDK cannot reconfigure a port
//! while any queue is in use.

use std::ffi::{CStr, CString, c_char};
use std::io;
use std::ptr::NonNull;
use std::sync::Mutex;

use dpdk_sys as sys;

use super::DpdkConfig;
use super::eal::{self, last_error, strerror};
use crate::wire::ethernet::{self, MacAddr};
use crate::wire::{ipv4, udp};

/// Ports this process has opened (each may be opened once).
static OPEN_PORTS: Mutex<Vec<u16>> = Mutex::new(Vec::new());

/// A started port and the mempool of each of its queues.
pub(crate) struct OpenPort {
    pub(crate) port_id: u16,
    pub(crate) name: String,
    pub(crate) mac: MacAddr,
    pub(crate) pools: Vec<NonNull<sys::rte_mempool>>,
}

/// Every port DPDK knows in this process, as "index (name)" for messages.
fn port_list() -> String {
    let mut names = Vec::new();
    for id in 0..sys::RTE_MAX_ETHPORTS as u16 {
        // SAFETY: is_valid_port accepts any id.
        if unsafe { sys::rte_eth_dev_is_valid_port(id) } == 1 {
            names.push(format!("{id} ({})", port_name(id)));
        }
    }
    if names.is_empty() {
        "none (add a device: --vdev=net_memif0,... or -a <PCI address>)".into()
    } else {
        names.join(", ")
    }
}

fn port_name(id: u16) -> String {
    let mut buf = [0 as c_char; sys::RTE_ETH_NAME_MAX_LEN as usize];
    // SAFETY: buf has RTE_ETH_NAME_MAX_LEN bytes, the size the call requires.
    if unsafe { sys::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) } != 0 {
        return "?".into();
    }
    // SAFETY: on success the name is NUL-terminated inside buf.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// Finds the port `sel` names: a port index ("0") or a device name
/// ("net_memif0", "net_af_xdp0", "0000:41:00.0").
fn find_port(sel: &str) -> io::Result<u16> {
    if let Ok(id) = sel.parse::<u16>() {
        // SAFETY: is_valid_port accepts any id.
        if unsafe { sys::rte_eth_dev_is_valid_port(id) } == 1 {
            return Ok(id);
        }
    } else if let Ok(name) = CString::new(sel) {
        let mut id = 0u16;
        // SAFETY: name is NUL-terminated; id is a valid out pointer.
        if unsafe { sys::rte_eth_dev_get_port_by_name(name.as_ptr(), &mut id) } == 0 {
            return Ok(id);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("DPDK port {sel:?} not found; ports: {}", port_list()),
    ))
}

fn check(rc: i32, what: &str, port: &str) -> io::Result<()> {
    if rc < 0 {
        return Err(io::Error::other(format!(
            "{what} on DPDK port {port} failed: {}",
            strerror(rc)
        )));
    }
    Ok(())
}

/// The answer of a DPDK query `rte_eth_*_get(port, &mut out)` about port
/// `port_id`, or an error naming `what` and the port. One FFI call.
fn port_query<T: Default>(
    port_id: u16,
    label: &str,
    what: &str,
    query: unsafe extern "C" fn(u16, *mut T) -> i32,
) -> io::Result<T> {
    let mut out = T::default();
    // SAFETY: callers pass a valid port id and a query that writes one `T`
    // through its out pointer, which points at `out` for the whole call.
    check(unsafe { query(port_id, &mut out) }, what, label)?;
    Ok(out)
}

/// Initialises the EAL (first call in the process) and opens the port of
/// `config` with `config.queues` queue pairs. Costs the EAL start-up (first
/// time) plus the PMD's port start, milliseconds to a second.
pub(crate) fn open(config: &DpdkConfig) -> io::Result<OpenPort> {
    eal::init(&config.eal_args, config.pin_thread)?;
    let port_id = find_port(&config.port)?;
    let name = port_name(port_id);
    let label = format!("{port_id} ({name})");
    {
        let mut open = OPEN_PORTS.lock().unwrap_or_else(|e| e.into_inner());
        if open.contains(&port_id) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "DPDK port {label} is already open in this process (ask for more queues instead)"
                ),
            ));
        }
        open.push(port_id);
    }
    let result = configure(config, port_id, &label);
    if result.is_err() {
        OPEN_PORTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|&p| p != port_id);
    }
    let (mac, pools) = result?;
    Ok(OpenPort {
        port_id,
        name,
        mac,
        pools,
    })
}

fn configure(
    config: &DpdkConfig,
    port_id: u16,
    label: &str,
) -> io::Result<(MacAddr, Vec<NonNull<sys::rte_mempool>>)> {
    let queues = config.queues.max(1);
    let info = port_query(
        port_id,
        label,
        "rte_eth_dev_info_get",
        sys::rte_eth_dev_info_get,
    )?;
    if queues > info.max_rx_queues || queues > info.max_tx_queues {
        return Err(io::Error::other(format!(
            "DPDK port {label} has at most {} RX / {} TX queues; {queues} asked",
            info.max_rx_queues, info.max_tx_queues
        )));
    }
    let mtu = config.mtu;
    if (mtu as u32) < 576 || (info.max_mtu != 0 && mtu > info.max_mtu) {
        return Err(io::Error::other(format!(
            "MTU {mtu} outside what DPDK port {label} supports (576..={})",
            info.max_mtu
        )));
    }

    let mut conf = sys::rte_eth_conf::default();
    // 0 lets the PMD use the Ethernet default of 1500.
    conf.rxmode.mtu = if mtu == 1500 { 0 } else { mtu as u32 };
    // SAFETY: port_id valid, conf initialised; the port is not started.
    check(
        unsafe { sys::rte_eth_dev_configure(port_id, queues, queues, &conf) },
        "rte_eth_dev_configure",
        label,
    )?;
    let (mut nb_rx, mut nb_tx) = (config.rx_descriptors, config.tx_descriptors);
    // SAFETY: port_id valid; both pointers are valid in/out u16s.
    check(
        unsafe { sys::rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &mut nb_rx, &mut nb_tx) },
        "rte_eth_dev_adjust_nb_rx_tx_desc",
        label,
    )?;

    // SAFETY: port_id valid.
    let socket = unsafe { sys::rte_eth_dev_socket_id(port_id) };
    let socket = if socket < 0 {
        sys::SOCKET_ID_ANY
    } else {
        socket
    };
    let frame_room = ethernet::HEADER_LEN + mtu as usize;
    let data_room = (sys::RTE_MBUF_DEFAULT_BUF_SIZE as usize)
        .max(frame_room + sys::RTE_PKTMBUF_HEADROOM as usize);
    let data_room = u16::try_from(data_room)
        .map_err(|_| io::Error::other(format!("MTU {mtu} too large for an mbuf")))?;
    let mbufs = config.mbufs_per_queue();
    // A per-lcore cache of up to 256 mbufs (DPDK wants n / cache >= 1.5).
    let cache = 256.min(mbufs * 2 / 3);

    let mut pools = Vec::with_capacity(queues as usize);
    for q in 0..queues {
        let pool_name = CString::new(format!("tern_p{port_id}_q{q}")).expect("no NUL");
        // SAFETY: the name is NUL-terminated; sizes were checked above.
        let pool = unsafe {
            sys::rte_pktmbuf_pool_create(pool_name.as_ptr(), mbufs, cache, 0, data_room, socket)
        };
        let Some(pool) = NonNull::new(pool) else {
            return Err(io::Error::other(format!(
                "cannot create a pool of {mbufs} mbufs ({data_room} B each) for DPDK port {label} queue {q}: {} \
                 (give the EAL more memory, e.g. -m 512)",
                last_error()
            )));
        };
        // SAFETY: port configured with `queues` queues, q < queues, pool live;
        // NULL conf = the PMD's defaults.
        check(
            unsafe {
                sys::rte_eth_rx_queue_setup(
                    port_id,
                    q,
                    nb_rx,
                    socket as u32,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            },
            "rte_eth_rx_queue_setup",
            label,
        )?;
        // SAFETY: as above.
        check(
            unsafe {
                sys::rte_eth_tx_queue_setup(port_id, q, nb_tx, socket as u32, std::ptr::null())
            },
            "rte_eth_tx_queue_setup",
            label,
        )?;
        pools.push(pool);
    }
    // SAFETY: all queues are set up.
    let rc = unsafe { sys::rte_eth_dev_start(port_id) };
    if rc < 0 && label.contains("memif") {
        // The usual cause: a memif client starts before its server listens.
        return Err(io::Error::other(format!(
            "rte_eth_dev_start on DPDK port {label} failed: {} (a memif client needs its memif server running)",
            strerror(rc)
        )));
    }
    check(rc, "rte_eth_dev_start", label)?;
    let mac = port_query(
        port_id,
        label,
        "rte_eth_macaddr_get",
        sys::rte_eth_macaddr_get,
    )?;
    if queues > 1 {
        steer(config, port_id, label)?;
    }
    Ok((MacAddr(mac.addr_bytes), pools))
}

/// Largest UDP payload in one frame of IP MTU `mtu`.
pub(crate) fn max_udp_payload(mtu: u16) -> usize {
    mtu as usize - ipv4::HEADER_LEN - udp::HEADER_LEN
}

/// With several queues: one `rte_flow` rule per queue sending its UDP port
/// to it. `net_memif` needs none (its queue `i` is the peer's queue `i`).
fn steer(config: &DpdkConfig, port_id: u16, label: &str) -> io::Result<()> {
    if label.contains("memif") {
        return Ok(());
    }
    let ip_be = u32::from_ne_bytes(config.local_ip.octets());
    for q in 0..config.queues {
        let mut why: *const c_char = std::ptr::null();
        // SAFETY: the port is started; `why` is a valid out pointer that
        // the call sets to a static or port-owned message on failure.
        let rc = unsafe {
            sys::tern_flow_udp_to_queue(port_id, ip_be, config.udp_port + q, q, &mut why)
        };
        if rc != 0 {
            let reason = if why.is_null() {
                strerror(rc)
            } else {
                // SAFETY: rte_flow error messages are NUL-terminated strings.
                unsafe { CStr::from_ptr(why) }
                    .to_string_lossy()
                    .into_owned()
            };
            return Err(io::Error::other(format!(
                "DPDK port {label} cannot steer UDP port {} to queue {q} with rte_flow ({reason}); \
                 use one queue per port with this PMD",
                config.udp_port + q
            )));
        }
    }
    Ok(())
}
