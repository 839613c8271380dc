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
//! Unknown keys, missing required keys, values of the wrong type, duplicate
//! request types or route names, and modules that do not exist are errors
//! that name the file and the key ([`SpecError`]). Loading never panics.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

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
    /// `admissions-percentile` (SLEdge; default 70): accepted, recorded.
    pub admissions_percentile: u32,
    /// `n-resas` (SLEdgeScale's DARC: cores reserved; default 1).
    pub n_resas: u32,
    /// `group-id` (SLEdgeScale's DARC group; default 1).
    pub group_id: u32,
    /// `http-resp-content-type` (default `text/plain`).
    pub http_resp_content_type: String,
    /// `http-req-size`: largest request body accepted, if limited.
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
    /// Name of the tenant the route belongs to.
    pub tenant: String,
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

/// Why a spec file could not be loaded. Every variant names the file; the
/// ones about a key name it and where it is (`tenant "gwu" route 0 ("/fib")`).
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("spec {file}: cannot read: {source}")]
    Io {
        /// The spec file.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("spec {file}: not valid JSON: {source}")]
    Json {
        /// The spec file.
        file: PathBuf,
        /// The parser's error (with line and column).
        source: serde_json::Error,
    },
    /// A key this format does not know.
    #[error("spec {file}: {place}: unknown key \"{key}\" (known keys: {known})")]
    UnknownKey {
        /// The spec file.
        file: PathBuf,
        /// Where in the file.
        place: String,
        /// The key.
        key: String,
        /// The keys allowed there.
        known: String,
    },
    /// A required key is missing.
    #[error("spec {file}: {place}: missing key \"{key}\"")]
    MissingKey {
        /// The spec file.
        file: PathBuf,
        /// Where in the file.
        place: String,
        /// The key.
        key: &'static str,
    },
    /// A value has the wrong type or is out of range.
    #[error("spec {file}: {place}: key \"{key}\" must be {expected}, found {found}")]
    BadValue {
        /// The spec file.
        file: PathBuf,
        /// Where in the file.
        place: String,
        /// The key (or `(root)` / `(tenant)` / `(route)` for an element).
        key: String,
        /// What the value must be.
        expected: &'static str,
        /// The value found.
        found: String,
    },
    /// Two routes share a request type.
    #[error(
        "spec {file}: key \"request-type\": {request_type} is used by both route \"{first}\" and route \"{second}\""
    )]
    DuplicateRequestType {
        /// The spec file.
        file: PathBuf,
        /// The type.
        request_type: u16,
        /// The first route with it.
        first: String,
        /// The second route with it.
        second: String,
    },
    /// Two routes share a name.
    #[error("spec {file}: key \"route\": \"{route}\" appears twice")]
    DuplicateRoute {
        /// The spec file.
        file: PathBuf,
        /// The name.
        route: String,
    },
    /// A route's module does not exist.
    #[error("spec {file}: {place}: key \"path\": module {module} does not exist{hint}")]
    MissingModule {
        /// The spec file.
        file: PathBuf,
        /// Where in the file.
        place: String,
        /// The resolved module path.
        module: PathBuf,
        /// A hint on how to build it, or empty.
        hint: &'static str,
    },
    /// The spec has no routes at all.
    #[error("spec {file}: no routes")]
    NoRoutes {
        /// The spec file.
        file: PathBuf,
    },
}

