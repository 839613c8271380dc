//! [`TransportAddr`]: one text form that names a transport and an address,
//! parsed and opened in one place.
//!
//! ```text
//! udp://IP:PORT                     kernel UDP sockets
//! IP:PORT                           the same (a bare address means udp://)
//! dpdk://IP:PORT?dev=DEV&eal=ARGS&ip=LOCAL_IP&port=LOCAL_PORT
//! ```
//!
//! `IP` may also be a host name; it is resolved once, when parsing, to its
//! first IPv4 address. The DPDK query keys:
//!
//! | key | meaning | default |
//! |-----|---------|---------|
//! | `dev` | DPDK port, by index (`0`) or device name (`net_af_xdp0`, `0000:41:00.0`) | `0` |
//! | `eal` | EAL arguments; `+` (or `%20`) stands for a space, `%XX` for any byte (`%2B` for `+`, `%26` for `&`) | none: required |
//! | `ip` | client only: this host's IPv4 address on the port's network | none: required for a client |
//! | `port` | client only: this host's UDP port (`lport` is accepted as an older name) | 41000 |
//!
//! A server serves on `IP:PORT` itself. For a client, `ip`, `port`, `dev`
//! and `eal` that the address leaves out are taken from the environment
//! variables `TERN_DPDK_IP`, `TERN_DPDK_LPORT`, `TERN_DPDK_PORT` and
//! `TERN_DPDK_ARGS`, as `loadgen` always did. [`Display`](fmt::Display)
//! prints the canonical form (`udp://` spelled out, keys in the order of
//! the table, `eal` encoded with `+` and `%XX`), which parses back to the
//! same value.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::str::FromStr;

use super::Transport;
use super::udp::{UdpConfig, UdpTransport};

/// The schemes [`TransportAddr`] parses.
pub const SCHEMES: &[&str] = &["udp", "dpdk"];

/// The DPDK query keys, in words for [`AddrErrorKind::UnknownKey`].
const DPDK_KEYS: &str = "dpdk:// takes dev, eal, ip, port";

/// Local UDP port of a DPDK client when neither `port=` nor
/// `TERN_DPDK_LPORT` gives one.
pub const DEFAULT_DPDK_CLIENT_PORT: u16 = 41000;

/// How long a DPDK client waits for its port's link before giving up (a
/// memif or veth link may take a moment after the port starts).
#[cfg(feature = "dpdk")]
const LINK_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// A transport and an address, e.g. `udp://127.0.0.1:31850`; see the
/// module docs for the forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportAddr {
    /// Kernel UDP sockets.
    Udp(SocketAddrV4),
    /// One queue of a DPDK port (needs a build with the `dpdk` feature to
    /// open; parses in any build).
    Dpdk(DpdkAddr),
}

/// The parts of a `dpdk://` address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpdkAddr {
    /// The address served on (server) or talked to (client).
    pub addr: SocketAddrV4,
    /// `dev=`: the DPDK port by index or device name.
    pub dev: Option<String>,
    /// `eal=`: EAL arguments, decoded (spaces are spaces).
    pub eal: Option<String>,
    /// `ip=`: a client's own IPv4 address.
    pub local_ip: Option<Ipv4Addr>,
    /// `port=`: a client's own UDP port.
    pub local_port: Option<u16>,
}

/// Which end of a conversation opens the transport: it decides what is
/// bound locally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Serve on the address itself (port 0: a free port).
    Server,
    /// Talk to a server at the address, from an ephemeral local port (UDP:
    /// on the loopback address for a loopback server, else on all
    /// addresses; DPDK: on `ip=`/`port=`).
    Client,
}

/// Why an address does not parse or does not open; the text starts with
/// the address as given.
#[derive(Debug, thiserror::Error)]
#[error("{addr}: {kind}")]
pub struct AddrError {
    /// The address, as the caller wrote it (or as it prints, for open errors).
    pub addr: String,
    /// What is wrong with it.
    pub kind: AddrErrorKind,
}

