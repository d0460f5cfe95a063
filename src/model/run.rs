//! Runs: every start of a session's process, with how it ended and the part of the session log
//! it wrote.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a run ended.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EndReason {
    /// The process ended by itself (its exit code says how).
    Exited,
    /// The person (or a script) stopped it.
    Stopped,
    /// Its task was cancelled.
    Cancelled,
    /// Baton went away while it ran (shut down, or crashed).
    Interrupted,
    /// Its process could not be started.
    FailedToStart,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub id: String,
    pub session_id: String,
    pub project_id: String,
    /// The task the queue started it for; none for a session started by hand.
    pub task_id: Option<String>,
    /// 1, 2, … within its session (a restart is the next number).
    pub number: u32,
    /// The task's attempt it belongs to.
    pub attempt: Option<u32>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    /// Null while it runs.
    pub end_reason: Option<EndReason>,
    /// The byte range of the session's log it wrote: `[logStart, logEnd)`; `logEnd` is null
    /// while it runs. `GET /api/runs/{id}/output` reads it.
    pub log_start: u64,
    pub log_end: Option<u64>,
}