const TENANT_KEYS: &[&str] = &[
    "name",
    "port",
    "replenishment-period-us",
    "max-budget-us",
    "routes",
];
const ROUTE_KEYS: &[&str] = &[
    "route",
    "request-type",
    "path",
    "expected-execution-us",
    "relative-deadline-us",
    "admissions-percentile",
    "n-resas",
    "group-id",
    "http-resp-content-type",
    "http-req-size",
    "http-resp-size",
    "max-exec-us",
    "max-memory-bytes",
    "max-output-bytes",
];

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
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        let spec = Self::parse(&text, path)?;
        if check_modules {
            spec.check_modules()?;
        }
        Ok(spec)
    }

    /// Parses spec text as if it had been read from `file` (used to resolve
    /// module paths and in error messages). Does not touch the file system.
    pub fn parse(text: &str, file: &Path) -> Result<Spec, SpecError> {
        let root: Value = serde_json::from_str(text).map_err(|source| SpecError::Json {
            file: file.to_path_buf(),
            source,
        })?;
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let p = Parser { file, base: &base };
        let tenants_json: Vec<&Value> = match &root {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![&root],
            other => return Err(p.bad("(root)", "(root)", "an array of tenants", other)),
        };
        let mut tenants = Vec::with_capacity(tenants_json.len());
        // Routes without a request type, filled in after all explicit ones are known.
        let mut untyped = Vec::new();
        for (ti, t) in tenants_json.into_iter().enumerate() {
            tenants.push(p.tenant(ti, t, &mut untyped)?);
        }
        let mut spec = Spec {
            file: file.to_path_buf(),
            tenants,
            by_type: HashMap::new(),
            by_name: HashMap::new(),
        };
        for (ti, tenant) in spec.tenants.iter().enumerate() {
            for (ri, route) in tenant.routes.iter().enumerate() {
                if untyped.contains(&(ti, ri)) {
                    continue;
                }
                if let Some(&(fti, fri)) = spec.by_type.get(&route.request_type) {
                    return Err(SpecError::DuplicateRequestType {
                        file: file.to_path_buf(),
                        request_type: route.request_type,
                        first: spec.tenants[fti].routes[fri].route.clone(),
                        second: route.route.clone(),
                    });
                }
                spec.by_type.insert(route.request_type, (ti, ri));
            }
        }
        let mut next_type: u16 = 1;
        for (ti, ri) in untyped {
            while spec.by_type.contains_key(&next_type) {
                next_type = next_type
                    .checked_add(1)
                    .ok_or_else(|| SpecError::BadValue {
                        file: file.to_path_buf(),
                        place: "(root)".into(),
                        key: "request-type".into(),
                        expected: "assignable: every u16 request type is taken",
                        found: "65535 routes".into(),
                    })?;
            }
            spec.tenants[ti].routes[ri].request_type = next_type;
            spec.by_type.insert(next_type, (ti, ri));
        }
        for (ti, tenant) in spec.tenants.iter().enumerate() {
            for (ri, route) in tenant.routes.iter().enumerate() {
                if spec.by_name.insert(route.route.clone(), (ti, ri)).is_some() {
                    return Err(SpecError::DuplicateRoute {
                        file: file.to_path_buf(),
                        route: route.route.clone(),
                    });
                }
            }
        }
        if spec.by_type.is_empty() {
            return Err(SpecError::NoRoutes {
                file: file.to_path_buf(),
            });
        }
        Ok(spec)
    }

    /// Checks that every route's module is an existing file.
    pub fn check_modules(&self) -> Result<(), SpecError> {
        for (ti, tenant) in self.tenants.iter().enumerate() {
            for (ri, route) in tenant.routes.iter().enumerate() {
                if !route.path.is_file() {
                    let in_build_dir = route
                        .path
                        .parent()
                        .is_some_and(|d| d.ends_with("functions/build"));
                    return Err(SpecError::MissingModule {
                        file: self.file.clone(),
                        place: route_place(ti, &tenant.name, ri, &route.route),
                        module: route.path.clone(),
                        hint: if in_build_dir {
                            " (build the functions with functions/build.sh)"
                        } else {
                            ""
                        },
                    });
                }
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

fn route_place(ti: usize, tenant: &str, ri: usize, route: &str) -> String {
    format!("tenant {ti} (\"{tenant}\") route {ri} (\"{route}\")")
}

/// Shows a JSON value in an error, shortened.
struct Shown<'a>(&'a Value);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.0.to_string();
        if s.len() > 60 {
            let mut cut = 57;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push_str("...");
        }
        f.write_str(&s)
    }
}

struct Parser<'a> {
    file: &'a Path,
    base: &'a Path,
}

