//! Test helper: starts the real `dispatcher` binary on loopback and talks
//! to it through tern-rpc.

#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tern_rpc::Client;
use tern_rpc::transport::udp::UdpTransport;

// The worker's test helper that builds the guest functions, shared by path
// (it is no part of tern-worker's API).
#[path = "../../../worker/tests/common/guest_build.rs"]
mod guest_build;

/// Generous bound for anything a test waits on (the box is 2 loaded cores).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// `<repo>/functions/build/<name>.wasm`, building the functions once.
pub fn wasm(name: &str) -> PathBuf {
    guest_build::wasm_path(name)
}

/// `<repo>/functions/<file>` (the example specs).
pub fn example_spec(file: &str) -> PathBuf {
    guest_build::build_dir().expect("functions/build.sh");
    guest_build::functions_dir().join(file)
}

/// One route of a test spec: (route, request type, module name,
/// expected µs, deadline µs, extra JSON keys).
pub struct TestRoute<'a>(
    pub &'a str,
    pub u16,
    pub &'a str,
    pub u64,
    pub u64,
    pub &'a str,
);

/// Writes `text` to a file `name` in a fresh temporary folder; returns the
/// folder (removed when dropped: keep it alive while the file is used) and
/// the file's path.
pub fn write_temp(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write temporary file");
    (dir, path)
}

/// Writes a spec with `routes` (absolute module paths) into a fresh
/// temporary folder, like [`write_temp`].
pub fn write_spec(routes: &[TestRoute<'_>]) -> (tempfile::TempDir, PathBuf) {
    let routes: Vec<String> = routes
        .iter()
        .map(|TestRoute(route, ty, module, expected, deadline, extra)| {
            let extra = if extra.is_empty() { String::new() } else { format!(", {extra}") };
            format!(
                r#"{{"route": "{route}", "request-type": {ty}, "path": "{}", "expected-execution-us": {expected}, "relative-deadline-us": {deadline}{extra}}}"#,
                wasm(module).display()
            )
        })
        .collect();
    let text = format!(
        r#"[{{"name": "test", "port": 0, "routes": [{}]}}]"#,
        routes.join(",\n")
    );
    write_temp("spec.json", &text)
}

/// A running `dispatcher` process; stopped (SIGTERM) when dropped.
pub struct Dispatcher {
    child: Option<Child>,
    pub addr: SocketAddrV4,
    stdout_rest: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

/// Runs `dispatcher ARGS` to completion (for start-up errors); returns
/// (success, stdout, stderr).
pub fn run_to_exit(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dispatcher"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// `--spec SPEC` followed by `args`, the argument list most tests pass.
fn spec_args<'a>(spec: &'a Path, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--spec", spec.to_str().expect("spec path is UTF-8")];
    all.extend_from_slice(args);
    all
}

/// Runs `dispatcher --spec SPEC ARGS` to completion, like [`run_to_exit`].
pub fn run_spec_to_exit(spec: &Path, args: &[&str]) -> (bool, String, String) {
    run_to_exit(&spec_args(spec, args))
}

impl Dispatcher {
    /// Starts `dispatcher --listen 127.0.0.1:0 --spec SPEC ARGS`, like
    /// [`start`](Self::start).
    pub fn serving(spec: &Path, args: &[&str]) -> Dispatcher {
        Dispatcher::start(&spec_args(spec, args))
    }

    /// Starts `dispatcher --listen 127.0.0.1:0 ARGS` and waits for its
    /// "listening on udp://ADDR" line.
    pub fn start(args: &[&str]) -> Dispatcher {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dispatcher"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn dispatcher");
        let (err_tx, stderr) = mpsc::channel();
        let mut err_pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err_pipe.read_to_string(&mut s);
            let _ = err_tx.send(s);
        });
        let (line_tx, lines) = mpsc::channel();
        let out_pipe = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out_pipe).lines() {
                let Ok(line) = line else { break };
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let addr = match lines.recv_timeout(PATIENCE) {
            Ok(line) => {
                let addr = line
                    .strip_prefix("listening on udp://")
                    .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
                addr.parse().unwrap()
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "dispatcher did not start: {}",
                    stderr
                        .recv_timeout(Duration::from_secs(5))
                        .unwrap_or_default()
                );
            }
        };
        Dispatcher {
            child: Some(child),
            addr,
            stdout_rest: lines,
            stderr,
        }
    }

    /// A blocking client connected to it.
    pub fn client(&self) -> Client<UdpTransport> {
        Client::connect_udp(self.addr, PATIENCE).expect("connect to dispatcher")
    }

    /// Sends signal `sig` (a name kill(1) knows, e.g. `USR1`).
    pub fn signal(&self, sig: &str) {
        let child = self.child.as_ref().unwrap();
        let _ = Command::new("kill")
            .args([format!("-{sig}"), child.id().to_string()])
            .status();
    }

    /// The next line it prints on stdout, waiting up to `patience`.
    pub fn next_line(&self, patience: Duration) -> Option<String> {
        self.stdout_rest.recv_timeout(patience).ok()
    }

    /// Sends SIGTERM, waits for the exit, and returns (success, stdout after
    /// the listen line, stderr).
    pub fn stop(mut self) -> (bool, String, String) {
        let mut child = self.child.take().unwrap();
        // kill(1) rather than libc::kill: no unsafe outside the transports.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        let mut out = Vec::new();
        while let Ok(line) = self.stdout_rest.recv_timeout(Duration::from_secs(5)) {
            out.push(line);
        }
        let err = self
            .stderr
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        (status.success(), out.join("\n"), err)
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
