//! The smallest executor there is: poll a future once with a waker that does
//! nothing. The worker loop decides itself when to poll a suspended request
//! again (after its local scheduler has run), so wake-ups carry no
//! information; wasmtime's epoch yield returns `Pending` once and is ready on
//! the next poll.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Polls `future` once. Costs one virtual call into the future.
#[inline]
pub(crate) fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    future.poll(&mut cx)
}

/// Polls `future` until it is ready, on the calling thread.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = poll_once(future.as_mut()) {
            return out;
        }
    }
}
