//! The audit log's shapes: one record per change asked of Baton, and the query that reads them.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One change asked of Baton through any door.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// The record's place in the log (increasing).
    pub seq: i64,
    /// When, in Unix milliseconds.
    pub at: i64,
    /// `user`, `desktop`, `session:<id>` or `system`.
    pub actor: String,
    /// `http`, `cli`, `mcp` or `desktop`.
    pub door: String,
    /// The route (`POST /api/tasks/{id}/subtasks`) or desktop command (`create_task`).
    pub operation: String,
    /// The ids the operation named or created.
    pub targets: Vec<String>,
    /// The outcome, as an HTTP status (a desktop command's error maps to the same status).
    pub status: u16,
    /// The request body with secrets replaced by `[redacted]`.
    pub body: Option<serde_json::Value>,
}

/// Filters and paging of `GET /api/audit` (newest first).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListAudit {
    /// Exactly this actor (`user`, `desktop`, `session:<id>`).
    pub actor: Option<String>,
    /// Operations containing this text (`POST /api/tasks`, `/subtasks`, `create_task`).
    pub operation: Option<String>,
    /// Records naming this id.
    pub target: Option<String>,
    /// From this time on (Unix ms, inclusive).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub since: Option<String>,
    /// Before this time (Unix ms, exclusive).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub until: Option<String>,
    /// Records older than this `seq` (the next page: the last `seq` of this one).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub before: Option<String>,
    /// 1–1000, default 100.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}
