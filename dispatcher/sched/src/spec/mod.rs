//! Spec files: which request types exist, which Wasm module serves each, and
//! how long each is expected to run and may take.
//!
//! The format is SLEdgeScale's (itself SLEdge's, plus `request-type`,
//! `n-resas` and `group-id`): a JSON array of tenants, each with routes.
//!
//! ```json
//! [
//!   {
//!     "name": "gwu",
//!     "port": 31850,
//!     "replenishment-period-us": 0,
//!     "max-budget-us": 0,
//!     "routes": [
//!       {
//!         "route": "/fib",
//!         "request-type": 1,
//!         "n-resas": 1,
//!         "group-id": 1,
//!         "path": "build/fibonacci.wasm",
//!         "admissions-percentile": 70,
//!         "expected-execution-us": 5,
//!         "relative-deadline-us": 50,
//!         "http-resp-content-type": "text/plain"
//!       }
//!     ]
//!   }
//! ]
//! ```
//!
//! Differences from SLEdge, all in the direction of accepting more files:
//!
//! - `path` is resolved against the spec file's directory (SLEdge resolves it
//!   against the working directory) and names a `.wasm` module, not a `.so`.
//! - `request-type` is a u16 (SLEdgeScale: u8). When a route has none (plain
//!   SLEdge files route by URL, not by type), it gets the lowest type not
//!   used by any other route, in file order starting at 1.
//! - The root may be a single tenant object instead of an array.
//! - Tern's own optional route keys set per-route sandbox limits:
//!   `max-exec-us` (execution-time limit), `max-memory-bytes` (linear
//!   memory) and `max-output-bytes` (response size).
//!
//! Unknown keys, keys given twice in one object, missing required keys,
//! values of the wrong type, duplicate request types or route names, and
//! modules that do not exist are errors that name the file, the tenant, the
//! route and the key ([`SpecError`]). Loading never panics.
//!
//! The syntax is read by serde (`file_format.rs`, one struct per object with
//! `deny_unknown_fields`); what spans more than one value (unique types and
//! names, the default request types, paths, modules) is checked here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

mod error;
mod file_format;

pub use error::SpecError;

use error::{locate, route_place};
use file_format::{RootFile, RouteFile, TenantFile};

/// A loaded spec file: tenants and their routes, indexed by request type and
/// by route name.
///
/// Cost: [`Spec::load`] reads and parses the file once and checks that each
/// module exists (one `stat` per route); lookups are hash-map probes.
#[derive(Clone, Debug)]
pub struct Spec {
    file: PathBuf,
    tenants: Vec<Tenant>,
    by_type: HashMap<u16, (usize, usize)>,
    by_name: HashMap<String, (usize, usize)>,
}

/// One tenant of a spec file (SLEdge's unit of isolation and budgets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    /// `name`: the tenant's name.
    pub name: String,
    /// `port`: the UDP port SLEdge serves the tenant on. Tern serves every
    /// tenant on the dispatcher's one `--listen` address; when that flag is
    /// absent, the first tenant's port is the default. 0 when absent.
    pub port: u16,
    /// `replenishment-period-us` (SLEdge's MTDS budgets; accepted, unused).
    pub replenishment_period_us: u64,
    /// `max-budget-us` (SLEdge's MTDS budgets; accepted, unused).
    pub max_budget_us: u64,
    /// `routes`: the tenant's routes.
    pub routes: Vec<Route>,
}

/// One route: a request type served by one Wasm module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// `route`: the route's name, e.g. `/fib`; unique in the spec.
    pub route: String,
    /// `request-type`: the RPC request type that selects this route; unique
    /// in the spec.
    pub request_type: u16,
    /// `path`: the module, resolved against the spec file's directory.
    pub path: PathBuf,
    /// `expected-execution-us`: expected execution time, used by the
    /// policies and admission control.
    pub expected_execution_us: u64,
    /// `relative-deadline-us`: deadline after arrival.
    pub relative_deadline_us: u64,
    /// The limits the route's keys set on one request.
    pub limits: RouteLimits,
    /// SLEdge's keys that Tern accepts and records but does not act on.
    pub sledge: SledgeKeys,
    /// Name of the tenant the route belongs to.
    pub tenant: String,
}

