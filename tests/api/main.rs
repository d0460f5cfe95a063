//! Integration tests of the `baton` binary: a real server on 127.0.0.1, a real SQLite file, real
//! HTTP and WebSocket clients. No in-process shortcuts.

mod audit;
mod authorization;
mod claude;
mod cli;
mod codex;
mod common;
mod concurrency;
mod events;
mod gemini;
mod leaks;
mod limits;
mod mcp;
mod messages;
mod model_server;
mod observability;
mod persistence;
mod projects;
mod queue;
mod safety;
mod screens;
mod secrets;
mod security;
mod sessions;
mod signals;
mod streams;
mod tasks;
mod terminals;
mod webhooks;
mod workspaces;
