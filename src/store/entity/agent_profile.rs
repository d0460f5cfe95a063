//! The `agent_profile` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agent_profile")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub program: String,
    /// JSON array of strings.
    pub args: String,
    /// JSON object of strings.
    pub env: String,
    pub prompt_mode: String,
    pub builtin: bool,
    /// A regex: the agent waits for input when the last line on screen matches it.
    pub wait_pattern: Option<String>,
    /// Quiet this long (ms) and the agent counts as waiting.
    pub quiet_ms: i32,
    /// How Baton's MCP server is configured for this agent: `none`, `claude`, `codex`, `gemini`.
    pub mcp: String,
    /// A clean exit (0) of its agent means the task is done (batch agents such as `claude -p`).
    pub exit_means_done: bool,
    /// How its agent reports its state: `claude` (its hooks), `none` (output only).
    pub signals: String,
    /// How long its permission hook waits for a decision made in Baton (0: it does not).
    pub approval_wait_ms: i32,
    /// Once a usage limit it reported resets, Baton continues the session.
    pub resume_after_limit: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
