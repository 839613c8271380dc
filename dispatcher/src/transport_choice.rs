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
}

/// The transport names [`open_transport`] knows.
pub const TRANSPORTS: &[&str] = &["udp"];

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
        other => anyhow::bail!(
            "unknown transport \"{other}\" (valid transports: {})",
            TRANSPORTS.join(", ")
        ),
    }
}
