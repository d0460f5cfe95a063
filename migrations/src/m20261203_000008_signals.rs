//! Agent signals: how a profile's agent reports its state (`agent_profile.signals`: its own
//! hooks) and how long its permission hook waits for a decision made in Baton
//! (`approval_wait_ms`); the agent's conversation id on the session; permission requests as
//! pending actions (`session_action`); and token usage read from the agent's transcript
//! (`usage_record`, one row per model message).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AgentProfile {
    Table,
    Id,
    Program,
    Signals,
    ApprovalWaitMs,
}

#[derive(DeriveIden)]
enum Session {
    Table,
    Id,
    ConversationId,
}

#[derive(DeriveIden)]
enum SessionAction {
    Table,
    Id,
    SessionId,
    ProjectId,
    Kind,
    Tool,
    Summary,
    Input,
    Status,
    Reason,
    DecidedBy,
    CreatedAt,
    DecidedAt,
}

#[derive(DeriveIden)]
enum UsageRecord {
    Table,
    SessionId,
    MessageId,
    ProjectId,
    TaskId,
    Model,
    InputTokens,
    OutputTokens,
    CacheReadTokens,
    CacheWriteTokens,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AgentProfile::Table)
                    .add_column(
                        ColumnDef::new(AgentProfile::Signals)
                            .string_len(32)
                            .not_null()
                            .default("none"),
                    )
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AgentProfile::Table)
                    .add_column(
                        ColumnDef::new(AgentProfile::ApprovalWaitMs)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .take(),
            )
            .await?;
        // The built-in Claude Code and Codex profiles, as seeded before, report their state.
        manager
            .exec_stmt(
                Query::update()
                    .table(AgentProfile::Table)
                    .value(AgentProfile::Signals, "claude")
                    .value(AgentProfile::ApprovalWaitMs, 120_000)
                    .and_where(Expr::col(AgentProfile::Id).eq("claude"))
                    .and_where(Expr::col(AgentProfile::Program).eq("claude"))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(AgentProfile::Table)
                    .value(AgentProfile::Signals, "codex")
                    .and_where(Expr::col(AgentProfile::Id).eq("codex"))
                    .and_where(Expr::col(AgentProfile::Program).eq("codex"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Session::Table)
                    .add_column(
                        ColumnDef::new(Session::ConversationId)
                            .string_len(128)
                            .null(),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SessionAction::Table)
                    .col(
                        ColumnDef::new(SessionAction::Id)
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(SessionAction::SessionId)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SessionAction::ProjectId)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SessionAction::Kind)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SessionAction::Tool)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(SessionAction::Summary).text().not_null())
                    .col(ColumnDef::new(SessionAction::Input).text().not_null())
                    .col(
                        ColumnDef::new(SessionAction::Status)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(SessionAction::Reason).text().null())
                    .col(
                        ColumnDef::new(SessionAction::DecidedBy)
                            .string_len(255)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SessionAction::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SessionAction::DecidedAt)
                            .big_integer()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionAction::Table, SessionAction::SessionId)
                            .to(Session::Table, Session::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_session_action_session")
                    .table(SessionAction::Table)
                    .col(SessionAction::SessionId)
                    .col(SessionAction::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UsageRecord::Table)
                    .col(
                        ColumnDef::new(UsageRecord::SessionId)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageRecord::MessageId)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageRecord::ProjectId)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(ColumnDef::new(UsageRecord::TaskId).string_len(128).null())
                    .col(
                        ColumnDef::new(UsageRecord::Model)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageRecord::InputTokens)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageRecord::OutputTokens)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageRecord::CacheReadTokens)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageRecord::CacheWriteTokens)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UsageRecord::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(UsageRecord::SessionId)
                            .col(UsageRecord::MessageId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(UsageRecord::Table, UsageRecord::SessionId)
                            .to(Session::Table, Session::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_usage_record_project")
                    .table(UsageRecord::Table)
                    .col(UsageRecord::ProjectId)
                    .col(UsageRecord::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UsageRecord::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SessionAction::Table).to_owned())
            .await?;
        for (table, column) in [
            (
                AgentProfile::Table.into_iden(),
                AgentProfile::Signals.into_iden(),
            ),
            (
                AgentProfile::Table.into_iden(),
                AgentProfile::ApprovalWaitMs.into_iden(),
            ),
            (
                Session::Table.into_iden(),
                Session::ConversationId.into_iden(),
            ),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
