//! Sessions and the table that holds them.
//!
//! A session joins a client-role endpoint to a server-role endpoint. Each
//! side numbers it in its own table; packets name the receiver's number.
//! Numbers are drawn at random (a keyed SipHash of a counter, the key
//! secret to this endpoint; on collision the next free number), so a peer
//! that saw some numbers cannot guess the others, and a restarted endpoint
//! is unlikely to reuse a number a peer still remembers.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::net::SocketAddrV4;
use std::time::Instant;

use super::config::SESSION_SLOTS;
use super::event::SessionId;
use super::packet_set::PacketSet;
use super::reassembly::Reassembly;
use crate::wire::response::PREAMBLE_LEN;

/// A client-side request slot.
#[derive(Debug, Default)]
pub(crate) struct ClientSlot {
    /// A request occupies the slot.
    pub busy: bool,
    /// The slot has carried a request before (so `req_num` is meaningful).
    pub used: bool,
    /// Request number of the current (or last) request.
    pub req_num: u32,
    pub tag: u64,
    pub req_type: u16,
    /// The request message, kept until the response is complete (for
    /// retransmission).
    pub req: Vec<u8>,
    pub req_pkts: usize,
    /// Next request packet to send for the first time.
    pub req_next: usize,
    /// Request packets the server answered.
    pub req_acked: PacketSet,
    /// Response message length (preamble included), once packet 0 arrived.
    pub resp_len: Option<usize>,
    pub resp_pkts: usize,
    pub resp_got: PacketSet,
    /// Next response packet to ask for (request-for-response) for the first time.
    pub rfr_next: usize,
    /// Response payload being reassembled.
    pub resp_buf: Vec<u8>,
    pub preamble: [u8; PREAMBLE_LEN],
    /// Packets sent once and not yet answered (credits held).
    pub in_flight: usize,
    /// Last time this request made progress (or was retransmitted).
    pub last_progress: Option<Instant>,
    /// Retransmission rounds since the server last showed it is alive
    /// (progress or a "still executing" answer); past `max_retransmits`
    /// the request fails.
    pub retries: u32,
    /// Exponent of the retransmission backoff: rounds since the last real
    /// progress. A "still executing" answer does not reset it, so a request
    /// queued at a busy server is probed ever less often instead of once
    /// per base timeout.
    pub backoff_exp: u32,
}

impl ClientSlot {
    /// Whether the slot has a packet that was never sent.
    pub fn has_new_packet(&self) -> bool {
        self.busy
            && (self.req_next < self.req_pkts
                || (self.resp_len.is_some() && self.rfr_next < self.resp_pkts))
    }

    /// Frees the slot when its request ends (answered or given up): drops
    /// its buffers and returns the credits its unanswered packets held.
    pub fn release(&mut self) -> usize {
        self.busy = false;
        self.req = Vec::new();
        self.resp_buf = Vec::new();
        std::mem::take(&mut self.in_flight)
    }
}

/// State of a server-side request slot.
#[derive(Debug, Default)]
pub(crate) enum ServerState {
    /// Never used.
    #[default]
    Idle,
    /// Packets of the request are arriving.
    Receiving,
    /// The request was delivered; the application has not responded yet.
    Executing,
    /// The response is saved for (re)transmission.
    Responded,
}

/// A server-side request slot.
#[derive(Debug, Default)]
pub(crate) struct ServerSlot {
    pub state: ServerState,
    pub req_num: u32,
    pub req_type: u16,
    pub req_len: usize,
    pub req_pkts: usize,
    /// Request packets received (while `Receiving`).
    pub req_got: PacketSet,
    /// The request being reassembled (while `Receiving`, multi-packet).
    pub req_buf: Reassembly,
    /// When the last new packet of the request arrived (while `Receiving`).
    pub req_rx_at: Option<Instant>,
    /// The saved response (while `Responded`).
    pub preamble: [u8; PREAMBLE_LEN],
    pub resp_payload: Vec<u8>,
    pub resp_len: usize,
    pub resp_pkts: usize,
    /// Packets of the saved response sent so far (first sends and resends).
    pub resp_sent: usize,
}

