//! Secrets: the admin token that guards the loopback API.

mod token;

pub use token::{AdminToken, TokenError};
