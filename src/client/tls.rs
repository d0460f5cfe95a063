//! The TLS crypto provider of every HTTP client Baton makes (the CLI's, `baton mcp`'s, webhook
//! deliveries'). rustls picks one by itself only when exactly one provider is compiled in; a
//! dependency that enables a second (aws-lc-rs next to our ring) makes it panic at the first
//! client built. Choosing ring explicitly, once per process, takes that off the table.

use std::sync::Once;

/// Installs ring as the process's rustls provider, unless one is installed already.
pub fn choose_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if rustls::crypto::ring::default_provider()
            .install_default()
            .is_err()
        {
            tracing::debug!("a rustls crypto provider was already chosen; keeping it");
        }
    });
}
