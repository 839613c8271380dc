//! The request mix: which routes a run calls, how often, and with what body.
//!
//! Parsed from `--mix ROUTE=WEIGHT[,ROUTE=WEIGHT...]` and repeated
//! `--body ROUTE=VALUE` flags, then resolved against the spec file (route
//! name → request type and relative deadline). A route may also be given as
//! a bare request-type number, for servers without a spec (the echo server).

use std::collections::HashSet;
use std::path::Path;

use tern_sched::spec::{Route, Spec};

use crate::error::LoadgenError;

/// What the spec file says about one route (the part loadgen needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    /// The request type the route is called by.
    pub request_type: u16,
    /// Relative deadline in µs; `None` when unknown (no spec, or 0 in it).
    pub deadline_us: Option<u64>,
}

/// One route of a resolved mix.
#[derive(Clone, Debug, PartialEq)]
pub struct MixEntry {
    /// The name the user gave (`/fib`, or a number for bare request types).
    pub route: String,
    /// Request type sent on the wire.
    pub request_type: u16,
    /// Relative weight (any positive scale).
    pub weight: f64,
    /// Relative deadline in ns, for the deadline-met percentage.
    pub deadline_ns: Option<u64>,
    /// The request body sent with every call of this route.
    pub body: Vec<u8>,
}

/// A resolved, weighted mix of routes. Picking a route costs a short linear
/// scan over the cumulative weights (mixes have a handful of routes).
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    entries: Vec<MixEntry>,
    cumulative: Vec<f64>,
}

/// Parses `ROUTE=WEIGHT[,ROUTE=WEIGHT...]` into `(route, weight)` pairs.
/// A bare `ROUTE` means weight 1.
pub fn parse_weights(text: &str) -> Result<Vec<(String, f64)>, LoadgenError> {
    let bad = |why: String| LoadgenError::Mix(format!("--mix {text:?}: {why}"));
    let mut out: Vec<(String, f64)> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (route, weight) = match item.rsplit_once('=') {
            Some((r, w)) => {
                let w: f64 = w
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("weight {w:?} of {r:?} is not a number")))?;
                (r.trim(), w)
            }
            None => (item, 1.0),
        };
        if route.is_empty() {
            return Err(bad(format!("entry {item:?} has no route")));
        }
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(bad(format!(
                "weight of {route:?} must be a non-negative number"
            )));
        }
        if out.iter().any(|(r, _)| r == route) {
            return Err(bad(format!("route {route:?} appears twice")));
        }
        out.push((route.to_string(), weight));
    }
    if out.is_empty() {
        return Err(bad("no routes".into()));
    }
    if out.iter().all(|(_, w)| *w == 0.0) {
        return Err(bad("all weights are zero".into()));
    }
    Ok(out)
}

/// Parses one `--body ROUTE=VALUE` flag. VALUE is literal text (`/fib=10`),
/// `bytes:N` for N filler bytes (`/echo=bytes:1024`), or `@PATH` for a
/// file's contents.
pub fn parse_body(text: &str) -> Result<(String, Vec<u8>), LoadgenError> {
    let (route, value) = text.split_once('=').ok_or_else(|| {
        LoadgenError::Mix(format!(
            "--body {text:?}: expected ROUTE=TEXT, ROUTE=bytes:N or ROUTE=@FILE"
        ))
    })?;
    if route.is_empty() {
        return Err(LoadgenError::Mix(format!("--body {text:?}: no route")));
    }
    Ok((route.to_string(), body_value(value)?))
}

/// Turns a body value (`TEXT`, `bytes:N`, `@PATH`) into bytes.
pub fn body_value(value: &str) -> Result<Vec<u8>, LoadgenError> {
    if let Some(n) = value.strip_prefix("bytes:") {
        let n: usize = n
            .parse()
            .map_err(|_| LoadgenError::Mix(format!("body {value:?}: {n:?} is not a byte count")))?;
        // A repeating printable pattern, so a text-echoing function shows it.
        return Ok((0..n).map(|i| b'a' + (i % 26) as u8).collect());
    }
    if let Some(path) = value.strip_prefix('@') {
        return std::fs::read(Path::new(path))
            .map_err(|e| LoadgenError::Mix(format!("body file {path}: {e}")));
    }
    Ok(value.as_bytes().to_vec())
}

