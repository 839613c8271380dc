//! The `dispatcher` binary on loopback, called through tern-rpc: results,
//! statuses, EDF ordering and admission control.

mod common;

use std::time::Duration;

use common::{Dispatcher, PATIENCE, TestRoute, example_spec, write_spec};
use tern_rpc::transport::udp::UdpTransport;
use tern_rpc::{Client, EndpointConfig, Event, Status};

/// Calls fibonacci (request type 1) with 10 and checks the answer is 55
/// (`context` names the situation in the failure message).
fn assert_fib_10_is_55(client: &mut Client<UdpTransport>, context: &str) {
    let r = client.call(1, b"10".to_vec(), PATIENCE).unwrap();
    assert_eq!(
        (r.status, String::from_utf8_lossy(&r.payload).trim()),
        (Status::Ok, "55"),
        "{context}"
    );
}

#[test]
fn fibonacci_10_is_55_under_each_policy() {
    let spec = example_spec("fib.json");
    for policy in ["rr", "jsq", "lld", "edf"] {
        let d = Dispatcher::serving(&spec, &["--policy", policy, "--workers", "2"]);
        let mut client = d.client();
        for _ in 0..3 {
            let r = client.call(1, b"10".to_vec(), PATIENCE).unwrap();
            assert_eq!(
                r.status,
                Status::Ok,
                "{policy}: {}",
                String::from_utf8_lossy(&r.payload)
            );
            assert_eq!(String::from_utf8_lossy(&r.payload).trim(), "55", "{policy}");
            assert!(r.exec_ns > 0, "{policy}: execution time is reported");
        }
        let (ok, out, err) = d.stop();
        assert!(ok, "{policy}: clean exit; stderr: {err}");
        // Per-route counters at shutdown: /fib saw 3 requests, 3 ok.
        let fib_line = out
            .lines()
            .find(|l| l.starts_with("/fib"))
            .unwrap_or_else(|| panic!("{out}"));
        let cols: Vec<&str> = fib_line.split_whitespace().collect();
        assert_eq!(&cols[..4], ["/fib", "1", "3", "3"], "{out}");
    }
}

/// The `/fib` line of the next `report (running)` table on stdout, split
/// into columns.
fn next_running_fib_line(d: &Dispatcher) -> Vec<String> {
    let mut in_report = false;
    while let Some(line) = d.next_line(PATIENCE) {
        in_report |= line == "report (running)";
        if in_report && line.starts_with("/fib") {
            return line.split_whitespace().map(String::from).collect();
        }
    }
    panic!("no running report on stdout");
}

#[test]
fn sigusr1_prints_the_counters_so_far_and_keeps_serving() {
    let d = Dispatcher::serving(&example_spec("fib.json"), &["--workers", "1"]);
    let mut client = d.client();
    assert_fib_10_is_55(&mut client, "first");
    assert_fib_10_is_55(&mut client, "second");
    d.signal("USR1");
    // route, type, requests, ok: two so far.
    assert_eq!(&next_running_fib_line(&d)[..4], ["/fib", "1", "2", "2"]);
    assert_fib_10_is_55(&mut client, "after the report");
    d.signal("USR1");
    assert_eq!(&next_running_fib_line(&d)[..4], ["/fib", "1", "3", "3"]);
    let (ok, out, err) = d.stop();
    assert!(ok, "clean exit after reports; stderr: {err}");
    assert!(
        out.lines().any(|l| l.starts_with("/fib")),
        "exit table: {out}"
    );
}

#[test]
fn unknown_request_type_gets_no_such_function() {
    let d = Dispatcher::serving(&example_spec("fib.json"), &["--workers", "1"]);
    let mut client = d.client();
    let r = client.call(999, b"10".to_vec(), PATIENCE).unwrap();
    assert_eq!(r.status, Status::NoSuchFunction);
    assert!(String::from_utf8_lossy(&r.payload).contains("999"));
    // The server keeps serving.
    assert_fib_10_is_55(&mut client, "after type 999");
    let (_, out, _) = d.stop();
    assert!(out.contains("unknown request types: 1"), "{out}");
}

