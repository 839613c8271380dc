//! One server loop for every server in Tern: [`serve`] runs an endpoint's
//! rounds until told to stop and hands what arrives to a [`Service`].
//!
//! eRPC's shape: one owner thread, one event loop whose stages run in a
//! fixed order, request handlers called from the loop. A round here is the
//! endpoint's round ([`Endpoint::run_once`]: transmit, receive and handle,
//! timers, transmit), in which [`Service::on_request`] runs for each
//! complete request, then the service's own [`Service::poll`] stage (e.g.
//! a completion queue), then the idle strategy if neither found work.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::endpoint::{Ctl, Endpoint, Event, Payload, RequestToken};
use crate::idle::{IdleMode, IdleStrategy};
use crate::transport::Transport;

/// One complete request, as [`Service::on_request`] receives it.
#[derive(Debug)]
pub struct IncomingRequest<'a> {
    /// Names the request for [`Ctl::respond`]; `Copy`, and valid after the
    /// call (a stale token is an error, never a panic).
    pub token: RequestToken,
    /// The request type from the packet header.
    pub req_type: u16,
    /// The body: borrowed from the receive batch for a single-packet
    /// request, the reassembly buffer for a multi-packet one.
    pub payload: Payload<'a>,
}

/// A server's request handling, called from [`serve`]'s loop on the
/// endpoint's thread. A slow method stalls the whole endpoint.
pub trait Service {
    /// A complete request arrived. Answer it now or later with
    /// [`Ctl::respond`] and its `token` (a `Copy` handle). Its `payload` borrows the
    /// receive batch for a single-packet request and lives only for this
    /// call; [`Payload::into_owned`](std::borrow::Cow::into_owned) keeps it
    /// (a copy for a borrowed payload, a move for a reassembled one).
    fn on_request(&mut self, ctl: &mut Ctl<'_>, request: IncomingRequest<'_>);

    /// Any other event (a reset session, or client-role events if the
    /// endpoint also has client sessions). Ignored unless overridden.
    fn on_event(&mut self, ctl: &mut Ctl<'_>, event: Event<'_>) {
        let _ = (ctl, event);
    }

    /// The service's own stage, run once per round after the endpoint's:
    /// work that does not arrive as packets (e.g. completions from worker
    /// threads). Returns whether it found any, which keeps the loop from
    /// idling. Does nothing unless overridden.
    fn poll(&mut self, ctl: &mut Ctl<'_>) -> bool {
        let _ = ctl;
        false
    }
}

/// Serves `service` on `endpoint` on the calling thread until `stop` is set
/// (checked once per round). After a round in which neither the endpoint
/// nor [`Service::poll`] found work it idles by `idle` (an adaptive loop may
/// park; `Thread::unpark` on this thread wakes it). Adds nothing per packet
/// to the endpoint's round: no allocation, no dynamic dispatch.
pub fn serve<T: Transport, S: Service>(
    endpoint: &mut Endpoint<T>,
    idle: IdleMode,
    stop: &AtomicBool,
    service: &mut S,
) {
    let mut idle = IdleStrategy::new(idle);
    while !stop.load(Ordering::Relaxed) {
        let mut busy = endpoint.run_once(|ctl, event| match event {
            Event::Request {
                token,
                req_type,
                payload,
            } => service.on_request(
                ctl,
                IncomingRequest {
                    token,
                    req_type,
                    payload,
                },
            ),
            other => service.on_event(ctl, other),
        });
        busy |= service.poll(&mut endpoint.ctl());
        if busy {
            idle.reset();
        } else {
            idle.idle();
        }
    }
}
