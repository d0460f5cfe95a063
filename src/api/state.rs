//! What every handler can reach: the service layer and the server's shutdown signal.

use tokio_util::sync::CancellationToken;

use crate::service::Service;

#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    /// Cancelled when the server shuts down; long-lived connections (WebSockets) close on it.
    pub shutdown: CancellationToken,
}