#[test]
fn misbehaving_functions_get_their_status_and_the_next_call_succeeds() {
    // Due in 10 s: each is ended by its own misbehaviour, not its deadline
    // (a request still running past its deadline is ended at it; /overdue
    // checks that).
    let (_dir, spec) = write_spec(&[
        TestRoute("/fib", 1, "fibonacci", 5, 10_000_000, ""),
        TestRoute("/unreachable", 2, "trap_unreachable", 5, 10_000_000, ""),
        TestRoute("/divzero", 3, "trap_divzero", 5, 10_000_000, ""),
        TestRoute("/stackoverflow", 4, "stackoverflow", 5, 10_000_000, ""),
        TestRoute(
            "/oom",
            5,
            "oom",
            5,
            10_000_000,
            r#""max-memory-bytes": 4194304"#,
        ),
        // Its 50 ms execution limit ends it.
        TestRoute("/loop", 6, "loop", 5, 10_000_000, r#""max-exec-us": 50000"#),
        TestRoute(
            "/bigoutput",
            7,
            "bigoutput",
            5,
            10_000_000,
            r#""max-output-bytes": 4096"#,
        ),
        TestRoute("/small", 8, "echo", 5, 10_000_000, r#""http-req-size": 8"#),
        // Default limits (5 s): its 20 ms deadline ends it.
        TestRoute("/overdue", 9, "loop", 5, 20_000, ""),
    ]);
    let d = Dispatcher::serving(&spec, &["--workers", "1", "--policy", "edf"]);
    let mut client = d.client();
    let cases = [
        (2, Status::Trap, "trap"),
        (3, Status::Trap, "trap"),
        (4, Status::Trap, "stack overflow"),
        (5, Status::Trap, "memory"),
        (6, Status::DeadlineExceeded, "time limit"),
        (9, Status::DeadlineExceeded, "deadline passed"),
        (7, Status::TooLarge, "output"),
    ];
    for (ty, status, words) in cases {
        let r = client.call(ty, Vec::new(), PATIENCE).unwrap();
        let msg = String::from_utf8_lossy(&r.payload).to_string();
        assert_eq!(r.status, status, "type {ty}: {msg}");
        assert!(
            msg.contains(words),
            "type {ty}: {msg:?} should mention {words:?}"
        );
        assert_fib_10_is_55(&mut client, &format!("after type {ty}"));
    }
    // A body over the route's http-req-size: too-large, without running it.
    let r = client.call(8, b"123456789".to_vec(), PATIENCE).unwrap();
    assert_eq!(r.status, Status::TooLarge);
    let r = client.call(8, b"12345678".to_vec(), PATIENCE).unwrap();
    assert_eq!(
        (r.status, r.payload.as_slice()),
        (Status::Ok, &b"12345678"[..])
    );
}

/// Sends `requests` (type, body) over `sessions` sessions, `gap` apart
/// (as fast as slots allow when zero), then
/// returns the responses' tags (indexes into `requests`) in arrival order
/// with their statuses, plus the number of requests that failed (timeouts).
fn send_all(
    d: &Dispatcher,
    sessions: usize,
    requests: &[(u16, Vec<u8>)],
    gap: Duration,
) -> (Vec<(u64, Status)>, usize) {
    let transport = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut ep = tern_rpc::Endpoint::new(transport, EndpointConfig::default());
    let ids: Vec<_> = (0..sessions).map(|_| ep.connect(d.addr).unwrap()).collect();
    let start = std::time::Instant::now();
    let mut connected = 0;
    while connected < sessions {
        assert!(start.elapsed() < PATIENCE, "connect timed out");
        ep.run_once(|_, e| match e {
            Event::Connected(_) => connected += 1,
            Event::ConnectFailed { reason, .. } => panic!("connect failed: {reason}"),
            _ => {}
        });
    }
    let mut answers = Vec::new();
    let mut failed = 0;
    let mut next = 0;
    let mut last_send = std::time::Instant::now() - gap;
    while answers.len() + failed < requests.len() {
        assert!(
            start.elapsed() < PATIENCE,
            "requests unanswered after {PATIENCE:?}"
        );
        // Send as many as the gap and the sessions' slots allow (all at
        // once when the gap is zero: a burst).
        while next < requests.len() && last_send.elapsed() >= gap {
            let s = ids[next % sessions];
            if !ep.can_send(s) {
                break;
            }
            let (ty, body) = &requests[next];
            ep.send_request(s, *ty, body.clone(), next as u64).unwrap();
            next += 1;
            last_send = std::time::Instant::now();
        }
        let busy = ep.run_once(|_, e| match e {
            Event::Response { tag, response, .. } => answers.push((tag, response.status)),
            Event::RequestFailed { .. } => failed += 1,
            _ => {}
        });
        if !busy {
            std::thread::yield_now();
        }
    }
    (answers, failed)
}

#[test]
fn edf_short_earlier_deadline_overtakes_running_long_request() {
    // Long: 300 ms of work, deadline 10 s. Short: 10 µs, deadline 50 ms.
    let (_dir, spec) = write_spec(&[
        TestRoute("/long", 1, "hash", 300_000, 10_000_000, ""),
        TestRoute("/short", 2, "hash", 10, 50_000, ""),
    ]);
    // The long request first; 50 ms later (it is running by then) the short one.
    let requests = [(1, b"300000".to_vec()), (2, b"10".to_vec())];
    // EDF lets the short request overtake; the contrast, round robin with
    // FIFO workers, runs them in arrival order.
    for (policy, order, why) in [
        (
            "edf",
            [1, 0],
            "edf: short (tag 1) must complete before long (tag 0)",
        ),
        ("rr", [0, 1], "rr: FIFO order"),
    ] {
        let d = Dispatcher::serving(&spec, &["--policy", policy, "--workers", "1"]);
        let (answers, failed) = send_all(&d, 1, &requests, Duration::from_millis(50));
        assert_eq!(failed, 0, "{policy}");
        assert_eq!(answers, order.map(|tag| (tag, Status::Ok)), "{why}");
    }
}

#[test]
fn admission_rejects_a_flood_instead_of_timing_out() {
    // 5 ms of work each, deadline 20 ms: one worker fits about 4 at once,
    // and the burst of 64 arrives well within 20 ms.
    let (_dir, spec) = write_spec(&[TestRoute("/work", 1, "hash", 5_000, 20_000, "")]);
    let d = Dispatcher::serving(&spec, &["--workers", "1", "--admission"]);
    let requests: Vec<(u16, Vec<u8>)> = (0..64).map(|_| (1, b"5000".to_vec())).collect();
    let (answers, failed) = send_all(&d, 8, &requests, Duration::ZERO);
    assert_eq!(failed, 0, "every request is answered, none times out");
    let count = |status| answers.iter().filter(|(_, s)| *s == status).count();
    let (ok, rejected) = (count(Status::Ok), count(Status::RejectedOverload));
    // An admitted request whose real cost on this loaded box exceeds its
    // expected 5 ms may still run past its deadline: it is then ended with
    // deadline-exceeded, which is an answer too.
    let late = count(Status::DeadlineExceeded);
    assert_eq!(ok + rejected + late, 64, "{answers:?}");
    assert!(
        rejected > 0 && ok + late > 0,
        "ok {ok}, ended at the deadline {late}, rejected {rejected}"
    );
    let (_, out, _) = d.stop();
    assert!(out.contains("rejected-overload="), "{out}");
}

#[test]
fn mix_spec_serves_echo_isprime_and_tsp_with_large_bodies() {
    // mix.json's functions and request types, due in 10 s: its own 50 µs
    // deadline for /echo would end a 1 MiB echo (milliseconds of guest
    // copying) as overdue, which is the deadline doing its job.
    let (_dir, spec) = write_spec(&[
        TestRoute("/echo", 1, "echo", 5, 10_000_000, ""),
        TestRoute("/isprime", 2, "isprime", 20, 10_000_000, ""),
        TestRoute("/tsp", 3, "tsp", 500, 10_000_000, ""),
    ]);
    let d = Dispatcher::serving(&spec, &["--policy", "lld", "--workers", "1"]);
    let mut client = d.client();
    // A 1 MiB body goes through multi-packet messages both ways, unchanged.
    let body: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let r = client.call(1, body.clone(), PATIENCE).unwrap();
    assert_eq!(r.status, Status::Ok);
    assert!(
        r.payload == body,
        "echo of 1 MiB differs ({} bytes back)",
        r.payload.len()
    );
    let text = call_ok_text(&mut client, 2, b"97");
    assert!(text.contains("true"), "{text:?}");
    let text = call_ok_text(&mut client, 3, b"8 42");
    assert!(text.starts_with("length="), "{text:?}");
}

/// Calls request type `ty` with `body`, checks the status is ok, and
/// returns the response body as text.
fn call_ok_text(client: &mut Client<UdpTransport>, ty: u16, body: &[u8]) -> String {
    let r = client.call(ty, body.to_vec(), PATIENCE).unwrap();
    let text = String::from_utf8_lossy(&r.payload).into_owned();
    assert_eq!(r.status, Status::Ok, "type {ty}: {text}");
    text
}