/// Loads a spec file for its route names, request types and deadlines (the
/// modules need not exist here: they live on the server).
pub fn load_spec(path: &Path) -> Result<Spec, LoadgenError> {
    Spec::load_without_modules(path).map_err(|e| LoadgenError::Spec(e.to_string()))
}

fn route_info(r: &Route) -> RouteInfo {
    RouteInfo {
        request_type: r.request_type,
        deadline_us: Some(r.relative_deadline_us),
    }
}

impl Mix {
    /// Resolves `--mix` text and `--body` flags against `spec` (if any).
    pub fn from_args(
        spec: Option<&Spec>,
        mix: &str,
        bodies: &[String],
    ) -> Result<Mix, LoadgenError> {
        let weights = parse_weights(mix)?;
        let bodies = bodies
            .iter()
            .map(|b| parse_body(b))
            .collect::<Result<Vec<_>, _>>()?;
        let known: Vec<String> = spec
            .map(|s| s.routes().map(|r| r.route.clone()).collect())
            .unwrap_or_default();
        Mix::resolve(
            &weights,
            &bodies,
            |name| spec.and_then(|s| s.route_by_name(name)).map(route_info),
            |t| spec.and_then(|s| s.route_by_type(t)).map(route_info),
            &known,
        )
    }

    /// Resolves weights and bodies into a mix. `lookup` maps a route name to
    /// what the spec says about it; a route it does not know that parses as
    /// a `u16` is taken as a bare request type (and `lookup_type` supplies
    /// its deadline if the spec has one). Errors name the unknown route and
    /// list the known ones.
    pub fn resolve(
        weights: &[(String, f64)],
        bodies: &[(String, Vec<u8>)],
        lookup: impl Fn(&str) -> Option<RouteInfo>,
        lookup_type: impl Fn(u16) -> Option<RouteInfo>,
        known: &[String],
    ) -> Result<Mix, LoadgenError> {
        let mut seen_bodies = HashSet::new();
        for (route, _) in bodies {
            if !seen_bodies.insert(route.as_str()) {
                return Err(LoadgenError::Mix(format!(
                    "--body for {route:?} given twice"
                )));
            }
            if !weights.iter().any(|(r, _)| r == route) {
                return Err(LoadgenError::Mix(format!(
                    "--body for {route:?}, which is not in --mix"
                )));
            }
        }
        let mut entries = Vec::with_capacity(weights.len());
        for (route, weight) in weights {
            let info = match lookup(route) {
                Some(info) => info,
                None => match route.parse::<u16>() {
                    Ok(t) => lookup_type(t).unwrap_or(RouteInfo {
                        request_type: t,
                        deadline_us: None,
                    }),
                    Err(_) => {
                        let list = if known.is_empty() {
                            "none: pass --spec".to_string()
                        } else {
                            known.join(", ")
                        };
                        return Err(LoadgenError::Mix(format!(
                            "route {route:?} is not in the spec (known routes: {list}; a bare number is a request type)"
                        )));
                    }
                },
            };
            let body = bodies
                .iter()
                .find(|(r, _)| r == route)
                .map(|(_, b)| b.clone())
                .unwrap_or_default();
            entries.push(MixEntry {
                route: route.clone(),
                request_type: info.request_type,
                weight: *weight,
                deadline_ns: info
                    .deadline_us
                    .filter(|&d| d > 0)
                    .map(|d| d.saturating_mul(1000)),
                body,
            });
        }
        Mix::new(entries)
    }

    /// A mix from already-resolved entries. Errors when it is empty, a weight
    /// is negative or not finite, or all weights are zero.
    pub fn new(entries: Vec<MixEntry>) -> Result<Mix, LoadgenError> {
        if entries.is_empty() {
            return Err(LoadgenError::Mix("the mix has no routes".into()));
        }
        if entries
            .iter()
            .any(|e| !(e.weight.is_finite() && e.weight >= 0.0))
        {
            return Err(LoadgenError::Mix(
                "mix weights must be non-negative numbers".into(),
            ));
        }
        let total: f64 = entries.iter().map(|e| e.weight).sum();
        if total <= 0.0 {
            return Err(LoadgenError::Mix("all mix weights are zero".into()));
        }
        let mut acc = 0.0;
        let cumulative = entries
            .iter()
            .map(|e| {
                acc += e.weight / total;
                acc
            })
            .collect();
        Ok(Mix {
            entries,
            cumulative,
        })
    }