/// The limits a route's keys set on one request; `None` where the spec
/// leaves the runtime's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteLimits {
    /// `http-req-size`: largest request body accepted.
    pub http_req_size: Option<u64>,
    /// `http-resp-size`: largest response body SLEdge would allocate; Tern
    /// uses it as the output limit when `max-output-bytes` is absent.
    pub http_resp_size: Option<u64>,
    /// `max-exec-us` (Tern): execution-time limit of one request.
    pub max_exec_us: Option<u64>,
    /// `max-memory-bytes` (Tern): linear-memory limit of one sandbox.
    pub max_memory_bytes: Option<u64>,
    /// `max-output-bytes` (Tern): largest response body.
    pub max_output_bytes: Option<u64>,
}

/// The keys of an SLEdge route that Tern accepts (typed and range-checked,
/// so that SLEdge's spec files load unchanged) and records, but does not
/// act on: no policy reads them yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SledgeKeys {
    /// `admissions-percentile` (SLEdge; default 70).
    pub admissions_percentile: u32,
    /// `n-resas` (SLEdgeScale's DARC: cores reserved; default 1).
    pub n_resas: u32,
    /// `group-id` (SLEdgeScale's DARC group; default 1).
    pub group_id: u32,
    /// `http-resp-content-type` (default `text/plain`).
    pub http_resp_content_type: String,
}

impl Route {
    /// Expected execution time in nanoseconds.
    pub fn expected_ns(&self) -> u64 {
        self.expected_execution_us.saturating_mul(1_000)
    }

    /// Relative deadline in nanoseconds.
    pub fn relative_deadline_ns(&self) -> u64 {
        self.relative_deadline_us.saturating_mul(1_000)
    }
}

impl Spec {
    /// Reads, parses and checks the spec file at `path`, including that every
    /// route's module exists.
    pub fn load(path: &Path) -> Result<Spec, SpecError> {
        Self::load_inner(path, true)
    }

    /// Like [`load`](Self::load) but does not check that the modules exist:
    /// for clients (the load generator) that only need route names, request
    /// types and deadlines, on a machine that may not hold the modules.
    pub fn load_without_modules(path: &Path) -> Result<Spec, SpecError> {
        Self::load_inner(path, false)
    }

