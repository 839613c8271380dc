//! The arrival process: when each request is *meant* to be sent.
//!
//! An open-loop generator decides send times up front, independently of how
//! fast the server answers; latency is then measured from these intended
//! times (see [`crate::engine`]). This module produces those times from a
//! seeded RNG, so a run is reproducible: the same seed, rate and kind give
//! the same schedule.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Exp};

/// How inter-arrival gaps are drawn. Named on the command line by its
/// variant in kebab case (`poisson`, `constant`); clap's `ValueEnum` parses
/// the name and lists the valid ones when it is unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ArrivalKind {
    /// Exponential gaps with mean `1 / rate`: a Poisson process, the usual
    /// model of many independent clients (the default).
    #[default]
    Poisson,
    /// Every gap is exactly `1 / rate`.
    Constant,
}

/// An endless, seeded sequence of intended send times.
///
/// Times are nanoseconds from the start of the run. They are accumulated in
/// `f64` and rounded only when handed out, so rounding never drifts the mean
/// rate. Each call to [`next_ns`](Self::next_ns) costs one RNG draw (Poisson)
/// or one addition (constant); nothing is allocated.
#[derive(Clone, Debug)]
pub struct Arrivals {
    kind: ArrivalKind,
    gap_ns: f64,
    exp: Exp<f64>,
    rng: StdRng,
    offset_ns: f64,
    count: u64,
    next_ns: f64,
}

