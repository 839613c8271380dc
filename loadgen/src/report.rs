//! What a run reports: one [`RouteRow`] per route plus an `all` row, the
//! "fell behind" verdict, and the text table printed after runs and sweeps.

use std::fmt::Write as _;
use std::time::Duration;

use crate::percentiles::Percentiles;
use crate::route_stats::{ERROR_KINDS, RouteStats};

/// Name of the row that aggregates every route of a run.
pub const ALL_ROUTES: &str = "all";

/// One route's figures for one run: exactly one CSV row.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteRow {
    /// The run's nominal offered rate over all routes (req/s); the x axis of
    /// sweep plots.
    pub rate_rps: f64,
    /// Route name, or [`ALL_ROUTES`].
    pub route: String,
    /// Requests of this route scheduled in the measured window / its length.
    pub offered_rps: f64,
    /// Responses of this route that arrived in the measured window / its
    /// length.
    pub achieved_rps: f64,
    /// Measured requests scheduled.
    pub requests: u64,
    /// Measured requests put on the wire (the rest never left loadgen's
    /// queue and count as timeouts).
    pub sent: u64,
    /// Ok responses.
    pub ok: u64,
    /// Latency percentiles from the intended send time.
    pub latency: Percentiles,
    /// 99th percentile of actual-send → response time, µs (what a closed-loop
    /// tool would report).
    pub service_p99_us: f64,
    /// The route's relative deadline, µs (`None`: no deadline known).
    pub deadline_us: Option<f64>,
    /// Share of measured requests answered ok within the deadline, %.
    pub deadline_met_pct: Option<f64>,
    /// Error responses by status, indexed like [`ERROR_KINDS`].
    pub errors: [u64; ERROR_KINDS.len()],
    /// Requests the RPC layer gave up on.
    pub failed: u64,
    /// Requests unanswered at the end of the drain.
    pub timeouts: u64,
    /// Mean server-side queueing time over responses, µs.
    pub mean_queue_us: f64,
    /// Mean server-side execution time over responses, µs.
    pub mean_exec_us: f64,
    /// 99th percentile of send lag (actual − intended send time), µs.
    pub send_lag_p99_us: f64,
    /// Whether this row fell behind the offered rate (see [`fell_behind`]).
    pub behind: bool,
}

/// Whether loadgen failed to keep the offered rate: it achieved less than
/// 99% of the rate it offered (`offered_rps` > 0), or the 99th percentile
/// of its send lag (`send_lag_p99_ns`, actual − intended send time) was
/// above 1 ms, so that the intended schedule was not what went on the wire.
pub fn fell_behind(offered_rps: f64, achieved_rps: f64, send_lag_p99_ns: u64) -> bool {
    const MIN_ACHIEVED_SHARE: f64 = 0.99;
    const MAX_SEND_LAG_P99_NS: u64 = 1_000_000;
    (offered_rps > 0.0 && achieved_rps < MIN_ACHIEVED_SHARE * offered_rps)
        || send_lag_p99_ns > MAX_SEND_LAG_P99_NS
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

impl RouteRow {
    /// Figures from a route's statistics over a window of `window` length.
    /// `deadline_met` is `Some((met, of))` when the route has a deadline.
    pub fn from_stats(
        rate_rps: f64,
        route: &str,
        stats: &RouteStats,
        window: Duration,
        deadline_us: Option<f64>,
        deadline_met: Option<(u64, u64)>,
    ) -> RouteRow {
        let secs = window.as_secs_f64().max(1e-9);
        let mean = |sum: u64| {
            if stats.responses == 0 {
                0.0
            } else {
                sum as f64 / stats.responses as f64 / 1000.0
            }
        };
        let offered_rps = stats.scheduled as f64 / secs;
        let achieved_rps = stats.window_responses as f64 / secs;
        let send_lag_p99_ns = if stats.send_lag.is_empty() {
            0
        } else {
            stats.send_lag.value_at_quantile(0.99)
        };
        let behind = fell_behind(offered_rps, achieved_rps, send_lag_p99_ns);
        RouteRow {
            rate_rps,
            route: route.to_string(),
            offered_rps,
            achieved_rps,
            requests: stats.scheduled,
            sent: stats.sent,
            ok: stats.ok,
            latency: Percentiles::of(&stats.latency),
            service_p99_us: Percentiles::of(&stats.service).p99_us,
            deadline_us,
            deadline_met_pct: deadline_met.map(|(met, of)| {
                if of == 0 {
                    0.0
                } else {
                    100.0 * met as f64 / of as f64
                }
            }),
            errors: stats.errors,
            failed: stats.failed,
            timeouts: stats.timeouts,
            mean_queue_us: mean(stats.queue_ns_sum),
            mean_exec_us: mean(stats.exec_ns_sum),
            send_lag_p99_us: us(send_lag_p99_ns),
            behind,
        }
    }

    /// Error responses of all statuses.
    pub fn error_total(&self) -> u64 {
        self.errors.iter().sum()
    }
}

/// The outcome of one run at one rate.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Nominal offered rate over all routes, req/s.
    pub rate_rps: f64,
    /// Length of the measured window.
    pub window: Duration,
    /// One row per route in mix order, then the [`ALL_ROUTES`] row.
    pub rows: Vec<RouteRow>,
    /// The statistics behind each row (same order), histograms included.
    pub stats: Vec<RouteStats>,
    /// Human-readable warnings (fell behind, failures, timeouts).
    pub warnings: Vec<String>,
}

