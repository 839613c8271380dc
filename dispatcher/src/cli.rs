//! The `dispatcher` command line, the optional `--config` file, and the
//! settings they resolve to ([`Config`]). Flags win over the file; the file
//! wins over the defaults.

use std::net::{SocketAddrV4, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use tern_rpc::IdleMode;
use tern_sched::policy::policy_names;

use crate::transport_choice::TransportArgs;

/// Port served on when neither `--listen` nor the spec gives one.
pub const DEFAULT_PORT: u16 = 31850;

/// Command-line flags of `dispatcher`.
#[derive(Parser, Debug, Clone, Default)]
#[command(
    name = "dispatcher",
    version,
    about = "Tern's dispatcher: serves the WebAssembly functions of a spec file over RPC, \
             placing each request on a worker by a scheduling policy",
    after_help = "Every flag may also be given in a --config file (JSON object or `key = value` \
                  lines, keys named as the flags without dashes, e.g. \"quantum-us\"); flags win. \
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

    /// `--transport` and the DPDK flags.
    #[command(flatten)]
    pub transport: TransportArgs,

    /// Address to serve on, IPv4:PORT (port 0 picks a free port; the
    /// actual address is printed as "listening on udp://ADDR").
    /// [default: 127.0.0.1 and the spec's first tenant port, else 127.0.0.1:31850]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// How idle poll loops (dispatcher and workers) wait: spin (busy-poll;
    /// for dedicated cores) or adaptive (spin, then yield, then park; right
    /// when threads outnumber cores). [default: adaptive]
    #[arg(long, value_name = "MODE")]
    pub idle: Option<IdleMode>,

    /// Preemption quantum in µs: how often a running request checks its
    /// time limit and whether an earlier deadline waits. [default: 1000]
    #[arg(long, value_name = "N")]
    pub quantum_us: Option<u64>,

    /// Admission control: reject at once, with rejected-overload, a request
    /// whose deadline cannot be met given the work queued ahead of it.
    /// [default: off]
    #[arg(long)]
    pub admission: bool,

    /// Capacity of each worker's inbox; a request finding it full is
    /// rejected with rejected-overload. [default: 1024]
    #[arg(long, value_name = "N")]
    pub inbox: Option<usize>,

    /// Directory of the compiled-module cache. [default: $TERN_CACHE_DIR,
    /// else ~/.cache/tern]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Config file with defaults for any of the flags above (JSON object,
    /// or `key = value` lines with # comments). [default: none]
    #[arg(long, value_name = "FILE")]
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
    /// Cores to pin the workers to.
    pub cores: Option<Vec<usize>>,
    /// Core to pin the dispatcher thread to.
    pub dispatcher_core: Option<usize>,
    /// Transport and its options.
    pub transport: TransportArgs,
    /// Address to serve on; `None`: from the spec, else [`DEFAULT_PORT`].
    pub listen: Option<SocketAddrV4>,
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
            Some(path) => ConfigFile::load(path)?,
            None => ConfigFile::default(),
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
        let mut transport = self.transport.clone();
        if transport.transport.is_none() {
            transport.transport = file.transport;
        }
        let listen = match self.listen.clone().or(file.listen) {
            Some(a) => Some(parse_listen(&a).with_context(|| format!("--listen \"{a}\""))?),
            None => None,
        };
        let idle = self.idle.or(file.idle).unwrap_or_default();
        let quantum_us = self.quantum_us.or(file.quantum_us).unwrap_or(1_000);
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
            cores,
            dispatcher_core: self.dispatcher_core.or(file.dispatcher_core),
            transport,
            listen,
            idle,
            quantum: Duration::from_micros(quantum_us),
            admission: self.admission || file.admission.unwrap_or(false),
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

/// Parses a listen address: `IPv4:PORT`, optionally prefixed `udp://`;
/// a host name resolves to its first IPv4 address.
pub fn parse_listen(addr: &str) -> anyhow::Result<SocketAddrV4> {
    let bare = addr.strip_prefix("udp://").unwrap_or(addr);
    if let Ok(a) = bare.parse::<SocketAddrV4>() {
        return Ok(a);
    }
    let resolved = bare
        .to_socket_addrs()
        .with_context(|| "expected IPv4:PORT, e.g. 127.0.0.1:31850")?;
    for a in resolved {
        if let std::net::SocketAddr::V4(v4) = a {
            return Ok(v4);
        }
    }
    bail!("no IPv4 address for \"{bare}\"")
}

/// The `--config` file's values; `None` for keys it does not set.
#[derive(Clone, Debug, Default)]
struct ConfigFile {
    spec: Option<PathBuf>,
    policy: Option<String>,
    workers: Option<usize>,
    cores: Option<String>,
    dispatcher_core: Option<usize>,
    transport: Option<String>,
    listen: Option<String>,
    idle: Option<IdleMode>,
    quantum_us: Option<u64>,
    admission: Option<bool>,
    inbox: Option<usize>,
    cache_dir: Option<PathBuf>,
}

const CONFIG_KEYS: &[&str] = &[
    "spec",
    "policy",
    "workers",
    "cores",
    "dispatcher-core",
    "transport",
    "listen",
    "idle",
    "quantum-us",
    "admission",
    "inbox",
    "cache-dir",
];

/// One value from a config file, before it is typed.
enum RawValue {
    Str(String),
    Int(u64),
    Bool(bool),
}

impl ConfigFile {
    /// Reads a JSON object or `key = value` lines. Paths in it (spec,
    /// cache-dir) are relative to the file's directory.
    fn load(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("config {}: cannot read", path.display()))?;
        let pairs = if text.trim_start().starts_with('{') {
            parse_json_pairs(&text).with_context(|| format!("config {}", path.display()))?
        } else {
            parse_line_pairs(&text).with_context(|| format!("config {}", path.display()))?
        };
        let base = path.parent().unwrap_or(Path::new(""));
        let mut c = ConfigFile::default();
        for (key, value) in pairs {
            let ctx = || format!("config {}: key \"{key}\"", path.display());
            let string = |v: RawValue| match v {
                RawValue::Str(s) => Ok(s),
                RawValue::Int(n) => Ok(n.to_string()),
                RawValue::Bool(_) => bail!("expected a string"),
            };
            let int = |v: RawValue| match v {
                RawValue::Int(n) => Ok(n),
                RawValue::Str(s) => s
                    .parse::<u64>()
                    .map_err(|_| anyhow::anyhow!("expected a non-negative integer, found \"{s}\"")),
                RawValue::Bool(_) => bail!("expected a non-negative integer"),
            };
            match key.as_str() {
                "spec" => c.spec = Some(base.join(string(value).with_context(ctx)?)),
                "policy" => c.policy = Some(string(value).with_context(ctx)?),
                "workers" => c.workers = Some(int(value).with_context(ctx)? as usize),
                "cores" => c.cores = Some(string(value).with_context(ctx)?),
                "dispatcher-core" => {
                    c.dispatcher_core = Some(int(value).with_context(ctx)? as usize)
                }
                "transport" => c.transport = Some(string(value).with_context(ctx)?),
                "listen" => c.listen = Some(string(value).with_context(ctx)?),
                "idle" => {
                    c.idle = Some(
                        string(value)
                            .with_context(ctx)?
                            .parse()
                            .map_err(anyhow::Error::from)
                            .with_context(ctx)?,
                    )
                }
                "quantum-us" => c.quantum_us = Some(int(value).with_context(ctx)?),
                "admission" => {
                    c.admission = Some(match value {
                        RawValue::Bool(b) => b,
                        RawValue::Str(s) if s == "true" => true,
                        RawValue::Str(s) if s == "false" => false,
                        _ => {
                            return Err(anyhow::anyhow!("expected true or false"))
                                .with_context(ctx);
                        }
                    })
                }
                "inbox" => c.inbox = Some(int(value).with_context(ctx)? as usize),
                "cache-dir" => c.cache_dir = Some(base.join(string(value).with_context(ctx)?)),
                _ => bail!(
                    "config {}: unknown key \"{key}\" (known keys: {})",
                    path.display(),
                    CONFIG_KEYS.join(", ")
                ),
            }
        }
        Ok(c)
    }
}

