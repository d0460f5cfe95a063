//! What `GET /api/system/status` says about a running Baton.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemStatus {
    pub version: String,
    /// When this server started (Unix ms) and how long ago.
    pub started_at: i64,
    pub uptime_ms: u64,
    /// Sessions in the store by status (every status present, zero included).
    pub sessions: BTreeMap<String, u64>,
    /// Sessions with a live agent process.
    pub running_processes: u64,
    /// Bytes of terminal output read from agents since the server started.
    pub output_bytes: u64,
    pub queues: Queues,
    pub database: DatabaseStatus,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Queues {
    /// Webhook deliveries not yet delivered or given up.
    pub webhook_deliveries: u64,
    /// Subscribers of the event bus (WebSocket clients, SSE streams, the webhook dispatcher).
    pub event_subscribers: u64,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseStatus {
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub size_bytes: u64,
}
