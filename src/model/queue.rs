//! Executing tasks: what `execute` asks, where a task stands in the queue, and the queue itself.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Priority, Run, Task};

/// Restart until done: when a run ends and the task is not done, start it again.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoopSpec {
    /// At most this many runs (1–1000); then the task fails.
    #[schema(minimum = 1, maximum = 1000)]
    pub max_runs: u32,
    /// Wait this long between runs (0–86400000 ms; default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 86400000)]
    pub cooldown_ms: u64,
}

#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecuteTask {
    /// The agent profile to run; default: the project's `defaultAgentId` setting.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Sets the task's priority (its place in the queue).
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Attempts before the task fails (1–100; default 1: no retry).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub max_attempts: Option<u32>,
    #[serde(default, rename = "loop")]
    pub loop_spec: Option<LoopSpec>,
    /// A cost limit in US dollars (> 0): once the task's agents used that much (priced by the
    /// price table), its current run goes on but no new run starts and the task fails, saying
    /// so. Execute again with a higher limit to go on.
    #[serde(default)]
    #[schema(exclusive_minimum = 0.0)]
    pub cost_limit_usd: Option<f64>,
}

#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelTask {
    #[serde(default)]
    pub reason: Option<String>,
}

/// Where an executed task stands.
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
pub enum ExecutionState {
    /// Waiting for a free slot.
    Queued,
    /// Waiting for its dependencies.
    Blocked,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl ExecutionState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// Still to run, or running.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ExecutionState::Queued | ExecutionState::Blocked | ExecutionState::Running
        )
    }
}

/// A task's execution: shown on the task as `execution` once it was asked to execute.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub state: ExecutionState,
    pub agent_id: Option<String>,
    /// Why it is blocked, failed or cancelled.
    pub reason: Option<String>,
    /// 1, 2, … (a retry, or a failed run with attempts left, is the next).
    pub attempt: u32,
    pub max_attempts: u32,
    #[serde(rename = "loop")]
    pub loop_spec: Option<LoopSpec>,
    /// Runs started in this attempt.
    pub runs: u32,
    /// The session its runs run in.
    pub session_id: Option<String>,
    /// 1 = next to start; only while queued.
    pub queue_position: Option<u32>,
    pub queued_at: Option<i64>,
    /// Not started before this time (a backoff, a loop's cooldown).
    pub not_before: Option<i64>,
    /// Its cost limit in US dollars, when `execute` set one.
    pub cost_limit_usd: Option<f64>,
}

/// The answer to `execute`: queued (with its place), blocked (with why), or started.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Executed {
    pub status: ExecutionState,
    pub queue_position: Option<u32>,
    /// The run, when it started at once.
    pub run: Option<Run>,
    pub task: Task,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedByPriority {
    pub high: u32,
    pub medium: u32,
    pub low: u32,
    pub total: u32,
}

/// `GET /api/queue`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    /// Runs the queue keeps going at once, over all projects.
    pub max_concurrent: u32,
    /// Runs the queue started that are alive now.
    pub running: u32,
    pub queued: QueuedByPriority,
    /// Tasks waiting for their dependencies.
    pub blocked: u32,
    /// The whole queue is paused: nothing new starts.
    pub paused: bool,
    /// Projects whose part of the queue is paused.
    pub paused_projects: Vec<String>,
    /// Executions that ended in the last hour: completed and failed.
    pub completed_last_hour: u32,
    pub failed_last_hour: u32,
    /// completed / (completed + failed) in the last hour; null when none ended.
    pub success_rate: Option<f64>,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueuePatch {
    /// 1–64.
    #[schema(minimum = 1, maximum = 64)]
    pub max_concurrent: u32,
}

/// Pause or resume all, or one project.
#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueScope {
    #[serde(default)]
    pub project_id: Option<String>,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClearQueue {
    /// Must be true: every queued task goes back to `pending`.
    pub confirm: bool,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueuePriority {
    pub task_ids: Vec<String>,
    pub priority: Priority,
}

/// How many tasks a queue operation changed.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Affected {
    pub affected_count: u32,
}
