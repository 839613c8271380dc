//! Single-packet requests and responses reach the application without a
//! copy: a counting global allocator shows that, after warm-up, a round that
//! receives a one-packet request (server) or response (client) allocates
//! nothing inside the endpoint. Reintroducing a per-message `to_vec()`
//! makes this fail.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::cell::Cell;
use std::time::Instant;

use common::*;
use tern_rpc::{EndpointConfig, Event, Response};

/// The system allocator, counting allocations made on a thread while its
/// `COUNTING` flag is set.
struct CountingAlloc;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: the allocator may run while thread locals are torn down.
    let _ = COUNTING.try_with(|c| {
        if c.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counting touches only const-initialised thread locals (no allocation).
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Runs `f` with allocations on this thread counted; returns its result
/// and the count.
fn counted<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, ALLOCATIONS.with(Cell::get) - before)
}

/// Runs `f` uncounted (the test's own allocations inside a callback).
fn uncounted<R>(f: impl FnOnce() -> R) -> R {
    let was = COUNTING.with(|c| c.replace(false));
    let r = f();
    COUNTING.with(|c| c.set(was));
    r
}

#[test]
fn single_packet_messages_are_not_copied() {
    let mut server = udp_endpoint(EndpointConfig::default());
    let mut client = udp_endpoint(EndpointConfig::default());
    let s = connect_pair(&mut client, &mut server);
    let msg = pattern(200, 5);
    const WARMUP: u64 = 200;
    const MEASURED: u64 = 2_000;
    let (mut server_allocs, mut client_allocs) = (0, 0);
    let (mut requests, mut responses) = (0u64, 0u64);
    let deadline = Instant::now() + CALL_TIMEOUT;
    for i in 0..WARMUP + MEASURED {
        client.send_request(s, ECHO, msg.clone(), i).unwrap();
        let mut answered = false;
        while !answered {
            assert!(Instant::now() < deadline, "request {i} unanswered");
            let (_, n) = counted(|| {
                client.run_once(|_, e| match e {
                    Event::Response { response, tag, .. } => {
                        assert_eq!(tag, i);
                        assert!(
                            matches!(response.payload, Cow::Borrowed(_)),
                            "a one-packet response must borrow the receive batch"
                        );
                        assert_eq!(&*response.payload, &msg[..]);
                        answered = true;
                    }
                    other => panic!("unexpected {other:?}"),
                })
            });
            let (_, m) = counted(|| {
                server.run_once(|ctl, e| match e {
                    Event::Request { token, payload, .. } => {
                        assert!(
                            matches!(payload, Cow::Borrowed(_)),
                            "a one-packet request must borrow the receive batch"
                        );
                        assert_eq!(&*payload, &msg[..]);
                        // The application's own copy is not the endpoint's.
                        let echo = uncounted(|| payload.to_vec());
                        ctl.respond(token, Response::ok(echo)).unwrap();
                        if i >= WARMUP {
                            requests += 1;
                        }
                    }
                    other => panic!("unexpected {other:?}"),
                })
            });
            if i >= WARMUP {
                client_allocs += n;
                server_allocs += m;
            }
        }
        if i >= WARMUP {
            responses += 1;
        }
    }
    assert_eq!(requests, MEASURED);
    assert_eq!(responses, MEASURED);
    assert_eq!(
        server_allocs, 0,
        "server rounds allocated {server_allocs} times for {MEASURED} one-packet requests"
    );
    assert_eq!(
        client_allocs, 0,
        "client rounds allocated {client_allocs} times for {MEASURED} one-packet responses"
    );
}
