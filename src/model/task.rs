//! Tasks, their subtasks, dependencies and history.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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
    clap::ValueEnum,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TaskStatus {
    Pending,
    Queued,
    InProgress,
    Blocked,
    Completed,
    Failed,
    Cancelled,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    clap::ValueEnum,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The number stored in the database; it sorts low < medium < high.
    pub fn rank(self) -> i16 {
        match self {
            Priority::Low => 0,
            Priority::Medium => 1,
            Priority::High => 2,
        }
    }

    pub fn from_rank(rank: i16) -> Self {
        match rank {
            i16::MIN..=0 => Priority::Low,
            1 => Priority::Medium,
            _ => Priority::High,
        }
    }
}

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
pub enum SubtaskStatus {
    Pending,
    Completed,
}

impl SubtaskStatus {
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
pub struct Subtask {
    pub id: String,
    pub task_id: String,
    pub title: String,
    pub status: SubtaskStatus,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub description: String,
    pub prompt: String,
    pub status: TaskStatus,
    pub priority: Priority,
    pub tags: Vec<String>,
    /// Ids of the tasks this one depends on.
    pub depends_on: Vec<String>,
    pub subtasks: Vec<Subtask>,
    pub session_ids: Vec<String>,
    pub session_count: usize,
    /// Once asked to execute: where it stands in the queue, its attempt, its loop.
    pub execution: Option<super::Execution>,
    /// The message this task follows up, when it was made from one.
    pub thread_parent: Option<ThreadParent>,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
}

#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewTask {
    pub project_id: String,
    #[schema(schema_with = super::schema::title)]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub status: Option<TaskStatus>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    #[schema(schema_with = super::schema::tags_or_null)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub depends_on: Option<Vec<String>>,
    /// Make it a follow-up of a `QUESTION` or `FACT` message: the task is linked to it and a
    /// reply in the message's thread links back.
    #[serde(default)]
    pub thread_parent: Option<ThreadParent>,
}

/// The message a follow-up task answers.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThreadParent {
    pub message_id: String,
}

#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskPatch {
    #[serde(default)]
    #[schema(schema_with = super::schema::title_or_null)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub status: Option<TaskStatus>,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Replaces the tag list.
    #[serde(default)]
    #[schema(schema_with = super::schema::tags_or_null)]
    pub tags: Option<Vec<String>>,
    /// Accepted for Agent Maestro clients: the completion time to record when `status` becomes
    /// `completed` (defaults to now). Baton otherwise derives it from the status.
    #[serde(default, deserialize_with = "super::nullable")]
    #[cfg_attr(feature = "specta", specta(type = Option<i64>))]
    #[schema(value_type = Option<i64>)]
    pub completed_at: Option<Option<i64>>,
}

#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSubtask {
    #[schema(schema_with = super::schema::title)]
    pub title: String,
    #[serde(default)]
    pub status: Option<SubtaskStatus>,
}

#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubtaskPatch {
    #[serde(default)]
    #[schema(schema_with = super::schema::title_or_null)]
    pub title: Option<String>,
    #[serde(default)]
    pub status: Option<SubtaskStatus>,
}

#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetDependencies {
    /// The complete list of tasks this task depends on (replaces the old list).
    pub depends_on: Vec<String>,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SortField {
    #[default]
    CreatedAt,
    UpdatedAt,
    Priority,
    Title,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

/// Filters, sorting and paging of `GET /api/tasks`.
#[serde_with::skip_serializing_none]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListTasks {
    pub project_id: Option<String>,
    /// Comma-separated statuses, e.g. `pending,in_progress`.
    #[param(value_type = Option<Vec<TaskStatus>>, style = Form, explode = false, min_items = 1)]
    pub status: Option<String>,
    /// `low`, `medium` or `high`.
    #[param(value_type = Option<Vec<Priority>>, style = Form, explode = false, min_items = 1)]
    pub priority: Option<String>,
    /// Tasks carrying this tag.
    pub tag: Option<String>,
    /// Case-insensitive search in title, description and prompt.
    pub q: Option<String>,
    /// `createdAt` (default), `updatedAt`, `priority` or `title`.
    #[param(value_type = Option<SortField>)]
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    #[param(value_type = Option<SortOrder>)]
    pub order: Option<String>,
    /// At most this many tasks (1–1000, default 1000).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// Skip this many tasks (default 0).
    #[param(value_type = Option<u64>, minimum = 0)]
    pub offset: Option<String>,
}

/// One recorded change of a task.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub id: i64,
    pub task_id: String,
    /// `created`, `updated`, `subtask_added`, `subtask_updated`, `subtask_removed`,
    /// `dependencies_changed`, `session_linked`, `session_unlinked`, `dependency_deleted`.
    pub action: String,
    pub field: Option<String>,
    /// Any JSON value (a string, a number, a list…), or null.
    pub old_value: Option<serde_json::Value>,
    /// Any JSON value, or null.
    pub new_value: Option<serde_json::Value>,
    /// `user`, `session:<id>` or `system`.
    pub actor: String,
    pub created_at: i64,
}
