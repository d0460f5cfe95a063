//! The queue's order in one table, with an index that serves it.
//!
//! Admission and queue positions order the queued executions by their task's priority, then by
//! the time they were queued, then by task id. The priority lived only on `task`, so every round
//! joined the two tables and sorted the whole queue, however few slots were free (≈ 0.3 ms a
//! round at 1,000 queued, linear beyond), and a task's queue position read the whole queue.
//! `task_execution.priority` is a copy of the task's priority, kept in step by every write that
//! changes either; with the index on (state, priority desc, queued_at, task_id) a round reads
//! only the page it needs, and a position is a count over the index.
//!
//! `queued_at` was always written when a row was queued; rows without it (none are expected)
//! take their update time, which the queue used for them until now.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TaskExecution {
    Table,
    TaskId,
    State,
    Priority,
    QueuedAt,
}

const QUEUE_ORDER: &str = "idx_task_execution_queue_order";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(TaskExecution::Table)
                    .add_column(
                        ColumnDef::new(TaskExecution::Priority)
                            .small_integer()
                            .not_null()
                            .default(1),
                    )
                    .take(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE task_execution SET priority = \
             (SELECT task.priority FROM task WHERE task.id = task_execution.task_id)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE task_execution SET queued_at = updated_at WHERE queued_at IS NULL",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name(QUEUE_ORDER)
                    .table(TaskExecution::Table)
                    .col(TaskExecution::State)
                    .col((TaskExecution::Priority, IndexOrder::Desc))
                    .col(TaskExecution::QueuedAt)
                    .col(TaskExecution::TaskId)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(QUEUE_ORDER)
                    .table(TaskExecution::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(TaskExecution::Table)
                    .drop_column(TaskExecution::Priority)
                    .take(),
            )
            .await
    }
}
