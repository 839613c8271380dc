//! End to end across the veth testbed: the real `dispatcher` binary serving
//! fibonacci(10) = 55 over `--transport dpdk` (`net_af_xdp` in namespace A),
//! called by the real `loadgen call` over DPDK (`dpdk://`, af_xdp in
//! namespace B) and over kernel UDP (`udp://`, the kernel resolving the
//! dispatcher's address with ARP). Needs root.
//!
//! The binaries are built with their `dpdk` features by `cargo build` from
//! this test (a no-op when `scripts/test.sh` already built them so).
#![cfg(feature = "dpdk")]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::dpdk::{Child, Testbed, eal_args, repo_root, require_root, serial};

const LIMIT: Duration = Duration::from_secs(120);

/// `target/<profile>/<name>` built with DPDK, for dispatcher and loadgen.
fn dpdk_binaries() -> (PathBuf, PathBuf) {
    // target/<profile>/deps/<this test> -> target/<profile>
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .to_path_buf();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(repo_root()).args([
        "build",
        "-p",
        "tern-dispatcher",
        "-p",
        "tern-loadgen",
        "--features",
        "tern-dispatcher/dpdk,tern-loadgen/dpdk",
        "--bins",
    ]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .expect("run cargo build for dispatcher and loadgen");
    assert!(
        status.success(),
        "cargo build of dispatcher/loadgen with DPDK failed"
    );
    (profile_dir.join("dispatcher"), profile_dir.join("loadgen"))
}

fn functions_built() {
    let status = Command::new(repo_root().join("functions/build.sh"))
        .current_dir(repo_root())
        .status()
        .expect("run functions/build.sh");
    assert!(status.success(), "functions/build.sh failed");
}

/// Runs `loadgen call` in `ns` against `server` and returns its output.
fn call(loadgen: &PathBuf, ns: &str, server: &str) -> String {
    let spec = repo_root().join("functions/fib.json");
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns])
        .arg(loadgen)
        .args(["call", "--timeout", "20", "--server", server, "--spec"])
        .arg(&spec)
        .args(["--route", "/fib", "10"]);
    Child::command(&format!("loadgen-call-{}", &server[..4]), cmd).wait(LIMIT)
}

#[test]
fn dispatcher_over_dpdk_serves_fibonacci_to_loadgen_call() {
    require_root();
    let _one = serial();
    functions_built();
    let (dispatcher, loadgen) = dpdk_binaries();
    let tb = Testbed::up("disp");
    let listen = format!("{}:31850", Testbed::DPDK_IP_A);
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &tb.ns_a])
        .arg(&dispatcher)
        .arg("--spec")
        .arg(repo_root().join("functions/fib.json"))
        .args(["--workers", "1", "--transport", "dpdk", "--listen", &listen])
        .args(["--dpdk-port", "net_af_xdp0", "--dpdk-args"])
        .arg(eal_args(0, "net_af_xdp0,iface=veth-a"));
    let mut server = Child::command("dispatcher", cmd);
    server.wait_for_output("listening on", LIMIT);

    // loadgen over DPDK (af_xdp on the other end of the veth pair).
    let eal = eal_args(1, "net_af_xdp0,iface=veth-b").replace(' ', "+");
    let url = format!(
        "dpdk://{listen}?dev=net_af_xdp0&ip={}&eal={eal}",
        Testbed::DPDK_IP_B
    );
    let out = call(&loadgen, &tb.ns_b, &url);
    assert!(
        out.lines().any(|l| l.trim() == "55"),
        "fib(10) over DPDK:\n{out}"
    );
    assert!(out.contains("status ok"), "{out}");

    // loadgen over the kernel's UDP stack, to the same DPDK dispatcher.
    let out = call(&loadgen, &tb.ns_b, &format!("udp://{listen}"));
    assert!(
        out.lines().any(|l| l.trim() == "55"),
        "fib(10) over kernel UDP:\n{out}"
    );

    // Stop the dispatcher the way an operator would (SIGTERM): clean exit.
    let st = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", server.id())])
        .status()
        .expect("sh -c kill");
    assert!(st.success());
    let out = server.wait(LIMIT);
    assert!(
        out.contains("/fib"),
        "per-route counters at shutdown:\n{out}"
    );
}
