//! One index on the execution's state instead of two. `idx_task_execution_state` (state,
//! queued_at) came with the queue; since migration 12, `idx_task_execution_queue_order` (state,
//! priority desc, queued_at, task_id) serves every query on the state as well — by state, by a
//! list of states, counts by state or by priority within one — so the first only cost an index
//! update at every change of state (two or more per run).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TaskExecution {
    Table,
    State,
    QueuedAt,
}

const STATE: &str = "idx_task_execution_state";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(STATE)
                    .table(TaskExecution::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(STATE)
                    .table(TaskExecution::Table)
                    .col(TaskExecution::State)
                    .col(TaskExecution::QueuedAt)
                    .take(),
            )
            .await
    }
}
