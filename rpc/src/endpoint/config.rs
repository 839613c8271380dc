//! Settings of an [`Endpoint`](super::Endpoint).

use std::time::Duration;

/// Request slots per session on the wire: a request's slot is its request
/// number modulo this. A client may use fewer
/// ([`EndpointConfig::max_outstanding`]), never more.
pub const SESSION_SLOTS: usize = 8;

/// Settings of an [`Endpoint`](super::Endpoint). `Default` gives eRPC-like
/// values suited to loopback and a LAN.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Packets a client session may have in flight (sent, not yet answered)
    /// across all its requests. eRPC's default is 32.
    pub credits: u16,
    /// Requests a client session may have outstanding (1..=8).
    pub max_outstanding: usize,
    /// How long a client request may make no progress before its unanswered
    /// packets are sent again (also the connect retry interval); the base
    /// of an exponential backoff.
    pub retransmit_timeout: Duration,
    /// Retransmission rounds in a row without any answer before a request
    /// (or a connect) fails with
    /// [`RpcError::TimedOut`](crate::RpcError::TimedOut). The timeout
    /// doubles after each unanswered round, up to 32 x `retransmit_timeout`,
    /// so with the defaults a dead peer is given up on after about 1.3 s.
    /// Any answer, including the server's "still executing" reply to a
    /// retransmitted last packet, starts the count again, so long-running
    /// requests do not time out.
    pub max_retransmits: u32,
    /// Largest request or response payload in bytes (default 8 MiB).
    pub max_message: usize,
    /// Most sessions (client and server roles together) the endpoint holds.
    pub max_sessions: usize,
    /// Datagrams received per round ([`run_once`](super::Endpoint::run_once)) at most.
    pub rx_batch: usize,
    /// Server role: most bytes the endpoint holds in reassembly buffers of
    /// partly received requests, all sessions together (default 64 MiB).
    /// Buffers grow with the bytes that arrived, never with the length a
    /// packet claims; a packet that would take the total past this fails
    /// its request with [`Status::RejectedOverload`](crate::Status::RejectedOverload)
    /// (its buffer is freed, the client gets the status when it sends the
    /// last packet). A request longer than the budget can never complete,
    /// so keep it at or above `max_message`.
    pub reassembly_budget: usize,
    /// Server role: a partly received request that gets no new packet for
    /// this long is dropped, its buffer freed, and answered with
    /// [`Status::RejectedOverload`](crate::Status::RejectedOverload) if the
    /// client sends again (default 1 s; a live client retransmits within
    /// 32 x `retransmit_timeout`, 160 ms by default).
    pub reassembly_timeout: Duration,
    /// Server role: a session that receives no packet for this long is
    /// dropped (reported as [`Event::SessionReset`](crate::Event::SessionReset));
    /// its client learns it with its next packet, a reset, and must connect
    /// again (default 60 s). Independently of this, when the table is full a
    /// new connect evicts a half-open session (one that never sent a
    /// request), oldest first, else the session idle the longest with no
    /// request executing or arriving, before it is refused.
    pub session_idle_timeout: Duration,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            credits: 32,
            max_outstanding: SESSION_SLOTS,
            retransmit_timeout: Duration::from_millis(5),
            max_retransmits: 12,
            max_message: 8 << 20,
            max_sessions: 4096,
            rx_batch: 32,
            reassembly_budget: 64 << 20,
            reassembly_timeout: Duration::from_secs(1),
            session_idle_timeout: Duration::from_secs(60),
        }
    }
}

impl EndpointConfig {
    /// The config with every field brought into its valid range.
    pub(crate) fn sanitized(mut self) -> Self {
        self.credits = self.credits.max(1);
        self.max_outstanding = self.max_outstanding.clamp(1, SESSION_SLOTS);
        self.retransmit_timeout = self.retransmit_timeout.max(Duration::from_micros(50));
        self.max_message = self.max_message.min(u32::MAX as usize - 64);
        self.max_sessions = self.max_sessions.clamp(1, u16::MAX as usize);
        self.rx_batch = self.rx_batch.clamp(1, 1024);
        self.reassembly_timeout = self.reassembly_timeout.max(Duration::from_millis(1));
        self.session_idle_timeout = self.session_idle_timeout.max(Duration::from_millis(1));
        self
    }
}
