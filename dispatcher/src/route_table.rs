//! The route table: what the hot path needs of each spec route
//! ([`RouteEntry`]), found by request type with one index, and the
//! per-route counters printed at shutdown ([`RouteCounters`]).

use tern_rpc::Status;
use tern_sched::FunctionId;

use tern_sched::spec::Route;

/// A route as the hot path needs it.
#[derive(Clone, Debug)]
pub struct RouteEntry {
    /// The route's name, for logs and counters.
    pub name: String,
    /// Its request type.
    pub request_type: u16,
    /// The registered function.
    pub function: FunctionId,
    /// Expected execution time, ns.
    pub expected_ns: u64,
    /// Relative deadline, ns.
    pub relative_deadline_ns: u64,
    /// Largest request body accepted (`http-req-size`), if limited.
    pub max_request: Option<usize>,
}

impl RouteEntry {
    /// The entry for spec route `route`, served by `function`.
    pub fn new(route: &Route, function: FunctionId) -> Self {
        RouteEntry {
            name: route.route.clone(),
            request_type: route.request_type,
            function,
            expected_ns: route.expected_ns(),
            relative_deadline_ns: route.relative_deadline_ns(),
            max_request: route
                .limits
                .http_req_size
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        }
    }
}

/// Counters of one route, printed at shutdown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteCounters {
    /// Requests received for the route.
    pub requests: u64,
    /// Responses sent, by [`Status`] code.
    pub by_status: [u64; Status::ALL.len()],
    /// Sum of the queueing times of completed requests, ns.
    pub queue_ns: u64,
    /// Sum of the execution times of completed requests, ns.
    pub exec_ns: u64,
    /// Requests that ran on a worker (any outcome).
    pub completed: u64,
}

impl RouteCounters {
    /// Responses with `status`.
    pub fn count(&self, status: Status) -> u64 {
        self.by_status[status as usize]
    }
}

/// The routes, indexed by request type, with their counters. Built once at
/// start-up; lookups and counter updates allocate nothing.
#[derive(Clone, Debug)]
pub struct RouteTable {
    routes: Vec<RouteEntry>,
    /// Request type -> index into `routes` + 1 (0: none), up to the largest
    /// type served: one bounds check and one load per lookup.
    by_type: Vec<u32>,
    counters: Vec<RouteCounters>,
}

impl RouteTable {
    /// A table of `routes`, which must have distinct request types (as
    /// [`Spec`](tern_sched::spec::Spec) ensures; of two with the same type the
    /// later wins). Allocates one slot per request type up to the largest
    /// (at most 65,536 × 4 bytes).
    pub fn new(routes: Vec<RouteEntry>) -> Self {
        let max_type = routes
            .iter()
            .map(|r| r.request_type as usize)
            .max()
            .unwrap_or(0);
        let mut by_type = vec![0u32; max_type + 1];
        for (i, r) in routes.iter().enumerate() {
            by_type[r.request_type as usize] = i as u32 + 1;
        }
        RouteTable {
            counters: vec![RouteCounters::default(); routes.len()],
            routes,
            by_type,
        }
    }

    /// The index of the route serving `request_type`, if any.
    #[inline]
    pub fn lookup(&self, request_type: u16) -> Option<usize> {
        match self.by_type.get(request_type as usize) {
            Some(&i) if i != 0 => Some((i - 1) as usize),
            _ => None,
        }
    }

    /// The route at `index` (from [`lookup`](Self::lookup)). Panics if out
    /// of range.
    #[inline]
    pub fn entry(&self, index: usize) -> &RouteEntry {
        &self.routes[index]
    }

    /// The counters of the route at `index`, to update. Panics if out of
    /// range.
    #[inline]
    pub fn counters_mut(&mut self, index: usize) -> &mut RouteCounters {
        &mut self.counters[index]
    }

    /// The routes, in the order given to [`new`](Self::new).
    pub fn routes(&self) -> &[RouteEntry] {
        &self.routes
    }

    /// Counters per route, in the order of [`routes`](Self::routes).
    pub fn counters(&self) -> &[RouteCounters] {
        &self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ty: u16, function: u32) -> RouteEntry {
        RouteEntry {
            name: format!("/r{ty}"),
            request_type: ty,
            function: FunctionId::new(function),
            expected_ns: 1,
            relative_deadline_ns: 2,
            max_request: None,
        }
    }

    #[test]
    fn lookup_by_request_type() {
        let t = RouteTable::new(vec![entry(5, 0), entry(1, 1)]);
        assert_eq!(t.lookup(5), Some(0));
        assert_eq!(t.lookup(1), Some(1));
        // Below, between and beyond the types served.
        for ty in [0, 2, 4, 6, u16::MAX] {
            assert_eq!(t.lookup(ty), None, "type {ty}");
        }
        assert_eq!(t.entry(1).function, FunctionId::new(1));
        assert_eq!(t.routes().len(), 2);
        assert!(RouteTable::new(Vec::new()).lookup(0).is_none());
    }

    #[test]
    fn counters_per_route() {
        let mut t = RouteTable::new(vec![entry(1, 0), entry(2, 1)]);
        t.counters_mut(1).requests += 1;
        t.counters_mut(1).by_status[Status::Trap as usize] += 2;
        assert_eq!(t.counters()[0], RouteCounters::default());
        assert_eq!(
            (
                t.counters()[1].requests,
                t.counters()[1].count(Status::Trap)
            ),
            (1, 2)
        );
        assert_eq!(t.counters()[1].count(Status::Ok), 0);
    }
}
