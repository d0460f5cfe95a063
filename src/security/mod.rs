//! Secrets: the admin token that guards the loopback API, the per-session tokens agents get,
//! and the signatures of webhook deliveries.

mod session_tokens;
pub mod signature;
mod token;

pub use session_tokens::{Grant, SessionTokens};
pub use token::{AdminToken, SharedToken, TokenError};
