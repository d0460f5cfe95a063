//! Doors for agents and scripts: what a session last reported (a status line and a percentage),
//! which agent profiles get Baton's MCP server configured, and webhooks with their deliveries.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Session {
    Table,
    StatusText,
    Progress,
}

#[derive(DeriveIden)]
enum AgentProfile {
    Table,
    Id,
    Builtin,
    Mcp,
}

#[derive(DeriveIden)]
enum Webhook {
    Table,
    Id,
    Url,
    Secret,
    Events,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    Seq,
    Id,
    WebhookId,
    Event,
    Payload,
    Status,
    Attempts,
    ResponseStatus,
    Error,
    CreatedAt,
    LastAttemptAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Session::Table)
                    .add_column(ColumnDef::new(Session::StatusText).text().null())
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Session::Table)
                    .add_column(ColumnDef::new(Session::Progress).integer().null())
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AgentProfile::Table)
                    .add_column(
                        ColumnDef::new(AgentProfile::Mcp)
                            .string_len(16)
                            .not_null()
                            .default("none"),
                    )
                    .take(),
            )
            .await?;
        // Built-in profiles seeded before this migration learn how their agent takes MCP.
        for (id, style) in [
            ("claude", "claude"),
            ("codex", "codex"),
            ("gemini", "gemini"),
        ] {
            manager
                .exec_stmt(
                    Query::update()
                        .table(AgentProfile::Table)
                        .value(AgentProfile::Mcp, style)
                        .and_where(Expr::col(AgentProfile::Id).eq(id))
                        .and_where(Expr::col(AgentProfile::Builtin).eq(true))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Webhook::Table)
                    .col(
                        ColumnDef::new(Webhook::Id)
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Webhook::Url).text().not_null())
                    .col(ColumnDef::new(Webhook::Secret).text().not_null())
                    .col(ColumnDef::new(Webhook::Events).text().not_null())
                    .col(ColumnDef::new(Webhook::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Webhook::UpdatedAt).big_integer().not_null())
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDelivery::Table)
                    .col(
                        ColumnDef::new(WebhookDelivery::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookDelivery::Id)
                            .string_len(128)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookDelivery::WebhookId)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDelivery::Event)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookDelivery::Payload).text().not_null())
                    .col(
                        ColumnDef::new(WebhookDelivery::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDelivery::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(WebhookDelivery::ResponseStatus)
                            .integer()
                            .null(),
                    )
                    .col(ColumnDef::new(WebhookDelivery::Error).text().null())
                    .col(
                        ColumnDef::new(WebhookDelivery::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDelivery::LastAttemptAt)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDelivery::DeliveredAt)
                            .big_integer()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_delivery_webhook")
                            .from(WebhookDelivery::Table, WebhookDelivery::WebhookId)
                            .to(Webhook::Table, Webhook::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_delivery_hook")
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::WebhookId)
                    .col(WebhookDelivery::Seq)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDelivery::Table).take())
            .await?;
        manager
            .drop_table(Table::drop().table(Webhook::Table).take())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AgentProfile::Table)
                    .drop_column(AgentProfile::Mcp)
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Session::Table)
                    .drop_column(Session::Progress)
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Session::Table)
                    .drop_column(Session::StatusText)
                    .take(),
            )
            .await
    }
}
