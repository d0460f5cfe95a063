//! The audit log: one row per change asked of Baton through any door — when, who, through which
//! door, which operation on which records, and how it ended — with the request body redacted.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Seq,
    At,
    Actor,
    Door,
    Operation,
    Targets,
    Status,
    Body,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(
                        ColumnDef::new(AuditLog::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuditLog::At).big_integer().not_null())
                    .col(ColumnDef::new(AuditLog::Actor).string_len(160).not_null())
                    .col(ColumnDef::new(AuditLog::Door).string_len(16).not_null())
                    .col(
                        ColumnDef::new(AuditLog::Operation)
                            .string_len(200)
                            .not_null(),
                    )
                    // A JSON array of the ids the operation named or created.
                    .col(ColumnDef::new(AuditLog::Targets).text().not_null())
                    .col(ColumnDef::new(AuditLog::Status).integer().not_null())
                    .col(ColumnDef::new(AuditLog::Body).text().null())
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::At)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_actor")
                    .table(AuditLog::Table)
                    .col(AuditLog::Actor)
                    .col(AuditLog::Seq)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).take())
            .await
    }
}
