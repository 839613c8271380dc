//! The endpoint: one thread's sessions over one transport, driven by
//! [`Endpoint::run_once`] (eRPC's `run_event_loop_once`): one owner thread,
//! one round whose stages run in a fixed order (transmit, receive and
//! handle, timers, transmit), application callbacks called from the round.
//! [`serve`](crate::serve()) is the server loop around it.
//!
//! # Files
//!
//! - `mod.rs`: the round, packet dispatch, resets;
//! - `client_role.rs` / `server_role.rs`: each role's half of the protocol;
//! - `loss_recovery.rs`: retransmission timers and backoff (client only);
//! - `expiry.rs`: server session expiry and eviction, reassembly timeouts;
//! - `reassembly.rs`: a server request buffer sized by bytes received;
//! - `handshake.rs`: connect, connect-ack and reset framing;
//! - `ctl.rs`: what a callback may do mid-round; `event.rs`: what it gets,
//!   and what an event's payload borrows;
//! - `session.rs`, `tx_queue.rs`, `message_layout.rs`, `packet_set.rs`,
//!   `config.rs`, `stats.rs`: the state these work on.
//!
//! # Protocol
//!
//! Every exchange is driven by the client, so the server never sends
//! unprompted and never needs timers:
//!
//! - **Connect**: the client sends `connect` (its endpoint nonce and largest
//!   datagram) until a `connect-ack` arrives or `max_retransmits` tries went
//!   unanswered. Both sides then cut messages into packets of the smaller
//!   datagram size.
//! - **Request of R packets**: each request packet `i < R-1` is answered by a
//!   `credit-return` for `i`; the last one by response packet 0.
//! - **Response of P packets**: after packet 0 the client asks for packets
//!   `1..P` with `request-for-response` packets, each answered by that
//!   response packet.
//! - **Credits**: each client packet sent for the first time takes one of the
//!   session's credits, and its answer returns it, so at most `credits`
//!   packets per session are in flight in either direction.
//! - **Loss**: a client request that makes no progress for
//!   `retransmit_timeout` sends its unanswered packets again (the last
//!   request packet as a probe if all were answered). The server keeps the
//!   last response per slot: a retransmitted request is never executed
//!   twice; it gets the saved response, or, while the request still runs, a
//!   credit-return for its last packet meaning "executing".
//! - **Resets**: a packet for a session the receiver does not have is
//!   answered with `reset`. A connect with a new nonce naming a client
//!   session number the server already has from that address opens a new
//!   session; the old one is reset only when the new one sends its first
//!   request (proof that the new endpoint receives at that address, so the
//!   old one is gone). A connect alone resets nothing.
//! - **Limits** (server, see `expiry.rs`): reassembly memory grows with the
//!   bytes received, within `reassembly_budget`; a partly received request
//!   is dropped after `reassembly_timeout`; sessions expire after
//!   `session_idle_timeout` without a packet, and a connect to a full table
//!   evicts the oldest half-open (else idle) session; one request per slot
//!   executes at a time; response packets sent per ask are at most
//!   `credits`.

