//! `--fault`: client-side fault injection for a run (drop, duplicate,
//! reorder loadgen's own datagrams, both directions), so that the RPC
//! layer's retransmission and duplicate suppression are exercised against a
//! real server without touching the server (used by `scripts/soak.sh`).
//!
//! The value is `KEY=VALUE[,KEY=VALUE...]` with keys `drop`, `dup`,
//! `reorder` (probabilities per datagram, 0..=1), `window-us` (longest hold
//! of a reordered datagram, µs) and `seed`. The injector is
//! [`tern_rpc::transport::fault::FaultInjector`]; the run reads what it did
//! through its [`FaultStatsHandle`](tern_rpc::transport::fault::FaultStatsHandle)
//! after the endpoint owns the transport.

use std::time::Duration;

use tern_rpc::transport::fault::{FaultConfig, FaultDirection};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