fn parse_json_pairs(text: &str) -> anyhow::Result<Vec<(String, RawValue)>> {
    let value: serde_json::Value = serde_json::from_str(text).context("not valid JSON")?;
    let obj = value.as_object().context("expected a JSON object")?;
    let mut pairs = Vec::with_capacity(obj.len());
    for (k, v) in obj {
        let raw = match v {
            serde_json::Value::String(s) => RawValue::Str(s.clone()),
            serde_json::Value::Bool(b) => RawValue::Bool(*b),
            serde_json::Value::Number(n) if n.as_u64().is_some() => {
                RawValue::Int(n.as_u64().unwrap_or(0))
            }
            other => bail!("key \"{k}\": unsupported value {other}"),
        };
        pairs.push((k.clone(), raw));
    }
    Ok(pairs)
}

fn parse_line_pairs(text: &str) -> anyhow::Result<Vec<(String, RawValue)>> {
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            bail!("line {}: expected `key = value`, found \"{line}\"", n + 1);
        };
        let v = v.trim();
        let raw = if let Some(s) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            RawValue::Str(s.to_string())
        } else if v == "true" || v == "false" {
            RawValue::Bool(v == "true")
        } else if let Ok(i) = v.parse::<u64>() {
            RawValue::Int(i)
        } else {
            RawValue::Str(v.to_string())
        };
        pairs.push((k.trim().to_string(), raw));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("dispatcher").chain(list.iter().copied())).unwrap()
    }

    #[test]
    fn defaults() {
        let c = args(&["--spec", "s.json"]).resolve().unwrap();
        assert_eq!(c.policy, "edf");
        assert_eq!(c.workers, available_cores().saturating_sub(1).max(1));
        assert_eq!(c.idle, IdleMode::Adaptive);
        assert_eq!(c.quantum, Duration::from_millis(1));
        assert!(!c.admission && c.listen.is_none() && c.cores.is_none());
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
        assert_eq!(c.cores, Some(vec![1, 3, 4]));
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

    #[test]
    fn config_file_json_and_lines_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("c.json");
        std::fs::write(
            &json,
            r#"{"spec": "specs/s.json", "policy": "jsq", "workers": 3, "admission": true, "quantum-us": 200}"#,
        )
        .unwrap();
        let c = args(&["--config", json.to_str().unwrap(), "--policy", "lld"])
            .resolve()
            .unwrap();
        assert_eq!(c.spec, dir.path().join("specs/s.json"));
        assert_eq!(
            (c.policy.as_str(), c.workers, c.admission),
            ("lld", 3, true)
        );
        assert_eq!(c.quantum, Duration::from_micros(200));

        let lines = dir.path().join("c.conf");
        std::fs::write(
            &lines,
            "# comment\nspec = \"/abs/s.json\"\nidle = spin\nlisten = 127.0.0.1:9000\n",
        )
        .unwrap();
        let c = args(&["--config", lines.to_str().unwrap(), "--idle", "adaptive"])
            .resolve()
            .unwrap();
        assert_eq!(c.spec, Path::new("/abs/s.json"));
        assert_eq!(c.idle, IdleMode::Adaptive);
        assert_eq!(c.listen, Some("127.0.0.1:9000".parse().unwrap()));

        std::fs::write(&lines, "polcy = rr\n").unwrap();
        let err = format!(
            "{:#}",
            args(&["--config", lines.to_str().unwrap()])
                .resolve()
                .unwrap_err()
        );
        assert!(err.contains("unknown key \"polcy\""), "{err}");
        std::fs::write(&json, r#"{"workers": "many"}"#).unwrap();
        let err = format!(
            "{:#}",
            args(&["--config", json.to_str().unwrap()])
                .resolve()
                .unwrap_err()
        );
        assert!(
            err.contains("key \"workers\"") && err.contains("\"many\""),
            "{err}"
        );
    }
}
