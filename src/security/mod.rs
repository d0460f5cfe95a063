//! Secrets: the admin token that guards the loopback API, the per-session tokens agents get,
//! the signatures of webhook deliveries, and the rules that hide secrets wherever Baton shows or
//! keeps what it was given.

pub mod redact;
mod session_tokens;
pub mod signature;
mod token;

pub use session_tokens::{Grant, SessionTokens, Starting};
pub use token::{AdminToken, SharedToken, TokenError};
