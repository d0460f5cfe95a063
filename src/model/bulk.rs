//! One operation on many tasks, and a project's numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum BulkOperation {
    /// `data: {"status": …}`
    UpdateStatus,
    /// `data: {"priority": …}`
    SetPriority,
    /// `data: {"tags": […]}`
    AddTags,
    /// `data: {"tags": […]}`
    RemoveTags,
    Delete,
    /// `data`: what `execute` takes (`agentId`, `maxAttempts`, `loop`, …).
    Execute,
    /// `data: {"reason": …}` (optional).
    Cancel,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkRequest {
    pub operation: BulkOperation,
    /// 1–500 task ids.
    #[schema(min_items = 1, max_items = 500)]
    pub task_ids: Vec<String>,
    /// What the operation needs (see `operation`).
    #[serde(default)]
    #[schema(schema_with = super::schema::object_or_null)]
    pub data: Option<serde_json::Value>,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkFailure {
    pub id: String,
    pub error: String,
    pub code: String,
}

/// Each task's change is applied whole or not at all; the others go on.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    pub operation: BulkOperation,
    pub affected_count: u32,
    pub successful: Vec<String>,
    pub failed: Vec<BulkFailure>,
}

/// `GET /api/projects/{id}/stats`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectStats {
    /// Tasks by status (every status, zeros included).
    pub tasks: BTreeMap<String, u32>,
    /// Ended runs by end reason (every reason, zeros included).
    pub runs: BTreeMap<String, u32>,
    /// Sessions with a live process.
    pub running_sessions: u32,
    /// Tasks waiting in the queue (not counting blocked ones).
    pub queued: u32,
    pub blocked: u32,
    pub messages: MessageStats,
    /// Disk used by each task's worktree (its files; git's objects are shared).
    pub workspaces: Vec<WorkspaceDisk>,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceDisk {
    pub task_id: String,
    pub branch: String,
    pub bytes: u64,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageStats {
    pub count: u32,
    /// Bytes of message bodies.
    pub bytes: u64,
}
