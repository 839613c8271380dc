//! Which transport loadgen talks over, chosen from the `--server` URL.
//!
//! This is the one place a transport is created, so a new one (DPDK) is a
//! new URL scheme and a new arm in [`open_transport`].

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::str::FromStr;

use tern_rpc::transport::Transport;
use tern_rpc::transport::udp::UdpTransport;

use crate::error::LoadgenError;

/// The transport a server URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Kernel UDP sockets (`udp://HOST:PORT`).
    Udp,
    /// DPDK (`dpdk://HOST:PORT?dev=PORT&ip=LOCAL_IP&eal=EAL+ARGS`; needs a
    /// build with `--features dpdk`). Each query key falls back to an
    /// environment variable: `dev` to `TERN_DPDK_PORT` (default port 0), `ip`
    /// to `TERN_DPDK_IP`, `eal` to `TERN_DPDK_ARGS`; `lport` (local UDP
    /// port) defaults to 41000. In `eal`, `+` and `%20` stand for spaces.
    Dpdk,
}

/// A parsed `--server` value, e.g. `udp://127.0.0.1:9000`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl {
    /// The transport.
    pub scheme: Scheme,
    /// The server's IPv4 address and UDP port (host names are resolved once,
    /// when parsing).
    pub addr: SocketAddrV4,
    text: String,
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for ServerUrl {
    type Err = LoadgenError;

    /// Parses `udp://HOST:PORT` (a bare `HOST:PORT` means udp). The host may
    /// be a name; it must resolve to an IPv4 address.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: String| LoadgenError::Usage(format!("--server {text:?}: {why}"));
        let (scheme, rest) = match text.split_once("://") {
            Some(("udp", rest)) => (Scheme::Udp, rest),
            Some(("dpdk", rest)) => (Scheme::Dpdk, rest.split_once('?').map_or(rest, |(a, _)| a)),
            Some((other, _)) => {
                return Err(bad(format!(
                    "unknown transport {other:?} (expected udp://HOST:PORT)"
                )));
            }
            None => (Scheme::Udp, text),
        };
        let rest = rest.trim_end_matches('/');
        let addrs = rest
            .to_socket_addrs()
            .map_err(|e| bad(format!("expected HOST:PORT ({e})")))?;
        let addr = addrs
            .into_iter()
            .find_map(|a| match a {
                SocketAddr::V4(v4) => Some(v4),
                SocketAddr::V6(_) => None,
            })
            .ok_or_else(|| bad("the host has no IPv4 address".into()))?;
        if addr.port() == 0 {
            return Err(bad("port 0 is not a server port".into()));
        }
        Ok(ServerUrl {
            scheme,
            addr,
            text: text.to_string(),
        })
    }
}

/// Opens a fresh client transport for talking to `server` (one per engine
/// thread; each owns its own socket). UDP binds an ephemeral port on the
/// loopback address for loopback servers, on all addresses otherwise.
pub fn open_transport(server: &ServerUrl) -> Result<Box<dyn Transport>, LoadgenError> {
    match server.scheme {
        Scheme::Dpdk => open_dpdk(server),
        Scheme::Udp => {
            let ip = if server.addr.ip().is_loopback() {
                Ipv4Addr::LOCALHOST
            } else {
                Ipv4Addr::UNSPECIFIED
            };
            let t = UdpTransport::bind(SocketAddrV4::new(ip, 0))
                .map_err(|e| LoadgenError::io(format!("binding a UDP socket on {ip}"), e))?;
            Ok(Box::new(t))
        }
    }
}

/// The value of `key` in the URL's query, else of environment variable `env`.
fn dpdk_option(server: &ServerUrl, key: &str, env: &str) -> Option<String> {
    let query = server.text.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.replace("%20", " ").replace('+', " ").replace("%2C", ","))
        .or_else(|| std::env::var(env).ok())
}

