//! Typed prompts wait for the agent's input box: built-in profiles that take their prompt by
//! typing learn the pattern of their input box (their `wait_pattern`), where none was set.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AgentProfile {
    Table,
    Id,
    Builtin,
    WaitPattern,
}

/// The same patterns as the built-ins of `src/service/agents.rs`.
const INPUT_BOXES: [(&str, &str); 2] = [("gemini", "Type your message"), ("aider", r"(?m)^\w*> $")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (id, pattern) in INPUT_BOXES {
            manager
                .exec_stmt(
                    Query::update()
                        .table(AgentProfile::Table)
                        .value(AgentProfile::WaitPattern, pattern)
                        .and_where(Expr::col(AgentProfile::Id).eq(id))
                        .and_where(Expr::col(AgentProfile::Builtin).eq(true))
                        .and_where(Expr::col(AgentProfile::WaitPattern).is_null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (id, pattern) in INPUT_BOXES {
            manager
                .exec_stmt(
                    Query::update()
                        .table(AgentProfile::Table)
                        .value(AgentProfile::WaitPattern, Option::<String>::None)
                        .and_where(Expr::col(AgentProfile::Id).eq(id))
                        .and_where(Expr::col(AgentProfile::Builtin).eq(true))
                        .and_where(Expr::col(AgentProfile::WaitPattern).eq(pattern))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
