//! Tasks that run themselves: every start of a session's process is a `run` (with the byte range
//! of the session log it wrote), a task asked to execute has a `task_execution` (the durable
//! queue: queued, blocked, running, with attempts and loops), the queue's own settings are
//! `queue_setting` rows, a session keeps the launch settings its restarts reuse, a profile says
//! whether its agent's clean exit means the task is done, and a follow-up task names the message
//! it answers.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Run {
    Table,
    Id,
    SessionId,
    TaskId,
    Number,
    Attempt,
    StartedAt,
    EndedAt,
    ExitCode,
    Signal,
    EndReason,
    LogStart,
    LogEnd,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TaskExecution {
    Table,
    TaskId,
    ProjectId,
    AgentId,
    State,
    Reason,
    Attempt,
    MaxAttempts,
    LoopMaxRuns,
    LoopCooldownMs,
    Runs,
    SessionId,
    QueuedAt,
    NotBefore,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum QueueSetting {
    Table,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum Session {
    Table,
    Id,
    Launch,
}

#[derive(DeriveIden)]
enum Task {
    Table,
    Id,
    ThreadMessageId,
}

#[derive(DeriveIden)]
enum Project {
    Table,
    Id,
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

#[derive(DeriveIden)]
enum AgentProfile {
    Table,
    ExitMeansDone,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Run::Table)
                    .col(
                        ColumnDef::new(Run::Id)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Run::SessionId).string_len(128).not_null())
                    .col(ColumnDef::new(Run::TaskId).string_len(128).null())
                    .col(ColumnDef::new(Run::Number).integer().not_null())
                    .col(ColumnDef::new(Run::Attempt).integer().null())
                    .col(ColumnDef::new(Run::StartedAt).big_integer().not_null())
                    .col(ColumnDef::new(Run::EndedAt).big_integer().null())
                    .col(ColumnDef::new(Run::ExitCode).integer().null())
                    .col(ColumnDef::new(Run::Signal).string_len(32).null())
                    .col(ColumnDef::new(Run::EndReason).string_len(32).null())
                    .col(ColumnDef::new(Run::LogStart).big_integer().not_null())
                    .col(ColumnDef::new(Run::LogEnd).big_integer().null())
                    .col(ColumnDef::new(Run::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Run::UpdatedAt).big_integer().not_null())
                    .foreign_key(&mut cascade(
                        "fk_run_session",
                        (Run::Table, Run::SessionId),
                        (Session::Table, Session::Id),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_run_task")
                            .from(Run::Table, Run::TaskId)
                            .to(Task::Table, Task::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_run_session")
                    .table(Run::Table)
                    .col(Run::SessionId)
                    .col(Run::Number)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_run_task")
                    .table(Run::Table)
                    .col(Run::TaskId)
                    .col(Run::StartedAt)
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TaskExecution::Table)
                    .col(
                        ColumnDef::new(TaskExecution::TaskId)
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(TaskExecution::ProjectId)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TaskExecution::AgentId)
                            .string_len(200)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(TaskExecution::State)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(TaskExecution::Reason).text().null())
                    .col(ColumnDef::new(TaskExecution::Attempt).integer().not_null())
                    .col(
                        ColumnDef::new(TaskExecution::MaxAttempts)
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(TaskExecution::LoopMaxRuns).integer().null())
                    .col(
                        ColumnDef::new(TaskExecution::LoopCooldownMs)
                            .big_integer()
                            .null(),
                    )
                    .col(ColumnDef::new(TaskExecution::Runs).integer().not_null())
                    .col(
                        ColumnDef::new(TaskExecution::SessionId)
                            .string_len(128)
                            .null(),
                    )
                    .col(ColumnDef::new(TaskExecution::QueuedAt).big_integer().null())
                    .col(
                        ColumnDef::new(TaskExecution::NotBefore)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(TaskExecution::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TaskExecution::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(&mut cascade(
                        "fk_task_execution_task",
                        (TaskExecution::Table, TaskExecution::TaskId),
                        (Task::Table, Task::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_task_execution_project",
                        (TaskExecution::Table, TaskExecution::ProjectId),
                        (Project::Table, Project::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_task_execution_state")
                    .table(TaskExecution::Table)
                    .col(TaskExecution::State)
                    .col(TaskExecution::QueuedAt)
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(QueueSetting::Table)
                    .col(
                        ColumnDef::new(QueueSetting::Key)
                            .string_len(200)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(QueueSetting::Value).text().not_null())
                    .take(),
            )
            .await?;
        // One column per statement: SQLite adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Session::Table)
                    .add_column(ColumnDef::new(Session::Launch).text().null())
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Task::Table)
                    .add_column(ColumnDef::new(Task::ThreadMessageId).string_len(128).null())
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AgentProfile::Table)
                    .add_column(
                        ColumnDef::new(AgentProfile::ExitMeansDone)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Task::Table)
                    .drop_column(Task::ThreadMessageId)
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AgentProfile::Table)
                    .drop_column(AgentProfile::ExitMeansDone)
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Session::Table)
                    .drop_column(Session::Launch)
                    .take(),
            )
            .await?;
        for table in [
            QueueSetting::Table.into_iden(),
            TaskExecution::Table.into_iden(),
            Run::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
