//! Counters an endpoint keeps about its traffic.

/// Counters of one [`Endpoint`](super::Endpoint), updated by its thread and
/// read with [`stats`](super::Endpoint::stats). Plain integers: reading
/// costs nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Datagrams received.
    pub packets_rx: u64,
    /// Datagrams sent (first transmissions and retransmissions).
    pub packets_tx: u64,
    /// UDP payload bytes received.
    pub bytes_rx: u64,
    /// UDP payload bytes sent.
    pub bytes_tx: u64,
    /// Received datagrams dropped because they are not valid Tern packets or
    /// do not fit the message they claim to belong to.
    pub malformed_dropped: u64,
    /// Received packets for a session this endpoint does not have (a reset
    /// goes back, except for resets themselves).
    pub unknown_session_dropped: u64,
    /// Received packets for a request that is already finished here.
    pub stale_dropped: u64,
    /// Duplicate packets recognised and not acted on twice (a retransmitted
    /// request gets the saved response; its function is not run again).
    pub duplicates_suppressed: u64,
    /// Packets sent again after a retransmission timeout.
    pub retransmits: u64,
    /// Sessions dropped because the peer restarted, closed or forgot them.
    pub sessions_reset: u64,
    /// Reset packets sent.
    pub resets_sent: u64,
    /// Sessions accepted (server role).
    pub connects_accepted: u64,
    /// Connects refused because the endpoint was full (server role).
    pub connects_refused: u64,
    /// Complete requests delivered as [`Event::Request`](super::Event::Request).
    pub requests_received: u64,
    /// Responses handed to [`respond`](super::Endpoint::respond).
    pub responses_sent: u64,
    /// Requests accepted by `send_request`.
    pub requests_sent: u64,
    /// Complete responses delivered as [`Event::Response`](super::Event::Response).
    pub responses_received: u64,
    /// Requests failed with [`Event::RequestFailed`](super::Event::RequestFailed).
    pub requests_failed: u64,
    /// Times the transport took fewer datagrams than offered (the rest wait
    /// for the next round).
    pub tx_deferred: u64,
    /// Transport errors (the round goes on).
    pub io_errors: u64,
    /// Bytes held now in reassembly buffers of partly received requests
    /// (a gauge, not a counter; at most `reassembly_budget`).
    pub reassembly_bytes: u64,
    /// The most `reassembly_bytes` has been.
    pub reassembly_peak: u64,
    /// Requests refused with `rejected-overload` because their next packet
    /// would have taken reassembly past `reassembly_budget`.
    pub reassembly_rejected: u64,
    /// Partly received requests dropped after `reassembly_timeout`.
    pub reassembly_timeouts: u64,
    /// Server sessions dropped after `session_idle_timeout` without a packet.
    pub sessions_expired: u64,
    /// Server sessions evicted to make room for a new connect.
    pub sessions_evicted: u64,
    /// Request packets for a slot whose previous request still executes
    /// (more than 8 outstanding): not executed; the last packet is answered
    /// `rejected-overload`.
    pub requests_refused_busy: u64,
    /// Response packets a request-for-response or a repeated last request
    /// packet asked for but did not get: past the server's `credits` per
    /// ask, or past twice the response's packets plus `credits` in all.
    pub response_packets_refused: u64,
}

impl EndpointStats {
    /// All received packets that were dropped without effect
    /// (malformed + unknown session + stale).
    pub fn dropped(&self) -> u64 {
        self.malformed_dropped + self.unknown_session_dropped + self.stale_dropped
    }
}