impl Parser<'_> {
    fn bad(&self, place: &str, key: &str, expected: &'static str, found: &Value) -> SpecError {
        SpecError::BadValue {
            file: self.file.to_path_buf(),
            place: place.to_string(),
            key: key.to_string(),
            expected,
            found: Shown(found).to_string(),
        }
    }

    fn object<'v>(
        &self,
        place: &str,
        key: &str,
        v: &'v Value,
    ) -> Result<&'v Map<String, Value>, SpecError> {
        v.as_object()
            .ok_or_else(|| self.bad(place, key, "an object", v))
    }

    fn check_keys(
        &self,
        place: &str,
        obj: &Map<String, Value>,
        known: &[&str],
    ) -> Result<(), SpecError> {
        match obj.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(key) => Err(SpecError::UnknownKey {
                file: self.file.to_path_buf(),
                place: place.to_string(),
                key: key.clone(),
                known: known.join(", "),
            }),
        }
    }

    fn required<'v>(
        &self,
        place: &str,
        obj: &'v Map<String, Value>,
        key: &'static str,
    ) -> Result<&'v Value, SpecError> {
        obj.get(key).ok_or_else(|| SpecError::MissingKey {
            file: self.file.to_path_buf(),
            place: place.to_string(),
            key,
        })
    }

    fn string(&self, place: &str, key: &str, v: &Value) -> Result<String, SpecError> {
        match v.as_str() {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(self.bad(place, key, "a non-empty string", v)),
        }
    }

    fn uint(
        &self,
        place: &str,
        key: &str,
        v: &Value,
        max: u64,
        expected: &'static str,
    ) -> Result<u64, SpecError> {
        match v.as_u64() {
            Some(n) if n <= max => Ok(n),
            _ => Err(self.bad(place, key, expected, v)),
        }
    }

    fn opt_uint(
        &self,
        place: &str,
        obj: &Map<String, Value>,
        key: &str,
        max: u64,
        expected: &'static str,
    ) -> Result<Option<u64>, SpecError> {
        obj.get(key)
            .map(|v| self.uint(place, key, v, max, expected))
            .transpose()
    }

    fn tenant(
        &self,
        ti: usize,
        v: &Value,
        untyped: &mut Vec<(usize, usize)>,
    ) -> Result<Tenant, SpecError> {
        let place = format!("tenant {ti}");
        let obj = self.object(&place, "(tenant)", v)?;
        self.check_keys(&place, obj, TENANT_KEYS)?;
        let name = self.string(&place, "name", self.required(&place, obj, "name")?)?;
        let place = format!("tenant {ti} (\"{name}\")");
        let port = self
            .opt_uint(
                &place,
                obj,
                "port",
                u16::MAX.into(),
                "a port number (0-65535)",
            )?
            .unwrap_or(0) as u16;
        let replenishment_period_us = self
            .opt_uint(
                &place,
                obj,
                "replenishment-period-us",
                u64::MAX,
                "a non-negative integer",
            )?
            .unwrap_or(0);
        let max_budget_us = self
            .opt_uint(
                &place,
                obj,
                "max-budget-us",
                u64::MAX,
                "a non-negative integer",
            )?
            .unwrap_or(0);
        let routes_v = self.required(&place, obj, "routes")?;
        let routes_json = routes_v
            .as_array()
            .ok_or_else(|| self.bad(&place, "routes", "an array of routes", routes_v))?;
        let mut routes = Vec::with_capacity(routes_json.len());
        for (ri, r) in routes_json.iter().enumerate() {
            let (route, typed) = self.route(ti, &name, ri, r)?;
            if !typed {
                untyped.push((ti, ri));
            }
            routes.push(route);
        }
        Ok(Tenant {
            name,
            port,
            replenishment_period_us,
            max_budget_us,
            routes,
        })
    }

    /// Parses one route; the bool says whether it had a `request-type`.
    fn route(
        &self,
        ti: usize,
        tenant: &str,
        ri: usize,
        v: &Value,
    ) -> Result<(Route, bool), SpecError> {
        let mut place = format!("tenant {ti} (\"{tenant}\") route {ri}");
        let obj = self.object(&place, "(route)", v)?;
        let route = self.string(&place, "route", self.required(&place, obj, "route")?)?;
        place = route_place(ti, tenant, ri, &route);
        self.check_keys(&place, obj, ROUTE_KEYS)?;
        let request_type = self.opt_uint(
            &place,
            obj,
            "request-type",
            u16::MAX.into(),
            "an integer 0-65535",
        )?;
        let rel = self.string(&place, "path", self.required(&place, obj, "path")?)?;
        let path = self.base.join(rel);
        let us = "a non-negative integer (µs)";
        let expected_execution_us = self.uint(
            &place,
            "expected-execution-us",
            self.required(&place, obj, "expected-execution-us")?,
            u64::MAX,
            us,
        )?;
        let relative_deadline_us = self.uint(
            &place,
            "relative-deadline-us",
            self.required(&place, obj, "relative-deadline-us")?,
            u64::MAX,
            us,
        )?;
        if relative_deadline_us == 0 {
            return Err(self.bad(
                &place,
                "relative-deadline-us",
                "greater than 0",
                &Value::from(0),
            ));
        }
        let u32_max = u32::MAX.into();
        let admissions_percentile = self
            .opt_uint(
                &place,
                obj,
                "admissions-percentile",
                100,
                "a percentile 0-100",
            )?
            .unwrap_or(70) as u32;
        let n_resas = self
            .opt_uint(&place, obj, "n-resas", u32_max, "a non-negative integer")?
            .unwrap_or(1) as u32;
        let group_id = self
            .opt_uint(&place, obj, "group-id", u32_max, "a non-negative integer")?
            .unwrap_or(1) as u32;
        let http_resp_content_type = match obj.get("http-resp-content-type") {
            Some(v) => self.string(&place, "http-resp-content-type", v)?,
            None => "text/plain".to_string(),
        };
        let bytes = "a non-negative integer (bytes)";
        let route = Route {
            route,
            request_type: request_type.unwrap_or(0) as u16,
            path,
            expected_execution_us,
            relative_deadline_us,
            admissions_percentile,
            n_resas,
            group_id,
            http_resp_content_type,
            http_req_size: self.opt_uint(&place, obj, "http-req-size", u64::MAX, bytes)?,
            http_resp_size: self.opt_uint(&place, obj, "http-resp-size", u64::MAX, bytes)?,
            max_exec_us: self.opt_uint(&place, obj, "max-exec-us", u64::MAX, us)?,
            max_memory_bytes: self.opt_uint(&place, obj, "max-memory-bytes", u64::MAX, bytes)?,
            max_output_bytes: self.opt_uint(&place, obj, "max-output-bytes", u64::MAX, bytes)?,
            tenant: tenant.to_string(),
        };
        Ok((route, request_type.is_some()))
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
        assert_eq!((r.admissions_percentile, r.n_resas, r.group_id), (70, 1, 1));
        assert_eq!(r.http_resp_content_type, "text/plain");
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
            (c.http_req_size, c.http_resp_size),
            (Some(1024), Some(2048))
        );
    }

    #[test]
    fn unknown_key_names_key_and_file() {
        let text = SLEDGESCALE_FIB.replace("\"n-resas\"", "\"n-reservations\"");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("/specs/test.json"), "{err}");
        assert!(err.contains("unknown key \"n-reservations\""), "{err}");
        assert!(err.contains("route 0 (\"/fib\")"), "{err}");

        let text = SLEDGESCALE_FIB.replace("\"max-budget-us\"", "\"budget\"");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("tenant 0: unknown key \"budget\""), "{err}");
    }

    #[test]
    fn missing_and_bad_values_are_named() {
        let text = SLEDGESCALE_FIB.replace("\"relative-deadline-us\": 50,", "");
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("missing key \"relative-deadline-us\""),
            "{err}"
        );

        let text = SLEDGESCALE_FIB.replace("\"request-type\": 1", "\"request-type\": 70000");
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("key \"request-type\" must be an integer 0-65535, found 70000"),
            "{err}"
        );

        let text = SLEDGESCALE_FIB.replace(
            "\"expected-execution-us\": 5",
            "\"expected-execution-us\": \"5\"",
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("key \"expected-execution-us\""), "{err}");

        let err = parse("42").unwrap_err().to_string();
        assert!(err.contains("an array of tenants"), "{err}");
        let err = parse("[{\"name\": \"t\", \"routes\": []}]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no routes"), "{err}");
        let err = parse("[{\"name\": \"t\"").unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
        let err = parse("[{\"name\": \"t\", \"routes\": [7]}]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be an object"), "{err}");
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
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
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
