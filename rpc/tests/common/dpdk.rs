//! The DPDK half of the shared test scaffolding, used by the DPDK
//! integration tests (`tests/dpdk_*.rs`).
//!
//! The EAL can be initialised once per process, and a memif pair or a veth
//! testbed needs two DPDK processes, so every DPDK (or in-namespace kernel)
//! role runs in a child process: the test binary re-runs itself with the
//! same test name, `--exact`, and the role in the environment
//! ([`CHILD_ROLE`]). The parent only orchestrates: it creates the testbed
//! namespaces, starts the children (inside a namespace with `ip netns exec`
//! when needed), waits for them with a time limit, and kills them and
//! removes the namespaces on every path out ([`Child`] and [`Testbed`] are
//! drop guards).
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Environment variable naming the role a child runs (unset in the parent).
pub const CHILD_ROLE: &str = "TERN_DPDK_CHILD";

/// The role this process was started for, or None in the parent.
pub fn child_role() -> Option<String> {
    std::env::var(CHILD_ROLE).ok()
}

/// A setting the parent passed to this child (panics if missing: a bug in
/// the test, not in the code under test).
pub fn child_var(key: &str) -> String {
    std::env::var(format!("TERN_DPDK_{key}"))
        .unwrap_or_else(|_| panic!("child needs TERN_DPDK_{key}"))
}