impl ServerSlot {
    /// Whether a request is arriving or executing in this slot.
    pub fn in_progress(&self) -> bool {
        matches!(self.state, ServerState::Receiving | ServerState::Executing)
    }
}

/// The server side of a session.
#[derive(Debug)]
pub(crate) struct ServerSide {
    pub slots: [ServerSlot; SESSION_SLOTS],
    /// When the last valid packet for the session arrived (the connect at
    /// first).
    pub last_rx: Instant,
    /// The client has sent a request packet on the session, so it received
    /// our connect-ack (it knows our random session number): not half-open.
    pub established: bool,
    /// A session of the same peer address and client session number, with
    /// another nonce, that this one's connect named: reset once this one is
    /// established (that proves the new endpoint owns the address, so the
    /// old one is gone).
    pub supersedes: Option<SessionId>,
}

impl ServerSide {
    pub fn new(now: Instant, supersedes: Option<SessionId>) -> Self {
        ServerSide {
            slots: Default::default(),
            last_rx: now,
            established: false,
            supersedes,
        }
    }

    /// Reassembly bytes held by all slots.
    pub fn reassembly_held(&self) -> usize {
        self.slots.iter().map(|s| s.req_buf.held()).sum()
    }
}

/// The client side of a session.
#[derive(Debug)]
pub(crate) struct ClientSide {
    pub connected: bool,
    /// When the last connect went out, and how many went unanswered.
    pub connect_sent: Instant,
    pub connect_retries: u32,
    pub slots: [ClientSlot; SESSION_SLOTS],
    /// Credits left: packets that may still be put in flight.
    pub credits: usize,
    /// Busy slots.
    pub outstanding: usize,
    /// Slot to try first when sending (round robin among slots).
    pub next_slot: usize,
    /// Whether the session is queued for sending.
    pub in_tx_queue: bool,
}

/// Which role this endpoint has in the session.
#[derive(Debug)]
pub(crate) enum Role {
    Client(Box<ClientSide>),
    Server(Box<ServerSide>),
}

/// One session.
#[derive(Debug)]
pub(crate) struct Session {
    pub id: SessionId,
    pub peer: SocketAddrV4,
    /// The peer's number for this session (client: known after connect-ack).
    pub remote: u16,
    /// The peer endpoint's nonce (client: known after connect-ack).
    pub peer_nonce: u64,
    /// Payload bytes per packet (agreed at connect).
    pub chunk: usize,
    pub role: Role,
}

impl Session {
    pub fn client(&self) -> Option<&ClientSide> {
        match &self.role {
            Role::Client(c) => Some(c),
            Role::Server(_) => None,
        }
    }

    pub fn client_mut(&mut self) -> Option<&mut ClientSide> {
        match &mut self.role {
            Role::Client(c) => Some(c),
            Role::Server(_) => None,
        }
    }

    pub fn server_slots(&self) -> Option<&[ServerSlot; SESSION_SLOTS]> {
        self.server().map(|s| &s.slots)
    }

    pub fn server(&self) -> Option<&ServerSide> {
        match &self.role {
            Role::Server(s) => Some(s),
            Role::Client(_) => None,
        }
    }

    pub fn server_mut(&mut self) -> Option<&mut ServerSide> {
        match &mut self.role {
            Role::Server(s) => Some(s),
            Role::Client(_) => None,
        }
    }

    pub fn is_server(&self) -> bool {
        matches!(self.role, Role::Server(_))
    }
}

/// Key of the peer index: the peer, its number for the session, and our role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PeerKey {
    pub peer: SocketAddrV4,
    pub remote: u16,
    pub server_role: bool,
}

