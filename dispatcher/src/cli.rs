//! The `dispatcher` command line, the optional `--config` file, and the
//! settings they resolve to ([`Config`]). Flags win over the file; the file
//! wins over the defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use serde::Deserialize;
use tern_rpc::IdleMode;
use tern_rpc::transport::TransportAddr;
use tern_rpc::transport::address::DpdkAddr;
use tern_sched::policy::policy_names;

/// Port served on when neither `--listen` nor the spec gives one.
pub const DEFAULT_PORT: u16 = 31850;

/// Command-line flags of `dispatcher`, and the keys of its `--config` file:
/// the file is read into the same struct (keys named as the flags without
/// the dashes in front, `quantum-us = 200`; `None` for keys it does not set),
/// so a new flag is a new key without a second list to keep in step.
#[derive(Parser, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
#[command(
    name = "dispatcher",
    version,
    about = "Tern's dispatcher: serves the WebAssembly functions of a spec file over RPC, \
             placing each request on a worker by a scheduling policy",
    after_help = "Every flag may also be given in a --config file (TOML, keys named as the flags \
                  without the leading dashes, e.g. `quantum-us = 200`); flags win. \
                  Logs go to stderr (RUST_LOG=debug for more); the listen address and the \
                  per-route counters printed at SIGINT/SIGTERM go to stdout."
)]
pub struct Args {
    /// Spec file (SLEdge/SLEdgeScale JSON): routes mapping request types to
    /// Wasm modules, with expected execution times and relative deadlines.
    /// Required, here or in the config file.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,

    /// Scheduling policy: rr (round robin), jsq (shortest queue), lld (least
    /// queued work), edf (SLEdgeScale's EDF with preemption; workers run
    /// local EDF). [default: edf]
    #[arg(long, value_name = "NAME")]
    pub policy: Option<String>,

    /// Worker threads, each running one request at a time in a fresh
    /// sandbox. [default: available cores - 1, at least 1]
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// Cores to pin the workers to, e.g. "1,2" or "1-3": worker i runs on
    /// the i-th core listed (cycling if fewer). [default: not pinned]
    #[arg(long, value_name = "LIST")]
    pub cores: Option<String>,

    /// Core to pin the dispatcher thread (the RPC endpoint's poll loop)
    /// to. [default: not pinned]
    #[arg(long, value_name = "N")]
    pub dispatcher_core: Option<usize>,

    /// Alias kept from before --listen named its transport: `udp` or
    /// `dpdk` turns a bare --listen IP:PORT into udp://IP:PORT or
    /// dpdk://IP:PORT. [default: the --listen scheme, else udp]
    #[arg(long, value_name = "NAME")]
    pub transport: Option<String>,

    /// Alias of --listen dpdk://...?eal=ARGS: DPDK EAL arguments, e.g. "-l
    /// 1 --no-huge --no-pci -m 512 --vdev=net_af_xdp0,iface=veth-a" locally
    /// or "-l 2 -a 0000:41:00.0" on CloudLab's mlx5 NICs (builds with
    /// `--features dpdk`). [default: none]
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub dpdk_args: Option<String>,

    /// Alias of --listen dpdk://...?dev=PORT: the DPDK port, by index or
    /// device name (net_af_xdp0, 0000:41:00.0). [default: 0]
    #[arg(long, value_name = "PORT")]
    pub dpdk_port: Option<String>,

    /// Address to serve on: udp://IP:PORT (or bare IP:PORT; port 0 picks a
    /// free port, the actual address is printed as "listening on
    /// udp://ADDR"), or dpdk://IP:PORT?dev=DEV&eal=EAL+ARGS with IP this
    /// host's address on the DPDK port's network (`+` is a space in eal).
    /// [default: udp://127.0.0.1 and the spec's first tenant port, else udp://127.0.0.1:31850]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// How idle poll loops (dispatcher and workers) wait: spin (busy-poll;
    /// for dedicated cores) or adaptive (spin, then yield, then park; right
    /// when threads outnumber cores). [default: adaptive]
    #[arg(long, value_name = "MODE")]
    #[serde(deserialize_with = "idle_mode")]
    pub idle: Option<IdleMode>,

    /// Preemption quantum in µs: how often a running request checks its
    /// time limit and deadline and whether an earlier deadline waits; limits
    /// are enforced within one quantum. [default: 200]
    #[arg(long, value_name = "N")]
    pub quantum_us: Option<u64>,

    /// Admission control: reject at once, with rejected-overload, a request
    /// whose deadline cannot be met given the work queued ahead of it.
    /// [default: off]
    #[arg(long)]
    pub admission: bool,

