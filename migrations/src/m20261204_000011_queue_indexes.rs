//! An index for the queue's rounds, which run at every start and end: each reads the sessions
//! whose agent reported its usage limit (`limited_until` in the future). Without it every round
//! read every session ever recorded.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Session {
    Table,
    LimitedUntil,
}

const SESSION_LIMITED: &str = "idx_session_limited_until";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(SESSION_LIMITED)
                    .table(Session::Table)
                    .col(Session::LimitedUntil)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(SESSION_LIMITED)
                    .table(Session::Table)
                    .to_owned(),
            )
            .await
    }
}
