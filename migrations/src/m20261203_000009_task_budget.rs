//! A cost limit for one executed task (`task_execution.cost_limit_micros`, millionths of a US
//! dollar: an integer, because SQLite hands a whole REAL back as an INTEGER from `RETURNING`): once
//! its agents' usage reaches it, the task's run goes on but no new run of it starts.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TaskExecution {
    Table,
    CostLimitMicros,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(TaskExecution::Table)
                    .add_column(
                        ColumnDef::new(TaskExecution::CostLimitMicros)
                            .big_integer()
                            .null(),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(TaskExecution::Table)
                    .drop_column(TaskExecution::CostLimitMicros)
                    .take(),
            )
            .await
    }
}