    /// Most requests each worker holds (inbox, local queue and running
    /// together); a request finding its worker full is rejected with
    /// rejected-overload. [default: 1024]
    #[arg(long, value_name = "N")]
    pub inbox: Option<usize>,

    /// Directory of the compiled-module cache. [default: $TERN_CACHE_DIR,
    /// else ~/.cache/tern]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Config file (TOML) with defaults for any of the flags above, keys
    /// named as the flags: `policy = "jsq"`, `quantum-us = 200`. Paths in it
    /// are relative to its folder. [default: none]
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
}

/// The settings the dispatcher runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// The spec file.
    pub spec: PathBuf,
    /// The policy's name (checked against the table at start-up).
    pub policy: String,
    /// Worker threads.
    pub workers: usize,
    /// Which cores the threads are pinned to.
    pub pinning: Pinning,
    /// Transport and address to serve on (the transport flags applied);
    /// `None`: UDP on 127.0.0.1 and the spec's port, else [`DEFAULT_PORT`].
    pub listen: Option<TransportAddr>,
    /// Idle mode of every poll loop.
    pub idle: IdleMode,
    /// Epoch quantum.
    pub quantum: Duration,
    /// Admission control on.
    pub admission: bool,
    /// Per-worker inbox capacity.
    pub inbox: usize,
    /// Compiled-module cache directory; `None`: the runtime's default.
    pub cache_dir: Option<PathBuf>,
}

/// Which cores the threads are pinned to (`--cores`, `--dispatcher-core`);
/// `None`: not pinned, the OS places the thread.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pinning {
    /// The workers' cores, one per worker in order.
    pub workers: Option<Vec<usize>>,
    /// The dispatcher thread's core.
    pub dispatcher: Option<usize>,
}

/// Available cores, as the OS reports them (at least 1).
pub fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

impl Args {
    /// Merges the flags with the config file (if any) and defaults, and
    /// checks every value. Errors name the flag or key and what is wrong.
    pub fn resolve(&self) -> anyhow::Result<Config> {
        let file = match &self.config {
            Some(path) => Args::load(path)?,
            None => Args::default(),
        };
        let spec = self
            .spec
            .clone()
            .or(file.spec)
            .context("no spec file: pass --spec FILE")?;
        let policy = self
            .policy
            .clone()
            .or(file.policy)
            .unwrap_or_else(|| "edf".into());
        if !policy_names().contains(&policy.as_str()) {
            bail!(
                "unknown policy \"{policy}\" (valid policies: {})",
                policy_names().join(", ")
            );
        }
        let workers = self
            .workers
            .or(file.workers)
            .unwrap_or_else(|| available_cores().saturating_sub(1).max(1));
        if workers == 0 {
            bail!("--workers must be at least 1");
        }
        let cores = match self.cores.clone().or(file.cores) {
            Some(list) => Some(parse_cores(&list).with_context(|| format!("--cores \"{list}\""))?),
            None => None,
        };
        let listen = listen_address(
            self.listen.clone().or(file.listen).as_deref(),
            self.transport.clone().or(file.transport).as_deref(),
            self.dpdk_args.clone().or(file.dpdk_args),
            self.dpdk_port.clone().or(file.dpdk_port),
        )?;
        let idle = self.idle.or(file.idle).unwrap_or_default();
        let quantum_us = self.quantum_us.or(file.quantum_us).unwrap_or(200);
        if quantum_us == 0 {
            bail!("--quantum-us must be at least 1");
        }
        let inbox = self.inbox.or(file.inbox).unwrap_or(1024);
        if inbox == 0 {
            bail!("--inbox must be at least 1");
        }
        Ok(Config {
            spec,
            policy,
            workers,
            pinning: Pinning {
                workers: cores,
                dispatcher: self.dispatcher_core.or(file.dispatcher_core),
            },
            listen,
            idle,
            quantum: Duration::from_micros(quantum_us),
            admission: self.admission || file.admission,
            inbox,
            cache_dir: self.cache_dir.clone().or(file.cache_dir),
        })
    }
}

/// Parses a core list: comma-separated numbers and inclusive ranges
/// ("0,2,4-6").
pub fn parse_cores(list: &str) -> anyhow::Result<Vec<usize>> {
    let mut cores = Vec::new();
    for part in list.split(',').map(str::trim) {
        let num = |s: &str| {
            s.trim()
                .parse::<usize>()
                .with_context(|| format!("\"{s}\" is not a core number"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    bail!("range \"{part}\" is backwards");
                }
                cores.extend(a..=b);
            }
            None => cores.push(num(part)?),
        }
    }
    if cores.is_empty() {
        bail!("no cores listed");
    }
    Ok(cores)
}

