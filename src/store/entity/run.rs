//! The `run` table: one row per start of a session's process.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "run")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub session_id: String,
    /// The task the queue started it for (a manual session's runs have none).
    pub task_id: Option<String>,
    /// 1, 2, … within the session.
    pub number: i32,
    /// The task's attempt this run belongs to.
    pub attempt: Option<i32>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    /// `exited`, `stopped`, `cancelled`, `interrupted`, `limit`, `failed_to_start`.
    pub end_reason: Option<String>,
    /// The session log's byte range this run wrote: `[log_start, log_end)`.
    pub log_start: i64,
    pub log_end: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