/// The session controls an [`Endpoint`] and a [`Ctl`] both offer, written
/// once: each expands inside an `impl` whose `self.core` is (or derefs to)
/// the endpoint's [`Core`].
macro_rules! session_controls {
    () => {
        /// Counters.
        pub fn stats(&self) -> &EndpointStats {
            &self.core.stats
        }

        /// The peer of session `s`, if it is live.
        pub fn peer_of(&self, s: SessionId) -> Option<SocketAddrV4> {
            self.core.peer_of(s)
        }

        /// Client role: opens a session to `server`. Non-blocking: sends the
        /// connect on the next [`run_once`](crate::Endpoint::run_once), which later yields
        /// [`Event::Connected`](crate::Event::Connected) or [`Event::ConnectFailed`](crate::Event::ConnectFailed) for the returned id.
        /// Fails with [`RpcError::TooManySessions`] when `max_sessions` are live.
        pub fn connect(&mut self, server: SocketAddrV4) -> Result<SessionId, RpcError> {
            self.core.connect(server)
        }

        /// Whether client session `s` completed its connect.
        pub fn is_connected(&self, s: SessionId) -> bool {
            self.core.is_connected(s)
        }

        /// Whether `send_request` on `s` would be accepted now: connected and
        /// fewer than `max_outstanding` requests in flight.
        pub fn can_send(&self, s: SessionId) -> bool {
            self.core.can_send(s)
        }

        /// Requests outstanding on client session `s` (0 if it is not live).
        pub fn outstanding(&self, s: SessionId) -> usize {
            self.core.outstanding(s)
        }

        /// Client role: sends a request of type `req_type`. Non-blocking: the
        /// packets leave on the next [`run_once`](crate::Endpoint::run_once) rounds as credits
        /// allow; the outcome arrives as [`Event::Response`](crate::Event::Response) or
        /// [`Event::RequestFailed`](crate::Event::RequestFailed) carrying `tag`. Takes ownership of `payload`
        /// (it is kept for retransmission, not copied).
        pub fn send_request(
            &mut self,
            s: SessionId,
            req_type: u16,
            payload: Vec<u8>,
            tag: u64,
        ) -> Result<(), RpcError> {
            self.core.send_request(s, req_type, payload, tag)
        }

        /// Closes session `s`. A connected client session tells the server (a
        /// reset), whose endpoint then reports [`Event::SessionReset`](crate::Event::SessionReset); a
        /// server session is dropped silently and the client learns of it with
        /// its next packet. Outstanding requests are abandoned without events,
        /// and tokens of the session become stale. Unknown ids are ignored.
        pub fn close(&mut self, s: SessionId) {
            self.core.close(s)
        }

        /// Server role: answers the request `token` names. The response leaves
        /// on the next [`run_once`](crate::Endpoint::run_once) and is kept for retransmissions until
        /// the client's next request in the same slot. A stale token (session
        /// reset or closed, request superseded or already answered) is
        /// [`RpcError::StaleToken`] / [`RpcError::NoSuchSession`]; a payload over
        /// `max_message` is [`RpcError::TooLarge`], and the client then gets
        /// [`Status::TooLarge`](crate::Status::TooLarge) instead.
        pub fn respond(&mut self, token: RequestToken, response: Response) -> Result<(), RpcError> {
            self.core.respond(token, response)
        }
    };
}

mod client_role;
pub mod config;
mod ctl;
pub mod event;
mod expiry;
mod handshake;
mod loss_recovery;
mod message_layout;
mod packet_set;
mod reassembly;
mod server_role;
mod session;
pub mod stats;
mod tx_queue;

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

pub use config::{EndpointConfig, SESSION_SLOTS};
pub use ctl::Ctl;
pub use event::{Event, Payload, ReceivedResponse, RequestToken, Response, SessionId};
pub use stats::EndpointStats;

use crate::error::RpcError;
use crate::idle::IdleStrategy;
use crate::transport::{RxBatch, Transport};
use crate::wire::tern::{HEADER_LEN, PacketKind, TernPacket, TernRepr};
use session::{Session, SessionTable};
use tx_queue::TxQueue;

/// An RPC endpoint over transport `T`, in the client role, the server role,
/// or both. Owned and polled by one thread; nothing in it blocks.
pub struct Endpoint<T: Transport> {
    transport: T,
    rx: RxBatch,
    core: Core,
}

