//! The `workspace_archive` table: a removed workspace kept as a git bundle in the data folder
//! (the branch's commits and a snapshot commit of its uncommitted and untracked files).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workspace_archive")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub task_id: Option<String>,
    pub project_id: String,
    pub branch: String,
    pub base_branch: String,
    /// The branch's last commit when archived.
    pub head_commit: String,
    /// A commit on top of `head_commit` holding the worktree's files as they were.
    pub snapshot_commit: String,
    /// The bundle file, relative to the data folder.
    pub bundle: String,
    pub files: i32,
    pub bytes: i64,
    pub created_at: i64,
    pub restored_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