impl Arrivals {
    /// A schedule of `rate` arrivals per second starting at `offset_ns`
    /// (the first arrival is one gap after it for Poisson, exactly at it for
    /// constant). Returns an error when `rate` is not a positive finite
    /// number.
    pub fn new(kind: ArrivalKind, rate: f64, seed: u64, offset_ns: f64) -> Result<Self, String> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!(
                "rate must be a positive number of requests per second, got {rate}"
            ));
        }
        let gap_ns = 1e9 / rate;
        let exp = Exp::new(1.0 / gap_ns).map_err(|e| format!("rate {rate}: {e}"))?;
        let mut rng = StdRng::seed_from_u64(seed);
        let first = match kind {
            ArrivalKind::Poisson => offset_ns + exp.sample(&mut rng),
            ArrivalKind::Constant => offset_ns,
        };
        Ok(Arrivals {
            kind,
            gap_ns,
            exp,
            rng,
            offset_ns,
            count: 0,
            next_ns: first,
        })
    }

    /// The process kind.
    pub fn kind(&self) -> ArrivalKind {
        self.kind
    }

    /// Mean gap between arrivals, in nanoseconds.
    pub fn mean_gap_ns(&self) -> f64 {
        self.gap_ns
    }

    /// The next arrival time without consuming it.
    pub fn peek_ns(&self) -> u64 {
        self.next_ns as u64
    }

    /// Consumes and returns the next arrival time (ns from the run's start).
    pub fn next_ns(&mut self) -> u64 {
        let now = self.next_ns;
        self.count += 1;
        self.next_ns = match self.kind {
            ArrivalKind::Poisson => now + self.exp.sample(&mut self.rng),
            // Multiplying instead of adding keeps a long constant schedule
            // exact to the nanosecond.
            ArrivalKind::Constant => self.offset_ns + self.count as f64 * self.gap_ns,
        };
        now as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws `n` gaps (seconds) from a schedule.
    fn gaps(kind: ArrivalKind, rate: f64, seed: u64, n: usize) -> Vec<f64> {
        let mut a = Arrivals::new(kind, rate, seed, 0.0).unwrap();
        let mut prev = a.next_ns();
        (0..n)
            .map(|_| {
                let t = a.next_ns();
                let g = (t - prev) as f64 / 1e9;
                prev = t;
                g
            })
            .collect()
    }

    #[test]
    fn poisson_mean_rate_matches_request() {
        for &rate in &[100.0, 10_000.0, 1_000_000.0] {
            let n = 200_000;
            let mut a = Arrivals::new(ArrivalKind::Poisson, rate, 42, 0.0).unwrap();
            let mut last = 0;
            for _ in 0..n {
                last = a.next_ns();
            }
            let achieved = n as f64 / (last as f64 / 1e9);
            // The standard error of the mean of 200k exponential gaps is
            // 1/sqrt(200k) = 0.22%; 1% is > 4 sigma.
            assert!(
                (achieved / rate - 1.0).abs() < 0.01,
                "rate {rate}: schedule has {achieved}"
            );
        }
    }

    /// Kolmogorov–Smirnov test of the gaps against Exp(rate).
    #[test]
    fn poisson_gaps_are_exponential_ks() {
        let rate = 50_000.0;
        let mut g = gaps(ArrivalKind::Poisson, rate, 7, 100_000);
        g.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = g.len() as f64;
        let mut d: f64 = 0.0;
        for (i, &x) in g.iter().enumerate() {
            let cdf = 1.0 - (-rate * x).exp();
            d = d
                .max((cdf - i as f64 / n).abs())
                .max(((i + 1) as f64 / n - cdf).abs());
        }
        // Critical value at alpha = 0.001 is 1.95 / sqrt(n). Gaps are rounded
        // to whole ns (mean gap 20 µs), which moves the CDF by < 1e-4.
        let critical = 1.95 / n.sqrt();
        assert!(d < critical, "KS statistic {d} >= {critical}");
    }

    /// Chi-square test with 20 equiprobable bins of Exp(rate).
    #[test]
    fn poisson_gaps_are_exponential_chi_square() {
        let rate = 2_000.0;
        let g = gaps(ArrivalKind::Poisson, rate, 1234, 100_000);
        let bins = 20usize;
        let mut counts = vec![0u64; bins];
        for &x in &g {
            let cdf = 1.0 - (-rate * x).exp();
            let b = ((cdf * bins as f64) as usize).min(bins - 1);
            counts[b] += 1;
        }
        let expected = g.len() as f64 / bins as f64;
        let chi2: f64 = counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        // 19 degrees of freedom: the 0.999 quantile is 43.82.
        assert!(chi2 < 43.82, "chi-square {chi2} with counts {counts:?}");
    }

    #[test]
    fn poisson_is_not_constant() {
        // A degenerate generator (all gaps equal) would pass the mean check;
        // the coefficient of variation of exponential gaps is 1.
        let g = gaps(ArrivalKind::Poisson, 1000.0, 3, 50_000);
        let mean = g.iter().sum::<f64>() / g.len() as f64;
        let var = g.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / g.len() as f64;
        let cv = var.sqrt() / mean;
        assert!((cv - 1.0).abs() < 0.03, "coefficient of variation {cv}");
    }

    #[test]
    fn same_seed_same_schedule_other_seed_differs() {
        let a = gaps(ArrivalKind::Poisson, 1000.0, 9, 1000);
        let b = gaps(ArrivalKind::Poisson, 1000.0, 9, 1000);
        let c = gaps(ArrivalKind::Poisson, 1000.0, 10, 1000);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn constant_gaps_are_exact_and_do_not_drift() {
        let mut a = Arrivals::new(ArrivalKind::Constant, 3.0, 0, 500.0).unwrap();
        assert_eq!(a.next_ns(), 500);
        assert_eq!(a.next_ns(), 333_333_833);
        let mut last = 0;
        for _ in 0..2_999_998 {
            last = a.next_ns();
        }
        // 3M arrivals at 3/s: the last is at 999_999.666... s after the offset.
        let expected = 500.0 + 2_999_999.0 * 1e9 / 3.0;
        assert!((last as f64 - expected).abs() < 1e3, "{last} vs {expected}");
    }

    #[test]
    fn bad_rates_are_errors() {
        for r in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Arrivals::new(ArrivalKind::Poisson, r, 0, 0.0).is_err());
        }
        use clap::ValueEnum;
        assert!(ArrivalKind::from_str("uniform", false).is_err());
        assert_eq!(
            ArrivalKind::from_str("constant", false),
            Ok(ArrivalKind::Constant)
        );
        assert_eq!(
            ArrivalKind::Poisson.to_possible_value().unwrap().get_name(),
            "poisson"
        );
    }
}