/// Everything but the transport and receive buffer, so that packet handling
/// can borrow a received datagram while changing session state.
pub(crate) struct Core {
    config: EndpointConfig,
    nonce: u64,
    max_datagram: usize,
    sessions: SessionTable,
    txq: TxQueue,
    /// Client sessions with packets to send once credits allow.
    pending: VecDeque<u16>,
    stats: EndpointStats,
    next_scan: Instant,
    scan_interval: Duration,
    /// When the previous round ran.
    last_poll: Instant,
    /// The last timer scan was put off.
    scan_deferred: bool,
    /// When the server-role scan (session expiry, reassembly timeouts)
    /// runs next, and its interval.
    next_server_scan: Instant,
    server_scan_interval: Duration,
    /// Idle server sessions picked by the last eviction scan, the one idle
    /// longest last, each with the time of its last packet then.
    evict_queue: Vec<(Instant, SessionId)>,
    /// Events that borrow nothing (connects, failures, resets), queued
    /// while session state is borrowed and handed to the round's callback
    /// right after the packet or timer scan that made them, in order.
    notices: Vec<Event<'static>>,
    /// Credit-returns queued while handling the current receive batch,
    /// which later packets of the same requests may extend.
    credit_runs: Vec<CreditReturnRun>,
}

/// A queued credit-return that acknowledges packets `first..first+count`.
pub(crate) struct CreditReturnRun {
    /// Its position in the transmit queue.
    index: usize,
    peer: SocketAddrV4,
    session: u16,
    req_num: u32,
    first: u16,
    count: u32,
}

/// A random 64-bit number from the standard library's per-process hash
/// seed mixed with the time and process id (no extra dependency; ample for
/// telling restarts apart).
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    h.finish()
}

impl<T: Transport> Endpoint<T> {
    /// An endpoint over `transport`. Allocates its receive batch
    /// (`rx_batch * max_datagram` bytes) and a 512 KiB session table.
    pub fn new(transport: T, config: EndpointConfig) -> Self {
        let config = config.sanitized();
        let max_datagram = transport.max_datagram().clamp(64, u16::MAX as usize);
        let nonce = random_u64();
        let scan_interval = (config.retransmit_timeout / 4).max(Duration::from_micros(20));
        let server_scan_interval = (config.reassembly_timeout.min(config.session_idle_timeout) / 4)
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        Endpoint {
            rx: RxBatch::new(config.rx_batch, max_datagram),
            transport,
            core: Core {
                config,
                nonce,
                max_datagram,
                sessions: SessionTable::new(),
                txq: TxQueue::default(),
                pending: VecDeque::new(),
                stats: EndpointStats::default(),
                next_scan: Instant::now(),
                last_poll: Instant::now(),
                scan_deferred: false,
                scan_interval,
                next_server_scan: Instant::now() + server_scan_interval,
                server_scan_interval,
                evict_queue: Vec::new(),
                notices: Vec::new(),
                credit_runs: Vec::new(),
            },
        }
    }

    /// The address peers reach this endpoint at.
    pub fn local_addr(&self) -> SocketAddrV4 {
        self.transport.local_addr()
    }

    /// The settings in force (after clamping to valid ranges).
    pub fn config(&self) -> &EndpointConfig {
        &self.core.config
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably (e.g. to change fault-injection rates).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// This endpoint's random nonce (a restarted endpoint has a new one).
    pub fn nonce(&self) -> u64 {
        self.core.nonce
    }

    /// The controls a [`run_once`](Self::run_once) callback gets, for use
    /// between rounds (e.g. a server's own stage answering from a
    /// completion queue). Free.
    pub fn ctl(&mut self) -> Ctl<'_> {
        Ctl::new(&mut self.core)
    }

    /// Number of live sessions (both roles, connecting ones included).
    pub fn session_count(&self) -> usize {
        self.core.sessions.live()
    }

    session_controls!();

