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
