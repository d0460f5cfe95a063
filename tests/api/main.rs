//! Integration tests of the `baton` binary: a real server on 127.0.0.1, a real SQLite file, real
//! HTTP and WebSocket clients. No in-process shortcuts.

mod common;
mod events;
mod messages;
mod persistence;
mod projects;
mod security;
mod sessions;
mod tasks;
mod terminals;
