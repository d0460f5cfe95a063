//! Workspaces: a task's own git worktree and branch (`workspace`, one per task while it
//! exists), and archives of removed ones (`workspace_archive`: a git bundle in the data folder
//! holding the branch's commits and a snapshot commit of its uncommitted and untracked files).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Workspace {
    Table,
    TaskId,
    ProjectId,
    Path,
    Branch,
    BaseBranch,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WorkspaceArchive {
    Table,
    Id,
    TaskId,
    ProjectId,
    Branch,
    BaseBranch,
    HeadCommit,
    SnapshotCommit,
    Bundle,
    Files,
    Bytes,
    CreatedAt,
    RestoredAt,
}

#[derive(DeriveIden)]
enum Task {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Project {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Workspace::Table)
                    .col(
                        ColumnDef::new(Workspace::TaskId)
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Workspace::ProjectId)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Workspace::Path).text().not_null())
                    .col(ColumnDef::new(Workspace::Branch).string_len(255).not_null())
                    .col(
                        ColumnDef::new(Workspace::BaseBranch)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Workspace::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Workspace::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workspace_task")
                            .from(Workspace::Table, Workspace::TaskId)
                            .to(Task::Table, Task::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workspace_project")
                            .from(Workspace::Table, Workspace::ProjectId)
                            .to(Project::Table, Project::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WorkspaceArchive::Table)
                    .col(
                        ColumnDef::new(WorkspaceArchive::Id)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WorkspaceArchive::TaskId)
                            .string_len(128)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WorkspaceArchive::ProjectId)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkspaceArchive::Branch)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkspaceArchive::BaseBranch)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkspaceArchive::HeadCommit)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkspaceArchive::SnapshotCommit)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(WorkspaceArchive::Bundle).text().not_null())
                    .col(ColumnDef::new(WorkspaceArchive::Files).integer().not_null())
                    .col(
                        ColumnDef::new(WorkspaceArchive::Bytes)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkspaceArchive::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkspaceArchive::RestoredAt)
                            .big_integer()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workspace_archive_task")
                            .from(WorkspaceArchive::Table, WorkspaceArchive::TaskId)
                            .to(Task::Table, Task::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workspace_archive_project")
                            .from(WorkspaceArchive::Table, WorkspaceArchive::ProjectId)
                            .to(Project::Table, Project::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_workspace_archive_project")
                    .table(WorkspaceArchive::Table)
                    .col(WorkspaceArchive::ProjectId)
                    .col(WorkspaceArchive::CreatedAt)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WorkspaceArchive::Table).take())
            .await?;
        manager
            .drop_table(Table::drop().table(Workspace::Table).take())
            .await
    }
}
