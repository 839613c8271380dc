//! The syntax of a spec file as serde reads it: one struct per JSON object,
//! `deny_unknown_fields` on each (so an unknown or repeated key is an
//! error), and one small type per kind of number so that each error says
//! what its key must hold (`an integer 0-65535`, `a percentile 0-100`...).
//!
//! Nothing here touches the file system or checks more than one value at a
//! time; [`Spec::parse`](super::Spec::parse) turns these into
//! [`Tenant`](super::Tenant)s and [`Route`](super::Route)s and does the
//! checks that span routes.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};

/// The root of a spec file: an array of tenants (SLEdge) or one tenant
/// object (Tern's shorthand).
pub(super) struct RootFile(pub Vec<TenantFile>);

impl<'de> Deserialize<'de> for RootFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RootVisitor)
    }
}

struct RootVisitor;

impl<'de> Visitor<'de> for RootVisitor {
    type Value = RootFile;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of tenants or one tenant object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RootFile, A::Error> {
        Vec::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(RootFile)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RootFile, A::Error> {
        TenantFile::deserialize(de::value::MapAccessDeserializer::new(map))
            .map(|t| RootFile(vec![t]))
    }
}

/// Declares the struct of one kind of spec-file object, with what every
/// such object shares: `deny_unknown_fields` (an unknown or repeated key is
/// an error), kebab-case keys, and an `expecting` text for a value of the
/// wrong kind. A key is required unless marked `?`; an optional key may be
/// absent (`None`) but, when present, must hold its type: `null` is an
/// error rather than "absent", as it was before serde read these files.
/// Keys keep their order, which is the order an unknown-key error lists.
macro_rules! spec_object {
    ($(#[$doc:meta])* struct $name:ident expecting $expecting:literal { $($keys:tt)* }) => {
        spec_object!(@key [$(#[$doc])*] $name $expecting [] $($keys)*);
    };
    (@key $docs:tt $name:ident $expecting:literal [$($out:tt)*] $key:ident?: $ty:ty, $($rest:tt)*) => {
        spec_object!(@key $docs $name $expecting [$($out)*
            #[serde(default, deserialize_with = "present")]
            pub $key: Option<$ty>,
        ] $($rest)*);
    };
    (@key $docs:tt $name:ident $expecting:literal [$($out:tt)*] $key:ident: $ty:ty, $($rest:tt)*) => {
        spec_object!(@key $docs $name $expecting [$($out)* pub $key: $ty,] $($rest)*);
    };
    (@key [$(#[$doc:meta])*] $name:ident $expecting:literal [$($out:tt)*]) => {
        $(#[$doc])*
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case", expecting = $expecting)]
        pub(super) struct $name { $($out)* }
    };
}

spec_object! {
    /// One tenant object.
    struct TenantFile expecting "a tenant object" {
        name: NonEmpty,
        port?: Port,
        replenishment_period_us?: Count64,
        max_budget_us?: Count64,
        routes: Vec<RouteFile>,
    }
}

spec_object! {
    /// One route object.
    struct RouteFile expecting "a route object" {
        route: NonEmpty,
        request_type?: RequestType,
        path: NonEmpty,
        expected_execution_us: Micros,
        relative_deadline_us: Deadline,
        admissions_percentile?: Percentile,
        n_resas?: Count32,
        group_id?: Count32,
        http_resp_content_type?: NonEmpty,
        http_req_size?: Bytes,
        http_resp_size?: Bytes,
        max_exec_us?: ExecLimit,
        max_memory_bytes?: MemoryLimit,
        max_output_bytes?: Bytes,
    }
}

/// An optional key that, when present, must hold a `T` (see
/// [`spec_object!`]).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A string that is not empty (names, routes, paths, content types).
pub(super) struct NonEmpty(pub String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() {
            return Err(de::Error::invalid_value(
                Unexpected::Str(&s),
                &"a non-empty string",
            ));
        }
        Ok(NonEmpty(s))
    }
}

/// Reads an unsigned integer in `min..=max`; `what` is what errors say it
/// must be.
struct BoundedVisitor {
    min: u64,
    max: u64,
    what: &'static str,
}

impl Visitor<'_> for BoundedVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<u64, E> {
        if n < self.min || n > self.max {
            return Err(E::invalid_value(Unexpected::Unsigned(n), &self));
        }
        Ok(n)
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<u64, E> {
        match u64::try_from(n) {
            Ok(n) => self.visit_u64(n),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(n), &self)),
        }
    }
}

/// One bounded integer type per kind of key, each a `u64` newtype whose
/// errors name what the key must hold.
macro_rules! bounded_uint {
    ($($(#[$doc:meta])* $name:ident: $min:expr, $max:expr, $what:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub(super) struct $name(pub u64);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_u64(BoundedVisitor { min: $min, max: $max, what: $what })
                    .map($name)
            }
        }
    )*};
}

bounded_uint! {
    /// `port`.
    Port: 0, u16::MAX as u64, "a port number (0-65535)";
    /// `request-type`.
    RequestType: 0, u16::MAX as u64, "an integer 0-65535";
    /// A time in µs.
    Micros: 0, u64::MAX, "a non-negative integer (µs)";
    /// `relative-deadline-us`: a time in µs that must not be 0.
    Deadline: 1, u64::MAX, "a relative deadline greater than 0 (µs)";
    /// `max-exec-us`: 0 would allow no execution at all, so it is refused
    /// rather than silently read as a one-quantum limit.
    ExecLimit: 1, u64::MAX, "an execution-time limit of at least 1 µs (omit the key for the default of 5 s)";
    /// A size in bytes.
    Bytes: 0, u64::MAX, "a non-negative integer (bytes)";
    /// `max-memory-bytes`: a wasm32 memory addresses at most 4 GiB, so a
    /// larger limit could never be reached (and the runtime could not
    /// reserve it).
    MemoryLimit: 0, 1 << 32, "a byte count up to 4294967296 (4 GiB, all a wasm32 memory can address)";
    /// `admissions-percentile`.
    Percentile: 0, 100, "a percentile 0-100";
    /// A count or an id that fits 32 bits (`n-resas`, `group-id`).
    Count32: 0, u32::MAX as u64, "a non-negative integer (32 bits)";
    /// SLEdge's budget keys.
    Count64: 0, u64::MAX, "a non-negative integer";
}
