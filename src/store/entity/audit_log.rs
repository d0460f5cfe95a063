//! The `audit_log` table: one change asked of Baton, through any door (see `service::audit`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// `user`, `desktop`, `session:<id>` or `system`.
    pub actor: String,
    /// `http`, `cli`, `mcp` or `desktop`.
    pub door: String,
    /// `POST /api/tasks/{id}/subtasks`, or a desktop command's name.
    pub operation: String,
    /// JSON array of the ids named or created.
    pub targets: String,
    /// The outcome, as an HTTP status.
    pub status: i32,
    /// The request body, redacted (JSON text).
    pub body: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
