//! The `session` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub agent_id: Option<String>,
    /// JSON array of strings: the argv, never a shell string.
    pub command: String,
    pub cwd: Option<String>,
    /// JSON object of strings.
    pub env: String,
    pub status: String,
    pub pid: Option<i32>,
    pub exit_code: Option<i32>,
    /// The signal that ended the process (`SIGTERM`, …).
    pub signal: Option<String>,
    /// The last status line the agent reported (`baton status`).
    pub status_text: Option<String>,
    /// The last percentage the agent reported (`baton progress`), 0–100.
    pub progress: Option<i32>,
    pub started_at: Option<i64>,
    pub last_activity: Option<i64>,
    pub completed_at: Option<i64>,
    /// JSON: the launch settings restarts and retries reuse (size, how waiting is detected, the
    /// prompt to type); argv, cwd and env are the columns above.
    pub launch: Option<String>,
    /// The agent's own id for its conversation (Claude's `--session-id`), for resuming it.
    pub conversation_id: Option<String>,
    /// The agent reported its usage limit: nothing of its kind starts before this (Unix ms).
    pub limited_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
