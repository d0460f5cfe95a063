//! Running agents: the signal that ended a session, and how a profile tells that its agent waits
//! for input (a prompt pattern, or a quiet time).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Session {
    Table,
    Signal,
}

#[derive(DeriveIden)]
enum AgentProfile {
    Table,
    WaitPattern,
    QuietMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Session::Table)
                    .add_column(ColumnDef::new(Session::Signal).text().null())
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AgentProfile::Table)
                    .add_column(ColumnDef::new(AgentProfile::WaitPattern).text().null())
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AgentProfile::Table)
                    .add_column(
                        ColumnDef::new(AgentProfile::QuietMs)
                            .integer()
                            .not_null()
                            .default(3000),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AgentProfile::Table)
                    .drop_column(AgentProfile::QuietMs)
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AgentProfile::Table)
                    .drop_column(AgentProfile::WaitPattern)
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Session::Table)
                    .drop_column(Session::Signal)
                    .take(),
            )
            .await
    }
}