/// The transport names `--transport` takes.
pub const TRANSPORTS: &[&str] = &["udp", "dpdk"];

/// Parses `--listen` and applies the alias flags `--transport`,
/// `--dpdk-args` and `--dpdk-port` to it. Errors name the flag: a bad
/// address, an unknown transport (listing the valid ones), `--transport`
/// contradicting the address's scheme, `--transport dpdk` without
/// `--listen`.
pub fn listen_address(
    listen: Option<&str>,
    transport: Option<&str>,
    dpdk_args: Option<String>,
    dpdk_port: Option<String>,
) -> anyhow::Result<Option<TransportAddr>> {
    if let Some(t) = transport
        && !TRANSPORTS.contains(&t)
    {
        bail!(
            "unknown transport \"{t}\" (valid transports: {})",
            TRANSPORTS.join(", ")
        );
    }
    let Some(text) = listen else {
        if transport == Some("dpdk") {
            bail!(
                "--transport dpdk needs --listen IP:PORT with this host's address on the DPDK \
                 port's network and a fixed port (e.g. --listen 10.77.0.11:31850)"
            );
        }
        return Ok(None);
    };
    let addr: TransportAddr = text
        .parse()
        .with_context(|| format!("--listen \"{text}\""))?;
    let explicit = text.contains("://");
    let addr = match (addr, transport) {
        (TransportAddr::Udp(a), Some("dpdk")) if !explicit => TransportAddr::Dpdk(DpdkAddr {
            addr: a,
            dev: None,
            eal: None,
            local_ip: None,
            local_port: None,
        }),
        (a, Some(t)) if a.scheme() != t => {
            bail!("--transport {t} contradicts --listen \"{text}\"")
        }
        (a, _) => a,
    };
    Ok(Some(match addr {
        TransportAddr::Dpdk(mut d) => {
            d.eal = dpdk_args.or(d.eal);
            d.dev = dpdk_port.or(d.dev);
            TransportAddr::Dpdk(d)
        }
        udp => udp,
    }))
}

/// Reading the `--config` file into [`Args`].
impl Args {
    /// Reads a TOML file. Paths in it (`spec`, `cache-dir`) are relative to
    /// the file's directory. Errors name the file and, where it is about
    /// one, the key: not TOML, an unknown or repeated key, a value of the
    /// wrong type.
    fn load(path: &Path) -> anyhow::Result<Args> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("config {}: cannot read", path.display()))?;
        let mut c = Self::parse(&text).with_context(|| format!("config {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new(""));
        c.spec = c.spec.map(|p| base.join(p));
        c.cache_dir = c.cache_dir.map(|p| base.join(p));
        Ok(c)
    }

    /// Parses TOML text; paths are left as written.
    fn parse(text: &str) -> anyhow::Result<Args> {
        let doc = toml::Deserializer::parse(text).map_err(|e| {
            anyhow::anyhow!("not valid TOML: {}{}", e.message(), at_line(text, e.span()))
        })?;
        let c: Args = serde_path_to_error::deserialize(doc).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let at = at_line(text, inner.span());
            if key == "." {
                anyhow::anyhow!("{}{at}", inner.message())
            } else {
                anyhow::anyhow!("key \"{key}\": {}{at}", inner.message())
            }
        })?;
        Ok(c)
    }
}

/// The `idle` key: text parsed like `--idle` (tern-rpc's [`IdleMode`] has no
/// serde form of its own).
fn idle_mode<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<IdleMode>, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

