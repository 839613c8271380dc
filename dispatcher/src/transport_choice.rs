//! The one place the dispatcher turns `--transport` into a [`Transport`].
//!
//! Everything above this function (the endpoint, the dispatch loop) works
//! over `Box<dyn Transport>`, so a new transport only adds a branch here and
//! its options to [`TransportArgs`].

use std::io;
use std::net::SocketAddrV4;

use tern_rpc::transport::Transport;
use tern_rpc::transport::udp::UdpTransport;

/// `--transport` and the options of the transports.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TransportArgs {
    /// Transport to serve on: `udp` (kernel UDP sockets, any Linux).
    /// [default: udp]
    #[arg(long, value_name = "NAME")]
    pub transport: Option<String>,

    /// `--transport dpdk`: DPDK EAL arguments, e.g. "-l 1 --no-huge --no-pci
    /// -m 512 --vdev=net_af_xdp0,iface=veth-a" locally or "-l 2 -a
    /// 0000:41:00.0" on CloudLab's mlx5 NICs (builds with `--features dpdk`).
    /// [default: none]
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub dpdk_args: Option<String>,

    /// `--transport dpdk`: the DPDK port, by index or device name
    /// (net_af_xdp0, 0000:41:00.0). The --listen IP is the address the
    /// dispatcher answers ARP for on that port. [default: 0]
    #[arg(long, value_name = "PORT")]
    pub dpdk_port: Option<String>,
}

/// The transport names [`open_transport`] knows.
pub const TRANSPORTS: &[&str] = &["udp", "dpdk"];

/// Opens the transport `args` names, bound to `listen`. Errors say what is
/// wrong in words: an unknown transport lists the valid ones; a busy port
/// reads "address 127.0.0.1:9000 in use".
pub fn open_transport(
    args: &TransportArgs,
    listen: SocketAddrV4,
) -> anyhow::Result<Box<dyn Transport>> {
    let name = args.transport.as_deref().unwrap_or("udp");
    match name {
        "udp" => match UdpTransport::bind(listen) {
            Ok(t) => Ok(Box::new(t)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                anyhow::bail!("address {listen} in use")
            }
            Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {
                anyhow::bail!("address {listen} is not an address of this host")
            }
            Err(e) => anyhow::bail!("cannot bind udp://{listen}: {e}"),
        },
        "dpdk" => open_dpdk(args, listen),
        other => anyhow::bail!(
            "unknown transport \"{other}\" (valid transports: {})",
            TRANSPORTS.join(", ")
        ),
    }
}

/// `--transport dpdk`: one queue of the DPDK port `--dpdk-port`, answering
/// for the --listen address (which must be a real address on that port's
/// network, with a fixed UDP port). Costs the EAL start-up (up to a second).
#[cfg(feature = "dpdk")]
fn open_dpdk(args: &TransportArgs, listen: SocketAddrV4) -> anyhow::Result<Box<dyn Transport>> {
    use tern_rpc::transport::dpdk::{DpdkConfig, DpdkTransport};
    if listen.ip().is_unspecified() || listen.ip().is_loopback() || listen.port() == 0 {
        anyhow::bail!(
            "--transport dpdk needs --listen IP:PORT with this host's address on the DPDK port's \
             network and a fixed port (e.g. --listen 10.77.0.11:31850), not {listen}"
        );
    }
    let Some(eal) = args.dpdk_args.as_deref() else {
        anyhow::bail!(
            "--transport dpdk needs --dpdk-args (EAL arguments, e.g. \"-l 1 --no-huge --no-pci -m 512 \
             --vdev=net_af_xdp0,iface=veth-a\")"
        );
    };
    let port = args.dpdk_port.as_deref().unwrap_or("0");
    let config = DpdkConfig::new(eal, port, *listen.ip(), listen.port());
    let transport = DpdkTransport::open_single(&config)
        .map_err(|e| anyhow::anyhow!("cannot open DPDK port {port}: {e}"))?;
    Ok(Box::new(transport))
}

/// `--transport dpdk` in a build without DPDK: says how to get one.
#[cfg(not(feature = "dpdk"))]
fn open_dpdk(_args: &TransportArgs, _listen: SocketAddrV4) -> anyhow::Result<Box<dyn Transport>> {
    anyhow::bail!(
        "this dispatcher was built without DPDK; rebuild with \
         `cargo build --release -p tern-dispatcher --features dpdk` (needs libdpdk-dev)"
    )
}
