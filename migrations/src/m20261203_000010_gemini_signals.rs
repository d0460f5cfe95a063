//! The built-in `gemini` profile reads Gemini CLI's hooks (`signals = 'gemini'`), where it still
//! runs `gemini` as shipped.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AgentProfile {
    Table,
    Id,
    Program,
    Signals,
}

fn set_signals(to: &str, from: &str) -> UpdateStatement {
    Query::update()
        .table(AgentProfile::Table)
        .value(AgentProfile::Signals, to)
        .and_where(Expr::col(AgentProfile::Id).eq("gemini"))
        .and_where(Expr::col(AgentProfile::Program).eq("gemini"))
        .and_where(Expr::col(AgentProfile::Signals).eq(from))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.exec_stmt(set_signals("gemini", "none")).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.exec_stmt(set_signals("none", "gemini")).await
    }
}
