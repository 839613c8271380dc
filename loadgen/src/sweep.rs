//! `loadgen sweep`: one run per rate, with a progress bar, CSV rows written
//! as each run finishes, and the reports returned for the summary table.

use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::csv::CsvWriter;
use crate::engine::{RunConfig, run};
use crate::error::LoadgenError;
use crate::report::{RunReport, fmt_us};

/// A sweep: the run settings (its `rate` is replaced by each of `rates`).
#[derive(Clone, Debug)]
pub struct SweepConfig {
    /// Settings of every run.
    pub base: RunConfig,
    /// The offered rates, run in this order.
    pub rates: Vec<f64>,
    /// CSV file to write (rows appear as runs finish).
    pub out: Option<PathBuf>,
    /// Quiet time between runs, so one run's backlog does not leak into the
    /// next.
    pub pause: Duration,
    /// Show a progress bar on stderr (hidden anyway when it is not a TTY).
    pub progress: bool,
    /// End the sweep after the first [`saturated`] run: the rates
    /// beyond it only measure a growing queue, and the backlog they leave
    /// at the server would leak into the runs after them.
    pub stop_when_saturated: bool,
}

/// Whether a run saturated the server: the achieved rate stayed below 90%
/// of the offered rate, or requests went unanswered.
pub fn saturated(r: &RunReport) -> bool {
    let a = r.all();
    a.achieved_rps < 0.9 * a.offered_rps || a.timeouts > 0 || a.failed > 0
}

/// Runs the sweep; `on_report` sees each report as it completes (to print
/// warnings). Returns every report in rate order. A failed run ends the
/// sweep with its error; rows of finished runs stay in the CSV.
pub fn sweep(
    cfg: &SweepConfig,
    mut on_report: impl FnMut(&RunReport),
) -> Result<Vec<RunReport>, LoadgenError> {
    let mut csv = cfg.out.as_deref().map(CsvWriter::create).transpose()?;
    let bar = if cfg.progress {
        ProgressBar::new(cfg.rates.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} rates  {msg}",
        )
        .expect("static progress template is valid"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut reports = Vec::with_capacity(cfg.rates.len());
    for (i, &rate) in cfg.rates.iter().enumerate() {
        if i > 0 && !cfg.pause.is_zero() {
            std::thread::sleep(cfg.pause);
        }
        bar.set_message(format!("running {rate:.0} req/s"));
        let mut run_cfg = cfg.base.clone();
        run_cfg.rate = rate;
        let report = match run(&run_cfg) {
            Ok(r) => r,
            Err(e) => {
                bar.abandon_with_message(format!("failed at {rate:.0} req/s"));
                return Err(e);
            }
        };
        if let Some(w) = csv.as_mut() {
            w.write_report(&report)?;
        }
        let a = report.all();
        let line = format!(
            "{rate:>9.0} req/s: achieved {:.0}, p50 {}, p99 {}{}",
            a.achieved_rps,
            fmt_us(a.latency.p50_us),
            fmt_us(a.latency.p99_us),
            if a.behind { "  (BEHIND)" } else { "" }
        );
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
        bar.inc(1);
        on_report(&report);
        let stop = cfg.stop_when_saturated && saturated(&report) && i + 1 < cfg.rates.len();
        reports.push(report);
        if stop {
            let msg = format!(
                "saturated at {rate:.0} req/s: skipping the {} higher rate(s) (--stop-when-saturated)",
                cfg.rates.len() - i - 1
            );
            if bar.is_hidden() {
                eprintln!("{msg}");
            } else {
                bar.println(msg);
            }
            break;
        }
    }
    bar.finish_with_message("done");
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route_stats::RouteStats;

    fn report(scheduled: u64, window_responses: u64, timeouts: u64) -> RunReport {
        let mut s = RouteStats::new();
        s.scheduled = scheduled;
        s.window_responses = window_responses;
        for _ in 0..timeouts {
            s.record_timeout(1_000_000);
        }
        RunReport::new(1000.0, Duration::from_secs(1), vec![("/a".into(), None, s)])
    }

    #[test]
    fn saturation_is_a_throughput_shortfall_or_lost_requests() {
        assert!(!saturated(&report(1000, 995, 0)));
        assert!(
            !saturated(&report(1000, 905, 0)),
            "behind, but not saturated"
        );
        assert!(saturated(&report(1000, 850, 0)));
        assert!(saturated(&report(1000, 1000, 1)));
    }
}
