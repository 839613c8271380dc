//! End to end: a short sweep of the bimodal spec against the real
//! `dispatcher` binary (EDF policy, real wasmtime sandboxes) over loopback
//! UDP, written to CSV and plotted.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tern_loadgen::csv::read_rows;
use tern_loadgen::engine::RunConfig;
use tern_loadgen::mix::{Mix, load_spec};
use tern_loadgen::plot::plot_files;
use tern_loadgen::route_stats::ERROR_KINDS;
use tern_loadgen::sweep::{SweepConfig, sweep};
use tern_rpc::transport::TransportAddr;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The dispatcher binary of the same profile as this test, built if
/// missing (`cargo test --workspace` builds it before running tests;
/// `cargo test -p tern-loadgen` does not).
fn dispatcher_binary() -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/dispatcher
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let bin = profile_dir.join("dispatcher");
    if !bin.exists() {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(repo_root()).args([
            "build",
            "-p",
            "tern-dispatcher",
            "--bin",
            "dispatcher",
        ]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .expect("running cargo build for the dispatcher");
        assert!(status.success(), "cargo build -p tern-dispatcher failed");
    }
    assert!(bin.exists(), "no dispatcher binary at {}", bin.display());
    bin
}

/// Builds the guest functions (functions/build.sh is quick when they are
/// up to date).
fn build_functions() {
    let status = Command::new(repo_root().join("functions/build.sh"))
        .current_dir(repo_root())
        .status()
        .expect("running functions/build.sh");
    assert!(status.success(), "functions/build.sh failed");
}

/// The dispatcher process; killed on drop, so a failing test leaves nothing
/// running.
struct Dispatcher {
    child: Child,
    url: TransportAddr,
}

impl Dispatcher {
    fn start(spec: &Path, policy: &str, workers: usize) -> Dispatcher {
        let mut child = Command::new(dispatcher_binary())
            .args([
                "--spec",
                spec.to_str().unwrap(),
                "--policy",
                policy,
                "--workers",
                &workers.to_string(),
            ])
            .args(["--listen", "127.0.0.1:0", "--idle", "adaptive"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the dispatcher");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.trim().strip_prefix("listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let mut d = Dispatcher {
            child,
            url: "udp://127.0.0.1:1".parse().unwrap(),
        };
        // Generous: the first start may compile the modules with cranelift.
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(url) => d.url = url.parse().expect("the dispatcher prints a udp:// URL"),
            Err(_) => panic!(
                "the dispatcher did not print its listen address (status {:?})",
                d.child.try_wait()
            ),
        }
        d
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn bimodal_sweep_against_the_dispatcher_writes_csv_and_plot() {
    build_functions();
    let spec_path = repo_root().join("functions/bimodal.json");
    let dispatcher = Dispatcher::start(&spec_path, "edf", 1);

    let spec = load_spec(&spec_path).unwrap();
    let mix = Mix::from_args(
        Some(&spec),
        "/short=4,/long=1",
        &["/short=10".into(), "/long=1000".into()],
    )
    .unwrap();
    let mut base = RunConfig::new(dispatcher.url.clone(), mix, 50.0);
    base.duration = Duration::from_secs(1);
    base.warmup = Duration::from_millis(200);
    base.sessions = 8;
    // Low rates: far below one worker's capacity even on a loaded machine,
    // so every request must be answered. A shared CI machine can still stall
    // one /long past its 10 ms deadline, and the worker then ends it with
    // deadline_exceeded (the runaway rule): a correct answer, so allowed.
    base.drain = Duration::from_secs(20);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("edf.csv");
    let cfg = SweepConfig {
        base,
        rates: vec![50.0, 100.0],
        out: Some(csv.clone()),
        pause: Duration::from_millis(100),
        progress: false,
        stop_when_saturated: false,
    };
    let reports = sweep(&cfg, |_| {}).unwrap();
    let deadline_kind = ERROR_KINDS
        .iter()
        .position(|k| *k == "deadline_exceeded")
        .expect("loadgen counts deadline_exceeded");
    assert_eq!(reports.len(), 2);

    let rows = read_rows(&csv).unwrap();
    assert_eq!(rows.len(), 6, "2 rates x (/short, /long, all)");
    for rate in [50.0, 100.0] {
        let of_rate: Vec<_> = rows.iter().filter(|r| r.rate_rps == rate).collect();
        let names: Vec<&str> = of_rate.iter().map(|r| r.route.as_str()).collect();
        assert_eq!(names, ["/short", "/long", "all"]);
        for r in &of_rate {
            assert!(r.requests > 0, "{r:?}");
            let deadline_exceeded = r.errors[deadline_kind];
            assert_eq!(
                r.ok + deadline_exceeded,
                r.requests,
                "every request answered ok or ended at its deadline: {r:?}"
            );
            assert!(r.ok > 0, "{r:?}");
            assert_eq!(
                (r.error_total() - deadline_exceeded, r.timeouts, r.failed),
                (0, 0, 0),
                "no other error, no timeout, nothing lost: {r:?}"
            );
            assert!(r.deadline_met_pct.is_some(), "the spec gives deadlines");
            assert!(
                r.latency.p50_us > 0.0
                    && r.latency.p50_us <= r.latency.p99_us
                    && r.latency.p99_us <= r.latency.max_us,
                "{r:?}"
            );
        }
        // The server reports its execution time: /long does ~100x the work
        // of /short (1000 vs 10 µs of hashing).
        let (short, long) = (of_rate[0], of_rate[1]);
        assert!(
            long.mean_exec_us > short.mean_exec_us,
            "{} vs {}",
            long.mean_exec_us,
            short.mean_exec_us
        );
        assert_eq!(short.deadline_us, Some(100.0));
        assert_eq!(long.deadline_us, Some(10_000.0));
    }

    let svg = dir.path().join("plot.svg");
    plot_files(&[csv], &svg, None).unwrap();
    assert!(std::fs::read_to_string(&svg).unwrap().contains("/long"));
}