/// One DPDK scenario at a time within a test binary: each scenario already
/// keeps both cores busy with two polling processes.
pub fn serial() -> Serial {
    static LOCK: Mutex<()> = Mutex::new(());
    Serial(LOCK.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Holds the one-scenario-at-a-time lock; on drop (after the scenario's
/// children are gone) removes their EAL runtime directories.
pub struct Serial(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Drop for Serial {
    fn drop(&mut self) {
        remove_runtime_dirs();
    }
}

/// The start of every DPDK test: in a child, runs its role with
/// `run_child` and returns None (the test body ends there); in the parent,
/// checks for root and returns the one-scenario-at-a-time lock to hold
/// while the scenario runs.
pub fn parent_or_run_child(run_child: impl FnOnce(&str)) -> Option<Serial> {
    if let Some(role) = child_role() {
        run_child(&role);
        return None;
    }
    require_root();
    Some(serial())
}

/// Fails the test with a clear message unless running as root (network
/// namespaces, AF_XDP and DPDK vdevs need it; CI runs as root).
pub fn require_root() {
    let uid = fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX);
    assert_eq!(
        uid, 0,
        "the DPDK tests need root (network namespaces, AF_XDP, DPDK vdevs); run them as root"
    );
}

/// EAL arguments for a local run on core `core` with one vdev, no
/// hugepages, no PCI scan, and a unique runtime prefix.
pub fn eal_args(core: u32, vdev: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "-l {core} --no-huge --no-pci --no-shconf -m 512 --file-prefix=tern{}x{n} --vdev={vdev}",
        std::process::id()
    )
}

/// Removes the (empty, thanks to `--no-shconf`) EAL runtime directories
/// `/var/run/dpdk/tern<pid>x*` of this test process's children.
pub fn remove_runtime_dirs() {
    let mine = format!("tern{}x", std::process::id());
    if let Ok(dir) = fs::read_dir("/var/run/dpdk") {
        for e in dir.flatten() {
            if e.file_name().to_string_lossy().starts_with(&mine) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// A memif socket name unique to this test process and `tag`.
pub fn memif_socket(tag: &str) -> String {
    format!("/tmp/tern-memif-{}-{tag}.sock", std::process::id())
}

/// The repository root (parent of `rpc/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("rpc/ has a parent")
        .to_path_buf()
}

/// Two network namespaces joined by a veth pair (`scripts/testbed.sh`),
/// removed on drop. Side A: `veth-a`, kernel 10.77.0.1; side B: `veth-b`,
/// kernel 10.77.0.2. DPDK processes use 10.77.0.11 (A) and 10.77.0.12 (B),
/// addresses the kernels do not own, so only DPDK answers for them.
pub struct Testbed {
    pub ns_a: String,
    pub ns_b: String,
}

impl Testbed {
    pub const KERNEL_IP_A: &str = "10.77.0.1";
    pub const KERNEL_IP_B: &str = "10.77.0.2";
    pub const DPDK_IP_A: &str = "10.77.0.11";
    pub const DPDK_IP_B: &str = "10.77.0.12";

    /// Creates the namespaces `t<pid><tag>a` / `...b`.
    pub fn up(tag: &str) -> Testbed {
        let tb = Testbed {
            ns_a: format!("t{}{tag}a", std::process::id()),
            ns_b: format!("t{}{tag}b", std::process::id()),
        };
        let out = tb.script("up");
        assert!(
            out.status.success(),
            "testbed.sh up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tb
    }

    fn script(&self, verb: &str) -> std::process::Output {
        Command::new(repo_root().join("scripts/testbed.sh"))
            .arg(verb)
            .env("TERN_NS_A", &self.ns_a)
            .env("TERN_NS_B", &self.ns_b)
            .output()
            .expect("run scripts/testbed.sh")
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let _ = self.script("down");
    }
}

/// A child process running one role of the current test; killed on drop.
pub struct Child {
    name: String,
    child: std::process::Child,
    log: PathBuf,
}

impl Child {
    /// Re-runs this test binary's test `test` as role `role` with settings
    /// `vars` (each visible to the child as `TERN_DPDK_<KEY>`), inside
    /// network namespace `netns` if given. Output goes to a log file that
    /// [`wait`](Self::wait) returns.
    pub fn spawn(test: &str, role: &str, netns: Option<&str>, vars: &[(&str, String)]) -> Child {
        let exe = std::env::current_exe().expect("current test binary");
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ROLE, role);
        for (k, v) in vars {
            cmd.env(format!("TERN_DPDK_{k}"), v);
        }
        Child::start(role, &format!("{test}-{role}"), cmd)
    }

    /// Runs `cmd` (any program) as a child named `name`, output to a log
    /// file like [`spawn`](Self::spawn).
    pub fn command(name: &str, cmd: Command) -> Child {
        Child::start(name, name, cmd)
    }

    /// Starts `cmd` as child `name`, stdout and stderr to the log file
    /// `tern-dpdk-<pid>-<log_name>.log` in the temporary directory.
    fn start(name: &str, log_name: &str, mut cmd: Command) -> Child {
        let log =
            std::env::temp_dir().join(format!("tern-dpdk-{}-{log_name}.log", std::process::id()));
        let file = fs::File::create(&log).expect("create child log");
        cmd.stdout(Stdio::from(file.try_clone().expect("dup log")))
            .stderr(Stdio::from(file));
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        Child {
            name: name.to_owned(),
            child,
            log,
        }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` until the child's output contains `needle` (it is
    /// ready); panics with its output if it exits or the time runs out first.
    pub fn wait_for_output(&mut self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let out = fs::read_to_string(&self.log).unwrap_or_default();
            if out.contains(needle) {
                return;
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "{} exited ({status}) before printing {needle:?}; output:\n{out}",
                    self.name
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not print {needle:?} within {limit:?}; output:\n{out}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `limit` for the child to exit; panics (after killing it)
    /// if it runs longer or exits with failure. Returns its output.
    pub fn wait(mut self, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = fs::read_to_string(&self.log).unwrap_or_default();
        let _ = fs::remove_file(&self.log);
        match status {
            None => panic!("{} ran past {limit:?}; output:\n{out}", self.name),
            Some(s) if !s.success() => panic!("{} failed ({s}); output:\n{out}", self.name),
            Some(_) => out,
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The settings one child role reads (`TERN_DPDK_<KEY>` in its
/// environment): see [`Child::spawn`].
pub type Vars = Vec<(&'static str, String)>;

/// Settings of a DPDK role on EAL core `core` with one vdev `vdev` (the
/// port is the vdev's name, before its first `,`) at address `ip`.
pub fn dpdk_role(core: u32, vdev: &str, ip: &str) -> Vars {
    let port = vdev.split(',').next().unwrap_or(vdev);
    vec![
        ("EAL", eal_args(core, vdev)),
        ("PORT", port.to_owned()),
        ("IP", ip.to_owned()),
    ]
}

/// Settings of a kernel-UDP role at address `ip`.
pub fn kernel_role(ip: &str) -> Vars {
    vec![("IP", ip.to_owned())]
}

/// `vars` plus the address of the peer the role calls.
pub fn with_peer(mut vars: Vars, peer: &str) -> Vars {
    vars.push(("PEER", peer.to_owned()));
    vars
}

/// Server and client settings for a `net_memif` pair on one machine over a
/// socket unique to `tag`: server 10.88.0.1 on core 0, client 10.88.0.2
/// (calling the server) on core 1.
pub fn memif_pair(tag: &str) -> (Vars, Vars) {
    let sock = memif_socket(tag);
    let vdev = |role: &str| format!("net_memif0,role={role},socket={sock}");
    (
        dpdk_role(0, &vdev("server"), "10.88.0.1"),
        with_peer(dpdk_role(1, &vdev("client"), "10.88.0.2"), "10.88.0.1"),
    )
}

/// Server and client settings for DPDK on both ends of the veth testbed
/// with PMD `pmd` ("af_xdp", "af_packet"): server on side A, client on
/// side B calling it.
pub fn veth_pair(pmd: &str) -> (Vars, Vars) {
    let dev = format!("net_{pmd}0");
    (
        dpdk_role(0, &format!("{dev},iface=veth-a"), Testbed::DPDK_IP_A),
        with_peer(
            dpdk_role(1, &format!("{dev},iface=veth-b"), Testbed::DPDK_IP_B),
            Testbed::DPDK_IP_A,
        ),
    )
}

/// Settings of a DPDK role on side A of the veth testbed (`net_af_xdp` on
/// `veth-a`, core 0).
pub fn af_xdp_side_a() -> Vars {
    dpdk_role(0, "net_af_xdp0,iface=veth-a", Testbed::DPDK_IP_A)
}

/// The two-host layouts both DPDK echo suites (`dpdk_echo.rs`,
/// `dpdk_transport.rs`) run, server first.
#[allow(dead_code)] // each suite uses the layouts it has tests for
pub enum Layout {
    /// `net_memif` on both sides, on one machine.
    Memif,
    /// DPDK with PMD `pmd` ("af_xdp", "af_packet") on both ends of the
    /// veth testbed.
    Veth(&'static str),
    /// A kernel-UDP client in namespace B calling a DPDK `net_af_xdp`
    /// server on side A.
    KernelClient,
    /// A DPDK `net_af_xdp` client on side A calling a kernel-UDP server in
    /// namespace B.
    KernelServer,
}

/// Sets up `layout` (its memif socket or testbed named after `tag`) and
/// runs `run(server, client)` with its two roles, named `dpdk-server`,
/// `dpdk-client`, `kernel-server` or `kernel-client`. The testbed is torn
/// down when `run` returns.
pub fn on_layout<R>(layout: Layout, tag: &str, run: impl FnOnce(Role<'_>, Role<'_>) -> R) -> R {
    // Every layout but memif runs on the veth testbed.
    let tb = (!matches!(layout, Layout::Memif)).then(|| Testbed::up(tag));
    let a = tb.as_ref().map(|tb| tb.ns_a.as_str());
    let b = tb.as_ref().map(|tb| tb.ns_b.as_str());
    match layout {
        Layout::Memif => {
            let (server, client) = memif_pair(tag);
            run(
                Role::new("dpdk-server", None, server),
                Role::new("dpdk-client", None, client),
            )
        }
        Layout::Veth(pmd) => {
            let (server, client) = veth_pair(pmd);
            run(
                Role::new("dpdk-server", a, server),
                Role::new("dpdk-client", b, client),
            )
        }
        Layout::KernelClient => run(
            Role::new("dpdk-server", a, af_xdp_side_a()),
            Role::new(
                "kernel-client",
                b,
                with_peer(kernel_role(Testbed::KERNEL_IP_B), Testbed::DPDK_IP_A),
            ),
        ),
        Layout::KernelServer => run(
            Role::new("kernel-server", b, kernel_role(Testbed::KERNEL_IP_B)),
            Role::new(
                "dpdk-client",
                a,
                with_peer(af_xdp_side_a(), Testbed::KERNEL_IP_B),
            ),
        ),
    }
}

/// Declares one `#[test]` per `name: layout, "tag";` that runs
/// `scenario("name", server, client)` on that [`Layout`], in the child
/// process scheme of [`parent_or_run_child`] with `run_child`.
#[allow(unused_macros)] // only the two echo suites declare layout tests
macro_rules! layout_tests {
    ($run_child:ident, $scenario:ident; $($name:ident: $layout:expr, $tag:literal;)*) => {
        $(
            #[test]
            fn $name() {
                let Some(_one) = $crate::common::dpdk::parent_or_run_child($run_child) else {
                    return;
                };
                $crate::common::dpdk::on_layout($layout, $tag, |server, client| {
                    $scenario(stringify!($name), server, client);
                });
            }
        )*
    };
}
#[allow(unused_imports)]
pub(crate) use layout_tests;

/// One role of a scenario: its name, the network namespace it runs in (or
/// none) and its settings.
pub struct Role<'a> {
    pub name: &'a str,
    pub netns: Option<&'a str>,
    pub vars: Vars,
}

impl<'a> Role<'a> {
    /// Role `name` with settings `vars`, in namespace `netns` if given.
    pub fn new(name: &'a str, netns: Option<&'a str>, vars: Vars) -> Self {
        Role { name, netns, vars }
    }
}

/// Runs `server`, waits until its output contains `ready` (when given),
/// runs `client`, and waits up to `limit` for each to exit cleanly, client
/// first. Returns (client output, server output); panics with a child's
/// output when it fails or runs past `limit`.
pub fn run_pair(
    test: &str,
    server: Role<'_>,
    ready: Option<&str>,
    client: Role<'_>,
    limit: Duration,
) -> (String, String) {
    let mut s = Child::spawn(test, server.name, server.netns, &server.vars);
    if let Some(needle) = ready {
        s.wait_for_output(needle, limit);
    }
    let c = Child::spawn(test, client.name, client.netns, &client.vars);
    let client_out = c.wait(limit);
    (client_out, s.wait(limit))
}

/// Waits up to 20 s for the link of `t`'s port to come up (panics after).
pub fn wait_for_link(t: &tern_rpc::transport::dpdk::DpdkTransport) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !t.link_up() {
        assert!(
            Instant::now() < deadline,
            "the link of DPDK port {:?} never came up",
            t.port()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