    fn load_inner(path: &Path, check_modules: bool) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|cause| SpecError::Io {
            file: path.to_path_buf(),
            cause,
        })?;
        let spec = Self::parse(&text, path)?;
        if check_modules {
            spec.check_modules()?;
        }
        Ok(spec)
    }

    /// Parses spec text as if it had been read from `file` (used to resolve
    /// module paths and in error messages). Does not touch the file system.
    /// Fails on the first error in file order.
    pub fn parse(text: &str, file: &Path) -> Result<Spec, SpecError> {
        let root = read_root(text, file)?;
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        // Routes without a request type, filled in after all explicit ones are known.
        let mut untyped = Vec::new();
        let tenants = root
            .0
            .into_iter()
            .enumerate()
            .map(|(ti, t)| tenant(t, &base, |ri| untyped.push((ti, ri))))
            .collect();
        let mut spec = Spec {
            file: file.to_path_buf(),
            tenants,
            by_type: HashMap::new(),
            by_name: HashMap::new(),
        };
        spec.index_types(untyped)?;
        spec.index_names()?;
        if spec.by_type.is_empty() {
            return Err(SpecError::NoRoutes {
                file: file.to_path_buf(),
            });
        }
        Ok(spec)
    }

    /// Indexes the routes by request type: first those the file types (two
    /// with one type are an error), then each `untyped` one, in file order,
    /// gets the lowest type no other route uses, from 1.
    fn index_types(&mut self, untyped: Vec<(usize, usize)>) -> Result<(), SpecError> {
        for (ti, tenant) in self.tenants.iter().enumerate() {
            for (ri, route) in tenant.routes.iter().enumerate() {
                if untyped.contains(&(ti, ri)) {
                    continue;
                }
                if let Some(&(fti, fri)) = self.by_type.get(&route.request_type) {
                    return Err(SpecError::DuplicateRequestType {
                        file: self.file.clone(),
                        request_type: route.request_type,
                        first: self.tenants[fti].routes[fri].route.clone(),
                        second: route.route.clone(),
                    });
                }
                self.by_type.insert(route.request_type, (ti, ri));
            }
        }
        let mut next_type: u16 = 1;
        for (ti, ri) in untyped {
            while self.by_type.contains_key(&next_type) {
                next_type =
                    next_type
                        .checked_add(1)
                        .ok_or_else(|| SpecError::NoFreeRequestType {
                            file: self.file.clone(),
                            route: self.tenants[ti].routes[ri].route.clone(),
                        })?;
            }
            self.tenants[ti].routes[ri].request_type = next_type;
            self.by_type.insert(next_type, (ti, ri));
        }
        Ok(())
    }

    /// Indexes the routes by name; two with one name are an error.
    fn index_names(&mut self) -> Result<(), SpecError> {
        for (ti, tenant) in self.tenants.iter().enumerate() {
            for (ri, route) in tenant.routes.iter().enumerate() {
                if self.by_name.insert(route.route.clone(), (ti, ri)).is_some() {
                    return Err(SpecError::DuplicateRoute {
                        file: self.file.clone(),
                        route: route.route.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Checks that every route's module is an existing file; a missing
    /// path and a directory are named as such. One `stat` per route.
    pub fn check_modules(&self) -> Result<(), SpecError> {
        for (ti, tenant) in self.tenants.iter().enumerate() {
            for (ri, route) in tenant.routes.iter().enumerate() {
                let problem = match std::fs::metadata(&route.path) {
                    Ok(m) if m.is_file() => continue,
                    Ok(m) if m.is_dir() => "is a directory, not a module file",
                    Ok(_) => "is not a regular file",
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist",
                    Err(_) => "cannot be read",
                };
                let in_build_dir = route
                    .path
                    .parent()
                    .is_some_and(|d| d.ends_with("functions/build"));
                return Err(SpecError::MissingModule {
                    file: self.file.clone(),
                    place: route_place(ti, Some(&tenant.name), ri, Some(&route.route)),
                    module: route.path.clone(),
                    problem,
                    hint: if in_build_dir && problem == "does not exist" {
                        " (build the functions with functions/build.sh)"
                    } else {
                        ""
                    },
                });
            }
        }
        Ok(())
    }

    /// The file the spec was read from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The tenants, in file order.
    pub fn tenants(&self) -> &[Tenant] {
        &self.tenants
    }

    /// Every route of every tenant, in file order.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.tenants.iter().flat_map(|t| t.routes.iter())
    }

    /// The route named `name` (e.g. `/fib`). One hash-map probe.
    pub fn route_by_name(&self, name: &str) -> Option<&Route> {
        self.by_name
            .get(name)
            .map(|&(t, r)| &self.tenants[t].routes[r])
    }

    /// The route of request type `request_type`. One hash-map probe.
    pub fn route_by_type(&self, request_type: u16) -> Option<&Route> {
        self.by_type
            .get(&request_type)
            .map(|&(t, r)| &self.tenants[t].routes[r])
    }

    /// The first tenant's `port`, if any tenant has a non-zero one.
    pub fn default_port(&self) -> Option<u16> {
        self.tenants.iter().map(|t| t.port).find(|&p| p != 0)
    }
}

/// Reads the file's syntax: JSON errors as [`SpecError::Json`], the
/// format's (unknown, repeated, missing or mistyped keys) as
/// [`SpecError::Key`] with the place serde stopped at.
fn read_root(text: &str, file: &Path) -> Result<RootFile, SpecError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let root: RootFile = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let (place, key) = locate(e.path(), text);
        let source = e.into_inner();
        if source.is_data() {
            SpecError::Key {
                file: file.to_path_buf(),
                place,
                key,
                message: source.to_string(),
            }
        } else {
            SpecError::Json {
                file: file.to_path_buf(),
                cause: source,
            }
        }
    })?;
    de.end().map_err(|cause| SpecError::Json {
        file: file.to_path_buf(),
        cause,
    })?;
    Ok(root)
}

/// A tenant as read, with its defaults filled in and its routes' paths
/// resolved against `base`; `untyped(ri)` is called for each route that
/// has no `request-type` (left 0 until [`Spec::index_types`] assigns one).
fn tenant(t: TenantFile, base: &Path, mut untyped: impl FnMut(usize)) -> Tenant {
    let name = t.name.0;
    let routes = t
        .routes
        .into_iter()
        .enumerate()
        .map(|(ri, r)| {
            if r.request_type.is_none() {
                untyped(ri);
            }
            route(r, &name, base)
        })
        .collect();
    Tenant {
        port: t.port.map_or(0, |p| p.0 as u16),
        replenishment_period_us: t.replenishment_period_us.map_or(0, |v| v.0),
        max_budget_us: t.max_budget_us.map_or(0, |v| v.0),
        routes,
        name,
    }
}

/// A route as read, with SLEdge's defaults filled in.
fn route(r: RouteFile, tenant: &str, base: &Path) -> Route {
    Route {
        route: r.route.0,
        request_type: r.request_type.map_or(0, |t| t.0 as u16),
        path: base.join(r.path.0),
        expected_execution_us: r.expected_execution_us.0,
        relative_deadline_us: r.relative_deadline_us.0,
        limits: RouteLimits {
            http_req_size: r.http_req_size.map(|b| b.0),
            http_resp_size: r.http_resp_size.map(|b| b.0),
            max_exec_us: r.max_exec_us.map(|m| m.0),
            max_memory_bytes: r.max_memory_bytes.map(|b| b.0),
            max_output_bytes: r.max_output_bytes.map(|b| b.0),
        },
        sledge: SledgeKeys {
            admissions_percentile: r.admissions_percentile.map_or(70, |p| p.0 as u32),
            n_resas: r.n_resas.map_or(1, |n| n.0 as u32),
            group_id: r.group_id.map_or(1, |g| g.0 as u32),
            http_resp_content_type: r
                .http_resp_content_type
                .map_or_else(|| "text/plain".to_string(), |c| c.0),
        },
        tenant: tenant.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Spec, SpecError> {
        Spec::parse(text, Path::new("/specs/test.json"))
    }

    const SLEDGESCALE_FIB: &str = r#"[
        {
            "name": "gwu",
            "port": 31850,
            "replenishment-period-us": 0,
            "max-budget-us": 0,
            "routes": [
                {
                    "route": "/fib",
                    "request-type": 1,
                    "n-resas": 1,
                    "group-id": 1,
                    "path": "fibonacci.wasm.so",
                    "admissions-percentile": 70,
                    "expected-execution-us": 5,
                    "relative-deadline-us": 50,
                    "http-resp-content-type": "text/plain"
                }
            ]
        }
    ]"#;

    #[test]
    fn sledgescale_file_loads() {
        let spec = parse(SLEDGESCALE_FIB).unwrap();
        let r = spec.route_by_name("/fib").unwrap();
        assert_eq!(r.request_type, 1);
        assert_eq!(r.path, Path::new("/specs/fibonacci.wasm.so"));
        assert_eq!((r.expected_execution_us, r.relative_deadline_us), (5, 50));
        assert_eq!((r.expected_ns(), r.relative_deadline_ns()), (5_000, 50_000));
        let k = &r.sledge;
        assert_eq!((k.admissions_percentile, k.n_resas, k.group_id), (70, 1, 1));
        assert_eq!(k.http_resp_content_type, "text/plain");
        assert_eq!(r.tenant, "gwu");
        assert_eq!(spec.route_by_type(1), Some(r));
        assert_eq!(spec.route_by_type(2), None);
        assert_eq!(spec.route_by_name("/nope"), None);
        assert_eq!(spec.routes().count(), 1);
        assert_eq!(spec.default_port(), Some(31850));
        assert_eq!(spec.tenants()[0].port, 31850);
    }

    #[test]
    fn sledge_routes_without_type_get_free_types_in_order() {
        let spec = parse(
            r#"{"name": "t", "port": 10000, "routes": [
                {"route": "/a", "path": "a.wasm", "expected-execution-us": 1, "relative-deadline-us": 10},
                {"route": "/b", "request-type": 1, "path": "b.wasm", "expected-execution-us": 1, "relative-deadline-us": 10},
                {"route": "/c", "path": "c.wasm", "expected-execution-us": 1, "relative-deadline-us": 10,
                 "http-req-size": 1024, "http-resp-size": 2048}
            ]}"#,
        )
        .unwrap();
        let types: Vec<_> = spec
            .routes()
            .map(|r| (r.route.as_str(), r.request_type))
            .collect();
        assert_eq!(types, [("/a", 2), ("/b", 1), ("/c", 3)]);
        let c = spec.route_by_name("/c").unwrap();
        assert_eq!(
            (c.limits.http_req_size, c.limits.http_resp_size),
            (Some(1024), Some(2048))
        );
    }

    /// Parses `text` (as /specs/test.json), which must fail with a message
    /// holding every one of `parts`.
    fn assert_error(text: &str, parts: &[&str]) {
        let err = parse(text).unwrap_err().to_string();
        for part in parts {
            assert!(err.contains(part), "lacks {part:?}: {err}");
        }
    }

    #[test]
    fn unknown_key_names_key_and_file() {
        assert_error(
            &SLEDGESCALE_FIB.replace("\"n-resas\"", "\"n-reservations\""),
            &[
                "/specs/test.json",
                "key \"n-reservations\": unknown field `n-reservations`",
                "tenant 0 (\"gwu\") route 0 (\"/fib\")",
                // The known keys are listed, as before.
                "expected one of `route`, `request-type`",
                "`max-output-bytes`",
            ],
        );
        assert_error(
            &SLEDGESCALE_FIB.replace("\"max-budget-us\"", "\"budget\""),
            &["tenant 0 (\"gwu\"): key \"budget\": unknown field `budget`"],
        );
    }

    #[test]
    fn repeated_keys_are_errors() {
        // serde_json::Value kept the last of two keys; the format rejects
        // them. serde stops at the second key, before its value: the
        // message, not the place, names the key.
        assert_error(
            &SLEDGESCALE_FIB.replace(
                "\"route\": \"/fib\",",
                "\"route\": \"/fib\", \"route\": \"/fib2\",",
            ),
            &[
                "/specs/test.json",
                "tenant 0 (\"gwu\") route 0",
                "duplicate field `route`",
            ],
        );
        assert_error(
            &SLEDGESCALE_FIB.replace("\"port\": 31850,", "\"port\": 1, \"port\": 2,"),
            &["tenant 0 (\"gwu\"): duplicate field `port`"],
        );
    }

    #[test]
    fn single_tenant_root_errors_name_the_tenant() {
        let err = parse(
            r#"{"name": "t", "routes": [
                {"route": "/a", "path": "a.wasm", "expected-execution-us": -1, "relative-deadline-us": 10}
            ]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(
                "tenant 0 (\"t\") route 0 (\"/a\"): key \"expected-execution-us\": invalid value: integer `-1`, expected a non-negative integer (µs)"
            ),
            "{err}"
        );
        let err = parse(r#"{"name": "t", "port": 70000, "routes": []}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tenant 0 (\"t\"): key \"port\": invalid value: integer `70000`, expected a port number (0-65535)"),
            "{err}"
        );
    }

    #[test]
    fn values_are_range_checked() {
        let cases = [
            (
                "\"relative-deadline-us\": 50",
                "\"relative-deadline-us\": 0",
                "relative-deadline-us",
                "expected a relative deadline greater than 0 (µs)",
            ),
            (
                "\"admissions-percentile\": 70",
                "\"admissions-percentile\": 101",
                "admissions-percentile",
                "expected a percentile 0-100",
            ),
            (
                "\"n-resas\": 1",
                "\"n-resas\": 4294967296",
                "n-resas",
                "expected a non-negative integer (32 bits)",
            ),
            (
                "\"group-id\": 1",
                "\"group-id\": 1.5",
                "group-id",
                "invalid type: floating point `1.5`",
            ),
            (
                "\"path\": \"fibonacci.wasm.so\"",
                "\"path\": \"\"",
                "path",
                "expected a non-empty string",
            ),
            (
                "\"group-id\": 1",
                "\"group-id\": 1, \"max-exec-us\": null",
                "max-exec-us",
                "invalid type: null",
            ),
            (
                "\"group-id\": 1",
                "\"group-id\": 1, \"max-exec-us\": 0",
                "max-exec-us",
                "invalid value: integer `0`, expected an execution-time limit of at least 1 µs",
            ),
        ];
        for (from, to, key, what) in cases {
            let err = parse(&SLEDGESCALE_FIB.replace(from, to))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("route 0 (\"/fib\"): key \"{key}\": ")) && err.contains(what),
                "{to}: {err}"
            );
        }
        // The limits keys are read (and typed) too.
        let spec = parse(&SLEDGESCALE_FIB.replace(
            "\"group-id\": 1",
            "\"group-id\": 1, \"max-exec-us\": 7, \"max-memory-bytes\": 65536, \"max-output-bytes\": 9",
        ))
        .unwrap();
        let r = spec.route_by_name("/fib").unwrap();
        assert_eq!(
            (
                r.limits.max_exec_us,
                r.limits.max_memory_bytes,
                r.limits.max_output_bytes
            ),
            (Some(7), Some(65536), Some(9))
        );
        let err = parse(&SLEDGESCALE_FIB.replace(
            "\"group-id\": 1",
            "\"group-id\": 1, \"max-memory-bytes\": \"64k\"",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("key \"max-memory-bytes\": invalid type: string \"64k\", expected a byte count up to 4294967296"), "{err}");
    }

    #[test]
    fn memory_limit_past_wasm32_is_a_key_error() {
        // 1 TiB: before, the runtime's engine refused it with a wasmtime
        // message naming no file, route or key.
        let with_memory = |bytes: u64| {
            SLEDGESCALE_FIB.replace(
                "\"group-id\": 1",
                &format!("\"group-id\": 1, \"max-memory-bytes\": {bytes}"),
            )
        };
        assert_error(
            &with_memory(1 << 40),
            &[
                "/specs/test.json",
                "route 0 (\"/fib\")",
                "key \"max-memory-bytes\"",
                "up to 4294967296",
            ],
        );
        assert!(parse(&with_memory(1 << 32)).is_ok());
    }

    #[test]
    fn a_json_error_carries_its_cause_once() {
        let err = parse("{\"name\": }").unwrap_err();
        let text = err.to_string();
        assert_eq!(text.matches("line 1 column").count(), 1, "{text}");
        // The cause is in the message, so it is not also the source: an
        // `anyhow` `{:#}` chain would print it again.
        assert!(std::error::Error::source(&err).is_none(), "{text}");
    }

    #[test]
    fn missing_and_bad_values_are_named() {
        let text = SLEDGESCALE_FIB.replace("\"relative-deadline-us\": 50,", "");
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("route 0 (\"/fib\"): missing field `relative-deadline-us`"),
            "{err}"
        );

        let text = SLEDGESCALE_FIB.replace("\"request-type\": 1", "\"request-type\": 70000");
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains(
                "key \"request-type\": invalid value: integer `70000`, expected an integer 0-65535"
            ),
            "{err}"
        );

        let text = SLEDGESCALE_FIB.replace(
            "\"expected-execution-us\": 5",
            "\"expected-execution-us\": \"5\"",
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("key \"expected-execution-us\": invalid type: string \"5\""),
            "{err}"
        );

        let err = parse("42").unwrap_err().to_string();
        assert!(
            err.contains("(root): invalid type: integer `42`, expected an array of tenants"),
            "{err}"
        );
        let err = parse("[{\"name\": \"t\", \"routes\": []}]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no routes"), "{err}");
        let err = parse("[{\"name\": \"t\"").unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
        let err = parse(&format!("{SLEDGESCALE_FIB} []"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not valid JSON: trailing characters"), "{err}");
        let err = parse("[{\"name\": \"t\", \"routes\": [7]}]")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "tenant 0 (\"t\") route 0: invalid type: integer `7`, expected a route object"
            ),
            "{err}"
        );
    }

    #[test]
    fn duplicates_are_errors() {
        let two = |a: &str, b: &str| {
            format!(
                r#"[{{"name": "t", "routes": [
                {{"route": "{a}", "request-type": 3, "path": "a.wasm", "expected-execution-us": 1, "relative-deadline-us": 10}},
                {{"route": "{b}", "request-type": 3, "path": "b.wasm", "expected-execution-us": 1, "relative-deadline-us": 10}}
                ]}}]"#
            )
        };
        let err = parse(&two("/a", "/b")).unwrap_err().to_string();
        assert!(
            err.contains("request-type\": 3 is used by both route \"/a\" and route \"/b\""),
            "{err}"
        );
        let text = two("/a", "/a").replacen("\"request-type\": 3", "\"request-type\": 4", 1);
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("\"/a\" appears twice"), "{err}");
    }

    #[test]
    fn missing_module_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.json");
        std::fs::write(&file, SLEDGESCALE_FIB).unwrap();
        let err = Spec::load(&file).unwrap_err().to_string();
        assert!(err.contains("fibonacci.wasm.so does not exist"), "{err}");
        assert!(err.contains("key \"path\""), "{err}");
        assert!(Spec::load_without_modules(&file).is_ok());
        std::fs::create_dir(dir.path().join("fibonacci.wasm.so")).unwrap();
        let err = Spec::load(&file).unwrap_err().to_string();
        assert!(
            err.contains("fibonacci.wasm.so is a directory, not a module file"),
            "{err}"
        );
        std::fs::remove_dir(dir.path().join("fibonacci.wasm.so")).unwrap();
        std::fs::write(dir.path().join("fibonacci.wasm.so"), b"\0asm").unwrap();
        let spec = Spec::load(&file).unwrap();
        assert_eq!(spec.file(), file);
        let err = Spec::load(&dir.path().join("absent.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("absent.json: cannot read"), "{err}");
    }

    #[test]
    fn example_specs_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions");
        let mut seen = Vec::new();
        for name in ["fib.json", "bimodal.json", "mix.json"] {
            let spec = Spec::load_without_modules(&dir.join(name)).unwrap();
            for r in spec.routes() {
                assert!(
                    r.path.starts_with(dir.join("build")),
                    "{}",
                    r.path.display()
                );
                assert!(
                    r.relative_deadline_us >= 10 * r.expected_execution_us.max(1)
                        || r.route == "/fib"
                );
            }
            seen.push(spec.routes().count());
        }
        assert_eq!(seen, [1, 2, 3]);
        let bimodal = Spec::load_without_modules(&dir.join("bimodal.json")).unwrap();
        assert_eq!(
            bimodal
                .route_by_name("/short")
                .unwrap()
                .expected_execution_us,
            10
        );
        assert_eq!(
            bimodal.route_by_name("/long").unwrap().relative_deadline_us,
            10_000
        );
    }

    #[test]
    fn garbage_never_panics() {
        // Every prefix of a valid file, and some byte flips, give a result, never a panic.
        for cut in 0..SLEDGESCALE_FIB.len() {
            if SLEDGESCALE_FIB.is_char_boundary(cut) {
                let _ = parse(&SLEDGESCALE_FIB[..cut]);
            }
        }
        for v in [
            "null",
            "[]",
            "[null]",
            "{}",
            "[{\"name\": 1}]",
            "[{\"name\": \"x\", \"routes\": {}}]",
            "\"\"",
        ] {
            assert!(parse(v).is_err(), "{v}");
        }
    }
}