impl RunReport {
    /// Builds the report from per-route statistics: `routes` is
    /// `(name, deadline_ns, stats)` in mix order.
    pub fn new(
        rate_rps: f64,
        window: Duration,
        routes: Vec<(String, Option<u64>, RouteStats)>,
    ) -> RunReport {
        let mut all = RouteStats::new();
        let (mut met, mut of) = (0u64, 0u64);
        let mut rows = Vec::with_capacity(routes.len() + 1);
        let mut stats = Vec::with_capacity(routes.len() + 1);
        for (name, deadline_ns, s) in routes {
            all.merge(&s);
            let dl = deadline_ns.map(|_| (s.deadline_met, s.scheduled));
            if let Some((m, o)) = dl {
                met += m;
                of += o;
            }
            rows.push(RouteRow::from_stats(
                rate_rps,
                &name,
                &s,
                window,
                deadline_ns.map(us),
                dl,
            ));
            stats.push(s);
        }
        let all_dl = (of > 0).then_some((met, of));
        rows.push(RouteRow::from_stats(
            rate_rps, ALL_ROUTES, &all, window, None, all_dl,
        ));
        stats.push(all);
        let mut report = RunReport {
            rate_rps,
            window,
            rows,
            stats,
            warnings: Vec::new(),
        };
        report.warnings = report.compute_warnings();
        report
    }

    /// The [`ALL_ROUTES`] row.
    pub fn all(&self) -> &RouteRow {
        self.rows.last().expect("a report always has the all row")
    }

    /// Whether the run fell behind the offered rate.
    pub fn behind(&self) -> bool {
        self.all().behind
    }

    fn compute_warnings(&self) -> Vec<String> {
        let a = self.all();
        let mut w = Vec::new();
        if a.behind {
            let pct = if a.offered_rps > 0.0 {
                100.0 * a.achieved_rps / a.offered_rps
            } else {
                0.0
            };
            w.push(format!(
                "fell behind at {:.0} req/s: achieved {:.0} req/s ({pct:.1}% of the {:.0} offered), p99 send lag {}; \
                 latencies still count from the intended send times, but the server did not see the offered load \
                 (the server is saturated, or loadgen hit its own limit: see loadgen/README.md)",
                self.rate_rps,
                a.achieved_rps,
                a.offered_rps,
                fmt_us(a.send_lag_p99_us)
            ));
        }
        if a.timeouts > 0 {
            w.push(format!(
                "{} requests unanswered at the end of the drain (counted as timeouts)",
                a.timeouts
            ));
        }
        if a.failed > 0 {
            w.push(format!(
                "{} requests failed in the RPC layer (retransmissions exhausted or session reset)",
                a.failed
            ));
        }
        w
    }
}

/// Formats µs with a unit that keeps 3–4 significant digits.
pub fn fmt_us(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}ms", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}us")
    } else {
        format!("{v:.1}us")
    }
}

