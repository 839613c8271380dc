//! Latency is measured from each request's *intended* send time: a server
//! that stalls once for 200 ms must show up in the tail for every request
//! that was meant to be sent during the stall, not only for the few that
//! happened to be in flight (wrk2's coordinated-omission example).

use std::net::SocketAddrV4;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tern_loadgen::arrivals::ArrivalKind;
use tern_loadgen::echo_server::{EchoServer, echo};
use tern_loadgen::engine::{RunConfig, run};
use tern_loadgen::mix::{Mix, MixEntry};
use tern_rpc::IdleMode;

const STALL: Duration = Duration::from_millis(200);
const MS: u64 = 1_000_000;

#[test]
fn a_stall_shows_in_the_tail_of_every_request_meant_to_be_sent_during_it() {
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    // The 1000th request (half a second in at 2000 req/s) stalls the whole
    // server for 200 ms.
    let server = EchoServer::spawn_with(
        SocketAddrV4::new([127, 0, 0, 1].into(), 0),
        IdleMode::Adaptive,
        move |t, b| {
            if counter.fetch_add(1, Ordering::Relaxed) == 1000 {
                std::thread::sleep(STALL);
            }
            echo(t, b)
        },
    )
    .unwrap();

    let mix = Mix::new(vec![MixEntry {
        route: "echo".into(),
        request_type: 1,
        weight: 1.0,
        deadline_ns: None,
        body: b"x".to_vec(),
    }])
    .unwrap();
    let mut cfg = RunConfig::new(server.url(), mix, 2000.0);
    cfg.duration = Duration::from_secs(2);
    cfg.warmup = Duration::ZERO;
    cfg.arrivals = ArrivalKind::Constant;
    // One session: at most 8 requests in flight, so during the stall the
    // rest wait in loadgen, as they would in a closed-loop tool.
    cfg.sessions = 1;
    cfg.drain = Duration::from_secs(10);
    let report = run(&cfg).unwrap();
    let stats = &report.stats[0];
    let row = &report.rows[0];

    assert!(seen.load(Ordering::Relaxed) > 1000, "the stall happened");
    assert_eq!(row.requests, 4000, "2 s at a constant 2000 req/s");
    assert_eq!(stats.responses, row.requests, "every request was answered");
    assert_eq!((row.timeouts, row.failed, row.error_total()), (0, 0, 0));

    // About 400 requests were meant to go out during the 200 ms stall; the
    // first half of them waited at least 100 ms. Loaded machines only make
    // latencies longer, so these lower bounds are safe.
    let slow = stats.latency.count_between(100 * MS, u64::MAX);
    assert!(
        slow >= 100,
        "only {slow} requests show >= 100 ms; the stall is hidden"
    );
    assert!(
        row.latency.p99_us >= 100_000.0,
        "p99 {} us must reflect the stall",
        row.latency.p99_us
    );
    assert!(
        row.latency.max_us >= 150_000.0,
        "max {} us",
        row.latency.max_us
    );

    // Measured from the actual send instead, only the <= 8 requests in
    // flight during the stall see it: the omission the intended-time
    // accounting avoids. (Any other hiccup of a loaded machine also hits at
    // most 8 service times but many latencies, so the ratio only grows.)
    let slow_service = stats.service.count_between(100 * MS, u64::MAX);
    assert!(
        slow >= 5 * slow_service.max(1),
        "{slow} slow latencies vs {slow_service} slow service times: the accounting hides the stall"
    );
    // The requests that waited show it as send lag too.
    assert!(stats.send_lag.count_between(100 * MS, u64::MAX) >= 90);
    server.stop();
}
