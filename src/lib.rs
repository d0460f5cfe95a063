//! Baton's core: store, service layer, event bus and the loopback API, with no GUI library.
//! The `baton` binary (headless server and CLI) and the desktop shell are thin layers on top.

pub mod api;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod events;
pub mod mcp;
pub mod metrics;
pub mod model;
pub mod pty;
pub mod security;
pub mod server;
pub mod service;
pub mod store;
