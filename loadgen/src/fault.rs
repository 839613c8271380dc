//! `--fault`: client-side fault injection for a run (drop, duplicate,
//! reorder loadgen's own datagrams, both directions), so that the RPC
//! layer's retransmission and duplicate suppression are exercised against a
//! real server without touching the server (used by `scripts/soak.sh`).
//!
//! The value is `KEY=VALUE[,KEY=VALUE...]` with keys `drop`, `dup`,
//! `reorder` (probabilities per datagram, 0..=1), `window-us` (longest hold
//! of a reordered datagram, µs) and `seed`. The injector is
//! [`tern_rpc::transport::fault::FaultInjector`]; [`SharedFaults`] wraps it
//! so the run can report what it did after the endpoint owns the transport.

use std::io;
use std::net::SocketAddrV4;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tern_rpc::transport::fault::{FaultConfig, FaultDirection, FaultInjector, FaultStats};
use tern_rpc::transport::{RxBatch, Transport, TxDatagram};

/// Parses a `--fault` value into a [`FaultConfig`] disturbing both
/// directions. Errors name the offending key or value.
pub fn parse_fault(s: &str) -> Result<FaultConfig, String> {
    let mut c = FaultConfig {
        direction: FaultDirection::Both,
        ..FaultConfig::default()
    };
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| {
            format!("{part:?}: expected KEY=VALUE (drop, dup, reorder, window-us, seed)")
        })?;
        let prob = || -> Result<f64, String> {
            let p: f64 = value
                .parse()
                .map_err(|_| format!("{key}: {value:?} is not a number"))?;
            if (0.0..=1.0).contains(&p) {
                Ok(p)
            } else {
                Err(format!("{key}: {value} is not a probability in 0..=1"))
            }
        };
        match key {
            "drop" => c.drop = prob()?,
            "dup" => c.duplicate = prob()?,
            "reorder" => c.reorder = prob()?,
            "window-us" => {
                let us: u64 = value
                    .parse()
                    .map_err(|_| format!("window-us: {value:?} is not a whole number"))?;
                c.reorder_window = Duration::from_micros(us.max(1));
            }
            "seed" => {
                c.seed = value
                    .parse()
                    .map_err(|_| format!("seed: {value:?} is not a whole number"))?
            }
            _ => {
                return Err(format!(
                    "unknown fault key {key:?} (drop, dup, reorder, window-us, seed)"
                ));
            }
        }
    }
    Ok(c)
}

/// A [`FaultInjector`] whose counters stay readable through a shared handle
/// after the transport is boxed and moved into an endpoint. Copying the
/// counters after each call costs a lock of an uncontended mutex: this
/// wrapper is for fault runs, not for throughput figures.
pub struct SharedFaults<T: Transport> {
    inner: FaultInjector<T>,
    stats: Arc<Mutex<FaultStats>>,
}

impl<T: Transport> SharedFaults<T> {
    /// Wraps `inner` with `config`; returns the transport and the handle
    /// its counters are published to.
    pub fn new(inner: T, config: FaultConfig) -> (Self, Arc<Mutex<FaultStats>>) {
        let stats = Arc::new(Mutex::new(FaultStats::default()));
        (
            SharedFaults {
                inner: FaultInjector::new(inner, config),
                stats: stats.clone(),
            },
            stats,
        )
    }

    fn publish(&self) {
        if let Ok(mut s) = self.stats.lock() {
            *s = self.inner.stats();
        }
    }
}

impl<T: Transport> Transport for SharedFaults<T> {
    fn max_datagram(&self) -> usize {
        self.inner.max_datagram()
    }
    fn local_addr(&self) -> SocketAddrV4 {
        self.inner.local_addr()
    }
    fn send(&mut self, batch: &[TxDatagram<'_>]) -> io::Result<usize> {
        let r = self.inner.send(batch);
        self.publish();
        r
    }
    fn recv(&mut self, out: &mut RxBatch) -> io::Result<usize> {
        let r = self.inner.recv(out);
        self.publish();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use tern_rpc::transport::udp::UdpTransport;

    #[test]
    fn parses_every_key_and_refuses_bad_values() {
        let c = parse_fault("drop=0.05,dup=0.05,reorder=0.1,window-us=800,seed=9").unwrap();
        assert_eq!((c.drop, c.duplicate, c.reorder), (0.05, 0.05, 0.1));
        assert_eq!(c.reorder_window, Duration::from_micros(800));
        assert_eq!((c.seed, c.direction), (9, FaultDirection::Both));
        for bad in ["drop=2", "dup=x", "loss=0.1", "drop", "seed=-1"] {
            assert!(parse_fault(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn counters_are_visible_through_the_handle() {
        let lo = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0);
        let cfg = parse_fault("drop=0.5,seed=3").unwrap();
        let (mut t, stats) = SharedFaults::new(UdpTransport::bind(lo).unwrap(), cfg);
        let sink = UdpTransport::bind(lo).unwrap();
        let d = TxDatagram {
            peer: sink.local_addr(),
            header: b"x",
            payload: &[],
        };
        for _ in 0..1_000 {
            t.send(&[d]).unwrap();
        }
        let dropped = stats.lock().unwrap().dropped;
        // Binomial(1000, 0.5): far inside these bounds for any seed.
        assert!((350..650).contains(&dropped), "{dropped}");
    }
}