    /// One round of the event loop, its stages always in this order:
    /// transmit what is queued; receive one batch and handle each packet;
    /// run the retransmission timers; transmit what credits now allow.
    /// `on_event` is called for each [`Event`] as it happens, with a
    /// [`Ctl`] to answer or send from inside the round; an event's payload
    /// borrows the receive batch (see [`event`]) and so lives only for that
    /// call.
    ///
    /// Returns whether the round was busy: a packet was sent or received,
    /// or an event fired. A loop must treat such a round as busy
    /// ([`IdleStrategy::reset`](crate::IdleStrategy::reset)), or
    /// multi-packet transfers stall in the idle strategy's park phase;
    /// [`run_once_idle`](Self::run_once_idle) does that itself.
    ///
    /// Costs one receive system call plus one send call when there is
    /// something to send. Allocates only for reassembled messages (and
    /// failure reasons): a single-packet request or response is handed to
    /// `on_event` from the receive batch, never copied.
    pub fn run_once(&mut self, mut on_event: impl FnMut(&mut Ctl<'_>, Event<'_>)) -> bool {
        let now = Instant::now();
        // Requests queued since the last round leave before we receive, so
        // a fresh request costs no extra system call of latency.
        let mut busy = self.transmit(now);
        let mut backlog = false;
        let core = &mut self.core;
        match self.transport.recv(&mut self.rx) {
            Ok(n) => {
                backlog = n == self.rx.capacity();
                // Queue positions changed with the flush above.
                core.credit_runs.clear();
                for i in 0..n {
                    let (peer, bytes) = self.rx.get(i);
                    let delivery = core.handle_packet(now, peer, bytes);
                    core.deliver_notices(&mut on_event);
                    if let Some(event) = delivery {
                        on_event(&mut Ctl::new(core), event);
                    }
                }
                busy |= n > 0;
            }
            Err(_) => core.stats.io_errors += 1,
        }
        core.run_timers(now, backlog);
        busy |= core.deliver_notices(&mut on_event);
        busy |= self.transmit(now);
        busy
    }

    /// [`run_once`](Self::run_once), then `idle.reset()` after a busy round
    /// or `idle.idle()` after an idle one (which may yield or park the
    /// thread, see [`IdleStrategy`]). Returns whether
    /// the round was busy.
    pub fn run_once_idle(
        &mut self,
        idle: &mut IdleStrategy,
        on_event: impl FnMut(&mut Ctl<'_>, Event<'_>),
    ) -> bool {
        let busy = self.run_once(on_event);
        if busy {
            idle.reset();
        } else {
            idle.idle();
        }
        busy
    }

    /// The transmit stage: puts new packets of queued sessions in flight as
    /// credits allow, then hands the transmit queue to the transport.
    /// Returns whether the transport took a packet.
    fn transmit(&mut self, now: Instant) -> bool {
        let core = &mut self.core;
        if !core.pending.is_empty() {
            core.pump_pending(now);
        }
        !core.txq.is_empty()
            && core
                .txq
                .flush(&mut self.transport, &core.sessions, &mut core.stats)
                > 0
    }
}

