//! A fault-injecting wrapper around any [`Transport`]: drops, duplicates,
//! reorders and delays datagrams at random, reproducibly from a seed.
//!
//! Faults apply per datagram in the directions [`FaultConfig::direction`]
//! selects. Reordering holds a datagram back for a random time up to
//! `reorder_window` so that later ones overtake it; delay holds it for
//! `delay`. Held datagrams are copied (this wrapper is for tests and
//! benches, not the fast path) and released by later `send`/`recv` calls, so
//! the endpoint's poll loop must keep running.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddrV4;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{RxBatch, Transport, TxDatagram};

/// Which traffic a [`FaultInjector`] disturbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FaultDirection {
    /// Only datagrams this side sends.
    Send,
    /// Only datagrams this side receives.
    Recv,
    /// Both.
    #[default]
    Both,
}

/// Fault probabilities (each 0.0..=1.0, per datagram and direction) and
/// timings.
#[derive(Debug, Clone, Copy)]
pub struct FaultConfig {
    /// Probability a datagram is lost.
    pub drop: f64,
    /// Probability a datagram arrives twice.
    pub duplicate: f64,
    /// Probability a datagram is held back so later ones overtake it.
    pub reorder: f64,
    /// Longest hold of a reordered datagram.
    pub reorder_window: Duration,
    /// Probability a datagram is delayed by `delay`.
    pub delay_probability: f64,
    /// Delay of a delayed datagram.
    pub delay: Duration,
    /// Seed of the random generator.
    pub seed: u64,
    /// Which traffic is disturbed.
    pub direction: FaultDirection,
}

impl Default for FaultConfig {
    /// No faults.
    fn default() -> Self {
        FaultConfig {
            drop: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_window: Duration::from_micros(500),
            delay_probability: 0.0,
            delay: Duration::from_millis(1),
            seed: 1,
            direction: FaultDirection::Both,
        }
    }
}

/// What the injector did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Datagrams dropped.
    pub dropped: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Datagrams held back for reordering.
    pub reordered: u64,
    /// Datagrams delayed.
    pub delayed: u64,
}

/// xorshift64*: small, fast, good enough for fault decisions.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that small seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform number in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }
}

/// The fate of one datagram.
enum Fate {
    Pass,
    Drop,
    Duplicate,
    Hold(Duration),
}

/// A datagram held back, with its own copy of the bytes.
struct Held {
    due: Instant,
    peer: SocketAddrV4,
    bytes: Vec<u8>,
}

/// The injector's counters, shared with [`FaultStatsHandle`]s so that they
/// stay readable after the injector is boxed into an endpoint. Relaxed
/// atomics: each is an independent count, bumped only when a fault happens.
#[derive(Debug, Default)]
struct FaultCounters {
    dropped: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    delayed: AtomicU64,
}