/// `dpdk://`: one queue of a DPDK port (opened once per process, so one
/// engine thread). Costs the EAL start-up on first use (up to a second).
#[cfg(feature = "dpdk")]
fn open_dpdk(server: &ServerUrl) -> Result<Box<dyn Transport>, LoadgenError> {
    use tern_rpc::transport::dpdk::{DpdkConfig, DpdkTransport};
    let usage = |why: &str| LoadgenError::Usage(format!("--server {server}: {why}"));
    let eal = dpdk_option(server, "eal", "TERN_DPDK_ARGS")
        .ok_or_else(|| usage("DPDK needs EAL arguments (eal=... in the URL or TERN_DPDK_ARGS)"))?;
    let ip: Ipv4Addr = dpdk_option(server, "ip", "TERN_DPDK_IP")
        .ok_or_else(|| usage("DPDK needs this host's IPv4 address (ip=... or TERN_DPDK_IP)"))?
        .parse()
        .map_err(|_| usage("ip= is not an IPv4 address"))?;
    let port = dpdk_option(server, "dev", "TERN_DPDK_PORT").unwrap_or_else(|| "0".into());
    let lport: u16 = dpdk_option(server, "lport", "TERN_DPDK_LPORT")
        .map_or(Ok(41000), |p| p.parse())
        .map_err(|_| usage("lport= is not a UDP port"))?;
    let config = DpdkConfig::new(&eal, &port, ip, lport);
    let t = DpdkTransport::open_single(&config)
        .map_err(|e| LoadgenError::io(format!("opening DPDK port {port}"), e))?;
    // A memif or veth link may take a moment after the port starts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !t.link_up() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(Box::new(t))
}

/// `dpdk://` in a build without DPDK: says how to get one.
#[cfg(not(feature = "dpdk"))]
fn open_dpdk(server: &ServerUrl) -> Result<Box<dyn Transport>, LoadgenError> {
    let _ = dpdk_option;
    Err(LoadgenError::Usage(format!(
        "--server {server}: this loadgen was built without DPDK; rebuild with \
         `cargo build --release -p tern-loadgen --features dpdk` (needs libdpdk-dev)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let u: ServerUrl = "udp://127.0.0.1:9000".parse().unwrap();
        assert_eq!(
            (u.scheme, u.addr),
            (Scheme::Udp, "127.0.0.1:9000".parse().unwrap())
        );
        assert_eq!(u.to_string(), "udp://127.0.0.1:9000");
        let u: ServerUrl =
            "dpdk://10.77.0.11:31850?dev=net_af_xdp0&ip=10.77.0.12&eal=-l+1+--no-huge"
                .parse()
                .unwrap();
        assert_eq!(
            (u.scheme, u.addr),
            (Scheme::Dpdk, "10.77.0.11:31850".parse().unwrap())
        );
        assert_eq!(
            dpdk_option(&u, "eal", "TERN_NO_SUCH_VAR").as_deref(),
            Some("-l 1 --no-huge")
        );
        assert_eq!(
            dpdk_option(&u, "dev", "TERN_NO_SUCH_VAR").as_deref(),
            Some("net_af_xdp0")
        );
        assert_eq!(dpdk_option(&u, "lport", "TERN_NO_SUCH_VAR"), None);
        let u: ServerUrl = "localhost:7".parse().unwrap();
        assert_eq!(u.addr.ip(), &Ipv4Addr::LOCALHOST);
        for bad in [
            "tcp://1.2.3.4:5",
            "udp://1.2.3.4",
            "udp://1.2.3.4:0",
            "udp://:5",
            "udp://1.2.3.4:99999",
        ] {
            assert!(bad.parse::<ServerUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn opens_a_loopback_socket() {
        let u: ServerUrl = "udp://127.0.0.1:9".parse().unwrap();
        let t = open_transport(&u).unwrap();
        assert_eq!(t.local_addr().ip(), &Ipv4Addr::LOCALHOST);
        assert_ne!(t.local_addr().port(), 0);
    }
}
