//! The `dispatcher` binary with runaway functions in the mix (issue 10):
//! under `edf` with one worker, `/fib`'s p99 with 8% hostile `/loop` calls
//! stays within 2× of its p99 without them, measured in the same run (the
//! median over paired phases), with no `/fib` failing or waiting a second;
//! every `/loop` is ended with `deadline-exceeded`.
//!
//! Load is bounded: 200 requests/s open loop, 14 phases of 0.5 s, alternating
//! without and with the loops so that the box's background noise falls on
//! both alike. One worker, adaptive idle: the box has 2 cores.

mod common;

use std::time::{Duration, Instant};

use common::{Dispatcher, PATIENCE, TestRoute, write_spec};
use tern_rpc::transport::udp::UdpTransport;
use tern_rpc::{Endpoint, EndpointConfig, Event, SessionId, Status};

/// Calm/hostile phase pairs, alternated so that background noise falls on
/// both alike.
const PAIRS: usize = 7;
const FIB: u16 = 1;
const LOOP: u16 = 2;
/// One request slot every 5 ms: 200 requests/s.
const GAP: Duration = Duration::from_millis(5);
/// 2 of every 25 slots (8%) are loops in a hostile phase, skipped otherwise
/// (so `/fib`'s own rate is the same in both).
fn is_hostile_slot(i: u64) -> bool {
    i.is_multiple_of(25) || i % 25 == 12
}

#[derive(Default)]
struct PhaseResult {
    fib_latency: Vec<Duration>,
    fib_not_ok: Vec<Status>,
    fib_failed: usize,
    loop_statuses: Vec<Status>,
    loop_failed: usize,
}