impl FaultCounters {
    fn read(&self) -> FaultStats {
        FaultStats {
            dropped: self.dropped.load(Ordering::Relaxed),
            duplicated: self.duplicated.load(Ordering::Relaxed),
            reordered: self.reordered.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
        }
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Reads a [`FaultInjector`]'s counters from anywhere (another thread, or
/// after the injector moved into an endpoint). Cheap to clone.
#[derive(Debug, Clone)]
pub struct FaultStatsHandle(Arc<FaultCounters>);

impl FaultStatsHandle {
    /// What the injector has done so far.
    pub fn get(&self) -> FaultStats {
        self.0.read()
    }
}

/// A [`Transport`] that disturbs the datagrams of an inner one.
pub struct FaultInjector<T: Transport> {
    inner: T,
    config: FaultConfig,
    rng: Rng,
    stats: Arc<FaultCounters>,
    held_tx: VecDeque<Held>,
    held_rx: VecDeque<Held>,
    spare: Vec<Vec<u8>>,
    rx_scratch: Option<RxBatch>,
}

impl<T: Transport> FaultInjector<T> {
    /// Wraps `inner` with `config`.
    pub fn new(inner: T, config: FaultConfig) -> Self {
        FaultInjector {
            inner,
            rng: Rng::new(config.seed),
            config,
            stats: Arc::default(),
            held_tx: VecDeque::new(),
            held_rx: VecDeque::new(),
            spare: Vec::new(),
            rx_scratch: None,
        }
    }

    /// Changes the fault rates (the random stream goes on).
    pub fn set_config(&mut self, config: FaultConfig) {
        self.config = config;
    }

    /// The fault rates in force.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// What was done so far.
    pub fn stats(&self) -> FaultStats {
        self.stats.read()
    }

    /// A handle that reads [`stats`](Self::stats) after this injector has
    /// been moved (e.g. boxed into an endpoint).
    pub fn stats_handle(&self) -> FaultStatsHandle {
        FaultStatsHandle(self.stats.clone())
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// Datagrams held back now (both directions).
    pub fn held(&self) -> usize {
        self.held_tx.len() + self.held_rx.len()
    }

    fn fate(&mut self, applies: bool) -> Fate {
        if !applies {
            return Fate::Pass;
        }
        let c = self.config;
        if self.rng.chance(c.drop) {
            FaultCounters::bump(&self.stats.dropped);
            Fate::Drop
        } else if self.rng.chance(c.duplicate) {
            FaultCounters::bump(&self.stats.duplicated);
            Fate::Duplicate
        } else if self.rng.chance(c.reorder) {
            FaultCounters::bump(&self.stats.reordered);
            let w = c.reorder_window.as_nanos().max(1) as u64;
            Fate::Hold(Duration::from_nanos(self.rng.next() % w))
        } else if self.rng.chance(c.delay_probability) {
            FaultCounters::bump(&self.stats.delayed);
            Fate::Hold(c.delay)
        } else {
            Fate::Pass
        }
    }

    fn copy(&mut self, parts: [&[u8]; 2]) -> Vec<u8> {
        let mut v = self.spare.pop().unwrap_or_default();
        v.clear();
        v.extend_from_slice(parts[0]);
        v.extend_from_slice(parts[1]);
        v
    }

    /// Sends held datagrams that are due, oldest first.
    fn release_tx(&mut self, now: Instant) -> io::Result<()> {
        while let Some(pos) = self.held_tx.iter().position(|h| h.due <= now) {
            let h = &self.held_tx[pos];
            let d = TxDatagram {
                peer: h.peer,
                header: &h.bytes,
                payload: &[],
            };
            if self.inner.send(&[d])? == 0 {
                return Ok(());
            }
            if let Some(h) = self.held_tx.remove(pos) {
                self.spare.push(h.bytes);
            }
        }
        Ok(())
    }
}

impl<T: Transport> Transport for FaultInjector<T> {
    fn max_datagram(&self) -> usize {
        self.inner.max_datagram()
    }

    fn local_addr(&self) -> SocketAddrV4 {
        self.inner.local_addr()
    }

    fn send(&mut self, batch: &[TxDatagram<'_>]) -> io::Result<usize> {
        let now = Instant::now();
        self.release_tx(now)?;
        let applies = self.config.direction != FaultDirection::Recv;
        let mut out: Vec<TxDatagram<'_>> = Vec::with_capacity(batch.len() + 4);
        let mut positions = Vec::with_capacity(batch.len() + 4);
        for (i, d) in batch.iter().enumerate() {
            match self.fate(applies) {
                Fate::Pass => {
                    out.push(*d);
                    positions.push(i);
                }
                Fate::Drop => {}
                Fate::Duplicate => {
                    out.push(*d);
                    out.push(*d);
                    positions.push(i);
                    positions.push(i);
                }
                Fate::Hold(t) => {
                    let bytes = self.copy([d.header, d.payload]);
                    self.held_tx.push_back(Held {
                        due: now + t,
                        peer: d.peer,
                        bytes,
                    });
                }
            }
        }
        let mut sent = 0;
        while sent < out.len() {
            let n = self.inner.send(&out[sent..])?;
            if n == 0 {
                return Ok(positions[sent]);
            }
            sent += n;
        }
        Ok(batch.len())
    }

    fn recv(&mut self, out: &mut RxBatch) -> io::Result<usize> {
        out.clear();
        let now = Instant::now();
        self.release_tx(now)?;
        // Released datagrams first: they are older than anything new.
        while out.len() < out.capacity() {
            let Some(pos) = self.held_rx.iter().position(|h| h.due <= now) else {
                break;
            };
            if let Some(h) = self.held_rx.remove(pos) {
                out.push(h.peer, &h.bytes);
                self.spare.push(h.bytes);
            }
        }
        let room = out.capacity() - out.len();
        if room == 0 {
            return Ok(out.len());
        }
        let mut scratch = match self.rx_scratch.take() {
            Some(s) if s.capacity() == room && s.slot_size() == out.slot_size() => s,
            _ => RxBatch::new(room, out.slot_size()),
        };
        let result = self.inner.recv(&mut scratch);
        let applies = self.config.direction != FaultDirection::Send;
        if let Ok(n) = result {
            for i in 0..n {
                let (peer, bytes) = scratch.get(i);
                match self.fate(applies) {
                    Fate::Pass => {
                        out.push(peer, bytes);
                    }
                    Fate::Drop => {}
                    Fate::Duplicate => {
                        out.push(peer, bytes);
                        let copy = self.copy([bytes, &[]]);
                        self.held_rx.push_back(Held {
                            due: now,
                            peer,
                            bytes: copy,
                        });
                    }
                    Fate::Hold(t) => {
                        let copy = self.copy([bytes, &[]]);
                        self.held_rx.push_back(Held {
                            due: now + t,
                            peer,
                            bytes: copy,
                        });
                    }
                }
            }
        }
        self.rx_scratch = Some(scratch);
        result.map(|_| out.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::udp::UdpTransport;
    use std::net::Ipv4Addr;

    #[test]
    fn rates_follow_config_and_seed() {
        let lo = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0);
        let cfg = FaultConfig {
            drop: 0.1,
            duplicate: 0.1,
            reorder: 0.1,
            direction: FaultDirection::Send,
            seed: 7,
            ..Default::default()
        };
        let mut a = FaultInjector::new(UdpTransport::bind(lo).unwrap(), cfg);
        let b = UdpTransport::bind(lo).unwrap();
        let d = TxDatagram {
            peer: b.local_addr(),
            header: b"x",
            payload: &[],
        };
        for _ in 0..10_000 {
            assert_eq!(a.send(&[d]).unwrap(), 1);
        }
        let s = a.stats();
        // Binomial(10000, ~0.1): far inside these bounds for any seed.
        assert!((700..1300).contains(&s.dropped), "{s:?}");
        assert!((500..1300).contains(&s.duplicated), "{s:?}");
        assert!((500..1300).contains(&s.reordered), "{s:?}");
        let again = {
            let mut c = FaultInjector::new(UdpTransport::bind(lo).unwrap(), cfg);
            for _ in 0..10_000 {
                c.send(&[d]).unwrap();
            }
            c.stats()
        };
        assert_eq!(again, s, "same seed, same faults");
    }

    #[test]
    fn counters_stay_visible_through_the_handle_after_the_move() {
        let lo = SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 0);
        let sink = crate::transport::udp::UdpTransport::bind(lo).unwrap();
        let config = FaultConfig {
            drop: 0.5,
            seed: 3,
            ..FaultConfig::default()
        };
        let injector = FaultInjector::new(
            crate::transport::udp::UdpTransport::bind(lo).unwrap(),
            config,
        );
        let handle = injector.stats_handle();
        let mut boxed: Box<dyn Transport> = Box::new(injector);
        let d = TxDatagram {
            peer: sink.local_addr(),
            header: b"x",
            payload: &[],
        };
        for _ in 0..1_000 {
            boxed.send(&[d]).unwrap();
        }
        let dropped = handle.get().dropped;
        // Binomial(1000, 0.5): far inside these bounds for any seed.
        assert!((350..650).contains(&dropped), "{dropped}");
    }
}
