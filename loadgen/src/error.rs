//! The one error type of the loadgen library: every failure names what was
//! wrong (the flag, the file, the server), so the command line can print it
//! as is.

use std::io;

/// Why a loadgen operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    /// A `--mix` / `--body` / route problem.
    #[error("{0}")]
    Mix(String),
    /// A bad command-line value (rate list, server URL, duration, ...).
    #[error("{0}")]
    Usage(String),
    /// The spec file could not be loaded.
    #[error("spec: {0}")]
    Spec(String),
    /// The `--server` address does not parse or does not open.
    /// (Not a `#[source]`: its text is already in this one.)
    #[error("--server {0}")]
    Address(tern_rpc::transport::AddrError),
    /// Could not reach or talk to the server.
    #[error("server {server}: {why}")]
    Server {
        /// The server as given (`udp://127.0.0.1:9000`).
        server: String,
        /// What went wrong.
        why: String,
    },
    /// A CSV file could not be read or parsed.
    #[error("csv {path}: {why}")]
    Csv {
        /// The file.
        path: String,
        /// What went wrong (with the line number when there is one).
        why: String,
    },
    /// Drawing a plot failed.
    #[error("plot: {0}")]
    Plot(String),
    /// Any other I/O error, with what was being done.
    #[error("{what}: {cause}")]
    Io {
        /// What loadgen was doing.
        what: String,
        /// The underlying error (not a `#[source]`: its text is already in
        /// this one's, and `{:#}` would print it twice).
        cause: io::Error,
    },
}

impl From<tern_rpc::transport::AddrError> for LoadgenError {
    fn from(e: tern_rpc::transport::AddrError) -> Self {
        LoadgenError::Address(e)
    }
}

impl LoadgenError {
    /// Wraps an I/O error with what was being done.
    pub fn io(what: impl Into<String>, cause: io::Error) -> Self {
        LoadgenError::Io {
            what: what.into(),
            cause,
        }
    }
}
