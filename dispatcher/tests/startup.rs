//! Start-up errors of the `dispatcher` binary name the problem, and it
//! stops cleanly on SIGTERM.

mod common;

use common::{
    Dispatcher, TestRoute, example_spec, run_spec_to_exit, run_to_exit, write_spec, write_temp,
};

#[test]
fn help_documents_every_flag_and_default() {
    let (ok, out, _) = run_to_exit(&["--help"]);
    assert!(ok);
    for flag in [
        "--spec",
        "--policy",
        "--workers",
        "--cores",
        "--transport",
        "--listen",
        "--idle",
        "--quantum-us",
        "--admission",
        "--config",
    ] {
        assert!(out.contains(flag), "--help lacks {flag}");
    }
    assert!(out.matches("[default: ").count() >= 9, "{out}");
}

#[test]
fn bad_spec_is_named() {
    let (_dir, spec) = write_temp(
        "bad.json",
        r#"[{"name": "t", "routes": [{"route": "/x", "pth": "x.wasm"}]}]"#,
    );
    let (ok, _, err) = run_spec_to_exit(&spec, &[]);
    assert!(!ok);
    assert!(
        err.contains("bad.json")
            && err.contains("route 0 (\"/x\"): key \"pth\": unknown field `pth`"),
        "{err}"
    );
    // A JSON syntax error: its position once, not once more as a cause.
    let (_dir2, syntax) = write_temp("syntax.json", r#"{"name": }"#);
    let (ok, _, err) = run_spec_to_exit(&syntax, &[]);
    assert!(!ok);
    assert_eq!(err.matches("line 1 column 10").count(), 1, "{err}");
    let (ok, _, err) = run_to_exit(&["--spec", "/nonexistent/spec.json"]);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    assert!(
        !ok && err.contains("/nonexistent/spec.json: cannot read"),
        "{err}"
    );
}

#[test]
fn missing_module_is_named() {
    let (_dir, spec) = write_temp(
        "s.json",
        r#"[{"name": "t", "routes": [{"route": "/x", "path": "absent.wasm", "expected-execution-us": 1, "relative-deadline-us": 10}]}]"#,
    );
    let (ok, _, err) = run_spec_to_exit(&spec, &["--listen", "127.0.0.1:0"]);
    assert!(!ok);
    assert!(err.contains("absent.wasm does not exist"), "{err}");
}

#[test]
fn deadline_below_expected_time_warns() {
    let (_dir, spec) = write_spec(&[TestRoute("/fib", 1, "fibonacci", 500, 50, "")]);
    let d = Dispatcher::serving(&spec, &["--workers", "1"]);
    let (ok, _, err) = d.stop();
    assert!(ok, "{err}");
    assert!(
        err.contains("WARN")
            && err.contains("expected-execution-us 500 is above relative-deadline-us 50"),
        "{err}"
    );
}

#[test]
fn unknown_policy_lists_valid_ones() {
    let spec = example_spec("fib.json");
    let (ok, _, err) = run_spec_to_exit(&spec, &["--policy", "lottery"]);
    assert!(!ok);
    assert!(
        err.contains("unknown policy \"lottery\" (valid policies: rr, jsq, lld, edf)"),
        "{err}"
    );
}

#[test]
fn busy_port_is_named() {
    let spec = example_spec("fib.json");
    let first = Dispatcher::serving(&spec, &["--workers", "1"]);
    let addr = first.addr.to_string();
    let (ok, _, err) = run_spec_to_exit(&spec, &["--workers", "1", "--listen", &addr]);
    assert!(!ok);
    assert!(err.contains(&format!("address {addr} in use")), "{err}");
}

#[test]
fn busy_polling_threads_beyond_cores_warn() {
    let (_dir, spec) = write_spec(&[TestRoute("/fib", 1, "fibonacci", 5, 50, "")]);
    let cores = std::thread::available_parallelism().unwrap().get();
    let workers = cores.to_string(); // 1 dispatcher + cores workers > cores
    let d = Dispatcher::serving(&spec, &["--idle", "spin", "--workers", &workers]);
    let (ok, _, err) = d.stop();
    assert!(ok, "{err}");
    assert!(err.contains("busy-polling threads"), "{err}");
    // stderr is a pipe here, not a terminal: the log carries no colour codes.
    assert!(err.contains("WARN") && !err.contains('\x1b'), "{err:?}");
}

#[test]
fn unavailable_core_is_named() {
    let spec = example_spec("fib.json");
    let (ok, _, err) = run_spec_to_exit(&spec, &["--cores", "4096", "--listen", "127.0.0.1:0"]);
    assert!(!ok);
    assert!(err.contains("--cores: core 4096 is not available"), "{err}");
    let (ok, _, err) = run_spec_to_exit(
        &spec,
        &["--dispatcher-core", "4096", "--listen", "127.0.0.1:0"],
    );
    assert!(!ok);
    assert!(
        err.contains("--dispatcher-core: core 4096 is not available"),
        "{err}"
    );
}
