//! A run is bounded even when the server stops answering: it ends after
//! the window plus the drain timeout, and every measured request is
//! accounted for exactly once (answered, failed, or timed out), never
//! silently dropped.

use std::net::SocketAddrV4;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tern_loadgen::echo_server::{EchoServer, echo};
use tern_loadgen::engine::{RunConfig, run};
use tern_loadgen::mix::Mix;
use tern_rpc::IdleMode;

#[test]
fn a_server_that_stops_answering_ends_in_timeouts_not_a_hang() {
    let release = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicU64::new(0));
    let (r, n) = (release.clone(), seen.clone());
    // Answers the first 50 requests, then hangs (until released at the end
    // of the test, so the server thread can be joined).
    let server = EchoServer::spawn_with(
        SocketAddrV4::new([127, 0, 0, 1].into(), 0),
        IdleMode::Adaptive,
        move |t, b| {
            if n.fetch_add(1, Ordering::Relaxed) >= 50 {
                while !r.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            echo(t, b)
        },
    )
    .unwrap();

    let mix = Mix::from_args(None, "1", &[]).unwrap();
    let mut cfg = RunConfig::new(server.url(), mix, 500.0);
    cfg.duration = Duration::from_secs(1);
    cfg.warmup = Duration::ZERO;
    cfg.drain = Duration::from_millis(500);
    cfg.sessions = 2;
    let t0 = Instant::now();
    let report = run(&cfg).unwrap();
    let took = t0.elapsed();
    release.store(true, Ordering::Relaxed);

    let row = report.all();
    let stats = report.stats.last().unwrap();
    assert!(row.requests > 100, "{row:?}");
    assert!(
        row.ok >= 40 && row.ok <= 50,
        "the first ~50 were answered: {row:?}"
    );
    assert!(row.timeouts > 0, "the rest timed out: {row:?}");
    // Every measured request ended exactly one way, and each is in the tail.
    assert_eq!(
        stats.responses + row.failed + row.timeouts,
        row.requests,
        "{row:?}"
    );
    assert_eq!(stats.latency.len(), row.requests);
    // Timed-out requests waited at least the drain: the tail shows it.
    assert!(row.latency.max_us >= 500_000.0, "{row:?}");
    assert!(
        report.behind() && report.warnings.iter().any(|w| w.contains("unanswered")),
        "{:?}",
        report.warnings
    );
    // Bounded: window + drain, plus generous slack for a loaded machine.
    assert!(took < Duration::from_secs(30), "the run took {took:?}");
    server.stop();
}
