//! Secrets: the admin token that guards the loopback API, and the per-session tokens agents get.

mod session_tokens;
mod token;

pub use session_tokens::{Grant, SessionTokens};
pub use token::{AdminToken, SharedToken, TokenError};