    /// The routes, in the order given.
    pub fn entries(&self) -> &[MixEntry] {
        &self.entries
    }

    /// The share of requests route `i` gets (0..=1).
    pub fn share(&self, i: usize) -> f64 {
        let prev = if i == 0 { 0.0 } else { self.cumulative[i - 1] };
        self.cumulative[i] - prev
    }

    /// The route for a uniform draw `u` in `[0, 1)`.
    pub fn pick(&self, u: f64) -> usize {
        self.cumulative
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.entries.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_lookup(name: &str) -> Option<RouteInfo> {
        match name {
            "/fib" => Some(RouteInfo {
                request_type: 1,
                deadline_us: Some(100),
            }),
            "/hash" => Some(RouteInfo {
                request_type: 2,
                deadline_us: Some(0),
            }),
            _ => None,
        }
    }

    #[test]
    fn weights_parse_and_reject_garbage() {
        assert_eq!(
            parse_weights("/a=1,/b=2.5").unwrap(),
            vec![("/a".into(), 1.0), ("/b".into(), 2.5)]
        );
        assert_eq!(parse_weights("/a").unwrap(), vec![("/a".into(), 1.0)]);
        for bad in [
            "",
            ",",
            "/a=x",
            "/a=-1",
            "/a=1,/a=2",
            "=3",
            "/a=0",
            "/a=inf",
        ] {
            assert!(parse_weights(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn bodies_parse() {
        assert_eq!(
            parse_body("/fib=10").unwrap(),
            ("/fib".into(), b"10".to_vec())
        );
        assert_eq!(parse_body("/e=").unwrap(), ("/e".into(), vec![]));
        assert_eq!(parse_body("/e=bytes:3").unwrap().1, b"abc".to_vec());
        assert_eq!(parse_body("/e=a=b").unwrap().1, b"a=b".to_vec());
        assert!(parse_body("/e=bytes:x").is_err());
        assert!(parse_body("nobody").is_err());
        assert!(parse_body("/e=@/nonexistent/file").is_err());
    }

    #[test]
    fn resolve_uses_spec_and_bare_types() {
        let w = parse_weights("/fib=3,/hash=1,9=0").unwrap();
        let bodies = vec![("/fib".to_string(), b"10".to_vec())];
        let mix = Mix::resolve(&w, &bodies, spec_lookup, |_| None, &[]).unwrap();
        let e = mix.entries();
        assert_eq!(
            (e[0].request_type, e[0].deadline_ns, e[0].body.as_slice()),
            (1, Some(100_000), &b"10"[..])
        );
        assert_eq!(
            (e[1].request_type, e[1].deadline_ns),
            (2, None),
            "deadline 0 means none"
        );
        assert_eq!((e[2].request_type, e[2].deadline_ns), (9, None));
        assert!((mix.share(0) - 0.75).abs() < 1e-12);
        assert_eq!(mix.share(2), 0.0);
        assert_eq!(mix.pick(0.0), 0);
        assert_eq!(mix.pick(0.74), 0);
        assert_eq!(mix.pick(0.76), 1);
        assert_eq!(
            mix.pick(0.999_999),
            1,
            "a zero-weight route is never picked"
        );
    }

    #[test]
    fn resolve_errors_name_the_problem() {
        let known = vec!["/fib".to_string()];
        let err = Mix::resolve(
            &parse_weights("/nope=1").unwrap(),
            &[],
            spec_lookup,
            |_| None,
            &known,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("/nope") && err.to_string().contains("/fib"),
            "{err}"
        );
        let err = Mix::resolve(
            &parse_weights("/fib=1").unwrap(),
            &[("/hash".into(), vec![])],
            spec_lookup,
            |_| None,
            &known,
        )
        .unwrap_err();
        assert!(err.to_string().contains("not in --mix"), "{err}");
    }
}
