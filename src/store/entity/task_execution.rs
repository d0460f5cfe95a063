//! The `task_execution` table: the durable queue. One row per task asked to execute; its state
//! says where the task is in the queue (`queued`, `blocked`, `running`) or how it ended.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task_execution")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: String,
    pub project_id: String,
    pub agent_id: Option<String>,
    pub state: String,
    /// Why it is blocked, failed or cancelled.
    pub reason: Option<String>,
    pub attempt: i32,
    pub max_attempts: i32,
    pub loop_max_runs: Option<i32>,
    pub loop_cooldown_ms: Option<i64>,
    /// Runs started in this attempt (a loop counts them).
    pub runs: i32,
    /// The session its runs run in (made by the first run).
    pub session_id: Option<String>,
    /// Its task's priority rank (a copy, kept in step by every write that changes either): the
    /// queue's order, served by an index with the state and `queued_at`.
    pub priority: i16,
    /// When it entered the queue (the order within a priority).
    pub queued_at: Option<i64>,
    /// Not admitted before this time (backoff after a failure, a loop's cooldown).
    pub not_before: Option<i64>,
    /// Its cost limit in millionths of a US dollar: past it, no new run of the task starts.
    pub cost_limit_micros: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Its task: read with it where both are needed (one query, not two).
    #[sea_orm(
        belongs_to = "super::task::Entity",
        from = "Column::TaskId",
        to = "super::task::Column::Id"
    )]
    Task,
}

impl Related<super::task::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Task.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The cost limit in US dollars.
    pub fn cost_limit_usd(&self) -> Option<f64> {
        self.cost_limit_micros.map(|m| m as f64 / 1e6)
    }
}

/// US dollars as stored: millionths, rounded.
pub fn micros(usd: f64) -> i64 {
    (usd * 1e6).round() as i64
}
