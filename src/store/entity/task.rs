//! The `task` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub description: String,
    pub prompt: String,
    pub status: String,
    /// 0 low, 1 medium, 2 high: stored as a number so that sorting by priority is plain SQL.
    pub priority: i16,
    pub completed_at: Option<i64>,
    /// The `QUESTION` or `FACT` message this task follows up (`threadParent`).
    pub thread_message_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
