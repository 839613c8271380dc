//! A real run against the in-process echo server writes the documented CSV
//! columns, one row per route plus `all`, and the file reads back.

use std::net::SocketAddrV4;
use std::time::Duration;

use tern_loadgen::csv::{CsvWriter, columns, read_rows};
use tern_loadgen::echo_server::EchoServer;
use tern_loadgen::engine::{RunConfig, run};
use tern_loadgen::mix::Mix;
use tern_rpc::IdleMode;

const EXPECTED: &str = "rate_rps,route,offered_rps,achieved_rps,requests,ok,p50_us,p90_us,p99_us,p999_us,max_us,\
service_p99_us,deadline_us,deadline_met_pct,err_no_such_function,err_trap,err_deadline_exceeded,\
err_rejected_overload,err_too_large,err_bad_request,err_other,failed,timeouts,mean_queue_us,mean_exec_us,\
send_lag_p99_us,behind,sent";

#[test]
fn csv_has_the_documented_columns_and_reads_back() {
    assert_eq!(columns().join(","), EXPECTED);

    let server = EchoServer::spawn(
        SocketAddrV4::new([127, 0, 0, 1].into(), 0),
        IdleMode::Adaptive,
    )
    .unwrap();
    let mix = Mix::from_args(None, "1=3,2=1", &["1=hello".into(), "2=bytes:3000".into()]).unwrap();
    let mut cfg = RunConfig::new(server.url(), mix, 400.0);
    cfg.duration = Duration::from_millis(1500);
    cfg.warmup = Duration::from_millis(200);
    cfg.sessions = 4;
    cfg.drain = Duration::from_secs(10);
    let report = run(&cfg).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.csv");
    CsvWriter::create(&path)
        .unwrap()
        .write_report(&report)
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(EXPECTED));
    assert_eq!(lines.count(), 3, "routes 1 and 2, then all");

    let rows = read_rows(&path).unwrap();
    assert_eq!(rows.len(), report.rows.len());
    for (read, written) in rows.iter().zip(&report.rows) {
        assert_eq!(
            (&read.route, read.requests, read.sent, read.ok, read.behind),
            (
                &written.route,
                written.requests,
                written.sent,
                written.ok,
                written.behind
            )
        );
        assert!(
            (read.latency.p99_us - written.latency.p99_us).abs() < 0.001
                && (read.achieved_rps - written.achieved_rps).abs() < 0.001
        );
    }
    let names: Vec<&str> = rows.iter().map(|r| r.route.as_str()).collect();
    assert_eq!(names, ["1", "2", "all"]);
    let all = &rows[2];
    assert_eq!(all.requests, rows[0].requests + rows[1].requests);
    assert!(all.requests > 0 && all.ok == all.requests, "{all:?}");
    // Every request of a run the echo server keeps up with goes on the wire.
    assert_eq!(all.sent, all.requests, "{all:?}");
    assert!(rows[0].requests > rows[1].requests, "weights 3:1");
    assert!(
        all.latency.p50_us > 0.0
            && all.latency.p50_us <= all.latency.p99_us
            && all.latency.p99_us <= all.latency.max_us
    );
    assert_eq!((all.error_total(), all.timeouts, all.failed), (0, 0, 0));
    assert_eq!(all.deadline_met_pct, None, "no spec, no deadlines");
    server.stop();
}