/// What is wrong with an address.
#[derive(Debug, thiserror::Error)]
pub enum AddrErrorKind {
    /// A scheme other than `udp://` or `dpdk://`.
    #[error("unknown scheme \"{0}://\" (known: udp://IP:PORT, dpdk://IP:PORT?dev=..&eal=..)")]
    UnknownScheme(String),
    /// The host part is neither an IPv4 address nor a name with one.
    #[error("\"{0}\" is not an IPv4 address (nor a host name that has one)")]
    BadIp(String),
    /// No `:PORT` after the host.
    #[error("no port (expected IP:PORT, e.g. 127.0.0.1:31850)")]
    MissingPort,
    /// The port is not a number in 0..=65535.
    #[error("\"{0}\" is not a UDP port (0..=65535)")]
    BadPort(String),
    /// A query key this scheme does not take.
    #[error("unknown query key \"{key}\" ({known})")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The keys the scheme takes, in words.
        known: &'static str,
    },
    /// A query value that does not parse.
    #[error("{key}={value}: {why}")]
    BadValue {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The address parses but cannot be used this way (named).
    #[error("{0}")]
    Unusable(String),
    /// `dpdk://` in a build without the `dpdk` feature.
    #[error(
        "this build has no DPDK; rebuild with the `dpdk` feature, e.g. \
         `cargo build --release -p tern-dispatcher -p tern-loadgen --features \
         tern-dispatcher/dpdk,tern-loadgen/dpdk` (needs libdpdk-dev)"
    )]
    NoDpdk,
    /// The local address is taken.
    #[error("address {0} in use")]
    InUse(SocketAddrV4),
    /// The local address belongs to no interface of this host.
    #[error("{0} is not an address of this host")]
    NotLocal(SocketAddrV4),
    /// Opening failed otherwise.
    #[error("cannot open: {0}")]
    Io(#[source] io::Error),
}

impl TransportAddr {
    /// The address served on (server) or talked to (client).
    pub fn addr(&self) -> SocketAddrV4 {
        match self {
            TransportAddr::Udp(a) => *a,
            TransportAddr::Dpdk(d) => d.addr,
        }
    }

    /// The same transport and options at another address (e.g. the port a
    /// server was actually given for port 0).
    pub fn with_addr(&self, addr: SocketAddrV4) -> TransportAddr {
        match self {
            TransportAddr::Udp(_) => TransportAddr::Udp(addr),
            TransportAddr::Dpdk(d) => TransportAddr::Dpdk(DpdkAddr { addr, ..d.clone() }),
        }
    }

