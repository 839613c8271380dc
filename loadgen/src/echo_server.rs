//! A tern-rpc server with no workers: it answers every request at once from
//! its poll loop. `loadgen echo-server` runs it so that loadgen's own limit
//! can be measured (nothing behind the RPC layer can be slower), and tests
//! use [`EchoServer::spawn_with`] to build servers that misbehave on purpose
//! (e.g. stall once).

use std::net::SocketAddrV4;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use tern_rpc::transport::udp::UdpTransport;
use tern_rpc::{
    Ctl, Endpoint, EndpointConfig, IdleMode, IncomingRequest, Response, Service, Status,
};

use crate::error::LoadgenError;
use tern_rpc::transport::TransportAddr;

/// How a server answers one request: `(request type, body) → response`.
pub trait Handler: FnMut(u16, Vec<u8>) -> Response + Send + 'static {}
impl<F: FnMut(u16, Vec<u8>) -> Response + Send + 'static> Handler for F {}

/// The echo handler: status ok, the request body back, zero server times.
pub fn echo(_req_type: u16, body: Vec<u8>) -> Response {
    Response {
        status: Status::Ok,
        queue_ns: 0,
        exec_ns: 0,
        payload: body,
    }
}

/// Serves requests with `handler` on the calling thread until `stop` is
/// set, counting answered requests in `served`. The handler runs on the poll
/// thread, so a slow handler stalls the whole server (which is what the
/// stall tests want). Each request body is handed to the handler as a
/// `Vec` (a copy of a single-packet body, the reassembly buffer of a larger
/// one).
pub fn serve(
    endpoint: &mut Endpoint<UdpTransport>,
    idle: IdleMode,
    stop: &AtomicBool,
    served: &AtomicU64,
    handler: impl FnMut(u16, Vec<u8>) -> Response,
) {
    tern_rpc::serve(
        endpoint,
        idle,
        stop,
        &mut HandlerService { handler, served },
    );
}

/// A [`Handler`] as a [`Service`]: answers each request at once.
struct HandlerService<'a, H> {
    handler: H,
    served: &'a AtomicU64,
}

impl<H: FnMut(u16, Vec<u8>) -> Response> Service for HandlerService<'_, H> {
    fn on_request(&mut self, ctl: &mut Ctl<'_>, request: IncomingRequest<'_>) {
        // A stale token (the client reset meanwhile) is not our problem.
        let response = (self.handler)(request.req_type, request.payload.into_owned());
        if ctl.respond(request.token, response).is_ok() {
            self.served.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A server running [`serve`] on its own thread; stopped on drop.
pub struct EchoServer {
    addr: SocketAddrV4,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl EchoServer {
    /// Binds `listen` (port 0 picks one) and answers with [`echo`].
    pub fn spawn(listen: SocketAddrV4, idle: IdleMode) -> Result<EchoServer, LoadgenError> {
        Self::spawn_with(listen, idle, echo)
    }

    /// Binds `listen` and answers with `handler` on a new thread. Returns
    /// once the socket is bound, so clients may connect at once.
    pub fn spawn_with(
        listen: SocketAddrV4,
        idle: IdleMode,
        handler: impl Handler,
    ) -> Result<EchoServer, LoadgenError> {
        let transport = UdpTransport::bind(listen)
            .map_err(|e| LoadgenError::io(format!("binding {listen}"), e))?;
        let mut endpoint = Endpoint::new(transport, EndpointConfig::default());
        let addr = endpoint.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        let (s, n) = (stop.clone(), served.clone());
        let thread = std::thread::Builder::new()
            .name("echo-server".into())
            .spawn(move || serve(&mut endpoint, idle, &s, &n, handler))
            .map_err(|e| LoadgenError::io("spawning the echo server thread", e))?;
        Ok(EchoServer {
            addr,
            stop,
            served,
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddrV4 {
        self.addr
    }

    /// The `udp://` URL of the server.
    pub fn url(&self) -> TransportAddr {
        TransportAddr::Udp(self.addr)
    }

    /// Requests answered so far.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Stops the server thread and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
