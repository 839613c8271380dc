//! A blocking client: one session on its own endpoint, for tools
//! (`loadgen call`), tests and examples. Each call runs the endpoint's
//! rounds on the calling thread until its answer arrives.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use crate::endpoint::{Endpoint, EndpointConfig, Event, Response, SessionId};
use crate::error::RpcError;
use crate::idle::{IdleMode, IdleStrategy};
use crate::transport::Transport;
use crate::transport::udp::UdpTransport;

/// A connected session with blocking calls. Not for load generation (one
/// request at a time); use an [`Endpoint`] directly for that.
pub struct Client<T: Transport> {
    endpoint: Endpoint<T>,
    session: SessionId,
    next_tag: u64,
    idle: IdleStrategy,
}

impl Client<UdpTransport> {
    /// Connects to `server` over kernel UDP from an ephemeral port (on
    /// 127.0.0.1 when the server is on loopback, else on all addresses),
    /// waiting up to `timeout`.
    pub fn connect_udp(server: SocketAddrV4, timeout: Duration) -> Result<Self, RpcError> {
        let ip = if server.ip().is_loopback() {
            Ipv4Addr::LOCALHOST
        } else {
            Ipv4Addr::UNSPECIFIED
        };
        let transport = UdpTransport::bind(SocketAddrV4::new(ip, 0))?;
        Self::connect_with(transport, server, EndpointConfig::default(), timeout)
    }
}

impl<T: Transport> Client<T> {
    /// Connects to `server` over `transport` with `config`, waiting up to
    /// `timeout` for the connect-ack.
    pub fn connect_with(
        transport: T,
        server: SocketAddrV4,
        config: EndpointConfig,
        timeout: Duration,
    ) -> Result<Self, RpcError> {
        let mut endpoint = Endpoint::new(transport, config);
        let session = endpoint.connect(server)?;
        let mut c = Client {
            endpoint,
            session,
            next_tag: 0,
            idle: IdleStrategy::new(IdleMode::Adaptive),
        };
        let deadline = Instant::now() + timeout;
        loop {
            let mut outcome = None;
            c.endpoint.run_once_idle(&mut c.idle, |_, e| match e {
                Event::Connected(s) if s == session => outcome = Some(Ok(())),
                Event::ConnectFailed { session: s, reason } if s == session => {
                    outcome = Some(Err(RpcError::ConnectFailed(reason)))
                }
                _ => {}
            });
            match outcome {
                Some(Ok(())) => return Ok(c),
                Some(Err(e)) => return Err(e),
                None => {}
            }
            if Instant::now() >= deadline {
                c.endpoint.close(session);
                return Err(RpcError::ConnectFailed(format!(
                    "no answer from {server} within {timeout:?}"
                )));
            }
        }
    }

    /// The session.
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// Sends one request and waits up to `timeout` for its response. A
    /// response with an error status is still `Ok` (check
    /// [`Response::status`]); `Err` means no response: timed out, session
    /// reset, or the request could not be sent.
    pub fn call(
        &mut self,
        req_type: u16,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Response, RpcError> {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.endpoint
            .send_request(self.session, req_type, payload, tag)?;
        let deadline = Instant::now() + timeout;
        let me = self.session;
        loop {
            let mut result = None;
            self.endpoint.run_once_idle(&mut self.idle, |_, e| match e {
                Event::Response {
                    session,
                    tag: t,
                    response,
                    ..
                } if session == me && t == tag => result = Some(Ok(response.into())),
                Event::RequestFailed {
                    session,
                    tag: t,
                    error,
                } if session == me && t == tag => result = Some(Err(error)),
                Event::SessionReset(s) if s == me && result.is_none() => {
                    result = Some(Err(RpcError::SessionReset))
                }
                _ => {}
            });
            if let Some(r) = result {
                return r;
            }
            if Instant::now() >= deadline {
                return Err(RpcError::TimedOut);
            }
        }
    }

    /// The endpoint, e.g. to read its stats.
    pub fn endpoint(&self) -> &Endpoint<T> {
        &self.endpoint
    }

    /// The endpoint, e.g. to open more sessions.
    pub fn endpoint_mut(&mut self) -> &mut Endpoint<T> {
        &mut self.endpoint
    }

    /// The endpoint and the connected session, for a caller that used
    /// [`connect_with`](Self::connect_with) only for the handshake and
    /// drives the endpoint itself from here on. Free; cannot fail. Requests
    /// the client left outstanding stay outstanding on the endpoint.
    pub fn into_parts(self) -> (Endpoint<T>, SessionId) {
        (self.endpoint, self.session)
    }
}