    /// The scheme's name: `udp` or `dpdk`.
    pub fn scheme(&self) -> &'static str {
        match self {
            TransportAddr::Udp(_) => "udp",
            TransportAddr::Dpdk(_) => "dpdk",
        }
    }

    /// Whether this is a `dpdk://` address.
    pub fn is_dpdk(&self) -> bool {
        matches!(self, TransportAddr::Dpdk(_))
    }

    fn error(&self, kind: AddrErrorKind) -> AddrError {
        AddrError {
            addr: self.to_string(),
            kind,
        }
    }

    /// Errors unless a client can talk to this address: a fixed port and a
    /// specified IP. Free.
    pub fn check_server_address(&self) -> Result<(), AddrError> {
        let a = self.addr();
        if a.port() == 0 {
            return Err(self.error(AddrErrorKind::Unusable(
                "port 0 is not a server's port".into(),
            )));
        }
        if a.ip().is_unspecified() {
            return Err(self.error(AddrErrorKind::Unusable(
                "0.0.0.0 is not a server's address".into(),
            )));
        }
        Ok(())
    }

    /// Opens the transport for `role`: UDP binds a socket (see [`Role`]),
    /// DPDK starts the EAL and the port (up to a second or so) and, for a
    /// client, waits up to 20 s for the link (a memif server's link only
    /// comes up once its client connects, so a server does not wait).
    /// Errors name the address: the port is in use, the IP is not this
    /// host's, DPDK needs `eal=`, this build has no DPDK...
    pub fn open(&self, role: Role) -> Result<Box<dyn Transport>, AddrError> {
        match self {
            TransportAddr::Udp(_) => Ok(Box::new(self.open_udp(role, UdpConfig::default())?)),
            TransportAddr::Dpdk(_) => self.open_dpdk_boxed(role),
        }
    }

    /// [`open`](Self::open) for a `udp://` address, with `config`, giving
    /// the concrete transport. Errors for a `dpdk://` address.
    pub fn open_udp(&self, role: Role, config: UdpConfig) -> Result<UdpTransport, AddrError> {
        let TransportAddr::Udp(addr) = *self else {
            return Err(self.error(AddrErrorKind::Unusable(
                "a UDP socket needs a udp:// address".into(),
            )));
        };
        let bind = match role {
            Role::Server => addr,
            Role::Client => {
                self.check_server_address()?;
                let ip = if addr.ip().is_loopback() {
                    Ipv4Addr::LOCALHOST
                } else {
                    Ipv4Addr::UNSPECIFIED
                };
                SocketAddrV4::new(ip, 0)
            }
        };
        UdpTransport::bind_with(bind, config).map_err(|e| {
            self.error(match e.kind() {
                io::ErrorKind::AddrInUse => AddrErrorKind::InUse(bind),
                io::ErrorKind::AddrNotAvailable => AddrErrorKind::NotLocal(bind),
                _ => AddrErrorKind::Io(e),
            })
        })
    }

    #[cfg(feature = "dpdk")]
    fn open_dpdk_boxed(&self, role: Role) -> Result<Box<dyn Transport>, AddrError> {
        Ok(Box::new(self.open_dpdk(role)?))
    }

    #[cfg(not(feature = "dpdk"))]
    fn open_dpdk_boxed(&self, _role: Role) -> Result<Box<dyn Transport>, AddrError> {
        Err(self.error(AddrErrorKind::NoDpdk))
    }

    /// The DPDK port configuration this address names for `role` (one
    /// queue, defaults otherwise), for callers that change more of it
    /// before opening. A server serves on the address itself, which must be
    /// a real address on the port's network with a fixed port; a client
    /// needs `ip=` (or `TERN_DPDK_IP`). Reads the environment for a client
    /// (see the module docs); errors for a `udp://` address.
    #[cfg(feature = "dpdk")]
    pub fn dpdk_config(&self, role: Role) -> Result<super::dpdk::DpdkConfig, AddrError> {
        let TransportAddr::Dpdk(d) = self else {
            return Err(self.error(AddrErrorKind::Unusable(
                "a DPDK port needs a dpdk:// address".into(),
            )));
        };
        let unusable = |why: &str| self.error(AddrErrorKind::Unusable(why.into()));
        let env = |key: &str| match role {
            Role::Client => std::env::var(key).ok(),
            Role::Server => None,
        };
        let eal = d
            .eal
            .clone()
            .or_else(|| env("TERN_DPDK_ARGS"))
            .ok_or_else(|| {
                unusable(
                    "DPDK needs EAL arguments: eal=... (e.g. \
                 eal=-l+1+--no-huge+--no-pci+-m+512+--vdev=net_af_xdp0,iface=veth-a)",
                )
            })?;
        let dev = d
            .dev
            .clone()
            .or_else(|| env("TERN_DPDK_PORT"))
            .unwrap_or_else(|| "0".into());
        let (ip, port) = match role {
            Role::Server => {
                if d.local_ip.is_some() || d.local_port.is_some() {
                    return Err(unusable(
                        "ip= and port= are a client's own address; a server serves on IP:PORT",
                    ));
                }
                let a = d.addr;
                if a.ip().is_unspecified() || a.ip().is_loopback() || a.port() == 0 {
                    return Err(unusable(
                        "a DPDK server needs this host's address on the DPDK port's network \
                         and a fixed port (e.g. dpdk://10.77.0.11:31850?...), not a loopback, \
                         0.0.0.0 or port 0",
                    ));
                }
                (*a.ip(), a.port())
            }
            Role::Client => {
                self.check_server_address()?;
                let ip = match d.local_ip {
                    Some(ip) => ip,
                    None => env("TERN_DPDK_IP")
                        .ok_or_else(|| {
                            unusable("a DPDK client needs this host's IPv4 address: ip=...")
                        })?
                        .parse()
                        .map_err(|_| unusable("TERN_DPDK_IP is not an IPv4 address"))?,
                };
                let port = match d.local_port {
                    Some(p) => p,
                    None => match env("TERN_DPDK_LPORT") {
                        Some(p) => p
                            .parse()
                            .map_err(|_| unusable("TERN_DPDK_LPORT is not a UDP port"))?,
                        None => DEFAULT_DPDK_CLIENT_PORT,
                    },
                };
                (ip, port)
            }
        };
        Ok(super::dpdk::DpdkConfig::new(&eal, &dev, ip, port))
    }

    /// [`open`](Self::open) for a `dpdk://` address, giving the concrete
    /// transport (its port, MAC and counters). Errors for a `udp://` address.
    #[cfg(feature = "dpdk")]
    pub fn open_dpdk(&self, role: Role) -> Result<super::dpdk::DpdkTransport, AddrError> {
        let config = self.dpdk_config(role)?;
        self.open_dpdk_with(role, &config)
    }

    /// Opens the DPDK port `config` describes (e.g. from
    /// [`dpdk_config`](Self::dpdk_config), changed) and, for a client,
    /// waits for its link as [`open`](Self::open) does.
    #[cfg(feature = "dpdk")]
    pub fn open_dpdk_with(
        &self,
        role: Role,
        config: &super::dpdk::DpdkConfig,
    ) -> Result<super::dpdk::DpdkTransport, AddrError> {
        let t = super::dpdk::DpdkTransport::open_single(config).map_err(|e| {
            self.error(AddrErrorKind::Unusable(format!(
                "cannot open DPDK port {}: {e}",
                config.port
            )))
        })?;
        if role == Role::Client {
            let deadline = std::time::Instant::now() + LINK_WAIT;
            while !t.link_up() {
                if std::time::Instant::now() > deadline {
                    return Err(self.error(AddrErrorKind::Unusable(format!(
                        "the link of DPDK port {} did not come up in {} s",
                        config.port,
                        LINK_WAIT.as_secs()
                    ))));
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        Ok(t)
    }
}

/// Parses `HOST:PORT`; a host name resolves to its first IPv4 address.
fn parse_host_port(text: &str) -> Result<SocketAddrV4, AddrErrorKind> {
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(AddrErrorKind::MissingPort);
    };
    if port.is_empty() {
        return Err(AddrErrorKind::MissingPort);
    }
    let port: u16 = port
        .parse()
        .map_err(|_| AddrErrorKind::BadPort(port.to_string()))?;
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(SocketAddrV4::new(ip, port));
    }
    let bad_ip = || AddrErrorKind::BadIp(host.to_string());
    // A dotted number that is not four octets ("1.2.3") is a typo, not a
    // name, though the resolver would read it the old inet_aton way.
    let numeric = host.bytes().all(|c| c.is_ascii_digit() || c == b'.');
    if host.is_empty() || numeric || host.contains(['/', '?', '&', '=', ' ']) {
        return Err(bad_ip());
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|_| bad_ip())?
        .find_map(|a| match a {
            SocketAddr::V4(v4) => Some(v4),
            SocketAddr::V6(_) => None,
        })
        .ok_or_else(bad_ip)
}

