//! Fuzz target `spec`: the spec-file reader (`tern_sched::spec::Spec::parse`)
//! on arbitrary text.
//!
//! Input bytes that are not UTF-8 are read lossily (U+FFFD for each bad
//! sequence), as a text editor would show them; valid UTF-8 is passed as is.
//! `Spec::parse` must never panic, and:
//!
//! - an `Ok` spec keeps the promises its docs make: at least one route;
//!   route names and request types unique; each route found again by its
//!   name and by its type; each route's `tenant` the tenant that lists it;
//!   required strings non-empty; deadlines and execution limits > 0, the
//!   admissions percentile ≤ 100; module paths resolved against the spec
//!   file's directory; `default_port` the first non-zero tenant port;
//! - an `Err` names the file it was given (every message starts `spec
//!   <file>:`) and is never an I/O or missing-module error, since `parse`
//!   does not touch the file system. Formatting the error (which locates
//!   the tenant and route in the text again) must not panic either.

#![no_main]

use std::collections::HashSet;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tern_sched::spec::{Spec, SpecError};

const FILE: &str = "/specs/fuzz.json";

fn check_ok(spec: &Spec) {
    let file = Path::new(FILE);
    assert_eq!(spec.file(), file);
    let routes: Vec<_> = spec.routes().collect();
    assert!(!routes.is_empty(), "an Ok spec has a route");
    let names: HashSet<&str> = routes.iter().map(|r| r.route.as_str()).collect();
    assert_eq!(names.len(), routes.len(), "route names are unique");
    let types: HashSet<u16> = routes.iter().map(|r| r.request_type).collect();
    assert_eq!(types.len(), routes.len(), "request types are unique");
    for tenant in spec.tenants() {
        assert!(!tenant.name.is_empty());
        for r in &tenant.routes {
            assert_eq!(r.tenant, tenant.name, "a route names its own tenant");
            assert_eq!(spec.route_by_name(&r.route), Some(r));
            assert_eq!(spec.route_by_type(r.request_type), Some(r));
            assert!(!r.route.is_empty());
            assert!(r.relative_deadline_us > 0, "deadline > 0");
            assert_ne!(r.limits.max_exec_us, Some(0), "execution limit > 0");
            assert!(r.sledge.admissions_percentile <= 100);
            assert!(!r.sledge.http_resp_content_type.is_empty());
            assert!(r.path.is_absolute(), "resolved against /specs");
            let _ = (r.expected_ns(), r.relative_deadline_ns());
        }
    }
    let first_port = spec.tenants().iter().map(|t| t.port).find(|&p| p != 0);
    assert_eq!(spec.default_port(), first_port);
}

fn check_err(e: &SpecError) {
    assert!(
        !matches!(e, SpecError::Io { .. } | SpecError::MissingModule { .. }),
        "parse touched the file system: {e}"
    );
    let message = e.to_string();
    assert!(
        message.starts_with(&format!("spec {FILE}: ")),
        "error does not name the file: {message}"
    );
    let _ = format!("{e:?}");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Spec::parse(&text, Path::new(FILE)) {
        Ok(spec) => check_ok(&spec),
        Err(e) => check_err(&e),
    }
});