/// All sessions of an endpoint, indexed by session number.
pub(crate) struct SessionTable {
    /// Indexed by session number; 65,536 entries (one pointer each).
    entries: Vec<Option<Box<Session>>>,
    /// Keyed hash that draws session numbers, and how many were drawn.
    numbers: RandomState,
    drawn: u64,
    live: usize,
    /// Server-role sessions live.
    servers: usize,
    /// Server sessions in the order they were accepted, for evicting the
    /// oldest half-open one; entries of sessions gone or established are
    /// skipped (and pruned by the expiry scan).
    pub half_open: VecDeque<SessionId>,
    next_generation: u32,
    /// (peer, peer's number, role) -> our number; for connect dedup and resets.
    by_peer: HashMap<PeerKey, u16>,
    /// Client-role sessions (for the timer scan).
    pub clients: Vec<u16>,
}

impl SessionTable {
    pub fn new() -> Self {
        let mut entries = Vec::new();
        entries.resize_with(1 << 16, || None);
        SessionTable {
            entries,
            numbers: RandomState::new(),
            drawn: 0,
            live: 0,
            servers: 0,
            half_open: VecDeque::new(),
            next_generation: 1,
            by_peer: HashMap::new(),
            clients: Vec::new(),
        }
    }

    pub fn live(&self) -> usize {
        self.live
    }

    /// Live server-role sessions.
    pub fn servers(&self) -> usize {
        self.servers
    }

    /// The session with number `num`.
    #[inline]
    pub fn get(&self, num: u16) -> Option<&Session> {
        self.entries[num as usize].as_deref()
    }

    #[inline]
    pub fn get_mut(&mut self, num: u16) -> Option<&mut Session> {
        self.entries[num as usize].as_deref_mut()
    }

    /// The session `id` names, if it is still live.
    pub fn by_id(&self, id: SessionId) -> Option<&Session> {
        self.get(id.num).filter(|s| s.id == id)
    }

    pub fn by_id_mut(&mut self, id: SessionId) -> Option<&mut Session> {
        self.get_mut(id.num).filter(|s| s.id == id)
    }

    /// Our number for the session with `key`.
    pub fn find(&self, key: PeerKey) -> Option<u16> {
        self.by_peer.get(&key).copied()
    }

    /// Inserts a session built by `make` under a fresh number; the caller
    /// checks the session limit first.
    pub fn insert(&mut self, make: impl FnOnce(SessionId) -> Session) -> SessionId {
        let mut num = self.numbers.hash_one(self.drawn) as u16;
        self.drawn += 1;
        while self.entries[num as usize].is_some() {
            num = num.wrapping_add(1);
        }
        let id = SessionId {
            num,
            generation: self.next_generation,
        };
        self.next_generation = self.next_generation.wrapping_add(1);
        let s = make(id);
        if s.is_server() {
            self.by_peer.insert(
                PeerKey {
                    peer: s.peer,
                    remote: s.remote,
                    server_role: true,
                },
                num,
            );
            self.servers += 1;
            self.half_open.push_back(id);
        } else {
            self.clients.push(num);
        }
        self.entries[num as usize] = Some(Box::new(s));
        self.live += 1;
        id
    }

    /// Records the peer's number of client session `num` (at connect-ack).
    pub fn index_client(&mut self, num: u16) {
        if let Some(s) = self.get(num) {
            let key = PeerKey {
                peer: s.peer,
                remote: s.remote,
                server_role: false,
            };
            self.by_peer.insert(key, num);
        }
    }

    /// Removes session `num` and returns it.
    pub fn remove(&mut self, num: u16) -> Option<Box<Session>> {
        let s = self.entries[num as usize].take()?;
        self.live -= 1;
        let key = PeerKey {
            peer: s.peer,
            remote: s.remote,
            server_role: s.is_server(),
        };
        if self.by_peer.get(&key) == Some(&num) {
            self.by_peer.remove(&key);
            // The session it superseded (not yet proven gone) takes the key back.
            if let Some(old) = s.server().and_then(|x| x.supersedes)
                && self.by_id(old).is_some()
            {
                self.by_peer.insert(key, old.num);
            }
        }
        if s.is_server() {
            self.servers -= 1;
        }
        if !s.is_server()
            && let Some(i) = self.clients.iter().position(|&c| c == num)
        {
            self.clients.swap_remove(i);
        }
        Some(s)
    }
}
