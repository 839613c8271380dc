//! Why a spec file could not be loaded ([`SpecError`]), and where in the
//! file: the tenant, the route and the key, as people name them (`tenant 0
//! ("gwu") route 2 ("/fib"): key "request-type"`), not as a JSON path.

use std::path::PathBuf;

use serde_json::Value;
use serde_path_to_error::{Path as KeyPath, Segment};

/// Why a spec file could not be loaded. Every variant names the file; the
/// ones about a key name where it is (`tenant 0 ("gwu") route 0 ("/fib")`)
/// and the key.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("spec {file}: cannot read: {cause}")]
    Io {
        /// The spec file.
        file: PathBuf,
        /// The underlying error (not a `#[source]`: its text is already in
        /// this one's, and `{:#}` would print it twice).
        cause: std::io::Error,
    },
    /// The file is not JSON (or has text after the JSON value).
    #[error("spec {file}: not valid JSON: {cause}")]
    Json {
        /// The spec file.
        file: PathBuf,
        /// The parser's error (with line and column; not a `#[source]`, as
        /// for [`SpecError::Io`]).
        cause: serde_json::Error,
    },
    /// A key this format does not know, a key given twice in one object, a
    /// required key that is missing, or a value of the wrong type or out of
    /// range.
    #[error("spec {file}: {place}: {}{message}", key_part(.key))]
    Key {
        /// The spec file.
        file: PathBuf,
        /// Where in the file: `(root)`, `tenant I ("NAME")` or
        /// `tenant I ("NAME") route J ("ROUTE")` (names when the file has them).
        place: String,
        /// The key whose value is wrong; `None` when the error is about the
        /// object itself (a missing key, which the message names).
        key: Option<String>,
        /// What is wrong, from the parser, with line and column: e.g.
        /// ``invalid value: integer `70000`, expected an integer 0-65535``,
        /// ``unknown field `pth`, expected one of ...``,
        /// ``duplicate field `route` ``, ``missing field `path` ``.
        message: String,
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
    /// Routes without a `request-type` are left when every u16 type is taken.
    #[error(
        "spec {file}: key \"request-type\": route \"{route}\" has none and every request type 0-65535 is taken"
    )]
    NoFreeRequestType {
        /// The spec file.
        file: PathBuf,
        /// The first route left without a type.
        route: String,
    },
    /// Two routes share a name.
    #[error("spec {file}: key \"route\": \"{route}\" appears twice")]
    DuplicateRoute {
        /// The spec file.
        file: PathBuf,
        /// The name.
        route: String,
    },
    /// A route's module is not a file: it does not exist, or it is a
    /// directory or something else that cannot be read as a module.
    #[error("spec {file}: {place}: key \"path\": module {module} {problem}{hint}")]
    MissingModule {
        /// The spec file.
        file: PathBuf,
        /// Where in the file.
        place: String,
        /// The resolved module path.
        module: PathBuf,
        /// What is wrong with it: `does not exist`, `is a directory, not a
        /// module file`, ...
        problem: &'static str,
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

fn key_part(key: &Option<String>) -> String {
    match key {
        Some(k) => format!("key \"{k}\": "),
        None => String::new(),
    }
}

/// `tenant I ("NAME") route J ("ROUTE")`, each name only when known.
pub(super) fn route_place(
    ti: usize,
    tenant: Option<&str>,
    ri: usize,
    route: Option<&str>,
) -> String {
    let mut place = tenant_place(ti, tenant);
    place.push_str(&format!(" route {ri}"));
    if let Some(r) = route {
        place.push_str(&format!(" (\"{r}\")"));
    }
    place
}

fn tenant_place(ti: usize, tenant: Option<&str>) -> String {
    match tenant {
        Some(t) => format!("tenant {ti} (\"{t}\")"),
        None => format!("tenant {ti}"),
    }
}

/// Turns the JSON path serde stopped at into a place and a key.
///
/// The names in the place come from `text` read again without the format's
/// rules (as a plain JSON value, where a repeated key keeps its last value):
/// the typed read stopped at the error, before it had them. Costs one more
/// parse of the file, on the error path only.
pub(super) fn locate(path: &KeyPath, text: &str) -> (String, Option<String>) {
    let loose: Option<Value> = serde_json::from_str(text).ok();
    let name_at = |v: Option<&Value>, key: &str| -> Option<String> {
        v.and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut segments = path.iter().peekable();
    // Which tenant: an index into the root array, or the root object itself.
    let (ti, tenant_json) = match segments.peek() {
        Some(Segment::Seq { index }) => {
            let i = *index;
            segments.next();
            (i, loose.as_ref().and_then(|v| v.get(i)))
        }
        Some(Segment::Map { .. }) if loose.as_ref().is_some_and(Value::is_object) => {
            (0, loose.as_ref())
        }
        _ => return ("(root)".to_string(), None),
    };
    let tenant = name_at(tenant_json, "name");
    let mut place = tenant_place(ti, tenant.as_deref());
    let key = match segments.next() {
        Some(Segment::Map { key }) => key.clone(),
        _ => return (place, None),
    };
    if key != "routes" {
        return (place, Some(key));
    }
    let ri = match segments.next() {
        Some(Segment::Seq { index }) => *index,
        _ => return (place, Some(key)),
    };
    let route_json = tenant_json
        .and_then(|t| t.get("routes"))
        .and_then(|r| r.get(ri));
    let route = name_at(route_json, "route");
    place = route_place(ti, tenant.as_deref(), ri, route.as_deref());
    let key = match segments.next() {
        Some(Segment::Map { key }) => Some(key.clone()),
        _ => None,
    };
    (place, key)
}
