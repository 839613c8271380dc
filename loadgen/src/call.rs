//! `loadgen call`: one invocation with its output and timings (the `curl` of
//! Tern).

use std::io::{self, Write};
use std::time::{Duration, Instant};

use tern_rpc::transport::{Role, TransportAddr};
use tern_rpc::{Client, EndpointConfig, Response, RpcError};

use crate::error::LoadgenError;

/// The result of one call.
#[derive(Clone, Debug)]
pub struct CallOutcome {
    /// What the server answered.
    pub response: Response,
    /// Time to open the session (connect → connect-ack).
    pub connect: Duration,
    /// Time from sending the request to the whole response arriving.
    pub round_trip: Duration,
}

/// Connects to `server`, sends one request of `request_type` with `body`,
/// and waits up to `timeout` for each of the connect and the answer.
pub fn call(
    server: &TransportAddr,
    request_type: u16,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<CallOutcome, LoadgenError> {
    let server_err = |why: String| LoadgenError::Server {
        server: server.to_string(),
        why,
    };
    let transport = server.open(Role::Client)?;
    let t0 = Instant::now();
    let mut client =
        Client::connect_with(transport, server.addr(), EndpointConfig::default(), timeout)
            .map_err(|e| server_err(format!("connect: {e}{}", connect_hint(&e))))?;
    let connect = t0.elapsed();
    let t1 = Instant::now();
    let response = client
        .call(request_type, body, timeout)
        .map_err(|e| server_err(format!("call: {e}")))?;
    Ok(CallOutcome {
        response,
        connect,
        round_trip: t1.elapsed(),
    })
}

/// What to add to a connect error: whether the server runs is the question
/// only when nothing answered; a server that refused is running.
fn connect_hint(e: &RpcError) -> &'static str {
    match e {
        RpcError::ConnectFailed(why) if why.starts_with("refused") => "",
        _ => " (is the server running?)",
    }
}

/// Writes a response payload the way curl does: to a terminal, as
/// [`printable`] text ending in one newline; to a pipe or file, the bytes
/// exactly as received, nothing added (so `loadgen call ... > out.bin`
/// keeps binary output intact).
pub fn write_payload(out: &mut impl Write, payload: &[u8], terminal: bool) -> io::Result<()> {
    if terminal {
        writeln!(out, "{}", printable(payload).trim_end())
    } else {
        out.write_all(payload)
    }?;
    out.flush()
}

/// A payload for a terminal: the text itself when it is UTF-8 without
/// control characters (other than whitespace), else its length and the
/// first bytes in hex.
pub fn printable(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(s) if !s.chars().any(|c| c.is_control() && !c.is_whitespace()) => s.to_string(),
        _ => {
            let head: Vec<String> = payload
                .iter()
                .take(32)
                .map(|b| format!("{b:02x}"))
                .collect();
            format!(
                "<{} bytes: {}{}>",
                payload.len(),
                head.join(" "),
                if payload.len() > 32 { " ..." } else { "" }
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_print_as_text_or_hex() {
        assert_eq!(printable(b"55\n"), "55\n");
        assert_eq!(printable(&[0, 1, 255]), "<3 bytes: 00 01 ff>");
        assert!(printable(&[0; 40]).ends_with("...>"));
    }

    #[test]
    fn payloads_to_a_pipe_are_the_bytes_unchanged() {
        let binary = [0u8, 159, 10, 255];
        let mut out = Vec::new();
        write_payload(&mut out, &binary, false).unwrap();
        assert_eq!(out, binary, "nothing added, nothing escaped");
        let mut out = Vec::new();
        write_payload(&mut out, b"55\n", true).unwrap();
        assert_eq!(out, b"55\n", "one newline on a terminal");
        let mut out = Vec::new();
        write_payload(&mut out, b"55", true).unwrap();
        assert_eq!(out, b"55\n");
    }

    #[test]
    fn only_an_unanswered_connect_asks_whether_the_server_runs() {
        let refused = RpcError::ConnectFailed("refused by server: too many sessions".into());
        assert_eq!(connect_hint(&refused), "");
        let silent = RpcError::ConnectFailed("no answer from 127.0.0.1:9 within 1s".into());
        assert_eq!(connect_hint(&silent), " (is the server running?)");
    }
}