/// Decodes a query value: `+` is a space, `%XX` the byte XX.
fn decode(key: &str, value: &str) -> Result<String, AddrErrorKind> {
    let bad = |why| AddrErrorKind::BadValue {
        key: key.to_string(),
        value: value.to_string(),
        why,
    };
    let b = value.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = value
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| bad("% must be followed by two hex digits"))?;
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad("not UTF-8 once decoded"))
}

/// Encodes a query value so that [`decode`] gives it back: a space as `+`,
/// and `%`, `+`, `&`, `#`, `?` and control bytes as `%XX`.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            ' ' => out.push('+'),
            '%' | '+' | '&' | '#' | '?' => out.push_str(&format!("%{:02X}", c as u32)),
            c if c.is_control() && (c as u32) < 0x80 => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

impl FromStr for TransportAddr {
    type Err = AddrError;

    /// Parses the forms in the module docs. Resolves a host name (a DNS
    /// look-up); otherwise costs a few string scans.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |kind| AddrError {
            addr: text.to_string(),
            kind,
        };
        let (scheme, rest) = text.split_once("://").unwrap_or(("udp", text));
        if !SCHEMES.contains(&scheme) {
            return Err(err(AddrErrorKind::UnknownScheme(scheme.to_string())));
        }
        let (host_port, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let addr = parse_host_port(host_port.trim_end_matches('/')).map_err(err)?;
        if scheme == "udp" {
            if let Some(q) = query {
                let key = q.split(['=', '&']).next().unwrap_or("").to_string();
                return Err(err(AddrErrorKind::UnknownKey {
                    key,
                    known: "udp:// takes no query keys",
                }));
            }
            return Ok(TransportAddr::Udp(addr));
        }
        let mut d = DpdkAddr {
            addr,
            dev: None,
            eal: None,
            local_ip: None,
            local_port: None,
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').ok_or_else(|| {
                err(AddrErrorKind::BadValue {
                    key: pair.to_string(),
                    value: String::new(),
                    why: "expected key=value",
                })
            })?;
            let bad = |why| {
                err(AddrErrorKind::BadValue {
                    key: key.to_string(),
                    value: raw.to_string(),
                    why,
                })
            };
            let value = decode(key, raw).map_err(err)?;
            let twice = match key {
                "dev" => d.dev.replace(value).is_some(),
                "eal" => d.eal.replace(value).is_some(),
                "ip" => {
                    let ip = value.parse().map_err(|_| bad("not an IPv4 address"))?;
                    d.local_ip.replace(ip).is_some()
                }
                "port" | "lport" => {
                    let p = value
                        .parse()
                        .map_err(|_| bad("not a UDP port (0..=65535)"))?;
                    d.local_port.replace(p).is_some()
                }
                _ => {
                    return Err(err(AddrErrorKind::UnknownKey {
                        key: key.to_string(),
                        known: DPDK_KEYS,
                    }));
                }
            };
            if twice {
                return Err(bad("given twice"));
            }
        }
        Ok(TransportAddr::Dpdk(d))
    }
}