/// Sends one phase of `length` open loop (latency from the intended send
/// time, so a stalled server is not hidden by a stalled client) and waits
/// for every answer.
fn phase(
    ep: &mut Endpoint<UdpTransport>,
    fib_sessions: &[SessionId],
    loop_sessions: &[SessionId],
    length: Duration,
    hostile: bool,
) -> PhaseResult {
    let start = Instant::now();
    let slots = (length.as_nanos() / GAP.as_nanos()) as u64;
    let mut planned = vec![None; slots as usize];
    let mut outstanding = 0usize;
    let mut next = 0u64;
    let mut out = PhaseResult::default();
    loop {
        let now = Instant::now();
        assert!(
            now - start < PATIENCE,
            "phase unanswered after {PATIENCE:?}"
        );
        while next < slots && start + GAP * next as u32 <= now {
            let i = next;
            let (ty, body, sessions) = if is_hostile_slot(i) {
                if !hostile {
                    next += 1;
                    continue;
                }
                (LOOP, Vec::new(), loop_sessions)
            } else {
                (FIB, b"10".to_vec(), fib_sessions)
            };
            let Some(&s) = sessions.iter().find(|s| ep.can_send(**s)) else {
                break; // every slot busy: send when one frees
            };
            ep.send_request(s, ty, body, i).unwrap();
            planned[i as usize] = Some((start + GAP * i as u32, ty));
            outstanding += 1;
            next += 1;
        }
        if next >= slots && outstanding == 0 {
            return out;
        }
        let busy = ep.run_once(|_, e| match e {
            Event::Response { tag, response, .. } => {
                outstanding -= 1;
                let (sent, ty) = planned[tag as usize].expect("a tag we sent");
                if ty == FIB {
                    out.fib_latency.push(sent.elapsed());
                    if response.status != Status::Ok {
                        out.fib_not_ok.push(response.status);
                    }
                } else {
                    out.loop_statuses.push(response.status);
                }
            }
            Event::RequestFailed { tag, .. } => {
                outstanding -= 1;
                match planned[tag as usize] {
                    Some((_, FIB)) => out.fib_failed += 1,
                    _ => out.loop_failed += 1,
                }
            }
            _ => {}
        });
        if !busy {
            // Give the core away between slots (2 cores for client,
            // dispatcher and worker), but never past the next slot.
            let due = start + GAP * next as u32;
            if due > Instant::now() + Duration::from_micros(300) {
                std::thread::sleep(Duration::from_micros(50));
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// The `pct`-th percentile of `latencies` (nearest rank).
fn percentile(latencies: &[Duration], pct: usize) -> Duration {
    let mut v = latencies.to_vec();
    v.sort();
    v[(v.len() * pct / 100).min(v.len() - 1)]
}

fn p99(latencies: &[Duration]) -> Duration {
    percentile(latencies, 99)
}

#[test]
fn fib_p99_with_hostile_loops_stays_within_twice_its_p99_without() {
    // /fib: ~10 µs of work, due in 100 ms: later than any loop's, so
    // deadline order alone would queue it behind a running loop; only the
    // loop's demotion (it overran its claimed cost) lets it in at once.
    // /loop: never returns, claims 50 µs, due in 1 ms, default limits
    // (5 s of execution): only its deadline ends it.
    let (_dir, spec) = write_spec(&[
        TestRoute("/fib", FIB, "fibonacci", 20, 100_000, ""),
        TestRoute("/loop", LOOP, "loop", 50, 1_000, ""),
    ]);
    let d = Dispatcher::serving(&spec, &["--workers", "1", "--policy", "edf"]);
    let transport = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut ep = Endpoint::new(transport, EndpointConfig::default());
    let sessions: Vec<SessionId> = (0..6).map(|_| ep.connect(d.addr).unwrap()).collect();
    let mut connected = 0;
    let start = Instant::now();
    while connected < sessions.len() {
        assert!(start.elapsed() < PATIENCE, "connect timed out");
        ep.run_once(|_, e| match e {
            Event::Connected(_) => connected += 1,
            Event::ConnectFailed { reason, .. } => panic!("connect failed: {reason}"),
            _ => {}
        });
    }
    let (fib_sessions, loop_sessions) = sessions.split_at(4);
    // Warm-up: the first calls pay for page faults and caches.
    phase(
        &mut ep,
        fib_sessions,
        loop_sessions,
        Duration::from_millis(200),
        false,
    );
    let mut calm = PhaseResult::default();
    let mut hostile = PhaseResult::default();
    // p99 of each hostile phase over p99 of the calm phase just before it.
    let mut pair_ratios = Vec::new();
    for _ in 0..PAIRS {
        let mut calm_p99 = Duration::ZERO;
        for (with_loops, acc) in [(false, &mut calm), (true, &mut hostile)] {
            let r = phase(
                &mut ep,
                fib_sessions,
                loop_sessions,
                Duration::from_millis(500),
                with_loops,
            );
            if with_loops {
                pair_ratios.push(p99(&r.fib_latency).as_secs_f64() / calm_p99.as_secs_f64());
            } else {
                calm_p99 = p99(&r.fib_latency);
            }
            acc.fib_latency.extend(r.fib_latency);
            acc.fib_not_ok.extend(r.fib_not_ok);
            acc.fib_failed += r.fib_failed;
            acc.loop_statuses.extend(r.loop_statuses);
            acc.loop_failed += r.loop_failed;
        }
    }
    let (p_calm, p_hostile) = (p99(&calm.fib_latency), p99(&hostile.fib_latency));
    eprintln!(
        "/fib p50 without loops {:?}, with {:?}",
        percentile(&calm.fib_latency, 50),
        percentile(&hostile.fib_latency, 50)
    );
    eprintln!(
        "/fib p99 without loops {p_calm:?} ({} calls), with 8% loops {p_hostile:?} ({} calls, {} loops)",
        calm.fib_latency.len(),
        hostile.fib_latency.len(),
        hostile.loop_statuses.len()
    );
    for (name, r) in [("calm", &calm), ("hostile", &hostile)] {
        assert_eq!(r.fib_failed, 0, "{name}: /fib calls timed out");
        assert!(
            r.fib_not_ok.is_empty(),
            "{name}: /fib statuses {:?}",
            r.fib_not_ok
        );
    }
    assert_eq!(hostile.loop_failed, 0, "every /loop is answered");
    assert!(!hostile.loop_statuses.is_empty());
    assert!(
        hostile
            .loop_statuses
            .iter()
            .all(|s| *s == Status::DeadlineExceeded),
        "{:?}",
        hostile.loop_statuses
    );
    // The criterion, read robustly: on this 2-core box a scheduler
    // stall of tens of ms lands in one phase or another now and then (calm
    // phases alone ranged 1.6-24 ms in p99 over repeated runs), and one such
    // stall decides a pooled p99. The median of the paired ratios is not
    // moved by a stall in one or two pairs; a worker held by a runaway
    // (before the fix: /fib p99 39.6 s) moves every pair.
    pair_ratios.sort_by(f64::total_cmp);
    let median_ratio = pair_ratios[pair_ratios.len() / 2];
    eprintln!("/fib p99 ratio per pair {pair_ratios:.2?}, median {median_ratio:.2}");
    assert!(
        median_ratio <= 2.0,
        "/fib p99 with hostile loops over without, per pair: {pair_ratios:.2?} (pooled: {p_hostile:?} vs {p_calm:?})"
    );
    // And no /fib ever waits out a runaway: the loop's own limit is 5 s.
    let worst = hostile
        .fib_latency
        .iter()
        .max()
        .copied()
        .unwrap_or_default();
    assert!(worst < Duration::from_secs(1), "a /fib waited {worst:?}");
    let (ok, out, err) = d.stop();
    assert!(ok, "clean exit; stderr: {err}");
    assert!(out.contains("deadline-exceeded="), "{out}");
}
