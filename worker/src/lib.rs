//! tern-worker: per-core worker loops that run each request in a fresh
//! wasmtime sandbox.

pub mod clock;
pub mod state;
