//! A run with `--fault` (5% drop, duplication and reordering of loadgen's
//! own datagrams) against the in-process echo server: the faults happen,
//! and retransmission and duplicate suppression still answer every request
//! exactly once (the server's served count equals the requests). Bounded: 300 requests/s for 1 s.

use std::net::SocketAddrV4;
use std::time::Duration;

use tern_loadgen::echo_server::EchoServer;
use tern_loadgen::engine::{RunConfig, run};
use tern_loadgen::fault::parse_fault;
use tern_loadgen::mix::Mix;
use tern_rpc::IdleMode;

#[test]
fn every_request_is_answered_once_through_drops_duplicates_and_reordering() {
    let server = EchoServer::spawn(
        SocketAddrV4::new([127, 0, 0, 1].into(), 0),
        IdleMode::Adaptive,
    )
    .unwrap();
    let mix = Mix::from_args(None, "1=1", &["1=hello".into()]).unwrap();
    let mut cfg = RunConfig::new(server.url(), mix, 300.0);
    cfg.duration = Duration::from_secs(1);
    cfg.warmup = Duration::ZERO;
    cfg.sessions = 4;
    cfg.drain = Duration::from_secs(20);
    cfg.fault = Some(parse_fault("drop=0.05,dup=0.05,reorder=0.05,seed=4").unwrap());
    let report = run(&cfg).unwrap();
    let all = report.all();
    assert!(all.requests > 100, "{all:?}");
    assert_eq!(
        (all.sent, all.ok, all.failed, all.timeouts),
        (all.requests, all.requests, 0, 0),
        "{all:?}"
    );
    let faults = report
        .warnings
        .iter()
        .find(|w| w.contains("fault injection"))
        .unwrap_or_else(|| panic!("no fault line in {:?}", report.warnings));
    // ~2 datagrams per request each way at 5%: dozens of each fault.
    assert!(!faults.contains("dropped 0,"), "{faults}");
    assert!(!faults.contains("duplicated 0 "), "{faults}");
    // The server executed each request once: duplicated and retransmitted
    // request packets were suppressed, not served again.
    assert_eq!(server.served(), all.requests);
    server.stop();
}