/// ` at line N` for the start of `span` in `text`, or nothing without one.
fn at_line(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            format!(" at line {}", before.matches('\n').count() + 1)
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("dispatcher").chain(list.iter().copied())).unwrap()
    }

    #[test]
    fn listen_takes_transport_addresses_and_the_old_flags_as_aliases() {
        let listen = |list: &[&str]| args(list).resolve().map(|c| c.listen);
        let udp: TransportAddr = "udp://127.0.0.1:9000".parse().unwrap();
        assert_eq!(
            listen(&["--spec", "s", "--listen", "127.0.0.1:9000"]).unwrap(),
            Some(udp.clone())
        );
        assert_eq!(
            listen(&["--spec", "s", "--listen", "udp://127.0.0.1:9000"]).unwrap(),
            Some(udp.clone())
        );
        assert_eq!(
            listen(&[
                "--spec",
                "s",
                "--transport",
                "udp",
                "--listen",
                "127.0.0.1:9000"
            ])
            .unwrap(),
            Some(udp)
        );
        let want: TransportAddr = "dpdk://10.77.0.11:31850?dev=net_af_xdp0&eal=-l+0+--no-huge"
            .parse()
            .unwrap();
        let aliased = listen(&[
            "--spec",
            "s",
            "--transport",
            "dpdk",
            "--listen",
            "10.77.0.11:31850",
            "--dpdk-port",
            "net_af_xdp0",
            "--dpdk-args",
            "-l 0 --no-huge",
        ])
        .unwrap();
        assert_eq!(aliased, Some(want.clone()));
        let direct = listen(&["--spec", "s", "--listen", &want.to_string()]).unwrap();
        assert_eq!(direct, Some(want));
        let overridden = listen(&[
            "--spec",
            "s",
            "--listen",
            "dpdk://10.77.0.11:31850?dev=1&eal=-l+1",
            "--dpdk-port",
            "2",
        ])
        .unwrap();
        let Some(TransportAddr::Dpdk(d)) = overridden else {
            panic!("{overridden:?}")
        };
        assert_eq!(
            (d.dev.as_deref(), d.eal.as_deref()),
            (Some("2"), Some("-l 1"))
        );
        for (list, needle) in [
            (
                &["--spec", "s", "--transport", "rdma"][..],
                "unknown transport \"rdma\" (valid transports: udp, dpdk)",
            ),
            (
                &["--spec", "s", "--transport", "dpdk"][..],
                "--transport dpdk needs --listen",
            ),
            (
                &[
                    "--spec",
                    "s",
                    "--transport",
                    "dpdk",
                    "--listen",
                    "udp://10.0.0.1:5",
                ][..],
                "--transport dpdk contradicts --listen \"udp://10.0.0.1:5\"",
            ),
            (
                &[
                    "--spec",
                    "s",
                    "--transport",
                    "udp",
                    "--listen",
                    "dpdk://10.0.0.1:5",
                ][..],
                "--transport udp contradicts",
            ),
            (
                &["--spec", "s", "--listen", "tcp://10.0.0.1:5"][..],
                "unknown scheme \"tcp://\"",
            ),
        ] {
            let err = format!("{:#}", listen(list).unwrap_err());
            assert!(err.contains(needle), "{list:?}: {err}");
        }
    }

    #[test]
    fn defaults() {
        let c = args(&["--spec", "s.json"]).resolve().unwrap();
        assert_eq!(c.policy, "edf");
        assert_eq!(c.workers, available_cores().saturating_sub(1).max(1));
        assert_eq!(c.idle, IdleMode::Adaptive);
        assert_eq!(c.quantum, Duration::from_micros(200));
        assert!(!c.admission && c.listen.is_none() && c.pinning == Pinning::default());
        assert_eq!(c.inbox, 1024);
    }

    #[test]
    fn flags_are_checked() {
        let err = args(&["--spec", "s", "--policy", "fifo"])
            .resolve()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown policy \"fifo\" (valid policies: rr, jsq, lld, edf)"
        );
        assert!(
            args(&[])
                .resolve()
                .unwrap_err()
                .to_string()
                .contains("--spec")
        );
        assert!(args(&["--spec", "s", "--workers", "0"]).resolve().is_err());
        assert!(Args::try_parse_from(["dispatcher", "--idle", "lazy"]).is_err());
        let c = args(&[
            "--spec",
            "s",
            "--listen",
            "udp://127.0.0.1:0",
            "--cores",
            "1,3-4",
            "--idle",
            "spin",
        ])
        .resolve()
        .unwrap();
        assert_eq!(c.listen, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(c.pinning.workers, Some(vec![1, 3, 4]));
        assert_eq!(c.idle, IdleMode::Spin);
        let err = format!(
            "{:#}",
            args(&["--spec", "s", "--cores", "3-1"])
                .resolve()
                .unwrap_err()
        );
        assert!(err.contains("backwards"), "{err}");
        let err = format!(
            "{:#}",
            args(&["--spec", "s", "--listen", "nowhere"])
                .resolve()
                .unwrap_err()
        );
        assert!(err.contains("--listen \"nowhere\""), "{err}");
    }

    fn config(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn config_error(path: &Path) -> String {
        format!(
            "{:#}",
            args(&["--config", path.to_str().unwrap()])
                .resolve()
                .unwrap_err()
        )
    }

    #[test]
    fn config_file_toml_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = config(
            dir.path(),
            "c.toml",
            "spec = \"specs/s.json\"\npolicy = \"jsq\"\nworkers = 3\nadmission = true\nquantum-us = 200\n",
        );
        let c = args(&["--config", file.to_str().unwrap(), "--policy", "lld"])
            .resolve()
            .unwrap();
        // Paths resolve against the file's folder; the flag wins over the file.
        assert_eq!(c.spec, dir.path().join("specs/s.json"));
        assert_eq!(
            (c.policy.as_str(), c.workers, c.admission),
            ("lld", 3, true)
        );
        assert_eq!(c.quantum, Duration::from_micros(200));

        let file = config(
            dir.path(),
            "d.toml",
            "# comment\nspec = \"/abs/s.json\"\nidle = \"spin\"\nlisten = \"127.0.0.1:9000\" # trailing\n\
             cores = \"1-2\"\ndispatcher-core = 0\ninbox = 8\ncache-dir = \"cache\"\n",
        );
        let c = args(&["--config", file.to_str().unwrap(), "--idle", "adaptive"])
            .resolve()
            .unwrap();
        assert_eq!(c.spec, Path::new("/abs/s.json"));
        assert_eq!(c.idle, IdleMode::Adaptive);
        assert_eq!(c.listen, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(
            (c.pinning.workers, c.pinning.dispatcher, c.inbox),
            (Some(vec![1, 2]), Some(0), 8)
        );
        assert_eq!(c.cache_dir, Some(dir.path().join("cache")));
        let c = args(&["--config", file.to_str().unwrap()])
            .resolve()
            .unwrap();
        assert_eq!(c.idle, IdleMode::Spin);
    }

    #[test]
    fn config_file_unknown_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = config(dir.path(), "c.toml", "spec = \"s.json\"\npolcy = \"rr\"\n");
        let err = config_error(&file);
        assert!(err.contains(&format!("config {}", file.display())), "{err}");
        assert!(
            err.contains("key \"polcy\": unknown field `polcy`, expected one of `spec`, `policy`"),
            "{err}"
        );
        assert!(err.contains("at line 2"), "{err}");
        // The old `key = value` lines with bare words are not TOML.
        let file = config(dir.path(), "d.conf", "idle = spin\n");
        let err = config_error(&file);
        assert!(
            err.contains("d.conf") && err.contains("not valid TOML"),
            "{err}"
        );
        // A key given twice is refused by the TOML parser.
        let file = config(dir.path(), "e.toml", "workers = 1\nworkers = 2\n");
        let err = config_error(&file);
        assert!(
            err.contains("e.toml") && err.contains("not valid TOML"),
            "{err}"
        );
    }

    #[test]
    fn config_file_wrong_type_is_named() {
        let dir = tempfile::tempdir().unwrap();
        for (text, needles) in [
            (
                "workers = \"many\"\n",
                &["key \"workers\": invalid type: string \"many\""][..],
            ),
            (
                "spec = \"s\"\n\nadmission = \"yes\"\n",
                &[
                    "key \"admission\": invalid type: string \"yes\", expected a boolean",
                    "at line 3",
                ],
            ),
            (
                "quantum-us = -5\n",
                &["key \"quantum-us\": invalid value: integer `-5`"],
            ),
            ("idle = \"lazy\"\n", &["key \"idle\"", "lazy"]),
            // The file is read into `Args`, but `config` is a flag only.
            ("config = \"other.toml\"\n", &["unknown field `config`"]),
        ] {
            let file = config(dir.path(), "c.toml", text);
            let err = config_error(&file);
            assert!(err.contains(&format!("config {}", file.display())), "{err}");
            for needle in needles {
                assert!(err.contains(needle), "{text:?}: {err}");
            }
        }
    }

    #[test]
    fn config_file_takes_every_flag_but_config() {
        let dir = tempfile::tempdir().unwrap();
        let file = config(
            dir.path(),
            "c.toml",
            "spec = \"s.json\"\ntransport = \"dpdk\"\nlisten = \"10.77.0.11:31850\"\n\
             dpdk-args = \"-l 0\"\ndpdk-port = \"net_af_xdp0\"\n",
        );
        let c = args(&["--config", file.to_str().unwrap()])
            .resolve()
            .unwrap();
        let want: TransportAddr = "dpdk://10.77.0.11:31850?dev=net_af_xdp0&eal=-l+0"
            .parse()
            .unwrap();
        assert_eq!(c.listen, Some(want));
    }
}