impl Core {
    /// Parses and dispatches one received datagram. Returns a completed
    /// request or response, borrowing `bytes` when it came in this one
    /// packet; other events go to `notices`.
    fn handle_packet<'a>(
        &mut self,
        now: Instant,
        peer: SocketAddrV4,
        bytes: &'a [u8],
    ) -> Option<Event<'a>> {
        self.stats.packets_rx += 1;
        self.stats.bytes_rx += bytes.len() as u64;
        let parsed = TernPacket::new_checked(bytes)
            .and_then(|p| TernRepr::parse(&p).map(|hdr| (hdr, p.payload())));
        let Ok((hdr, payload)) = parsed else {
            self.stats.malformed_dropped += 1;
            return None;
        };
        if !hdr.kind.has_payload() && !payload.is_empty() {
            // Checked here once, before any session lookup, for every
            // control kind.
            self.stats.malformed_dropped += 1;
            return None;
        }
        match hdr.kind {
            PacketKind::Connect => self.on_connect(now, peer, &hdr, payload),
            PacketKind::ConnectAck => self.on_connect_ack(peer, &hdr, payload),
            PacketKind::Request => return self.on_request(now, peer, &hdr, payload),
            PacketKind::RequestForResponse => self.on_rfr(now, peer, &hdr),
            PacketKind::CreditReturn => self.on_credit_return(now, peer, &hdr),
            PacketKind::Response => return self.on_response(now, peer, &hdr, payload),
            PacketKind::Reset => self.on_reset(peer, &hdr),
        }
        None
    }

    /// Hands the queued notices to `on_event`, in order; returns whether
    /// there were any. Keeps the queue's allocation.
    fn deliver_notices(&mut self, on_event: &mut impl FnMut(&mut Ctl<'_>, Event<'_>)) -> bool {
        if self.notices.is_empty() {
            return false;
        }
        let mut notices = std::mem::take(&mut self.notices);
        for event in notices.drain(..) {
            on_event(&mut Ctl::new(self), event);
        }
        // Nothing a callback can call queues a notice, so this is empty.
        debug_assert!(self.notices.is_empty());
        self.notices = notices;
        true
    }

    /// The peer of session `s`, if it is live.
    pub(crate) fn peer_of(&self, s: SessionId) -> Option<SocketAddrV4> {
        self.sessions.by_id(s).map(|x| x.peer)
    }

    /// Whether client session `s` completed its connect.
    pub(crate) fn is_connected(&self, s: SessionId) -> bool {
        self.sessions
            .by_id(s)
            .and_then(|x| x.client())
            .is_some_and(|c| c.connected)
    }

    /// Whether `send_request` on `s` would be accepted now.
    pub(crate) fn can_send(&self, s: SessionId) -> bool {
        self.sessions
            .by_id(s)
            .and_then(|x| x.client())
            .is_some_and(|c| c.connected && c.outstanding < self.config.max_outstanding)
    }

    /// Requests outstanding on client session `s` (0 if it is not live).
    pub(crate) fn outstanding(&self, s: SessionId) -> usize {
        self.sessions
            .by_id(s)
            .and_then(|x| x.client())
            .map_or(0, |c| c.outstanding)
    }

    /// Answers a packet for a session we do not have with a reset naming
    /// the number it addressed.
    fn reject_unknown(&mut self, peer: SocketAddrV4, hdr: &TernRepr) {
        self.stats.unknown_session_dropped += 1;
        self.queue_reset(peer, hdr.session);
    }

    /// A reset from `peer` about its session `hdr.session`: drop ours.
    fn on_reset(&mut self, peer: SocketAddrV4, hdr: &TernRepr) {
        let mut found = false;
        for server_role in [true, false] {
            let key = session::PeerKey {
                peer,
                remote: hdr.session,
                server_role,
            };
            if let Some(num) = self.sessions.find(key) {
                found = true;
                self.reset_session(num);
            }
        }
        if !found {
            // Also covers a client still connecting when the server refuses
            // to know it; otherwise nothing to do (never answer a reset).
            self.stats.unknown_session_dropped += 1;
        }
    }

    /// Removes session `num`, returning the reassembly bytes it held to
    /// the budget. Every removal goes through here.
    pub(crate) fn remove_session(&mut self, num: u16) -> Option<Box<Session>> {
        let s = self.sessions.remove(num)?;
        if let Some(server) = s.server() {
            self.release_reassembly(server.reassembly_held());
        }
        Some(s)
    }

    /// Counts `bytes` of reassembly buffers freed.
    pub(crate) fn release_reassembly(&mut self, bytes: usize) {
        self.stats.reassembly_bytes -= bytes as u64;
    }

    /// Drops session `num` because the peer is gone: fails its outstanding
    /// requests and reports [`Event::SessionReset`] (as notices).
    fn reset_session(&mut self, num: u16) {
        let Some(s) = self.remove_session(num) else {
            return;
        };
        self.stats.sessions_reset += 1;
        if let Some(c) = s.client() {
            if !c.connected {
                self.notices.push(Event::ConnectFailed {
                    session: s.id,
                    reason: "reset by server".into(),
                });
                return;
            }
            for slot in c.slots.iter().filter(|x| x.busy) {
                self.stats.requests_failed += 1;
                self.notices.push(Event::RequestFailed {
                    session: s.id,
                    tag: slot.tag,
                    error: RpcError::SessionReset,
                });
            }
        }
        self.notices.push(Event::SessionReset(s.id));
    }
}

/// Serial-number comparison of request numbers: whether `a` is after `b`.
#[inline]
pub(crate) fn req_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// Header size constant re-exported for the chunk computation.
pub(crate) const TERN_HEADER: usize = HEADER_LEN;