impl fmt::Display for TransportAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportAddr::Udp(a) => write!(f, "udp://{a}"),
            TransportAddr::Dpdk(d) => {
                write!(f, "dpdk://{}", d.addr)?;
                let mut sep = '?';
                let mut put = |f: &mut fmt::Formatter<'_>, key: &str, value: &str| {
                    let r = write!(f, "{sep}{key}={value}");
                    sep = '&';
                    r
                };
                if let Some(dev) = &d.dev {
                    put(f, "dev", &encode(dev))?;
                }
                if let Some(eal) = &d.eal {
                    put(f, "eal", &encode(eal))?;
                }
                if let Some(ip) = d.local_ip {
                    put(f, "ip", &ip.to_string())?;
                }
                if let Some(port) = d.local_port {
                    put(f, "port", &port.to_string())?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> TransportAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn fails(s: &str) -> AddrError {
        match s.parse::<TransportAddr>() {
            Ok(a) => panic!("{s} parsed as {a:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn udp_forms_parse_and_print_back() {
        let a = parse("udp://127.0.0.1:9000");
        assert_eq!(a, TransportAddr::Udp("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(a.to_string(), "udp://127.0.0.1:9000");
        assert_eq!(parse("127.0.0.1:9000"), a, "a bare address means udp://");
        assert_eq!(parse("udp://127.0.0.1:9000/"), a);
        assert_eq!(parse("localhost:7").addr().ip(), &Ipv4Addr::LOCALHOST);
        assert_eq!(parse("udp://0.0.0.0:0").addr().port(), 0);
        assert_eq!((a.scheme(), a.is_dpdk()), ("udp", false));
    }

    #[test]
    fn dpdk_forms_parse_and_print_back() {
        let a = parse(
            "dpdk://10.77.0.11:31850?dev=net_af_xdp0&ip=10.77.0.12\
             &eal=-l+1+--no-huge%20--vdev=net_af_xdp0%2Ciface=veth-b&lport=41001",
        );
        let TransportAddr::Dpdk(d) = &a else {
            panic!("{a:?}")
        };
        assert_eq!(d.addr, "10.77.0.11:31850".parse().unwrap());
        assert_eq!(d.dev.as_deref(), Some("net_af_xdp0"));
        assert_eq!(
            d.eal.as_deref(),
            Some("-l 1 --no-huge --vdev=net_af_xdp0,iface=veth-b")
        );
        assert_eq!(d.local_ip, Some(Ipv4Addr::new(10, 77, 0, 12)));
        assert_eq!(d.local_port, Some(41001));
        let text = a.to_string();
        assert_eq!(
            text,
            "dpdk://10.77.0.11:31850?dev=net_af_xdp0\
             &eal=-l+1+--no-huge+--vdev=net_af_xdp0,iface=veth-b&ip=10.77.0.12&port=41001"
        );
        assert_eq!(parse(&text), a, "Display parses back");
        let bare = parse("dpdk://10.0.0.1:5");
        assert_eq!(bare.to_string(), "dpdk://10.0.0.1:5");
        assert!(bare.is_dpdk());
        // Characters that mean something in a query survive a round trip.
        let odd = TransportAddr::Dpdk(DpdkAddr {
            addr: "10.0.0.1:5".parse().unwrap(),
            dev: Some("0".into()),
            eal: Some("a+b&c%d e?f#g".into()),
            local_ip: None,
            local_port: None,
        });
        assert_eq!(parse(&odd.to_string()), odd);
        assert_eq!(
            odd.with_addr("10.0.0.2:6".parse().unwrap()).addr(),
            "10.0.0.2:6".parse().unwrap()
        );
    }

    #[test]
    fn each_error_names_the_address_and_the_fault() {
        let e = fails("tcp://1.2.3.4:5");
        assert!(matches!(&e.kind, AddrErrorKind::UnknownScheme(s) if s == "tcp"));
        let text = e.to_string();
        assert!(text.starts_with("tcp://1.2.3.4:5: "), "{text}");
        assert!(
            text.contains("udp://") && text.contains("dpdk://"),
            "{text}"
        );

        for (addr, host) in [
            ("udp://1.2.3:5", "1.2.3"),
            ("udp://:5", ""),
            ("no such host.:1", "no such host."),
        ] {
            let e = fails(addr);
            assert!(
                matches!(&e.kind, AddrErrorKind::BadIp(h) if h == host),
                "{addr}: {e}"
            );
            assert!(e.to_string().starts_with(addr));
        }
        for addr in ["udp://1.2.3.4", "1.2.3.4:", "dpdk://1.2.3.4?dev=0"] {
            assert!(
                matches!(fails(addr).kind, AddrErrorKind::MissingPort),
                "{addr}"
            );
        }
        assert!(
            matches!(fails("udp://1.2.3.4:99999").kind, AddrErrorKind::BadPort(p) if p == "99999")
        );
        let e = fails("dpdk://1.2.3.4:5?dev=0&speed=10");
        assert!(matches!(&e.kind, AddrErrorKind::UnknownKey { key, .. } if key == "speed"));
        assert!(e.to_string().contains("dev, eal, ip, port"), "{e}");
        let e = fails("udp://1.2.3.4:5?dev=0");
        assert!(matches!(&e.kind, AddrErrorKind::UnknownKey { key, .. } if key == "dev"));
        for (addr, key) in [
            ("dpdk://1.2.3.4:5?ip=10.0.0", "ip"),
            ("dpdk://1.2.3.4:5?port=70000", "port"),
            ("dpdk://1.2.3.4:5?eal=%zz", "eal"),
            ("dpdk://1.2.3.4:5?dev=0&dev=1", "dev"),
            ("dpdk://1.2.3.4:5?dev", "dev"),
        ] {
            let e = fails(addr);
            assert!(
                matches!(&e.kind, AddrErrorKind::BadValue { key: k, .. } if k == key),
                "{addr}: {e}"
            );
        }
    }

    #[test]
    fn clients_need_a_server_address() {
        for addr in ["udp://127.0.0.1:0", "udp://0.0.0.0:9"] {
            let e = parse(addr).open(Role::Client).err().expect(addr);
            assert!(matches!(e.kind, AddrErrorKind::Unusable(_)), "{e}");
            assert!(e.to_string().starts_with(addr), "{e}");
        }
    }

    #[test]
    fn opens_udp_on_loopback_for_both_roles() {
        let server = parse("udp://127.0.0.1:0").open(Role::Server).unwrap();
        let at = server.local_addr();
        assert_eq!(at.ip(), &Ipv4Addr::LOCALHOST);
        assert_ne!(at.port(), 0);
        let client = TransportAddr::Udp(at).open(Role::Client).unwrap();
        assert_eq!(client.local_addr().ip(), &Ipv4Addr::LOCALHOST);
        assert_ne!(client.local_addr().port(), at.port());
        // The server's port is taken now.
        let e = TransportAddr::Udp(at).open(Role::Server).err().unwrap();
        assert!(matches!(e.kind, AddrErrorKind::InUse(a) if a == at), "{e}");
        assert!(
            e.to_string().contains(&format!("address {at} in use")),
            "{e}"
        );
        // Not this host's address.
        let e = parse("udp://192.0.2.1:0").open(Role::Server).err().unwrap();
        assert!(matches!(e.kind, AddrErrorKind::NotLocal(_)), "{e}");
        // open_udp keeps the configuration.
        let t = parse("udp://127.0.0.1:0")
            .open_udp(
                Role::Server,
                UdpConfig {
                    max_datagram: 8972,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(t.max_datagram(), 8972);
        assert!(
            parse("dpdk://10.0.0.1:5")
                .open_udp(Role::Server, UdpConfig::default())
                .is_err()
        );
    }

    #[cfg(not(feature = "dpdk"))]
    #[test]
    fn dpdk_without_the_feature_says_how_to_get_it() {
        let e = parse("dpdk://10.0.0.1:5?eal=-l+0")
            .open(Role::Server)
            .err()
            .unwrap();
        assert!(matches!(e.kind, AddrErrorKind::NoDpdk));
        assert!(e.to_string().contains("--features"), "{e}");
    }

    #[cfg(feature = "dpdk")]
    #[test]
    fn dpdk_configs_follow_the_role() {
        let server = parse("dpdk://10.77.0.11:31850?dev=net_af_xdp0&eal=-l+0+--no-huge");
        let c = server.dpdk_config(Role::Server).unwrap();
        assert_eq!(c.eal_args, ["-l", "0", "--no-huge"]);
        assert_eq!(
            (c.port.as_str(), c.local_ip, c.udp_port),
            ("net_af_xdp0", Ipv4Addr::new(10, 77, 0, 11), 31850)
        );
        let client = parse("dpdk://10.77.0.11:31850?eal=-l+1&ip=10.77.0.12&port=41001");
        let c = client.dpdk_config(Role::Client).unwrap();
        assert_eq!(
            (c.port.as_str(), c.local_ip, c.udp_port),
            ("0", Ipv4Addr::new(10, 77, 0, 12), 41001)
        );
        for (addr, role) in [
            ("dpdk://127.0.0.1:31850?eal=-l+0", Role::Server),
            ("dpdk://10.0.0.1:0?eal=-l+0", Role::Server),
            ("dpdk://10.0.0.1:5?eal=-l+0&ip=10.0.0.2", Role::Server),
            ("dpdk://10.0.0.1:5?dev=0", Role::Server),
            ("udp://10.0.0.1:5", Role::Server),
        ] {
            let e = parse(addr).dpdk_config(role).expect_err(addr);
            assert!(matches!(e.kind, AddrErrorKind::Unusable(_)), "{addr}: {e}");
        }
    }
}
