//! The initial schema: projects, tasks (with subtasks, tags, dependencies and history), sessions
//! and their task links, messages and agent profiles.
//!
//! Times are Unix milliseconds in `BIGINT` columns; JSON documents (argv arrays, environments,
//! settings, parent ids) are `TEXT` holding JSON, parsed by the store, so that both backends treat
//! them alike. Child rows are removed with their parent through `ON DELETE CASCADE`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Project {
    Table,
    Id,
    Name,
    BasePath,
    Settings,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Task {
    Table,
    Id,
    ProjectId,
    Title,
    Description,
    Prompt,
    Status,
    Priority,
    CompletedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TaskTag {
    Table,
    TaskId,
    Tag,
}

#[derive(DeriveIden)]
enum Subtask {
    Table,
    Id,
    TaskId,
    Title,
    Status,
    Position,
    CompletedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TaskDependency {
    Table,
    TaskId,
    DependsOnId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TaskHistory {
    Table,
    Id,
    TaskId,
    Action,
    Field,
    OldValue,
    NewValue,
    Actor,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Session {
    Table,
    Id,
    ProjectId,
    Name,
    AgentId,
    Command,
    Cwd,
    Env,
    Status,
    Pid,
    ExitCode,
    StartedAt,
    LastActivity,
    CompletedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SessionTask {
    Table,
    SessionId,
    TaskId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Message {
    Table,
    Seq,
    Id,
    ProjectId,
    TaskId,
    SessionId,
    Type,
    Body,
    ParentIds,
    Author,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AgentProfile {
    Table,
    Id,
    Name,
    Program,
    Args,
    Env,
    PromptMode,
    Builtin,
    CreatedAt,
    UpdatedAt,
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().take()
}

fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().null().take()
}

fn id_pk(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .string_len(128)
        .not_null()
        .primary_key()
        .take()
}

fn id_ref(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string_len(128).not_null().take()
}

fn millis(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().take()
}

fn millis_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().null().take()
}

fn cascade(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Project::Table)
                    .col(id_pk(Project::Id))
                    .col(text(Project::Name))
                    .col(text_null(Project::BasePath))
                    .col(text(Project::Settings))
                    .col(millis(Project::CreatedAt))
                    .col(millis(Project::UpdatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Task::Table)
                    .col(id_pk(Task::Id))
                    .col(id_ref(Task::ProjectId))
                    .col(text(Task::Title))
                    .col(text(Task::Description))
                    .col(text(Task::Prompt))
                    .col(ColumnDef::new(Task::Status).string_len(32).not_null())
                    .col(ColumnDef::new(Task::Priority).small_integer().not_null())
                    .col(millis_null(Task::CompletedAt))
                    .col(millis(Task::CreatedAt))
                    .col(millis(Task::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_task_project",
                        (Task::Table, Task::ProjectId),
                        (Project::Table, Project::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_task_project_status")
                    .table(Task::Table)
                    .col(Task::ProjectId)
                    .col(Task::Status)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TaskTag::Table)
                    .col(id_ref(TaskTag::TaskId))
                    .col(ColumnDef::new(TaskTag::Tag).string_len(64).not_null())
                    .primary_key(Index::create().col(TaskTag::TaskId).col(TaskTag::Tag))
                    .foreign_key(&mut cascade(
                        "fk_task_tag_task",
                        (TaskTag::Table, TaskTag::TaskId),
                        (Task::Table, Task::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_task_tag_tag")
                    .table(TaskTag::Table)
                    .col(TaskTag::Tag)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Subtask::Table)
                    .col(id_pk(Subtask::Id))
                    .col(id_ref(Subtask::TaskId))
                    .col(text(Subtask::Title))
                    .col(ColumnDef::new(Subtask::Status).string_len(32).not_null())
                    .col(ColumnDef::new(Subtask::Position).integer().not_null())
                    .col(millis_null(Subtask::CompletedAt))
                    .col(millis(Subtask::CreatedAt))
                    .col(millis(Subtask::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_subtask_task",
                        (Subtask::Table, Subtask::TaskId),
                        (Task::Table, Task::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_subtask_task")
                    .table(Subtask::Table)
                    .col(Subtask::TaskId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TaskDependency::Table)
                    .col(id_ref(TaskDependency::TaskId))
                    .col(id_ref(TaskDependency::DependsOnId))
                    .col(millis(TaskDependency::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(TaskDependency::TaskId)
                            .col(TaskDependency::DependsOnId),
                    )
                    .foreign_key(&mut cascade(
                        "fk_task_dependency_task",
                        (TaskDependency::Table, TaskDependency::TaskId),
                        (Task::Table, Task::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_task_dependency_depends_on",
                        (TaskDependency::Table, TaskDependency::DependsOnId),
                        (Task::Table, Task::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_task_dependency_depends_on")
                    .table(TaskDependency::Table)
                    .col(TaskDependency::DependsOnId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TaskHistory::Table)
                    .col(
                        ColumnDef::new(TaskHistory::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(id_ref(TaskHistory::TaskId))
                    .col(
                        ColumnDef::new(TaskHistory::Action)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(text_null(TaskHistory::Field))
                    .col(text_null(TaskHistory::OldValue))
                    .col(text_null(TaskHistory::NewValue))
                    .col(text(TaskHistory::Actor))
                    .col(millis(TaskHistory::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_task_history_task",
                        (TaskHistory::Table, TaskHistory::TaskId),
                        (Task::Table, Task::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_task_history_task")
                    .table(TaskHistory::Table)
                    .col(TaskHistory::TaskId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Session::Table)
                    .col(id_pk(Session::Id))
                    .col(id_ref(Session::ProjectId))
                    .col(text(Session::Name))
                    .col(text_null(Session::AgentId))
                    .col(text(Session::Command))
                    .col(text_null(Session::Cwd))
                    .col(text(Session::Env))
                    .col(ColumnDef::new(Session::Status).string_len(32).not_null())
                    .col(ColumnDef::new(Session::Pid).integer().null())
                    .col(ColumnDef::new(Session::ExitCode).integer().null())
                    .col(millis_null(Session::StartedAt))
                    .col(millis_null(Session::LastActivity))
                    .col(millis_null(Session::CompletedAt))
                    .col(millis(Session::CreatedAt))
                    .col(millis(Session::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_session_project",
                        (Session::Table, Session::ProjectId),
                        (Project::Table, Project::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_session_project_status")
                    .table(Session::Table)
                    .col(Session::ProjectId)
                    .col(Session::Status)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SessionTask::Table)
                    .col(id_ref(SessionTask::SessionId))
                    .col(id_ref(SessionTask::TaskId))
                    .col(millis(SessionTask::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(SessionTask::SessionId)
                            .col(SessionTask::TaskId),
                    )
                    .foreign_key(&mut cascade(
                        "fk_session_task_session",
                        (SessionTask::Table, SessionTask::SessionId),
                        (Session::Table, Session::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_session_task_task",
                        (SessionTask::Table, SessionTask::TaskId),
                        (Task::Table, Task::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_session_task_task")
                    .table(SessionTask::Table)
                    .col(SessionTask::TaskId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Message::Table)
                    .col(
                        ColumnDef::new(Message::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Message::Id)
                            .string_len(128)
                            .not_null()
                            .unique_key(),
                    )
                    .col(id_ref(Message::ProjectId))
                    .col(ColumnDef::new(Message::TaskId).string_len(128).null())
                    .col(ColumnDef::new(Message::SessionId).string_len(128).null())
                    .col(ColumnDef::new(Message::Type).string_len(32).not_null())
                    .col(text(Message::Body))
                    .col(text(Message::ParentIds))
                    .col(text(Message::Author))
                    .col(millis(Message::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_message_project",
                        (Message::Table, Message::ProjectId),
                        (Project::Table, Project::Id),
                    ))
                    // A message outlives the task or session it was about: the link is cleared,
                    // the message stays in the project's log.
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_message_task")
                            .from(Message::Table, Message::TaskId)
                            .to(Task::Table, Task::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_message_session")
                            .from(Message::Table, Message::SessionId)
                            .to(Session::Table, Session::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_message_project")
                    .table(Message::Table)
                    .col(Message::ProjectId)
                    .col(Message::Seq)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AgentProfile::Table)
                    .col(id_pk(AgentProfile::Id))
                    .col(text(AgentProfile::Name))
                    .col(text(AgentProfile::Program))
                    .col(text(AgentProfile::Args))
                    .col(text(AgentProfile::Env))
                    .col(
                        ColumnDef::new(AgentProfile::PromptMode)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AgentProfile::Builtin).boolean().not_null())
                    .col(millis(AgentProfile::CreatedAt))
                    .col(millis(AgentProfile::UpdatedAt))
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AgentProfile::Table.into_iden(),
            Message::Table.into_iden(),
            SessionTask::Table.into_iden(),
            Session::Table.into_iden(),
            TaskHistory::Table.into_iden(),
            TaskDependency::Table.into_iden(),
            Subtask::Table.into_iden(),
            TaskTag::Table.into_iden(),
            Task::Table.into_iden(),
            Project::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
