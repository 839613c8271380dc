//! Per-route accounting during a run: HdrHistograms and counters.
//!
//! Each engine thread keeps one [`RouteStats`] per route and merges them at
//! the end. Recording costs one histogram increment (a few ns) per sample and
//! never allocates; the histograms cover 1 ns to 1 hour with 3 significant
//! digits (≈ 0.1% resolution), about 200 KiB each.

use hdrhistogram::Histogram;

/// Error statuses counted separately, in CSV column order. Any status the
/// server sends that is not listed lands in `other`.
pub const ERROR_KINDS: [&str; 7] = [
    "no_such_function",
    "trap",
    "deadline_exceeded",
    "rejected_overload",
    "too_large",
    "bad_request",
    "other",
];

/// Index of the `other` error kind.
pub const ERROR_OTHER: usize = ERROR_KINDS.len() - 1;

/// Largest value the histograms hold exactly (1 hour in ns); larger values
/// are clamped to it.
pub const HISTOGRAM_MAX_NS: u64 = 3_600_000_000_000;

/// A fresh latency histogram in nanoseconds.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_NS, 3).expect("static histogram bounds are valid")
}

/// What one route saw during the measured window of a run.
///
/// "Measured" requests are those whose *intended* send time falls inside the
/// window (after warm-up); every one of them ends as exactly one of: a
/// response (ok or an error status), a failure reported by the RPC layer, or
/// a timeout at the end of the drain.
#[derive(Clone, Debug)]
pub struct RouteStats {
    /// Intended send time → response arrival, ns, for every measured request
    /// that ended (responses of any status, failures, and timeouts at the
    /// moment loadgen gave up on them: a lower bound, so the tail is never
    /// flattered by dropping them).
    pub latency: Histogram<u64>,
    /// Actual send time → response arrival, ns (responses only). The gap
    /// between this and `latency` is what a closed-loop tool would hide.
    pub service: Histogram<u64>,
    /// Actual send time − intended send time, ns: how late loadgen put each
    /// measured request on the wire (its own lag, plus waiting for a free
    /// session slot when the server is slow).
    pub send_lag: Histogram<u64>,
    /// Measured requests scheduled.
    pub scheduled: u64,
    /// Measured requests put on the wire (once each, however often the RPC
    /// layer retransmitted them); `scheduled - sent` never left loadgen's
    /// queue and ended as timeouts.
    pub sent: u64,
    /// Measured requests that got a response of any status.
    pub responses: u64,
    /// Responses with status ok.
    pub ok: u64,
    /// Ok responses within the route's relative deadline.
    pub deadline_met: u64,
    /// Error responses by kind, indexed like [`ERROR_KINDS`].
    pub errors: [u64; ERROR_KINDS.len()],
    /// Requests the RPC layer gave up on (retransmissions exhausted, session
    /// reset).
    pub failed: u64,
    /// Requests with no answer when the drain timeout ended the run
    /// (including ones never sent).
    pub timeouts: u64,
    /// Responses (to any request, measured or not) that arrived inside the
    /// measured window: the achieved throughput's numerator.
    pub window_responses: u64,
    /// Sum of server-side queueing time over responses, ns.
    pub queue_ns_sum: u64,
    /// Sum of server-side execution time over responses, ns.
    pub exec_ns_sum: u64,
}

impl Default for RouteStats {
    fn default() -> Self {
        Self::new()
    }
}

impl RouteStats {
    /// Empty statistics (allocates the three histograms).
    pub fn new() -> Self {
        RouteStats {
            latency: new_histogram(),
            service: new_histogram(),
            send_lag: new_histogram(),
            scheduled: 0,
            sent: 0,
            responses: 0,
            ok: 0,
            deadline_met: 0,
            errors: [0; ERROR_KINDS.len()],
            failed: 0,
            timeouts: 0,
            window_responses: 0,
            queue_ns_sum: 0,
            exec_ns_sum: 0,
        }
    }

    /// Records a response to a measured request. `error` is `None` for ok,
    /// else an index into [`ERROR_KINDS`]. `deadline_ns` is the route's.
    #[allow(clippy::too_many_arguments)]
    pub fn record_response(
        &mut self,
        latency_ns: u64,
        service_ns: u64,
        error: Option<usize>,
        deadline_ns: Option<u64>,
        queue_ns: u64,
        exec_ns: u64,
    ) {
        self.latency.saturating_record(latency_ns.max(1));
        self.service.saturating_record(service_ns.max(1));
        self.responses += 1;
        self.queue_ns_sum = self.queue_ns_sum.saturating_add(queue_ns);
        self.exec_ns_sum = self.exec_ns_sum.saturating_add(exec_ns);
        match error {
            None => {
                self.ok += 1;
                if deadline_ns.is_some_and(|d| latency_ns <= d) {
                    self.deadline_met += 1;
                }
            }
            Some(kind) => self.errors[kind.min(ERROR_OTHER)] += 1,
        }
    }

    /// Records a measured request that failed in the RPC layer after
    /// `latency_ns` from its intended send time.
    pub fn record_failure(&mut self, latency_ns: u64) {
        self.latency.saturating_record(latency_ns.max(1));
        self.failed += 1;
    }

    /// Records a measured request still unanswered when the run gave up,
    /// `latency_ns` after its intended send time.
    pub fn record_timeout(&mut self, latency_ns: u64) {
        self.latency.saturating_record(latency_ns.max(1));
        self.timeouts += 1;
    }

    /// Total error responses (all kinds).
    pub fn error_responses(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// Adds `other` into `self` (merging threads, or routes into "all").
    pub fn merge(&mut self, other: &RouteStats) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        let _ = self.send_lag.add(&other.send_lag);
        self.scheduled += other.scheduled;
        self.sent += other.sent;
        self.responses += other.responses;
        self.ok += other.ok;
        self.deadline_met += other.deadline_met;
        for (a, b) in self.errors.iter_mut().zip(other.errors.iter()) {
            *a += b;
        }
        self.failed += other.failed;
        self.timeouts += other.timeouts;
        self.window_responses += other.window_responses;
        self.queue_ns_sum = self.queue_ns_sum.saturating_add(other.queue_ns_sum);
        self.exec_ns_sum = self.exec_ns_sum.saturating_add(other.exec_ns_sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_failures_and_timeouts_all_reach_the_tail() {
        let mut s = RouteStats::new();
        s.scheduled = 4;
        s.sent = 3;
        s.record_response(1_000, 900, None, Some(2_000), 100, 800);
        s.record_response(3_000, 2_900, None, Some(2_000), 100, 800);
        s.record_response(500, 400, Some(3), Some(2_000), 0, 0);
        s.record_timeout(5_000_000);
        assert_eq!(
            (s.responses, s.ok, s.deadline_met, s.errors[3], s.timeouts),
            (3, 2, 1, 1, 1)
        );
        assert_eq!(s.latency.len(), 4);
        assert!(s.latency.max() >= 4_990_000, "the timeout sets the max");
        assert_eq!(s.service.len(), 3);
        let mut all = RouteStats::new();
        all.merge(&s);
        all.merge(&s);
        assert_eq!(
            (
                all.scheduled,
                all.sent,
                all.ok,
                all.latency.len(),
                all.queue_ns_sum
            ),
            (8, 6, 4, 8, 400)
        );
    }

    #[test]
    fn unknown_error_kinds_count_as_other() {
        let mut s = RouteStats::new();
        s.record_response(1, 1, Some(99), None, 0, 0);
        assert_eq!(s.errors[ERROR_OTHER], 1);
        assert_eq!(s.error_responses(), 1);
    }
}
