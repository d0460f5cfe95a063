//! Baton's schema migrations (sea-orm-migration).
//!
//! Every schema change is a new migration appended to [`Migrator::migrations`]; an old migration is
//! never edited once it has landed. Migrations use sea-query builders only, so the same schema is
//! created on SQLite and PostgreSQL: no backend-specific SQL here.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_initial;
mod m20261124_000002_runs;
mod m20261124_000003_doors;
mod m20261201_000004_input_boxes;
mod m20261201_000005_audit_log;
mod m20261201_000006_queue;
mod m20261203_000007_workspaces;
mod m20261203_000008_signals;
mod m20261203_000009_task_budget;
mod m20261203_000010_gemini_signals;
mod m20261204_000011_queue_indexes;
mod m20261204_000012_queue_order;
mod m20261205_000013_one_state_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_initial::Migration),
            Box::new(m20261124_000002_runs::Migration),
            Box::new(m20261124_000003_doors::Migration),
            Box::new(m20261201_000004_input_boxes::Migration),
            Box::new(m20261201_000005_audit_log::Migration),
            Box::new(m20261201_000006_queue::Migration),
            Box::new(m20261203_000007_workspaces::Migration),
            Box::new(m20261203_000008_signals::Migration),
            Box::new(m20261203_000009_task_budget::Migration),
            Box::new(m20261203_000010_gemini_signals::Migration),
            Box::new(m20261204_000011_queue_indexes::Migration),
            Box::new(m20261204_000012_queue_order::Migration),
            Box::new(m20261205_000013_one_state_index::Migration),
        ]
    }
}
