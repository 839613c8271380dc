//! The latency percentiles a run reports per route, read off one
//! HdrHistogram: the one set of columns the CSV, the text table and the
//! plots share, so their order and names are written down once.

use hdrhistogram::Histogram;

/// Latency percentiles in µs (p50, p90, p99, p99.9 and the largest value).
/// All zero for an empty histogram.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    /// Median, µs.
    pub p50_us: f64,
    /// 90th percentile, µs.
    pub p90_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// 99.9th percentile, µs.
    pub p999_us: f64,
    /// Largest value, µs.
    pub max_us: f64,
}

impl Percentiles {
    /// The CSV column names, in [`values`](Self::values) order.
    pub const COLUMNS: [&'static str; 5] = ["p50_us", "p90_us", "p99_us", "p999_us", "max_us"];

    /// The text table's column headings, in [`values`](Self::values) order.
    pub const HEADINGS: [&'static str; 5] = ["p50", "p90", "p99", "p99.9", "max"];

    /// Reads the percentiles of a histogram in ns. Costs five quantile
    /// look-ups (a walk over the histogram's buckets each, microseconds).
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let us = |ns: u64| ns as f64 / 1000.0;
        let [p50_us, p90_us, p99_us, p999_us] =
            [0.5, 0.9, 0.99, 0.999].map(|q| us(h.value_at_quantile(q)));
        Percentiles {
            p50_us,
            p90_us,
            p99_us,
            p999_us,
            max_us: us(h.max()),
        }
    }

    /// Builds them from values in [`COLUMNS`](Self::COLUMNS) order.
    pub fn from_values([p50_us, p90_us, p99_us, p999_us, max_us]: [f64; 5]) -> Percentiles {
        Percentiles {
            p50_us,
            p90_us,
            p99_us,
            p999_us,
            max_us,
        }
    }

    /// The values in [`COLUMNS`](Self::COLUMNS) order.
    pub fn values(&self) -> [f64; 5] {
        [
            self.p50_us,
            self.p90_us,
            self.p99_us,
            self.p999_us,
            self.max_us,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_histogram_in_microseconds() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        for us in 1..=1000u64 {
            h.record(us * 1000).unwrap();
        }
        let p = Percentiles::of(&h);
        let near = |a: f64, b: f64| (a - b).abs() <= b * 0.002;
        assert!(near(p.p50_us, 500.0) && near(p.p90_us, 900.0), "{p:?}");
        assert!(near(p.p99_us, 990.0) && near(p.p999_us, 999.0), "{p:?}");
        assert!(near(p.max_us, 1000.0), "{p:?}");
        assert_eq!(Percentiles::from_values(p.values()), p);
        assert_eq!(
            Percentiles::of(&Histogram::new(3).unwrap()),
            Percentiles::default()
        );
    }
}
