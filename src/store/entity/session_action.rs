//! The `session_action` table: something an agent asks the person to decide — today a
//! permission request for a tool — pending until allowed, denied or expired.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_action")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub session_id: String,
    pub project_id: String,
    /// `permission`.
    pub kind: String,
    pub tool: String,
    /// One line saying what the tool would do (its command, file, …).
    pub summary: String,
    /// The tool's input as the agent sent it (JSON).
    pub input: String,
    /// `pending`, `allowed`, `denied`, `expired`.
    pub status: String,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