/// The summary table of one or more runs: one line per run and route.
pub fn format_table(reports: &[RunReport]) -> String {
    let mut out = String::new();
    let [h50, h90, h99, h999, hmax] = Percentiles::HEADINGS;
    let _ = writeln!(
        out,
        "{:>9} {:<14} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>6} {:>8} {:>8} note",
        "rate",
        "route",
        "offered",
        "achieved",
        h50,
        h90,
        h99,
        h999,
        hmax,
        "dl-met",
        "errors",
        "t/o",
        "queue",
        "exec",
    );
    for r in reports {
        for row in &r.rows {
            let dl = row
                .deadline_met_pct
                .map(|p| format!("{p:.1}%"))
                .unwrap_or_else(|| "-".into());
            let [p50, p90, p99, p999, max] = row.latency.values().map(fmt_us);
            let _ = writeln!(
                out,
                "{:>9.0} {:<14} {:>9.0} {:>9.0} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>6} {:>8} {:>8} {}",
                row.rate_rps,
                row.route,
                row.offered_rps,
                row.achieved_rps,
                p50,
                p90,
                p99,
                p999,
                max,
                dl,
                row.error_total() + row.failed,
                row.timeouts,
                fmt_us(row.mean_queue_us),
                fmt_us(row.mean_exec_us),
                if row.behind { "BEHIND" } else { "" }
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(scheduled: u64, window_responses: u64, lat_us: &[u64]) -> RouteStats {
        let mut s = RouteStats::new();
        s.scheduled = scheduled;
        s.window_responses = window_responses;
        for &l in lat_us {
            s.record_response(l * 1000, l * 1000, None, Some(100_000), 1000, 2000);
            s.send_lag.record(1000).unwrap();
        }
        s
    }

    #[test]
    fn rows_percentiles_rates_and_deadlines() {
        let lat: Vec<u64> = (1..=1000).collect();
        let r = RunReport::new(
            1000.0,
            Duration::from_secs(1),
            vec![
                ("/a".into(), Some(100_000), stats(1000, 1000, &lat)),
                ("/b".into(), None, stats(0, 0, &[])),
            ],
        );
        assert_eq!(r.rows.len(), 3);
        let a = &r.rows[0];
        assert_eq!((a.requests, a.ok), (1000, 1000));
        assert!(
            (a.latency.p50_us - 500.0).abs() <= 1.0 && (a.latency.p99_us - 990.0).abs() <= 1.0,
            "{a:?}"
        );
        assert!((a.latency.max_us - 1000.0).abs() <= 1.0);
        assert_eq!(a.deadline_met_pct, Some(10.0), "100 of 1000 within 100 µs");
        assert_eq!((a.mean_queue_us, a.mean_exec_us), (1.0, 2.0));
        assert!(!a.behind);
        assert_eq!(r.rows[1].deadline_met_pct, None);
        assert_eq!(r.all().route, ALL_ROUTES);
        assert_eq!(r.all().deadline_met_pct, Some(10.0));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert!(format_table(&[r]).contains("/a"));
    }

    #[test]
    fn fell_behind_thresholds() {
        assert!(!fell_behind(1000.0, 990.0, 1_000_000));
        assert!(fell_behind(1000.0, 989.0, 0));
        assert!(fell_behind(1000.0, 1000.0, 1_000_001));
        assert!(!fell_behind(0.0, 0.0, 0), "nothing offered is not behind");
    }

    #[test]
    fn falling_behind_is_flagged() {
        let r = RunReport::new(
            1000.0,
            Duration::from_secs(1),
            vec![("/a".into(), None, stats(1000, 980, &[10]))],
        );
        assert!(r.behind());
        assert!(r.warnings[0].contains("fell behind"), "{:?}", r.warnings);
        let mut s = stats(1000, 1000, &[10]);
        for _ in 0..100 {
            s.send_lag.record(5_000_000).unwrap();
        }
        let r = RunReport::new(1000.0, Duration::from_secs(1), vec![("/a".into(), None, s)]);
        assert!(r.behind(), "large send lag alone flags it");
    }
}
